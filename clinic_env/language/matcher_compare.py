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
    disease_like,
    is_acronym,
    organism_adjective,
    organism_disease,
    slip_pair,
    stem,
    typo_pair,
)

__all__ = ["FILLERS", "LETTERED", "RANK", "ComparisonRules", "Reading", "Verdict", "filler"]

FILLERS = frozenset({"of", "the", "a", "an", "in", "with", "at", "by"})
"""Words an order-free comparison ignores ("fracture of the neck of femur")."""
LETTERED = frozenset({"hepatitis", "influenza", "hemophilia", "vitamin", "factor", "protein"})
"""Words a letter after them names a type of ("hepatitis A virus", "vitamin A deficiency")."""
_TYPO_MIN_LENGTH = 7
_INFECTION = frozenset({"infection", "infestation", "disease"})
_ADJECTIVE = (
    "al",
    "ic",
    "ous",
    "ar",
    "ed",
    "ive",
    "oid",
    "ary",
    "ile",
    "ant",
    "ent",
    "ate",
    "form",
)
_CANCERS = frozenset({"carcinoma", "adenocarcinoma", "sarcoma"})
"""Kinds of cancer: "squamous cell carcinoma of the anus" is an "anal cancer" (one way)."""
_INFECTION_HEADS = frozenset(
    {"pneumonia", "sepsis", "septicemia", "bacteremia", "abscess", "empyema", "cellulitis"}
)
"""What an organism causes at a site: "Chlamydophila psittaci pneumonia" is psittacosis."""


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
    _part_of: dict[str, str]
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
    _form_of: dict[int, set[int]]
    _apart: dict[int, set[int]]
    _curated: Callable[[int | None], bool]
    _organism_words: frozenset[str]
    _viral_words: frozenset[str]
    _heads: frozenset[str]
    _suffixes: tuple[str, ...]
    _parents: dict[int, set[int]]
    _hand: int
    _names: list[str]
    _ancestors: Callable[[int], frozenset[int]]
    """Every identity above one in the is-a tree or as a form (cached)."""
    _kinds_of: Callable[[int], frozenset[int]]
    """Every identity above one in the is-a tree alone (cached)."""
    _aliases: Callable[[int], tuple[Reading, ...]]
    """Readings of the names an identity is known by (cached)."""
    _reading: Callable[[tuple[str, ...]], Reading]
    """The reading of normal words (cached)."""
    _verdicts: Callable[[Reading, Reading], Verdict]
    """:meth:`_compare`, cached."""

    def _core_matches(self, words: Sequence[str]) -> set[int]:
        raise NotImplementedError

    def _ident_of(self, words: Sequence[str]) -> int | None:
        raise NotImplementedError

    def _one_word_names(self, ident: int) -> tuple[str, ...]:
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
            and (
                (p.base == g.ident and not set(p.words) - self._dropped(p) < set(g.bag))
                or (
                    p.base != g.ident
                    and g.ident in self._form_of.get(p.base, ())
                    and not self._species_dropped(p)
                    and not (p.ident is not None and p.ident in self._ancestors(p.base))
                )
            )
            and self._extras_fit(p, g, g.words)
        ):
            return Verdict.SAME
        extra = self._added(p, g)
        if extra and self._site_changes(g, extra):
            return Verdict.DIFFERENT
        if self._organism(p, g) or self._organism(g, p, exact=True) or self._infection_at(p, g):
            return Verdict.SAME
        if self._alias_form(p, g) or self._named_within(p, g):
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

    def _above_placed(self, a: int | None, b: int | None) -> bool:
        """Whether ``a`` is a known disease that ``b`` is a kind or form of ("HIV infection"
        above "acute HIV infection"): naming ``a`` for ``b`` is more general."""
        if a is None or b is None or a == b or not (self._placed(a) and self._placed(b)):
            return False
        return a in self._ancestors(b)

    def _ambiguous(self, idents: set[int]) -> bool:
        """Whether a short name fits two unrelated diseases ("Cushing")."""
        ordered = sorted(idents)
        return any(self._unrelated(a, b) for i, a in enumerate(ordered) for b in ordered[i + 1 :])

    def _dropped(self, p: Reading) -> set[str]:
        return {w for w in p.words if w in self._class_of or w in p.clause}

    def _site_changes(self, g: Reading, extra: Iterable[str], p: Reading | None = None) -> bool:
        """A site word added to a head that a site turns into another disease, the
        reference's or the prediction's own ("pituitary apoplexy" is no stroke)."""
        if any(self._class_of.get(w) in self._site for w in g.words):
            return False
        heads = {
            next((w for w in reversed(r.words) if w not in self._class_of), "") for r in (g, p) if r
        }
        return bool(heads & self._site_sensitive) and any(
            self._class_of.get(w) in self._site for w in extra
        )

    def _qualified(self, p: Reading, g: Reading) -> Verdict | None:
        """Same when ``p`` is ``g`` plus qualifiers; None when other words differ."""
        extra_p = Counter(p.bag) - Counter(g.bag)
        extra_g = Counter(g.bag) - Counter(p.bag)
        if self._narrow(extra_p, extra_g):
            extra_p, extra_g = +extra_p, +extra_g
        implied_p = {i for w in p.bag for i in self._implied.get(w, ())}
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
        if self._conflict(extra_g, p.bag) or self._conflict(extra_g, implied_p):
            return Verdict.DIFFERENT
        if all(w in self._harmless for w in extra_p) and (
            self._unrelated(p.ident, g.ident)
            or self._above_placed(p.ident, g.ident)
            or (extra_g and self._ambiguous(self._core_matches(p.words)))
        ):
            return Verdict.DIFFERENT
        return Verdict.SAME if self._extras_fit(p, g, g.bag, extra_p) else Verdict.DIFFERENT

    def _narrow(self, extra_p: Counter[str], extra_g: Counter[str]) -> bool:
        """Let a narrower word of the prediction stand for the reference's wider one: a
        carcinoma or sarcoma for "cancer", a part of an organ for the organ ("sigmoid" for
        "colonic"); and a noun its participle ("rupture" for "ruptured"). Whether any did."""
        narrowed = False
        for word in [w for w in extra_g if w in self._class_of and w not in self._organism_words]:
            same = next((w for w in extra_p if w != word and stem(w) == stem(word)), None)
            if same is not None and same not in self._class_of and extra_p[same] and extra_g[word]:
                narrowed = _take(extra_g, word) and _take(extra_p, same)
        if extra_g["cancer"] and (kind := next((w for w in extra_p if w in _CANCERS), None)):
            narrowed = _take(extra_g, "cancer") and _take(extra_p, kind)
        for part in [w for w in extra_p if w in self._part_of]:
            whole = self._part_of[part]
            if extra_g[whole] and extra_p[part]:
                narrowed = _take(extra_g, whole) and _take(extra_p, part)
        return narrowed

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
        return not self._site_changes(g, extras, p)

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

    def _organism(self, p: Reading, g: Reading, *, exact: bool = False) -> bool:
        """ "Toxoplasma gondii infection" names toxoplasmosis; so does a known cause, alone
        or with qualifiers ("EBV", "HHV-6 infection" for roseola), with a species or
        serotype ("Plasmodium ovale infection", "Vibrio cholerae O139 infection"), or with
        the site it infects ("Chlamydophila psittaci pneumonia"). The disease the organism
        causes may be a form of the reference ("Rickettsia prowazekii infection" for
        typhus), unless ``exact`` (the organism is the reference's)."""
        if g.ident is not None:
            for size in range(len(p.words), 0, -1):
                key = " ".join(p.words[:size])
                disease = self._organisms.get(key)
                if disease is None or not (
                    disease == g.ident or (not exact and g.ident in self._form_of.get(disease, ()))
                ):
                    continue
                rest = p.words[size:]
                if exact:
                    return all(w in _INFECTION or w in self._harmless for w in rest)
                if rest and self._species(rest[0]):
                    rest = rest[1:]
                if all(w in _INFECTION or w in self._class_of for w in rest):
                    return True
                return (
                    len(rest) == 1
                    and (rest[0] in _INFECTION_HEADS or rest[0].endswith("itis"))
                    and (
                        not self._viral_words.intersection(p.words[:size])
                        or self._names[disease].endswith("infection")
                    )
                )
        if p.words[-1] not in _INFECTION or len(p.words) > 5:
            return False
        shared = set(p.words) & set(g.words)
        own = [w for w in p.words if w not in shared]
        other = [w for w in g.words if w not in shared]
        if not 2 <= len(own) <= 3 or own[-1] not in _INFECTION:
            return False
        names = list(other) if len(other) == 1 else []
        if not shared and g.ident is not None:
            names.extend(self._one_word_names(g.ident))
        return any(organism_disease(own[0], name) for name in names)

    def _species_dropped(self, p: Reading) -> bool:
        """Whether reading ``p`` as its base drops a species from a disease named after its
        genus ("Chlamydia pneumoniae infection" is no chlamydia)."""
        if p.base is None or not self._organism_words.intersection(p.words):
            return False
        return bool(self._organism_words.intersection(self._names[p.base].lower().split()))

    def _species(self, word: str) -> bool:
        """A species or serotype after a genus ("ovale", "O139"): no qualifier, no disease."""
        return (
            word not in self._class_of
            and word not in _INFECTION
            and word not in ORDER_WORDS
            and not disease_like((word,), self._heads, self._suffixes)
        )

    def _alias_form(self, p: Reading, g: Reading) -> bool:
        """An eponym or other name of a more specific form: another name of the prediction's
        identity is the reference plus qualifiers ("Kostmann syndrome" is "severe congenital
        neutropenia", so a neutropenia; "Cooley anaemia" is "beta thalassaemia major")."""
        if (
            p.ident is None
            or g.ident is None
            or p.ident == g.ident
            or g.ident not in self._kinds_of(p.ident)
        ):
            return False
        return any(
            alias.words != p.words
            and not Counter(g.bag) - Counter(alias.bag)
            and self._qualified(alias, g) is Verdict.SAME
            for alias in self._aliases(p.ident)
        )

    def _named_within(self, p: Reading, g: Reading) -> bool:
        """A known name after one or two leading modifiers, and placed above the prediction
        when the prediction is known ("centrilobular emphysema" is an emphysema, so a COPD):
        the prediction is that disease described, not a variant with a name of its own."""
        if g.ident is None or len(p.words) < 2:
            return False
        above = self._kinds_of(p.ident) if p.ident is not None else None
        if above is not None and not above:
            return False
        for size in (1, 2):
            lead, rest = p.words[:size], p.words[size:]
            if not rest or not all(w in self._class_of or w.endswith(_ADJECTIVE) for w in lead):
                return False
            named = self._ident_of(rest)
            if named is not None and p.ident is not None and named in self._apart.get(p.ident, ()):
                return False
            if named is not None and (above is None or named in above):
                reading = self._reading(rest)
                if named == g.ident:
                    return set(g.bag) <= set(p.bag)
                dropped = Counter(g.bag) - Counter(reading.bag)
                return self._verdicts(reading, g) is Verdict.SAME and not (
                    dropped and self._qualified(reading, g) is Verdict.SAME
                )
        return False


def filler(words: Sequence[str], index: int) -> bool:
    """A word order-free comparison ignores ("of the", "with"); "a" and "an" only inside a
    name, since "hepatitis A" ends in a letter, and never after a word a letter names a type
    of ("hepatitis A virus infection")."""
    word = words[index]
    if word in ("a", "an"):
        return index + 1 < len(words) and not (index and words[index - 1] in LETTERED)
    return word in FILLERS


def _take(counter: Counter[str], word: str) -> bool:
    """Remove one ``word`` from ``counter``; whether there was one."""
    if counter[word] > 0:
        counter[word] -= 1
        return True
    return False
