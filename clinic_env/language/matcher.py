"""Offline, precision-first matching of a doctor's stated diagnosis against a case's answer.

Scoring needs to know whether "Probable acute appendicitis", "DKA" or "Guillain–Barré" name
the same disease as the ground truth, millions of times in a batch run, without a model
call. This module answers same, different or unsure from text alone, with rules (spelling,
word order, plurals, Greek letters, Roman numerals, guarded typos: see
:mod:`clinic_env.language.matcher_rules`), a hand-written table
(``evaluators/synonyms/diagnoses.yaml``) and a terminology derived from the Human Disease
Ontology and ICD-10-CM (:mod:`clinic_env.language.terminology`); the identities names
resolve to are indexed in :mod:`clinic_env.language.matcher_index`, value answers ("-0.45",
"2.5 mg") are read in :mod:`clinic_env.language.matcher_values`, and the decision rules on
two readings are in :mod:`clinic_env.language.matcher_compare`. ``docs/matching.md`` states
them in prose.

Precision comes first: a wrong "correct" inflates every score built on it, and a reward
model built on it is there for a policy to exploit. So:

* a prediction matches when it names the reference, or the reference plus qualifiers of
  the table's classes (site, cause, acquisition, course, laterality, ...); never a more
  general name, and never across two words of one exclusive class (left/right, type 1/2);
* two different names the table or terminology both know are different diseases, unless
  the qualifier rules say otherwise;
* an entry naming several diseases ("PE or pneumonia", "A, B, C"), a very long entry, a
  negated one ("PE ruled out") or a generic one ("infection") never matches;
* what the rules cannot settle (an abbreviation spelling the initials, a prediction adding
  unknown words, an is-a link in the terminology) is "unsure": offline it counts as
  different, and a judge model may settle it (:class:`clinic_env.evaluators.llm_judge`).
"""

from __future__ import annotations

import functools
import itertools
from collections import Counter
from collections.abc import Sequence
from typing import Self, TypeVar

from clinic_env.language.matcher_compare import (
    LETTERED,
    RANK,
    ComparisonRules,
    Reading,
    Verdict,
    filler,
)
from clinic_env.language.matcher_index import NameIndex
from clinic_env.language.matcher_rules import (
    JOINED_PREFIXES,
    ORDER_WORDS,
    disease_like,
    inflamed_organ,
    is_acronym,
    is_negated,
    normal_words,
    organ_key,
    respell,
    singular,
    split_list,
    stem,
)
from clinic_env.language.matcher_table import (
    BUNDLED_SYNONYMS,
    SynonymTable,
    load_synonym_table,
)
from clinic_env.language.matcher_values import value_key, value_tokens
from clinic_env.language.terminology import Terminology, load_terminology

__all__ = [
    "BUNDLED_SYNONYMS",
    "DiagnosisMatcher",
    "SynonymTable",
    "Verdict",
    "load_synonym_table",
]

_CACHE_SIZE = 1 << 18
_MAX_WORDS = 12
_MAX_CHARS = 160
_ALIASES = 16
"""How many names of an identity are tried as another name of a prediction."""
_CAUSE_WORDS = 2
"""How many words before "induced", "associated", "related", ... name the cause."""
_PROCEDURES = (
    *("ectomy", "otomy", "ostomy", "plasty", "operative", "surgery", "procedural"),
    *("transplant", "transplantation", "injection", "vaccination", "cataract"),
)
"""Endings of an operation: "post-thyroidectomy hypothyroidism" names a cause."""


class DiagnosisMatcher(NameIndex, ComparisonRules):
    """Decides whether two diagnosis strings name the same disease, offline and fast.

    Args:
        synonyms: The validated hand-written table.
        terminology: The derived terminology, if any (``from_content`` loads the bundled one).
    """

    def __init__(self, synonyms: SynonymTable, terminology: Terminology | None = None) -> None:
        self.synonyms = synonyms
        self._spelling: dict[str, str] = dict(synonyms.spelling)
        self._read_words(synonyms)
        self._names: list[str] = [names[0] for names in synonyms.synonyms]
        self._hand = len(self._names)
        self._ids: dict[str, int] = {}
        self._parents: dict[int, set[int]] = {}
        self._within: dict[int, set[int]] = {}
        self._apart: dict[int, set[int]] = {}
        self._curated_forms: set[int] = set()
        self._form_of: dict[int, set[int]] = {}
        self._organisms: dict[str, int] = {}
        self._words = functools.lru_cache(maxsize=_CACHE_SIZE)(self._normal_words)
        self._forms = functools.lru_cache(maxsize=_CACHE_SIZE)(self._analyse)
        self._verdicts = functools.lru_cache(maxsize=_CACHE_SIZE)(self._compare)
        self._ancestors = functools.lru_cache(maxsize=1 << 14)(self._find_ancestors)
        self._kinds_of = functools.lru_cache(maxsize=1 << 14)(self._find_kinds)
        self._values = functools.lru_cache(maxsize=_CACHE_SIZE)(self._value_of)
        self._tokens = functools.lru_cache(maxsize=_CACHE_SIZE)(value_tokens)
        for group, names in enumerate(synonyms.synonyms):
            for name in names:
                self._ids[" ".join(self._words(name))] = group
        self._by_core: dict[tuple[str, ...], set[tuple[int, tuple[str, ...], tuple[str, ...]]]] = {}
        self._by_shape: dict[str, set[int]] = {}
        self._index()
        self._terminology = terminology
        if terminology is not None:
            self._add_terminology(terminology)
            self._index()
        self._add_curated(synonyms)
        self._vocabulary = frozenset(w for text in self._ids for w in text.split()) | frozenset(
            self._class_of
        )
        self._texts: dict[int, list[str]] = {}
        for text, ident in self._ids.items():
            self._texts.setdefault(ident, []).append(text)
        self._reading = functools.lru_cache(maxsize=_CACHE_SIZE)(self._form)
        self._aliases = functools.lru_cache(maxsize=1 << 14)(self._find_aliases)

    def _read_words(self, synonyms: SynonymTable) -> None:
        """The table's word lists in the form the rules give text: qualifier classes and what
        they imply, harmless, generic and site-sensitive words, look-alikes, phrases."""
        norm = self._norm_word
        qualifiers = synonyms.qualifiers
        self._organism_words = frozenset(
            norm(w) for q in qualifiers if q.name.startswith("organism") for w in q.words
        )
        self._viral_words = frozenset(
            norm(w) for q in qualifiers if q.name == "organism_virus" for w in q.words
        )
        self._implied = {
            norm(w): frozenset(map(norm, q.implies))
            for q in qualifiers
            for w in q.words
            if q.implies
        }

        self._class_of = {norm(w): i for i, q in enumerate(qualifiers) for w in q.words}
        self._links = frozenset(norm(w) for q in qualifiers if q.name == "link" for w in q.words)
        self._exclusive = frozenset(i for i, q in enumerate(qualifiers) if q.exclusive)
        self._class_words = {i: tuple(map(norm, q.words)) for i, q in enumerate(qualifiers)}
        self._site = frozenset(i for i, q in enumerate(qualifiers) if q.name == "site")
        for offset, prefix in enumerate(sorted(JOINED_PREFIXES), start=len(qualifiers)):
            self._exclusive |= {offset}
            for suffix in (
                *map(str, range(13)),
                *"abcdefghijklmnopqrstuvwxyz",
                *("1a", "1b", "1c", "2a", "2b", "2c", "3a", "3b", "3c", "4a", "4b", "4c"),
            ):
                self._class_of.setdefault(prefix + suffix, offset)
        self._harmless = frozenset(map(norm, synonyms.harmless))
        self._site_sensitive = frozenset(map(norm, synonyms.site_sensitive))
        self._generic = frozenset(map(norm, synonyms.generic))
        self._short_of = frozenset(map(norm, synonyms.short_of))
        self._heads = frozenset(map(norm, synonyms.disease_heads))
        self._suffixes = tuple(synonyms.disease_suffixes)
        self._kept_after_site = frozenset(map(norm, synonyms.kept_after_site))
        self._site_stems = frozenset(
            stem(norm(w)) for q in qualifiers if q.name == "site" for w in q.words
        )
        self._units = frozenset(synonyms.units)
        self._inflammations = {
            organ_key(normal_words(organ, self._spelling)): disease
            for organ, disease in synonyms.inflammations.items()
        }
        self._distinct = {
            norm(w): frozenset(map(norm, group)) for group in synonyms.distinct_words for w in group
        }
        self._phrases: dict[tuple[str, ...], tuple[str, ...]] = {}
        for phrase, replacement in synonyms.phrases.items():
            key = tuple(normal_words(phrase, self._spelling))
            self._phrases[key] = tuple(normal_words(replacement, self._spelling))
        self._phrase_starts = frozenset(key[0] for key in self._phrases)
        self._part_of = {norm(part): norm(whole) for part, whole in synonyms.site_parts.items()}
        self._phrase_sizes = sorted({len(key) for key in self._phrases}, reverse=True)

    @classmethod
    def from_content(cls) -> Self:
        """The matcher for the bundled table and terminology, built once per process."""
        return _bundled_matcher(cls)  # type: ignore[arg-type]  # a class is hashable

    # Public API ----------------------------------------------------------------------------

    def normalize(self, text: str) -> str:
        """Folded text with list markers, hedges and spelling variants normalised.

        Negations are kept ("no pulmonary embolism"), so that equal normal forms always
        mean equal statements.
        """
        return " ".join(self._words(text))

    def verdict(self, predicted: str, truth: str, aliases: Sequence[str] = ()) -> Verdict:
        """Same, different or unsure: does ``predicted`` name ``truth`` or one of ``aliases``?

        A reference that states a value ("-0.45", "2.5 mg", "↓ ↓ ↑ ↓") is matched only by
        the same numbers, signs and words, in the same order.
        """
        candidates: tuple[Reading, ...] | None = None
        best = Verdict.DIFFERENT
        for name in (truth, *aliases):
            value = self._values(name)
            if value is not None:
                if self._tokens(predicted) == value:
                    return Verdict.SAME
                continue
            if candidates is None:
                candidates = self._forms(predicted)
            for target in self._forms(name):
                for candidate in candidates:
                    found = self._verdicts(candidate, target)
                    if found is Verdict.SAME:
                        return found
                    if RANK[found] > RANK[best]:
                        best = found
        return best

    def matches(self, predicted: str, truth: str, aliases: Sequence[str] = ()) -> bool:
        """Whether ``predicted`` surely names the same disease as ``truth`` or an alias."""
        return self.verdict(predicted, truth, aliases) is Verdict.SAME

    def rank(
        self, differential: Sequence[str], truth: str, aliases: Sequence[str] = ()
    ) -> int | None:
        """1-based rank of the first entry of ``differential`` that matches, else None."""
        names = (truth, *aliases)
        values = {v for v in map(self._values, names) if v is not None}
        targets = [t for n in names if self._values(n) is None for t in self._forms(n)]
        if not targets and not values:
            return None
        for position, entry in enumerate(differential, start=1):
            if values and self._tokens(entry) in values:
                return position
            for candidate in self._forms(entry):
                if any(self._verdicts(candidate, t) is Verdict.SAME for t in targets):
                    return position
        return None

    def named_forms(self, truth: str, aliases: Sequence[str] = ()) -> tuple[str, ...]:
        """Every name the table and the terminology know that surely names ``truth`` or an
        alias, as written there: its identity's other names and the named forms within it
        ("NSTEMI" for myocardial infarction, "sickle cell anaemia" for sickle cell disease).
        A name this matcher scores as the answer gives the answer away: the leak guard
        withholds these too."""
        idents = {r.ident for n in (truth, *aliases) for r in self._forms(n) if r.ident is not None}
        if not idents:
            return ()
        inside = self._forms_inside
        within = idents.union(*(inside.get(ident, ()) for ident in idents))
        written = self._written_names
        found = {name for ident in within for name in written.get(ident, ())}
        return tuple(sorted(n for n in found if self.matches(n, truth, aliases)))

    @functools.cached_property
    def _forms_inside(self) -> dict[int, frozenset[int]]:
        """Each identity's named forms: the identities listed within it."""
        inside: dict[int, set[int]] = {}
        for form, above in self._within.items():
            for ident in above:
                inside.setdefault(ident, set()).add(form)
        return {ident: frozenset(forms) for ident, forms in inside.items()}

    @functools.cached_property
    def _written_names(self) -> dict[int, tuple[str, ...]]:
        """Each identity's names as the table and terminology write them (the index keeps
        them normalised, which loses the capitals that tell "ALL" from "all")."""
        table = self.synonyms
        sources = [name for group in table.synonyms for name in group]
        sources += [name for disease, names in table.forms.items() for name in (disease, *names)]
        if self._terminology is not None:
            sources += [name for concept in self._terminology.concepts for name in concept.names]
        written: dict[int, set[str]] = {}
        for name in sources:
            ident = self._ids.get(" ".join(self._words(name)))
            if ident is not None:
                written.setdefault(ident, set()).add(name)
        return {ident: tuple(sorted(names)) for ident, names in written.items()}

    def canonical(self, text: str) -> str | None:
        """The preferred name of the group or concept ``text`` names, for reports."""
        for form in self._forms(text):
            if form.ident is not None:
                return self._names[form.ident]
        return None

    # Building ------------------------------------------------------------------------------

    def _norm_word(self, word: str) -> str:
        """A table word in the form the rules give text ("pneumoniae" -> "pneumonie")."""
        return singular(respell(self._spelling.get(word, word)))

    def _normal_words(self, text: str) -> tuple[str, ...]:
        """The rules' normal words, less a genus initial ("E. coli" is "coli"), with an
        organ's inflammation in lay words named by its "-itis" ("inflammation of the
        liver" is "hepatitis")."""
        words = normal_words(text, self._spelling)
        if self._phrase_starts.intersection(words):
            words = self._rephrase(words)
        if "post" in words:
            words = self._join_post(words)
        words = [
            w
            for i, w in enumerate(words)
            if not (
                len(w) == 1
                and w.isalpha()
                and i + 1 < len(words)
                and words[i + 1] in self._organism_words
                and words[i + 1] not in ("virus", "viruses")
                and not (i and words[i - 1] in LETTERED)
            )
        ]
        return tuple(inflamed_organ(words, self._inflammations) or words)

    def _rephrase(self, words: list[str]) -> list[str]:
        """The table's phrases replaced, the longest first ("streptococcus pneumoniae" is
        "pneumococcal")."""
        out: list[str] = []
        index = 0
        while index < len(words):
            for size in self._phrase_sizes if words[index] in self._phrase_starts else ():
                replacement = self._phrases.get(tuple(words[index : index + size]))
                if replacement is not None:
                    out.extend(replacement)
                    index += size
                    break
            else:
                out.append(words[index])
                index += 1
        return out

    def _join_post(self, words: list[str]) -> list[str]:
        """ "post-infectious" is the cause word "postinfectious" when the table knows it; any
        other "post" stays, a word that makes a name something short of the disease."""
        out: list[str] = []
        for word in words:
            if out and out[-1] == "post" and "post" + word in self._class_of:
                out[-1] = "post" + word
            else:
                out.append(word)
        return out

    def _value_of(self, text: str) -> tuple[str, ...] | None:
        return value_key(text, self._units)

    def _find_aliases(self, ident: int) -> tuple[Reading, ...]:
        """Readings of the names an identity is known by (a few, the shortest first)."""
        texts = sorted(self._texts.get(ident, ()), key=len)[:_ALIASES]
        return tuple(self._form(tuple(text.split())) for text in texts)

    def _one_word_names(self, ident: int) -> tuple[str, ...]:
        return tuple(t for t in self._texts.get(ident, ()) if " " not in t)

    # Reading one entry ---------------------------------------------------------------------

    def _analyse(self, text: str) -> tuple[Reading, ...]:
        """The readings of ``text``: none when it is empty or negated."""
        words = self._words(text)
        if not words or is_negated(words):
            return ()
        if " ".join(words) not in self._ids:
            parts, comma_only = split_list(text)
            readings = [w for w in (self._words(p) for p in parts) if w]
            if any(is_negated(w) for w in readings):
                return ()
            if len(readings) == 2 and comma_only and self._inverts(readings[1]):
                words = (*readings[1], *readings[0])
            elif sum(self._names_disease(w) for w in readings) >= 2:
                return (self._form(words, blocked=True),)
        whole = self._form(words)
        head, _, inner = text.rpartition("(")
        inner = inner.rstrip(" )].;")
        if not head.strip() or not inner:
            return (whole,)
        head_words, inner_words = self._words(head), self._words(inner)
        if not head_words or not inner_words:
            return (whole,)
        if is_negated(inner_words):
            return ()
        first, second = self._form(head_words), self._form(inner_words)
        if (
            is_acronym(second.words, first.words)
            or is_acronym(first.words, second.words)
            or self._verdicts(first, second) is Verdict.SAME
        ):
            return (whole, first, second)
        return (whole,)

    def _inverts(self, words: Sequence[str]) -> bool:
        """Whether "X, Y" is X qualified by Y ("diabetes mellitus, type 2"), not a list."""
        return len(words) <= 3 and not self._names_disease(words)

    def _names_disease(self, words: Sequence[str]) -> bool:
        return " ".join(words) in self._ids or disease_like(words, self._heads, self._suffixes)

    def _form(self, words: Sequence[str], *, blocked: bool = False) -> Reading:
        words = tuple(words)
        bag = tuple(sorted(w for i, w in enumerate(words) if not filler(words, i)))
        clause: frozenset[str] = frozenset()
        if "with" in words:
            tail = words[words.index("with") + 1 :]
            if 0 < len(tail) <= 4 and not self._names_disease(tail):
                clause = frozenset(tail)
        if "by" in words:
            cause = words[words.index("by") + 1 :]
            if 0 < len(cause) <= 4:
                clause |= frozenset(cause)
        if self._links.intersection(words):
            clause |= self._causes(words)
        if "post" in words:
            clause |= self._after_operation(words)
        too_long = len(words) > _MAX_WORDS or sum(map(len, words)) > _MAX_CHARS
        repeated = any(n > (2 if w == "cell" else 1) for w, n in Counter(bag).items())
        return Reading(
            text=" ".join(words),
            words=words,
            bag=bag,
            ident=self._ident_of(words),
            base=self._base(words, clause),
            clause=clause,
            ordered=any(w in ORDER_WORDS for w in words),
            blocked=blocked or too_long or repeated,
        )

    def _causes(self, words: tuple[str, ...]) -> frozenset[str]:
        """The words that name a cause before "induced", "associated", "related", ...
        ("amiodarone-induced", "Helicobacter pylori-associated"): at most two, never a word
        that makes the name short of the disease ("non-insulin-dependent")."""
        found: set[str] = set()
        for index, word in enumerate(words):
            if word not in self._links:
                continue
            for before in range(index - 1, max(-1, index - 1 - _CAUSE_WORDS), -1):
                cause = words[before]
                if cause in self._short_of or cause in ORDER_WORDS or filler(words, before):
                    break
                found.add(cause)
        return frozenset(found)

    @staticmethod
    def _after_operation(words: tuple[str, ...]) -> frozenset[str]:
        """ "post" and an operation after it ("post-thyroidectomy", "post-splenectomy") name
        the cause of what follows; any other "post" makes a name short of the disease."""
        found: set[str] = set()
        for index, word in enumerate(words[:-2]):
            if word == "post" and words[index + 1].endswith(_PROCEDURES):
                found.update(words[index : index + 2])
        return frozenset(found)

    def _base(self, words: tuple[str, ...], clause: frozenset[str]) -> int | None:
        """The identity a name has once qualifiers drop, the fewest first ("Candida albicans
        stomatitis" is "Candida stomatitis" before it is "stomatitis")."""
        droppable = [i for i, w in enumerate(words) if w in self._class_of or w in clause]
        if clause and "with" in words:
            droppable.append(words.index("with"))
        if not droppable:
            return None
        sizes = range(1, len(droppable) + 1) if len(droppable) <= 5 else (len(droppable),)
        for size in sizes:
            for dropped in itertools.combinations(droppable, size):
                kept = " ".join(w for i, w in enumerate(words) if i not in dropped)
                if kept in self._ids:
                    return self._ids[kept]
        return None


MatcherT = TypeVar("MatcherT", bound=DiagnosisMatcher)


@functools.cache
def _bundled_matcher(cls: type[MatcherT]) -> MatcherT:
    return cls(load_synonym_table(), load_terminology())
