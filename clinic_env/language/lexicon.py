"""The offline patient's vocabulary: word groups, question-category cues, probe phrases.

Loaded from ``agents/knowledge/lexicon.yaml``. Text becomes a set of *terms*: light stems
plus the ids of the word groups they belong to, so "breathless" in a question meets
"short of breath" in a fact.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from pydantic import Field

from clinic_env.content import content_path, load_yaml_model
from clinic_env.language.text import STOP_WORDS, fold, stem
from clinic_env.schema.base import Frozen
from clinic_env.schema.case import FactCategory


class LexiconFile(Frozen):
    groups: tuple[tuple[str, ...], ...] = Field(min_length=1)
    category_cues: dict[FactCategory, tuple[str, ...]]
    open_questions: tuple[str, ...]
    diagnosis_probes: tuple[str, ...] = Field(min_length=1)
    yes_no_openers: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Question:
    """What the patient needs to know about a question, computed once per distinct text."""

    terms: frozenset[str]
    topics: frozenset[str]
    is_probe: bool
    is_open: bool
    is_yes_no: bool


class Lexicon:
    """Term extraction with synonym groups; built once and shared by every patient."""

    def __init__(self, data: LexiconFile) -> None:
        self._word_groups: dict[str, set[str]] = {}
        self._phrase_groups: list[tuple[str, str]] = []
        for index, group in enumerate(data.groups):
            group_id = f"#g{index}"
            for member in group:
                folded = fold(member)
                if " " in folded:
                    self._phrase_groups.append((f" {folded} ", group_id))
                else:
                    self._word_groups.setdefault(stem(folded), set()).add(group_id)
        self.category_cues: dict[str, frozenset[str]] = {
            category: self.terms(" ".join(cues)) - self._group_ids()
            for category, cues in data.category_cues.items()
        }
        self.open_questions = tuple(f" {fold(q)} " for q in data.open_questions)
        self.diagnosis_probes = tuple(f" {fold(p)} " for p in data.diagnosis_probes)
        self.yes_no_openers = frozenset(fold(word) for word in data.yes_no_openers)

    def _group_ids(self) -> set[str]:
        ids = {g for groups in self._word_groups.values() for g in groups}
        return ids | {g for _, g in self._phrase_groups}

    @functools.lru_cache(maxsize=65536)  # noqa: B019 - one lexicon per process
    def terms(self, text: str) -> frozenset[str]:
        """Stems of the meaningful words of ``text`` and the ids of their word groups."""
        folded = fold(text)
        found: set[str] = set()
        for word in folded.split():
            if word in STOP_WORDS:
                continue
            word_stem = stem(word)
            found.add(word_stem)
            groups = self._word_groups.get(word_stem)
            if groups:
                found.update(groups)
        padded = f" {folded} "
        for phrase, group_id in self._phrase_groups:
            if phrase in padded:
                found.add(group_id)
        return frozenset(found)

    def categories(self, terms: frozenset[str]) -> frozenset[str]:
        """The fact categories a question's terms point at."""
        return frozenset(c for c, cues in self.category_cues.items() if terms & cues)

    @functools.lru_cache(maxsize=65536)  # noqa: B019 - one lexicon per process
    def question(self, text: str) -> Question:
        """Everything the patient reads off a question (doctors repeat themselves a lot)."""
        folded = fold(text)
        padded = f" {folded} "
        terms = self.terms(folded)
        return Question(
            terms=terms,
            topics=self.categories(terms),
            is_probe=any(phrase in padded for phrase in self.diagnosis_probes),
            is_open=any(phrase in padded for phrase in self.open_questions),
            is_yes_no=folded.split(" ", 1)[0] in self.yes_no_openers,
        )


@functools.cache
def lexicon() -> Lexicon:
    return Lexicon(
        load_yaml_model(content_path("agents", "knowledge", "lexicon.yaml"), LexiconFile)
    )
