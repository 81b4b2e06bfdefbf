"""The conversion rules (``cases/conversion.yaml``): which foreign key means what.

The converters never hard-code a key or a phrase: exam keys find their body system, patient
keys and free-text sentences find their fact category, and placeholder values are dropped,
all through the tables of this one content file.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping

from pydantic import Field, field_validator

from clinic_env.content import content_path, load_yaml_model
from clinic_env.language.text import content_stems, fold
from clinic_env.schema.base import Frozen
from clinic_env.schema.case import FactCategory


class PhraseTable:
    """Finds which labels' phrases occur in a text, comparing word stems.

    Scanning left to right, the longest phrase starting at each word wins and its words are
    used up, so "heart rate" is found as one phrase and not also as "heart"; a phrase listed
    under several labels ("cardiopulmonary") finds them all.
    """

    def __init__(self, phrases: Mapping[str, Iterable[str]]) -> None:
        self._by_first: dict[str, list[tuple[tuple[str, ...], str]]] = {}
        for label, items in phrases.items():
            for phrase in items:
                stems = tuple(content_stems(phrase))
                if stems:
                    self._by_first.setdefault(stems[0], []).append((stems, label))
        for entries in self._by_first.values():
            entries.sort(key=lambda entry: -len(entry[0]))

    def matches(self, text: str) -> list[tuple[str, int]]:
        """(label, phrase length) for each phrase found, in text order."""
        stems = content_stems(text)
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


class ConversionRules(Frozen):
    exam_systems: dict[str, tuple[str, ...]] = Field(min_length=1)
    test_groups: tuple[str, ...]
    generic_keys: tuple[str, ...]
    placeholders: tuple[str, ...]
    fact_keys: dict[FactCategory, tuple[str, ...]]
    fact_phrases: dict[FactCategory, tuple[str, ...]]
    nejm_preambles: tuple[str, ...]
    nejm_instructions: tuple[str, ...]
    nejm_exam_words: tuple[str, ...]
    texts: ConversionTexts
    defaults: ConversionDefaults

    @field_validator("nejm_preambles", "nejm_instructions")
    @classmethod
    def _compiles(cls, patterns: tuple[str, ...]) -> tuple[str, ...]:
        for pattern in patterns:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"{pattern!r} is not a regular expression: {exc}") from None
        return patterns


class Rules:
    """The loaded rules with their lookup structures built once."""

    def __init__(self, rules: ConversionRules) -> None:
        self.raw = rules
        self.texts = rules.texts
        self.defaults = rules.defaults
        self.exam_systems = PhraseTable(rules.exam_systems)
        self.fact_keys = PhraseTable(rules.fact_keys)
        self.fact_phrases = PhraseTable(rules.fact_phrases)
        self._category_order = tuple(rules.fact_phrases)
        self.test_groups = frozenset(fold(name) for name in rules.test_groups)
        self.generic_keys = frozenset(fold(name) for name in rules.generic_keys)
        self.placeholders = frozenset(fold(value) for value in rules.placeholders)
        flags = re.IGNORECASE
        self.nejm_preambles = tuple(re.compile(p, flags) for p in rules.nejm_preambles)
        self.nejm_instructions = tuple(re.compile(p, flags) for p in rules.nejm_instructions)
        self.nejm_exam_words = frozenset(fold(word) for word in rules.nejm_exam_words)

    def is_placeholder(self, text: str) -> bool:
        return fold(text) in self.placeholders

    def is_generic(self, key: str) -> bool:
        return fold(key) in self.generic_keys

    def sentence_category(self, sentence: str) -> FactCategory | None:
        """The first category (in the file's order) whose phrases the sentence holds."""
        found = set(self.fact_phrases.labels(sentence))
        return next((c for c in self._category_order if c in found), None)  # type: ignore[return-value]


@functools.cache
def conversion_rules() -> Rules:
    return Rules(load_yaml_model(content_path("cases", "conversion.yaml"), ConversionRules))
