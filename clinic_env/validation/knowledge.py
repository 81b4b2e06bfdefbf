"""The knowledge-base side of validation: which disease a case is, and what it records."""

from __future__ import annotations

import functools

from clinic_env.language.knowledge import diseases, test_resolver
from clinic_env.language.matcher import DiagnosisMatcher
from clinic_env.language.text import fold
from clinic_env.schema.case import Case, TestResult
from clinic_env.schema.knowledge import Disease


@functools.cache
def _diseases_by_name() -> tuple[dict[str, Disease], dict[str, Disease]]:
    """Knowledge-base diseases by normalised name, and by normalised alias."""
    normalize = DiagnosisMatcher.from_content().normalize
    names: dict[str, Disease] = {}
    aliases: dict[str, Disease] = {}
    for disease in diseases():
        names.setdefault(normalize(disease.name), disease)
        for alias in disease.aliases:
            aliases.setdefault(normalize(alias), disease)
    return names, aliases


def find_disease(name: str) -> Disease | None:
    """The knowledge-base disease ``name`` is the name of, else the one it is an alias of."""
    key = DiagnosisMatcher.from_content().normalize(name)
    names, aliases = _diseases_by_name()
    return names.get(key) or aliases.get(key)


def disease_of(case: Case) -> Disease | None:
    """The knowledge-base disease of a case's diagnosis (its name first, then its aliases)."""
    truth = case.ground_truth
    for name in (truth.diagnosis, *truth.aliases):
        if (disease := find_disease(name)) is not None:
            return disease
    return None


def recorded_tests(case: Case) -> dict[str, TestResult]:
    """A case's results keyed by catalogue name and by folded name, as the room finds them."""
    resolver = test_resolver()
    index: dict[str, TestResult] = {}
    for test in case.tests:
        for name in (test.name, *test.aliases):
            index.setdefault(fold(name), test)
            if canonical := resolver.resolve(name):
                index.setdefault(canonical, test)
    return index


def recorded(index: dict[str, TestResult], test_name: str) -> TestResult | None:
    """The result a case records for a test named as the knowledge base names it."""
    canonical = test_resolver().resolve(test_name)
    return index.get(canonical or "") or index.get(fold(test_name))
