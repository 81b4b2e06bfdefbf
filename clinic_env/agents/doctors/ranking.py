"""Ranking a differential over the disease knowledge base from what a doctor has learned.

Evidence is the text the doctor has seen, cut into clauses; clauses that deny something ("no
fever", "normal", "unremarkable") are set aside so that a denied finding does not count for a
disease. A disease scores for each typical finding whose words are (mostly) present, more for
test-result words that support it, a little for being common, and loses heavily when the
patient's age group or sex rules it out.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from clinic_env.language.knowledge import diseases, name_stems
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


def age_group(age_years: float) -> AgeGroup:
    if age_years < 2:
        return "infant"
    if age_years < 13:
        return "child"
    if age_years < 18:
        return "adolescent"
    if age_years < 65:
        return "adult"
    return "older_adult"


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


def _matches(needed: frozenset[str], present: set[str]) -> bool:
    shared = len(needed & present)
    return shared > 0 and shared >= FINDING_COVERAGE * len(needed)


def rank_diseases(
    history: str, results: str, demographics: Demographics
) -> list[tuple[float, DiseaseProfile]]:
    """Diseases by descending score, given history/exam text and test-result text."""
    clinical = positive_stems(history) | positive_stems(results)
    lab = positive_stems(results)
    group = age_group(demographics.age_years)
    ranked = []
    for profile in profiles():
        disease = profile.disease
        score = sum(1.0 for f in profile.findings if _matches(f, clinical))
        score += TEST_SUPPORT_WEIGHT * sum(1.0 for s in profile.supports if _matches(s, lab))
        score += profile.prior
        if group not in disease.age_groups and not _adjacent(group, disease.age_groups):
            score -= AGE_MISMATCH_PENALTY
        if (
            disease.sex != "any"
            and demographics.sex in ("female", "male")
            and disease.sex != demographics.sex
        ):
            score -= SEX_MISMATCH_PENALTY
        ranked.append((score, profile))
    ranked.sort(key=lambda pair: -pair[0])
    return ranked


def _adjacent(group: AgeGroup, allowed: tuple[AgeGroup, ...]) -> bool:
    index = _AGE_ORDER.index(group)
    return any(abs(_AGE_ORDER.index(a) - index) == 1 for a in allowed)
