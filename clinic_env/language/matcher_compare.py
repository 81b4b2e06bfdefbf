"""The decision rules of the diagnosis matcher on two readings (prediction, reference).

:class:`clinic_env.language.matcher.DiagnosisMatcher` reads each entry into a
:class:`Reading` (words, the identity it names in the table or terminology, qualifiers) and
asks these rules for a verdict; ``docs/matching.md`` states them in prose. They are kept
apart from the reading and caching so that each module has one job.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from clinic_env.language.matcher_rules import (
    ORDER_WORDS,
    is_acronym,
    organism_adjective,
    organism_disease,
    slip_pair,
    stem,
    typo_pair,
)

__all__ = ["FILLERS", "RANK", "ComparisonRules", "Reading", "Verdict", "filler"]

FILLERS = frozenset({"of", "the", "a", "an", "in", "with", "at"})
"""Words an order-free comparison ignores ("fracture of the neck of femur")."""
_TYPO_MIN_LENGTH = 7
_INFECTION = frozenset({"infection", "infestation", "disease"})
_ADJECTIVE = ("al", "ic", "ous", "ar", "ed", "ive", "oid", "ary", "ile", "ant", "ent", "ate")


class Verdict(StrEnum):
    """The matcher's answer: the same disease, a different one, or not decidable offline."""

    SAME = "same"
    DIFFERENT = "different"
    UNSURE = "unsure"


RANK = {Verdict.DIFFERENT: 0, Verdict.UNSURE: 1, Verdict.SAME: 2}


@dataclass(frozen=True, slots=True, eq=False)
class Reading:
    """One reading of a diagnosis.

    Compared and hashed by identity, so that the verdict cache keyed on two readings is
    cheap; readings themselves are cached per text. ``bag`` is its words in sorted order
    without fillers (word order rarely matters);
    ``ident`` the table group or terminology concept it names; ``base`` the one it names
    once its qualifiers are dropped; ``clause`` the words of a trailing "with ..." that add
    detail; ``blocked`` that it lists several diseases or is too long to be one name.
    """

    text: str
    words: tuple[str, ...]
    bag: tuple[str, ...]
    ident: int | None
    base: int | None
    clause: frozenset[str]
    ordered: bool
    blocked: bool


class ComparisonRules:
    """The verdict on a prediction against a reference, given the matcher's tables.

    A mixin: :class:`~clinic_env.language.matcher.DiagnosisMatcher` fills the attributes
    below when it builds its tables, and caches :meth:`_compare` as ``_verdicts``.
    """

    _class_of: dict[str, int]
    _exclusive: frozenset[int]
    _site: frozenset[int]
    _harmless: frozenset[str]
    _site_sensitive: frozenset[str]
    _generic: frozenset[str]
    _short_of: frozenset[str]
    _distinct: dict[str, frozenset[str]]
    _implied: dict[str, frozenset[str]]
    _ids: dict[str, int]
    _class_words: dict[int, tuple[str, ...]]
    _vocabulary: frozenset[str]
    _organisms: dict[str, int]
    _within: dict[int, set[int]]
    _apart: dict[int, set[int]]
    _curated: Callable[[int | None], bool]
    _organism_words: frozenset[str]
    _parents: dict[int, set[int]]
    _hand: int
    _ancestors: Callable[[int], frozenset[int]]
    """Every identity above one in the is-a tree (cached)."""

    def _core_matches(self, words: Sequence[str]) -> set[int]:
        raise NotImplementedError

    def _fixed(self, words: Sequence[str]) -> frozenset[str]:
        raise NotImplementedError

    def _compare(self, p: Reading, g: Reading) -> Verdict:
        """The verdict on prediction ``p`` against reference ``g`` (see the module doc)."""
        if p.text == g.text:
            return Verdict.SAME
        if p.blocked or g.blocked:
            return Verdict.DIFFERENT
        if p.ident is not None and g.ident in self._apart.get(p.ident, ()):
            return Verdict.DIFFERENT
        if p.ident is not None and (p.ident == g.ident or g.ident in self._within.get(p.ident, ())):
            return Verdict.SAME
        if not (p.ordered or g.ordered) and (
            "".join(p.words) == "".join(g.words)
            or sorted(map(stem, p.bag)) == sorted(map(stem, g.bag))
        ):
            return Verdict.SAME
        qualified = self._qualified(p, g)
        if qualified is not None:
            return qualified
        if (
            g.ident is not None
            and p.base is not None
            and (p.base == g.ident or g.ident in self._within.get(p.base, ()))
            and not set(p.words) - self._dropped(p) < set(g.bag)
            and self._extras_fit(p, g, g.words)
        ):
            return Verdict.SAME
        extra = self._added(p, g)
        if extra and self._site_changes(g, extra):
            return Verdict.DIFFERENT
        if self._organism(p, g) or self._organism(g, p) or self._infection_at(p, g):
            return Verdict.SAME
        if (
            p.ident is not None
            and g.ident is not None
            and self._placed(p.ident)
            and self._placed(g.ident)
            and (self._parents.get(p.ident) or not extra)
        ):
            if g.ident in self._ancestors(p.ident):
                return Verdict.SAME if extra else Verdict.UNSURE
            return Verdict.DIFFERENT
        if extra:
            modifiers = all(w in self._class_of or w.endswith(_ADJECTIVE) for w in extra)
            return Verdict.SAME if modifiers else Verdict.UNSURE
        if self._typo(p, g):
            return Verdict.SAME
        if is_acronym(p.words, g.words):
            return Verdict.UNSURE
        return Verdict.DIFFERENT

    def _placed(self, ident: int | None) -> bool:
        """Whether an identity is known well enough to tell it apart from another: a group
        or form of the hand table (authoritative), or a concept placed in the is-a tree."""
        return ident is not None and (self._curated(ident) or bool(self._parents.get(ident)))

    def _unrelated(self, a: int | None, b: int | None) -> bool:
        """Two different well-known identities, neither a kind of the other."""
        if a is None or b is None or a == b or not (self._placed(a) and self._placed(b)):
            return False
        return b not in self._ancestors(a) and a not in self._ancestors(b)

    def _ambiguous(self, idents: set[int]) -> bool:
        """Whether a short name fits two unrelated diseases ("Cushing")."""
        ordered = sorted(idents)
        return any(self._unrelated(a, b) for i, a in enumerate(ordered) for b in ordered[i + 1 :])

    def _dropped(self, p: Reading) -> set[str]:
        return {w for w in p.words if w in self._class_of or w in p.clause}

    def _site_changes(self, g: Reading, extra: Iterable[str]) -> bool:
        """A site word added to a head that a site turns into another disease."""
        if any(self._class_of.get(w) in self._site for w in g.words):
            return False
        head = next((w for w in reversed(g.words) if w not in self._class_of), "")
        return head in self._site_sensitive and any(
            self._class_of.get(w) in self._site for w in extra
        )

    def _qualified(self, p: Reading, g: Reading) -> Verdict | None:
        """Same when ``p`` is ``g`` plus qualifiers; None when other words differ."""
        extra_p = Counter(p.bag) - Counter(g.bag)
        extra_g = Counter(g.bag) - Counter(p.bag)
        for word in [w for w in extra_p if w in self._implied]:
            for implied in self._implied[word]:
                extra_g.pop(implied, None)
        if any(w not in self._class_of and w not in p.clause for w in extra_p):
            return None
        if any(w not in self._class_of for w in extra_g):
            return None
        if (p.ordered or g.ordered) and not self._same_order(p, g, extra_p, extra_g):
            return Verdict.DIFFERENT
        if any(w not in self._harmless for w in extra_g):
            return Verdict.DIFFERENT
        if self._fixed(g.words).intersection(extra_g) or self._fixed(p.words).intersection(extra_p):
            return Verdict.DIFFERENT
        if not extra_p and any(self._has_opposite(g.words, w) for w in extra_g):
            return Verdict.DIFFERENT
        if self._conflict(extra_g, p.bag):
            return Verdict.DIFFERENT
        if all(w in self._harmless for w in extra_p) and (
            self._unrelated(p.ident, g.ident)
            or (extra_g and self._ambiguous(self._core_matches(p.words)))
        ):
            return Verdict.DIFFERENT
        return Verdict.SAME if self._extras_fit(p, g, g.bag, extra_p) else Verdict.DIFFERENT

    def _has_opposite(self, words: Sequence[str], word: str) -> bool:
        """Whether a harmless word of an exclusive class tells two known diseases apart
        here: without "acute", "myeloid leukaemia" may be the chronic one, so it cannot
        drop ("Sjogren disease" and "Sjogren syndrome" are one group, so "syndrome" can)."""
        cls = self._class_of.get(word)
        if cls not in self._exclusive:
            return False
        own = self._ids.get(" ".join(words))
        for other in self._class_words[cls]:
            if other != word:
                found = self._ids.get(" ".join(other if w == word else w for w in words))
                if found is not None and found != own:
                    return True
        return False

    def _extras_fit(
        self,
        p: Reading,
        g: Reading,
        gold_words: Sequence[str],
        extra: Iterable[str] | None = None,
    ) -> bool:
        """Whether the prediction's extra qualifiers make it more specific, not different."""
        extras = list(extra) if extra is not None else [w for w in p.words if w not in g.words]
        if self._conflict(extras, gold_words) or self._contradicts(p.bag):
            return False
        return not self._site_changes(g, extras)

    def _conflict(self, words: Iterable[str], others: Iterable[str]) -> bool:
        """A word of an exclusive class facing a different word of that class."""
        other_classes: dict[int, set[str]] = {}
        for word in others:
            cls = self._class_of.get(word)
            if cls in self._exclusive:
                other_classes.setdefault(cls, set()).add(word)
        for word in words:
            cls = self._class_of.get(word)
            if cls in other_classes and other_classes[cls] - {word}:
                return True
        return False

    def _contradicts(self, bag: Sequence[str]) -> bool:
        """One entry holding two words of one exclusive class ("left and right")."""
        seen: dict[int, str] = {}
        for word in bag:
            cls = self._class_of.get(word)
            if cls in self._exclusive and seen.setdefault(cls, word) != word:
                return True
        return False

    @staticmethod
    def _same_order(p: Reading, g: Reading, extra_p: Counter[str], extra_g: Counter[str]) -> bool:
        left, right = Counter(extra_p), Counter(extra_g)
        kept_p = [w for i, w in enumerate(p.words) if not filler(p.words, i) and not _take(left, w)]
        kept_g = [
            w for i, w in enumerate(g.words) if not filler(g.words, i) and not _take(right, w)
        ]
        return kept_p == kept_g

    def _added(self, p: Reading, g: Reading) -> list[str]:
        """The words ``p`` adds to ``g`` when it keeps all of ``g`` and adds one to three
        words that neither negate nor generalise it (else none)."""
        extra = Counter(p.bag) - Counter(g.bag)
        if Counter(g.bag) - Counter(p.bag) or not extra or sum(extra.values()) > 3:
            return []
        if any(w in ORDER_WORDS or w in self._generic or w in self._short_of for w in extra):
            return []
        if self._conflict(extra, g.bag) or self._contradicts(p.bag):
            return []
        return list(extra.elements())

    def _typo(self, p: Reading, g: Reading) -> bool:
        """One or two misspelt words, never between two real words or look-alikes."""
        a = [w for i, w in enumerate(p.words) if not filler(p.words, i)]
        b = [w for i, w in enumerate(g.words) if not filler(g.words, i)]
        if len(a) != len(b):
            return False
        pairs = [(x, y) for x, y in zip(a, b, strict=True) if x != y]
        if not pairs or len(pairs) > min(2, len(a)) or (len(pairs) == len(a) > 1):
            return False
        for x, y in pairs:
            if y in self._distinct.get(x, ()) or x in self._class_of or y in self._class_of:
                return False
            if slip_pair(x, y):
                continue
            if x in self._vocabulary and y in self._vocabulary:
                return False
            if not typo_pair(x, y, _TYPO_MIN_LENGTH):
                return False
        return True

    def _infection_at(self, p: Reading, g: Reading) -> bool:
        """ "Tuberculous meningitis" is a form of tuberculosis, "syphilitic aortitis" of
        syphilis: the infection's adjective with a site or a lesion (one way)."""
        return (
            len(g.words) == 1
            and 2 <= len(p.words) <= 4
            and not any(w in self._short_of or w in ORDER_WORDS for w in p.words)
            and any(
                w in self._organism_words
                and (organism_adjective(w, g.words[0]) or organism_disease(w, g.words[0]))
                for w in p.words
            )
        )

    def _organism(self, p: Reading, g: Reading) -> bool:
        """ "Toxoplasma gondii infection" names toxoplasmosis; so does a known cause, alone
        or with qualifiers ("EBV", "HHV-6 infection" for roseola)."""
        if g.ident is not None:
            for size in range(len(p.words), 0, -1):
                if self._organisms.get(" ".join(p.words[:size])) == g.ident:
                    rest = p.words[size:]
                    return all(w in _INFECTION or w in self._class_of for w in rest)
        if len(p.words) < 2 or p.words[-1] not in _INFECTION:
            return False
        return len(g.words) == 1 and len(p.words) <= 4 and organism_disease(p.words[0], g.words[0])


def filler(words: Sequence[str], index: int) -> bool:
    """A word order-free comparison ignores ("of the", "with"); "a" and "an" only inside a
    name, since "hepatitis A" ends in a letter."""
    word = words[index]
    if word in ("a", "an"):
        return index + 1 < len(words)
    return word in FILLERS


def _take(counter: Counter[str], word: str) -> bool:
    """Remove one ``word`` from ``counter``; whether there was one."""
    if counter[word] > 0:
        counter[word] -= 1
        return True
    return False
