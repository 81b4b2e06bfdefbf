"""The rule content offline evaluators read: inquiry cues, fidelity checks, phrase sets.

Each file under ``evaluators/rules/`` is validated on load (unknown keys rejected, errors
naming file, line and field). Phrases are matched after folding
(:func:`clinic_env.language.text.fold`, as every offline component folds), on word boundaries,
one compiled pattern per set.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping

from pydantic import Field, RootModel

from clinic_env.content import content_path, load_yaml_model
from clinic_env.errors import UnknownNameError
from clinic_env.language.identity import IdentityCache
from clinic_env.language.text import fold
from clinic_env.schema.base import Frozen
from clinic_env.schema.case import FactCategory


class InquiryRules(Frozen):
    chief_complaint: tuple[str, ...] = Field(min_length=1)
    history_topics: tuple[FactCategory, ...] = Field(min_length=1)
    weak_terms: tuple[str, ...] = ()
    generic_terms: tuple[str, ...] = ()


class FidelityRules(Frozen):
    denials: tuple[str, ...] = Field(min_length=1)
    negations: tuple[str, ...] = Field(min_length=1)
    role_breaks: tuple[str, ...] = Field(min_length=1)
    persona_words_base: int = Field(ge=1)
    persona_words_per_verbosity: int = Field(ge=0)
    manipulation: tuple[str, ...] = Field(min_length=1)


class PhraseSets(RootModel[dict[str, tuple[str, ...]]]):
    """Named sets; the keys are free, so a rubric can name any set the file holds."""


@functools.cache
def inquiry_rules() -> InquiryRules:
    return load_yaml_model(content_path("evaluators", "rules", "inquiry.yaml"), InquiryRules)


@functools.cache
def fidelity_rules() -> FidelityRules:
    return load_yaml_model(content_path("evaluators", "rules", "fidelity.yaml"), FidelityRules)


@functools.cache
def phrase_sets() -> dict[str, tuple[str, ...]]:
    path = content_path("evaluators", "rules", "phrases.yaml")
    return dict(load_yaml_model(path, PhraseSets).root)


def phrase_set(name: str) -> tuple[str, ...]:
    sets = phrase_sets()
    if name not in sets:
        raise UnknownNameError(f"unknown phrase set {name!r} (known: {', '.join(sets)})")
    return sets[name]


@functools.lru_cache(maxsize=256)
def _alternation(phrases: tuple[str, ...], anchored: bool) -> re.Pattern[str]:
    """One pattern for a phrase set, matched against `` <folded text> `` (what
    :func:`clinic_env.language.text.contains_phrase` does one phrase at a time)."""
    folded = sorted({fold(p) for p in phrases if fold(p)}, key=len, reverse=True)
    body = "|".join(map(re.escape, folded)) or r"(?!)"
    return re.compile(("^ " if anchored else " ") + f"(?:{body}) ")


class _PhraseMatcher(dict[str, bool]):
    """One phrase set's pattern and the answers it gave, per text: doctors and offline
    patients repeat themselves across steps and episodes, and a repeated text is one lookup
    of this dict (in C)."""

    def __init__(self, phrases: tuple[str, ...], anchored: bool) -> None:
        super().__init__()
        self.pattern = _alternation(phrases, anchored)

    def __missing__(self, text: str) -> bool:
        found = self.pattern.search(f" {fold(text)} ") is not None
        if len(self) >= _ANSWERS_PER_SET:
            self.clear()
        self[text] = found
        return found


_ANSWERS_PER_SET = 65536
_SETS_KEPT = 1024
# Each set's matcher is found by the set's identity: phrase sets come from cached content, so
# the same tuple is passed every time, and hashing its phrases on each call is waste.
_anywhere = IdentityCache(functools.partial(_PhraseMatcher, anchored=False), _SETS_KEPT)
_at_start = IdentityCache(functools.partial(_PhraseMatcher, anchored=True), _SETS_KEPT)


def phrase_finder(phrases: tuple[str, ...]) -> Mapping[str, bool]:
    """:func:`says_any` for one phrase set, found once: ``finder[text]`` answers it (for a
    check that runs on every turn)."""
    return _anywhere(phrases)


def opening_finder(phrases: tuple[str, ...]) -> Mapping[str, bool]:
    """:func:`starts_with_any` for one phrase set, found once: ``finder[text]`` answers it."""
    return _at_start(phrases)


def says_any(text: str, phrases: tuple[str, ...]) -> bool:
    """Whether ``text`` holds any of ``phrases`` (folded, on word boundaries)."""
    return _anywhere(phrases)[text]


def starts_with_any(text: str, phrases: tuple[str, ...]) -> bool:
    """Whether ``text`` opens with any of ``phrases`` (folded, on word boundaries)."""
    return _at_start(phrases)[text]


_SETS_IN: dict[str, frozenset[str]] = {}


def phrase_sets_in(text: str) -> frozenset[str]:
    """The names of the phrase sets ``text`` holds, each set tried once per distinct text:
    a transcript's messages are then read for every rubric check with one lookup each."""
    found = _SETS_IN.get(text)
    if found is None:
        sets = phrase_sets().items()
        found = frozenset(name for name, phrases in sets if says_any(text, phrases))
        if len(_SETS_IN) >= _ANSWERS_PER_SET:
            _SETS_IN.clear()
        _SETS_IN[text] = found
    return found
