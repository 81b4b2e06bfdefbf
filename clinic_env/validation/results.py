"""Results for the tests a case's diagnosis implies, and for its differentials' main tests.

A test the case does not record cannot come back with the case's answer, so every test the
knowledge base lists for the diagnosis must be recorded, with a result that holds one of the
knowledge base's ``supports`` words (or is a listed exception in ``rules.yaml``). Each
differential's main test (its first in the knowledge base) should be recorded too, with a
result that fits this case, so that which tests are recorded does not point at the answer.
"""

from __future__ import annotations

from clinic_env.language.text import contains_phrase, fold
from clinic_env.schema.case import Case
from clinic_env.validation.issues import Issue, validation_rules
from clinic_env.validation.knowledge import disease_of, find_disease, recorded, recorded_tests


def _excepted(case_id: str, test: str) -> bool:
    return any(
        e.case == case_id and fold(e.test) == fold(test)
        for e in validation_rules().result_exceptions
    )


def result_issues(case: Case) -> list[Issue]:
    """Missing or unsupported results for the diagnosis's tests; missing differential tests."""
    disease = disease_of(case)
    if disease is None:
        message = f"{case.ground_truth.diagnosis!r} is not a knowledge-base disease or alias"
        return [Issue(case.id, "knowledge", "ground_truth.diagnosis", message, "warning")]
    issues: list[Issue] = []
    index = recorded_tests(case)
    for test in disease.tests:
        found = recorded(index, test.test)
        if found is None:
            message = f"no result for {test.test!r}, a test the knowledge base lists"
            issues.append(Issue(case.id, "diagnosis-tests", "tests", message))
        elif not any(contains_phrase(found.result, w) for w in test.supports) and not _excepted(
            case.id, found.name
        ):
            words = ", ".join(repr(w) for w in test.supports)
            message = f"the result holds none of the knowledge base's words ({words})"
            issues.append(Issue(case.id, "supports", f"tests ({found.name})", message))
    for i, item in enumerate(case.ground_truth.differentials):
        other = find_disease(item.diagnosis)
        where = f"ground_truth.differentials[{i}]"
        if other is None:
            message = f"{item.diagnosis!r} is not a knowledge-base disease or alias"
            issues.append(Issue(case.id, "knowledge", where, message, "warning"))
            continue
        if other.name == disease.name:
            continue
        main = other.tests[0].test
        if recorded(index, main) is None:
            message = f"no result for {main!r}, the main test for {other.name}"
            issues.append(Issue(case.id, "differential-tests", where, message, "warning"))
    return issues
