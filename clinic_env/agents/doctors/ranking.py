"""Ranking a differential over the disease knowledge base from what a doctor has learned.

Evidence is the text the doctor has seen, cut into clauses; clauses that deny something ("no
fever", "normal", "unremarkable") are set aside so that a denied finding does not count for a
disease. A disease scores for each typical finding whose words are (mostly) present, more for
test-result words that support it, a little for being common, and loses heavily when the
patient's age group or sex rules it out.

The ranking is incremental: an inverted index maps each word stem to the findings (and
test-result supports) that contain it, and :class:`Evidence` takes each new observation once,
counting only the stems it has not seen before, so a finding is credited the moment enough
of its words have appeared and only the diseases it belongs to are rescored. Observations are
cut into clauses one at a time, so a clause never runs across two observations.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass

from clinic_env.language.knowledge import NameResolver, age_group, diseases, name_stems
from clinic_env.language.text import STOP_WORDS, fold, stem
from clinic_env.schema.case import Demographics
from clinic_env.schema.knowledge import AgeGroup, Disease

FINDING_COVERAGE = 0.67
"""Share of a finding's words that must be present for the finding to count."""
TEST_SUPPORT_WEIGHT = 2.0
PRIOR = {"common": 0.6, "uncommon": 0.3, "rare": 0.0}
AGE_MISMATCH_PENALTY = 4.0
SEX_MISMATCH_PENALTY = 100.0
_NEGATION_WORDS = frozenset(
    [
        "no",
        "not",
        "never",
        "without",
        "denies",
        "denied",
        "deny",
        "none",
        "negative",
        "normal",
        "unremarkable",
        "absent",
        "nil",
        "t",
    ]
)
_CLAUSE = re.compile(r"[.;:\n!?]|\bbut\b")
_AGE_ORDER: tuple[AgeGroup, ...] = ("infant", "child", "adolescent", "adult", "older_adult")


def positive_stems(text: str) -> set[str]:
    """Stems of the clauses of ``text`` that do not deny anything."""
    found: set[str] = set()
    for clause in _CLAUSE.split(text.lower()):
        words = fold(clause).split()
        if not words or _NEGATION_WORDS.intersection(words):
            continue
        found.update(stem(w) for w in words if w not in STOP_WORDS)
    return found


@dataclass(frozen=True, slots=True)
class DiseaseProfile:
    disease: Disease
    findings: tuple[frozenset[str], ...]
    supports: tuple[frozenset[str], ...]
    test_names: tuple[str, ...]
    prior: float


@functools.cache
def profiles() -> tuple[DiseaseProfile, ...]:
    built = []
    for disease in diseases():
        findings = tuple(s for s in map(name_stems, disease.findings) if s)
        supports = tuple(s for t in disease.tests for s in map(name_stems, t.supports) if s)
        tests = tuple(dict.fromkeys(t.test for t in disease.tests))
        built.append(DiseaseProfile(disease, findings, supports, tests, PRIOR[disease.prevalence]))
    return tuple(built)


@functools.cache
def disease_resolver() -> NameResolver:
    """Disease names and aliases to the knowledge base's canonical names."""
    return NameResolver((p.disease.name, p.disease.aliases) for p in profiles())


def profile_index(name: str) -> int | None:
    """The position in :func:`profiles` of the disease ``name`` resolves to, if any."""
    canonical = disease_resolver().resolve(name)
    return None if canonical is None else _index_by_name()[canonical]


@functools.cache
def _index_by_name() -> dict[str, int]:
    return {profile.disease.name: i for i, profile in enumerate(profiles())}


@dataclass(frozen=True, slots=True)
class _Patterns:
    """Distinct stem sets (findings, or test-result supports) and who holds them."""

    needed: tuple[int, ...]
    """Stems each set needs present to count (at least one, at least FINDING_COVERAGE)."""
    holders: tuple[tuple[int, ...], ...]
    """Profile indexes holding each set, once per time a profile lists it."""
    by_stem: Mapping[str, tuple[int, ...]]
    """Stem -> the sets that contain it."""

    @classmethod
    def of(cls, sets_per_profile: list[tuple[frozenset[str], ...]]) -> _Patterns:
        ids: dict[frozenset[str], int] = {}
        holders: list[list[int]] = []
        for index, sets in enumerate(sets_per_profile):
            for stems in sets:
                pattern = ids.setdefault(stems, len(ids))
                if pattern == len(holders):
                    holders.append([])
                holders[pattern].append(index)
        by_stem: dict[str, list[int]] = {}
        for stems, pattern in ids.items():
            for word in stems:
                by_stem.setdefault(word, []).append(pattern)
        return cls(
            needed=tuple(_needed(len(stems)) for stems in ids),
            holders=tuple(map(tuple, holders)),
            by_stem={word: tuple(found) for word, found in by_stem.items()},
        )


def _needed(size: int) -> int:
    """The fewest present stems that cover FINDING_COVERAGE of a set of ``size``."""
    return next(k for k in range(1, size + 1) if k >= FINDING_COVERAGE * size)


@functools.cache
def _findings_index() -> _Patterns:
    return _Patterns.of([p.findings for p in profiles()])


@functools.cache
def _supports_index() -> _Patterns:
    return _Patterns.of([p.supports for p in profiles()])


class _Counter:
    """Present stems and, per set of one index, how many of its stems are present."""

    def __init__(self, patterns: _Patterns, credited: list[int]) -> None:
        self.patterns = patterns
        self.present: set[str] = set()
        self.hits = [0] * len(patterns.needed)
        self.credited = credited
        """Per profile, how many of its sets count (shared with the caller)."""

    def add(self, stems: set[str], touched: set[int]) -> None:
        patterns, hits = self.patterns, self.hits
        for word in stems - self.present:
            for pattern in patterns.by_stem.get(word, ()):
                hits[pattern] += 1
                if hits[pattern] == patterns.needed[pattern]:
                    for index in patterns.holders[pattern]:
                        self.credited[index] += 1
                        touched.add(index)
        self.present |= stems


class Evidence:
    """What one doctor has learned, scored for every disease as it comes in."""

    def __init__(self, demographics: Demographics) -> None:
        known = profiles()
        self._findings = [0] * len(known)
        self._supports = [0] * len(known)
        self._clinical = _Counter(_findings_index(), self._findings)
        self._lab = _Counter(_supports_index(), self._supports)
        self._penalties = _penalties(demographics)
        self.scores = [self._score(i) for i in range(len(known))]
        """Per profile (in :func:`profiles` order), its score now."""

    def add(self, text: str, *, result: bool = False) -> None:
        """Take one observation: history and exam text, or (``result``) a test result."""
        stems = positive_stems(text)
        touched: set[int] = set()
        self._clinical.add(stems, touched)
        if result:
            self._lab.add(stems, touched)
        for index in touched:
            self.scores[index] = self._score(index)

    def ranked(self, bonus: Mapping[int, float] | None = None) -> list[int]:
        """Profile indexes by descending score (ties in knowledge-base order), ``bonus``
        added to the scores of the profiles it names."""
        scores = self.scores
        if bonus:
            scores = list(scores)
            for index, extra in bonus.items():
                scores[index] += extra
        return sorted(range(len(scores)), key=scores.__getitem__, reverse=True)

    def points(self, index: int) -> float:
        """The evidence points of one profile: its findings and supporting results."""
        return self._findings[index] + TEST_SUPPORT_WEIGHT * self._supports[index]

    def _score(self, index: int) -> float:
        score = float(self._findings[index])
        score += TEST_SUPPORT_WEIGHT * self._supports[index]
        score += profiles()[index].prior
        for penalty in self._penalties[index]:
            score -= penalty
        return score


@functools.lru_cache(maxsize=64)
def _penalties(demographics: Demographics) -> tuple[tuple[float, ...], ...]:
    """Per profile, what the patient's age group and sex take off its score."""
    group = age_group(demographics.age_years)
    penalties = []
    for profile in profiles():
        disease = profile.disease
        penalty: tuple[float, ...] = ()
        if group not in disease.age_groups and not _adjacent(group, disease.age_groups):
            penalty += (AGE_MISMATCH_PENALTY,)
        if (
            disease.sex != "any"
            and demographics.sex in ("female", "male")
            and disease.sex != demographics.sex
        ):
            penalty += (SEX_MISMATCH_PENALTY,)
        penalties.append(penalty)
    return tuple(penalties)


def _adjacent(group: AgeGroup, allowed: tuple[AgeGroup, ...]) -> bool:
    index = _AGE_ORDER.index(group)
    return any(abs(_AGE_ORDER.index(a) - index) == 1 for a in allowed)
