"""The conversion rules (``cases/conversion.yaml``): which foreign key means what.

The converters never hard-code a key or a phrase: exam keys find their body system, patient
keys and free-text sentences find their fact category, placeholder, refusal and role-play
text is recognised, MediQ answers find their kind, and the fidelity audit learns which raw
fields are metadata, all through the tables of this one content file.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Literal

from pydantic import Field, field_validator

from clinic_env.content import content_path, load_yaml_model
from clinic_env.language.text import STOP_WORDS, content_stems, fold
from clinic_env.schema.base import Frozen
from clinic_env.schema.case import FactCategory

AnswerKind = Literal["diagnosis", "treatment", "mechanism", "value", "other"]


def whole_words(text: str) -> list[str]:
    """Folded words, stop words removed, never stemmed ("tests" stays apart from "testes")."""
    return [word for word in fold(text).split() if word not in STOP_WORDS]


class PhraseTable:
    """Finds which labels' phrases occur in a text, comparing word stems or whole words.

    Scanning left to right, the longest phrase starting at each word wins and its words are
    used up, so "heart rate" is found as one phrase and not also as "heart"; a phrase listed
    under several labels ("cardiopulmonary") finds them all.
    """

    def __init__(
        self,
        phrases: Mapping[Any, Iterable[str]],
        split: Callable[[str], list[str]] = content_stems,
    ) -> None:
        self._split = split
        self._by_first: dict[str, list[tuple[tuple[str, ...], str]]] = {}
        for label, items in phrases.items():
            for phrase in items:
                stems = tuple(split(phrase))
                if stems:
                    self._by_first.setdefault(stems[0], []).append((stems, label))
        for entries in self._by_first.values():
            entries.sort(key=lambda entry: -len(entry[0]))

    def matches(self, text: str) -> list[tuple[str, int]]:
        """(label, phrase length) for each phrase found, in text order."""
        stems = self._split(text)
        found: list[tuple[str, int]] = []
        i = 0
        while i < len(stems):
            fitting = [
                (phrase, label)
                for phrase, label in self._by_first.get(stems[i], ())
                if tuple(stems[i : i + len(phrase)]) == phrase
            ]
            if not fitting:
                i += 1
                continue
            longest = len(fitting[0][0])
            found += [(label, longest) for phrase, label in fitting if len(phrase) == longest]
            i += longest
        return found

    def labels(self, text: str) -> list[str]:
        """The labels found, each once, in text order."""
        return list(dict.fromkeys(label for label, _ in self.matches(text)))

    def best(self, text: str) -> str | None:
        """The label of the longest phrase found (the first of equals), or None."""
        found = self.matches(text)
        return max(found, key=lambda match: match[1])[0] if found else None


class ConversionTexts(Frozen):
    opening_with_complaint: str = Field(min_length=1)
    opening_without_complaint: str = Field(min_length=1)
    brief_with_complaint: str = Field(min_length=1)
    brief_without_complaint: str = Field(min_length=1)


class ConversionDefaults(Frozen):
    age_years: float = Field(ge=0, le=125)
    caregiver_below_years: float = Field(ge=0)
    test_cost_usd: float = Field(ge=0)
    test_turnaround_hours: float = Field(ge=0)


def _compiled(patterns: Iterable[str]) -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(pattern, re.IGNORECASE) for pattern in patterns)


def _check_patterns(patterns: Iterable[str]) -> None:
    for pattern in patterns:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ValueError(f"{pattern!r} is not a regular expression: {exc}") from None


class Rewrite(Frozen):
    pattern: str
    replacement: str

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, pattern: str) -> str:
        _check_patterns([pattern])
        return pattern


class RolePlayRules(Frozen):
    preambles: tuple[str, ...]
    framing: tuple[Rewrite, ...]
    instructions: tuple[str, ...]
    clause_break: str
    statement_start: str

    @field_validator("preambles", "instructions")
    @classmethod
    def _compile(cls, patterns: tuple[str, ...]) -> tuple[str, ...]:
        _check_patterns(patterns)
        return patterns


class AnswerKindRule(Frozen):
    kind: AnswerKind
    patterns: tuple[str, ...] = Field(min_length=1)
    or_diagnosis: bool = False

    @field_validator("patterns")
    @classmethod
    def _compile(cls, patterns: tuple[str, ...]) -> tuple[str, ...]:
        _check_patterns(patterns)
        return patterns


class FidelityFields(Frozen):
    """Raw fields the fidelity audit treats apart (see ``fidelity`` in the content file)."""

    skip: tuple[str, ...] = ()
    values_only: tuple[str, ...] = ()
    verbatim: tuple[str, ...] = ()
    role_play: tuple[str, ...] = ()


class ConversionRules(Frozen):
    exam_systems: dict[str, tuple[str, ...]] = Field(min_length=1)
    generic_keys: tuple[str, ...]
    placeholders: tuple[str, ...]
    refusals: tuple[str, ...]
    refusal_remarks: tuple[str, ...]
    role_play: RolePlayRules
    fact_keys: dict[FactCategory, tuple[str, ...]]
    fact_phrases: dict[FactCategory, tuple[str, ...]]
    identity_words: tuple[str, ...]
    nejm_exam_words: tuple[str, ...]
    answer_kinds: tuple[AnswerKindRule, ...]
    answer_kind_default: AnswerKind
    fidelity: dict[str, FidelityFields]
    texts: ConversionTexts
    defaults: ConversionDefaults

    @field_validator("refusals", "refusal_remarks")
    @classmethod
    def _compiles(cls, patterns: tuple[str, ...]) -> tuple[str, ...]:
        _check_patterns(patterns)
        return patterns


class Rules:
    """The loaded rules with their lookup structures built once."""

    def __init__(self, rules: ConversionRules) -> None:
        self.raw = rules
        self.texts = rules.texts
        self.defaults = rules.defaults
        self.exam_systems = PhraseTable(rules.exam_systems, whole_words)
        self.fact_keys = PhraseTable(rules.fact_keys)
        self.fact_phrases = PhraseTable(rules.fact_phrases)
        self._category_order = tuple(rules.fact_phrases)
        self.generic_keys = frozenset(fold(name) for name in rules.generic_keys)
        self.placeholders = frozenset(placeholder_key(value) for value in rules.placeholders)
        self.refusals = _compiled(rules.refusals)
        self.refusal_remarks = _compiled(rules.refusal_remarks)
        play = rules.role_play
        self.preambles = _compiled(play.preambles)
        self.framing = tuple(
            (re.compile(r.pattern, re.IGNORECASE), r.replacement) for r in play.framing
        )
        self.instructions = _compiled(play.instructions)
        self.clause_break = re.compile(play.clause_break, re.IGNORECASE)
        self.statement_start = re.compile(play.statement_start, re.IGNORECASE)
        self.identity_words = frozenset(fold(word) for word in rules.identity_words)
        self.nejm_exam_words = frozenset(fold(word) for word in rules.nejm_exam_words)
        self.answer_kinds = tuple(
            (rule.kind, _compiled(rule.patterns), rule.or_diagnosis) for rule in rules.answer_kinds
        )

    def is_placeholder(self, text: str) -> bool:
        """A whole value that means "nothing recorded" ("N/A", "Not provided", "-")."""
        return placeholder_key(text) in self.placeholders

    def is_refusal(self, text: str) -> bool:
        """A value or sentence that only says the source had nothing to give."""
        return any(pattern.search(text) for pattern in self.refusals)

    def is_instruction(self, text: str) -> bool:
        """A role-play instruction to a patient actor, never a patient fact."""
        return any(pattern.search(text) for pattern in self.instructions)

    def is_generic(self, key: str) -> bool:
        return fold(key) in self.generic_keys

    def fidelity_fields(self, format_name: str) -> FidelityFields:
        return self.raw.fidelity.get(format_name, FidelityFields())

    def sentence_category(self, sentence: str) -> FactCategory | None:
        """The first category (in the file's order) whose phrases the sentence holds."""
        found = set(self.fact_phrases.labels(sentence))
        return next((c for c in self._category_order if c in found), None)  # type: ignore[return-value]


def placeholder_key(text: str) -> str:
    """Case, spaces and a final full stop normalised, nothing else: "N/A", "n/a" and "N/A."
    meet, while "↓ ↓" stays itself."""
    return " ".join(text.casefold().split()).rstrip(". ")


@functools.cache
def conversion_rules() -> Rules:
    return Rules(load_yaml_model(content_path("cases", "conversion.yaml"), ConversionRules))
