"""Offline, precision-first matching of a doctor's stated diagnosis against a case's answer.

Scoring needs to know whether "Probable acute appendicitis", "DKA" or "Guillain–Barré" name
the same disease as the ground truth, millions of times in a batch run, without a model call.
This module decides that from text alone, with a declarative table of synonyms, spelling
variants and harmless qualifiers (``evaluators/synonyms/diagnoses.yaml``).

Precision comes first: a wrong "correct" inflates every score built on it, while a missed
paraphrase can be fixed by adding a synonym. So a match needs one of

* equal normalised text (case, accents, possessives, punctuation, list markers, hedges and
  British/American spelling ignored);
* both sides resolving to the same synonym group;
* equal text once harmless qualifiers are dropped (see :class:`SynonymTable`), where no
  qualifier on one side conflicts with a different one on the other side.

A word that differs and is not a harmless qualifier always blocks a match, an exact entry
of the synonym table is authoritative (two names in different groups never match, however
alike they read), and negated or historical statements ("no PE", "PE ruled out", "history
of PE") never match.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Self, TypeVar

from pydantic import Field, ValidationInfo, field_validator

from clinic_env.content import content_path, load_yaml_model
from clinic_env.language.text import fold
from clinic_env.schema.base import Frozen

__all__ = [
    "BUNDLED_SYNONYMS",
    "DiagnosisMatcher",
    "SynonymTable",
    "load_synonym_table",
]

BUNDLED_SYNONYMS: tuple[str, ...] = ("evaluators", "synonyms", "diagnoses.yaml")
"""Parts of the bundled table's path, for :func:`clinic_env.content.content_path`."""

_CACHE_SIZE = 1 << 18
_WORD = re.compile(r"^[a-z0-9]+$")

# List markers are stripped from the raw text, where their punctuation still tells them from
# words: "1.", "2)", "(a)", "iv)", "-", "*", "•". A letter needs a closing parenthesis, so
# that "E. coli" and "H. pylori" keep their initial.
_LIST_MARKER = re.compile(
    r"^\s*(?:[-*•·–—>]+|#?\d{1,2}\s*[.):](?!\d)|\(\d{1,2}\)|\(?[a-z]\)|\(?[ivx]{1,4}\))\s*",
    re.IGNORECASE,
)

# "Pulmonary embolism (PE)": a name followed by one parenthesised remark.
_PARENTHETICAL = re.compile(r"^(?P<head>.*\S)\s*[(\[](?P<inner>[^()\[\]]+)[)\]]\W*$")


def _phrases(text: str) -> tuple[tuple[str, ...], ...]:
    """Folded phrases separated by ``|``, longest first so that the longest one wins."""
    phrases = {tuple(fold(part).split()) for part in text.split("|")}
    return tuple(sorted((p for p in phrases if p), key=len, reverse=True))


# Words that state how sure the doctor is, or label the answer; they carry no disease.
# "r/o" and "rule out" are hedges: in a differential they put the disease on the list.
_LEADING_HEDGES = _phrases(
    """most likely | more likely | very likely | highly likely | likely | probable | probably |
    possible | possibly | presumed | presumptive | presumably | suspected | suspect | query |
    suspicion of | suspicious for | concern for | concerning for | r o | rule out | to rule out |
    exclude | to exclude | consider | considering | consistent with | suggestive of |
    in keeping with | compatible with | features of | picture of | clinical diagnosis of |
    diagnosis | diagnoses | diagnosis of | diagnosis is | differential | differential diagnosis |
    final diagnosis | working diagnosis | provisional diagnosis | primary diagnosis |
    main diagnosis | leading diagnosis | top diagnosis | dx | ddx | impression | assessment |
    i think | i suspect | i believe | i would say | this is | this is likely | it is | it s |
    patient has | the patient has | patient with | a | an | the | is | of | be | would be"""
)
_TRAILING_HEDGES = _phrases(
    """likely | most likely | more likely | less likely | very likely | is likely |
    is most likely | probable | probably | possible | possibly | suspected | presumed | query |
    favoured | favored | confirmed | diagnosis | is the diagnosis | suspected diagnosis"""
)

# Phrases rewritten before anything else, so that their words are not read as a negation.
_CANONICAL_PHRASES: tuple[tuple[tuple[str, ...], str], ...] = (
    (("not", "otherwise", "specified"), "nos"),
)

# A statement that denies the disease, or places it in the past, is not a diagnosis of it.
_NEGATING_WORDS = frozenset({"not", "unlikely", "excluded"})
_NEGATING_PAIRS = frozenset(
    {
        ("ruled", "out"),
        ("rules", "out"),
        ("history", "of"),
        ("negative", "for"),
        ("no", "evidence"),
        ("absence", "of"),
    }
)
_NEGATING_FIRST = frozenset({"no", "without", "never", "previous", "prior", "past"})
_NEGATING_FIRST_PAIRS = frozenset({("h", "o")})
_NEGATING_LAST = frozenset({"negative", "resolved"})

_ACRONYM_FILLERS = frozenset({"of", "the", "and", "with", "in"})


def _strip_list_markers(text: str) -> str:
    """Remove leading list markers ("1.", "a)", "-"), repeatedly, from raw text."""
    for _ in range(3):
        stripped = _LIST_MARKER.sub("", text, count=1)
        if stripped == text:
            break
        text = stripped
    return text


def _canonical_phrases(words: list[str]) -> list[str]:
    """Rewrite multi-word phrases that have one canonical token (e.g. NOS)."""
    for phrase, token in _CANONICAL_PHRASES:
        size = len(phrase)
        index = 0
        while index + size <= len(words):
            if tuple(words[index : index + size]) == phrase:
                words = [*words[:index], token, *words[index + size :]]
            index += 1
    return words


def _strip_hedges(words: list[str]) -> list[str]:
    """Remove hedges and labels from both ends until none is left."""
    changed = True
    while changed and words:
        changed = False
        for phrase in _LEADING_HEDGES:
            if tuple(words[: len(phrase)]) == phrase:
                words = words[len(phrase) :]
                changed = True
                break
        for phrase in _TRAILING_HEDGES:
            if len(words) >= len(phrase) and tuple(words[-len(phrase) :]) == phrase:
                words = words[: -len(phrase)]
                changed = True
                break
    return words


def _normalize(text: str, spelling: Mapping[str, str]) -> str:
    """The normalised form of ``text``; :meth:`DiagnosisMatcher.normalize` caches it."""
    words = _canonical_phrases(fold(_strip_list_markers(text)).split())
    return " ".join(spelling.get(word, word) for word in _strip_hedges(words))


def _is_negated(words: Sequence[str]) -> bool:
    """Whether normalised words deny the disease or place it in the past."""
    if not words:
        return False
    if words[0] in _NEGATING_FIRST or words[-1] in _NEGATING_LAST:
        return True
    if tuple(words[:2]) in _NEGATING_FIRST_PAIRS:
        return True
    if any(word in _NEGATING_WORDS for word in words):
        return True
    return any(pair in _NEGATING_PAIRS for pair in itertools.pairwise(words))


def _is_acronym(short: Sequence[str], long: Sequence[str]) -> bool:
    """Whether ``short`` spells the initials of ``long`` ("pe" for "pulmonary embolism")."""
    letters = "".join(short)
    if len(short) != 1 or len(letters) < 2 or len(long) < 2:
        return False
    initials = "".join(word[0] for word in long)
    content = "".join(word[0] for word in long if word not in _ACRONYM_FILLERS)
    return letters in (initials, content)


SynonymGroup = Annotated[tuple[Annotated[str, Field(min_length=1)], ...], Field(min_length=2)]
QualifierClass = Annotated[tuple[str, ...], Field(min_length=1)]


class SynonymTable(Frozen):
    """Schema of ``evaluators/synonyms/diagnoses.yaml``.

    Attributes:
        spelling: Word-level variants mapped to one form (``haemorrhage: hemorrhage``,
            ``crohns: crohn``), applied to both sides after folding. Keys and values are
            single folded words, and no value is itself a key, so one pass is enough.
        qualifiers: Harmless words, grouped into classes of mutually exclusive
            alternatives. A qualifier may be present on one side and absent on the other,
            unless the other side holds a *different* word of the same class:
            "appendicitis" = "acute appendicitis", "Graves" = "Graves disease", but
            "Cushing disease" != "Cushing syndrome" and "left ... failure" != "right ...
            failure". A word that is not listed here (e.g. "chronic") never drops.
        synonyms: Groups of names for one disease. After normalisation no name may appear
            twice, within a group or across groups: an ambiguous abbreviation belongs
            nowhere.
    """

    spelling: dict[str, str] = Field(default_factory=dict)
    qualifiers: tuple[QualifierClass, ...] = ()
    synonyms: tuple[SynonymGroup, ...]

    @field_validator("spelling")
    @classmethod
    def _check_spelling(cls, spelling: dict[str, str]) -> dict[str, str]:
        for variant, preferred in spelling.items():
            for word in (variant, preferred):
                if not _WORD.match(word):
                    raise ValueError(f"{word!r} is not one lower-case word without accents")
            if variant == preferred:
                raise ValueError(f"{variant!r} is mapped to itself")
            if preferred in spelling:
                raise ValueError(
                    f"{variant!r} maps to {preferred!r}, which is itself mapped; "
                    f"map {variant!r} to the final form"
                )
        return spelling

    @field_validator("qualifiers")
    @classmethod
    def _check_qualifiers(
        cls, qualifiers: tuple[tuple[str, ...], ...], info: ValidationInfo
    ) -> tuple[tuple[str, ...], ...]:
        spelling: Mapping[str, str] = info.data.get("spelling", {})
        seen: set[str] = set()
        for index, words in enumerate(qualifiers):
            for word in words:
                if not _WORD.match(word):
                    raise ValueError(
                        f"class {index}: {word!r} is not one lower-case word without accents"
                    )
                if word in seen:
                    raise ValueError(f"class {index}: {word!r} is listed twice")
                if word in spelling:
                    raise ValueError(
                        f"class {index}: {word!r} is rewritten by spelling; "
                        f"list {spelling[word]!r} instead"
                    )
                seen.add(word)
        return qualifiers

    @field_validator("synonyms")
    @classmethod
    def _check_synonyms(
        cls, groups: tuple[tuple[str, ...], ...], info: ValidationInfo
    ) -> tuple[tuple[str, ...], ...]:
        spelling: Mapping[str, str] = info.data.get("spelling", {})
        droppable = {word for words in info.data.get("qualifiers", ()) for word in words}
        owner: dict[str, tuple[int, str]] = {}
        for index, names in enumerate(groups):
            for name in names:
                text = _normalize(name, spelling)
                words = text.split()
                if not words or all(word in droppable for word in words):
                    raise ValueError(
                        f"group {index} {list(names)}: {name!r} has no words besides "
                        "hedges and qualifiers"
                    )
                if _is_negated(words):
                    raise ValueError(f"group {index} {list(names)}: {name!r} reads as negated")
                if text in owner:
                    other, first = owner[text]
                    where = (
                        "this group" if other == index else f"group {other} {list(groups[other])}"
                    )
                    raise ValueError(
                        f"group {index} {list(names)}: {name!r} is the same name as "
                        f"{first!r} in {where} once normalised to {text!r}"
                    )
                owner[text] = (index, name)
        return groups


def load_synonym_table(path: Path | None = None) -> SynonymTable:
    """Load and validate a synonyms file (the bundled one by default).

    Raises:
        ContentError: The file is missing or invalid; the message names file, line, field.
    """
    return load_yaml_model(path or content_path(*BUNDLED_SYNONYMS), SynonymTable)


@dataclass(frozen=True, slots=True)
class _Form:
    """One reading of a diagnosis: its words, its core without qualifiers, its group."""

    text: str
    words: tuple[str, ...]
    core: tuple[str, ...]
    dropped: tuple[str, ...]
    exact: int | None
    group: int | None


class DiagnosisMatcher:
    """Decides whether two diagnosis strings name the same disease, offline and fast.

    Args:
        synonyms: The validated synonym table.
    """

    def __init__(self, synonyms: SynonymTable) -> None:
        self.synonyms = synonyms
        self._spelling: dict[str, str] = dict(synonyms.spelling)
        self._qualifier_class: dict[str, int] = {
            word: index for index, words in enumerate(synonyms.qualifiers) for word in words
        }
        self._group_names: tuple[tuple[str, ...], ...] = synonyms.synonyms
        self._exact: dict[str, int] = {}
        self._by_core: dict[tuple[str, ...], list[tuple[int, tuple[str, ...]]]] = {}
        self._normalize_cached = functools.lru_cache(maxsize=_CACHE_SIZE)(self._normalize)
        self._forms = functools.lru_cache(maxsize=_CACHE_SIZE)(self._analyse)
        self._qualified_equal = functools.lru_cache(maxsize=_CACHE_SIZE)(self._align)
        for group, names in enumerate(synonyms.synonyms):
            for name in names:
                words = tuple(self.normalize(name).split())
                self._exact[" ".join(words)] = group
                self._by_core.setdefault(self._core(words), []).append((group, words))

    @classmethod
    def from_content(cls) -> Self:
        """The matcher for the bundled synonyms file, loaded once per process."""
        return _bundled_matcher(cls)

    def normalize(self, text: str) -> str:
        """Folded text with list markers, hedges and spelling variants normalised.

        Negations are kept ("no pulmonary embolism"), so that equal normal forms always
        mean equal statements.
        """
        return self._normalize_cached(text)

    def matches(self, predicted: str, truth: str, aliases: Sequence[str] = ()) -> bool:
        """Whether ``predicted`` names the same disease as ``truth`` or one of ``aliases``."""
        candidates = self._forms(predicted)
        if not candidates:
            return False
        return any(
            self._same(candidate, target)
            for name in (truth, *aliases)
            for target in self._forms(name)
            for candidate in candidates
        )

    def rank(
        self, differential: Sequence[str], truth: str, aliases: Sequence[str] = ()
    ) -> int | None:
        """1-based rank of the first entry of ``differential`` that matches, else None."""
        targets = [target for name in (truth, *aliases) for target in self._forms(name)]
        if not targets:
            return None
        for position, entry in enumerate(differential, start=1):
            if any(self._same(c, t) for c in self._forms(entry) for t in targets):
                return position
        return None

    def canonical(self, text: str) -> str | None:
        """The first name of the synonym group ``text`` resolves to, for reports."""
        for form in self._forms(text):
            if form.group is not None:
                return self._group_names[form.group][0]
        return None

    # Internals -------------------------------------------------------------------------

    def _normalize(self, text: str) -> str:
        return _normalize(text, self._spelling)

    def _core(self, words: Iterable[str]) -> tuple[str, ...]:
        return tuple(word for word in words if word not in self._qualifier_class)

    def _form(self, text: str) -> _Form:
        words = tuple(text.split())
        core = self._core(words)
        dropped = tuple(word for word in words if word in self._qualifier_class)
        exact = self._exact.get(text)
        group = exact if exact is not None else self._core_group(words, core)
        return _Form(text, words, core, dropped, exact, group)

    def _core_group(self, words: tuple[str, ...], core: tuple[str, ...]) -> int | None:
        """The one group with a name equal to ``words`` up to harmless qualifiers."""
        if not core:
            return None
        groups = {
            group
            for group, name in self._by_core.get(core, ())
            if self._qualified_equal(words, name)
        }
        return groups.pop() if len(groups) == 1 else None

    def _analyse(self, text: str) -> tuple[_Form, ...]:
        """The readings of ``text``: none when it is empty or negated."""
        normal = self.normalize(text)
        if not normal or _is_negated(normal.split()):
            return ()
        whole = self._form(normal)
        found = _PARENTHETICAL.match(text)
        if found is None:
            return (whole,)
        head, inner = self.normalize(found["head"]), self.normalize(found["inner"])
        if not head or not inner or _is_negated(head.split()) or _is_negated(inner.split()):
            return (whole,)
        head_form, inner_form = self._form(head), self._form(inner)
        if (
            _is_acronym(inner_form.words, head_form.words)
            or _is_acronym(head_form.words, inner_form.words)
            or self._same(head_form, inner_form)
        ):
            return (whole, head_form, inner_form)
        return (whole,)

    def _same(self, a: _Form, b: _Form) -> bool:
        """The matching rule on two readings (see the module docstring)."""
        if a.text == b.text:
            return True
        if a.exact is not None and b.exact is not None:
            return a.exact == b.exact
        if a.exact is not None:
            return b.group == a.exact
        if b.exact is not None:
            return a.group == b.exact
        if a.group is not None and a.group == b.group and self._compatible(a.dropped, b.dropped):
            return True
        return bool(a.core) and a.core == b.core and self._qualified_equal(a.words, b.words)

    def _align(self, a: tuple[str, ...], b: tuple[str, ...]) -> bool:
        """Whether ``a`` and ``b`` differ only by compatible harmless qualifiers.

        The words are aligned in order (a weighted longest common subsequence that keeps
        every non-qualifier word), so "right to left shunt" does not equal "left to right
        shunt" even though both hold the same words.
        """
        heavy = 1 + sum(1 for word in a if word in self._qualifier_class)
        best = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
        for i in range(len(a) - 1, -1, -1):
            for j in range(len(b) - 1, -1, -1):
                score = max(best[i + 1][j], best[i][j + 1])
                if a[i] == b[j]:
                    weight = 1 if a[i] in self._qualifier_class else heavy
                    score = max(score, best[i + 1][j + 1] + weight)
                best[i][j] = score
        left_a: list[str] = []
        left_b: list[str] = []
        i = j = 0
        while i < len(a) and j < len(b):
            weight = 1 if a[i] in self._qualifier_class else heavy
            if a[i] == b[j] and best[i][j] == best[i + 1][j + 1] + weight:
                i, j = i + 1, j + 1
            elif best[i + 1][j] >= best[i][j + 1]:
                left_a.append(a[i])
                i += 1
            else:
                left_b.append(b[j])
                j += 1
        left_a.extend(a[i:])
        left_b.extend(b[j:])
        if any(word not in self._qualifier_class for word in (*left_a, *left_b)):
            return False
        return self._compatible(tuple(left_a), tuple(left_b))

    def _compatible(self, left_a: Sequence[str], left_b: Sequence[str]) -> bool:
        """No class has one word on one side and a different word on the other."""
        return not any(
            x != y and self._qualifier_class[x] == self._qualifier_class[y]
            for x in left_a
            for y in left_b
        )


MatcherT = TypeVar("MatcherT", bound=DiagnosisMatcher)


@functools.cache
def _bundled_matcher(cls: type[MatcherT]) -> MatcherT:
    return cls(load_synonym_table())
