import random

import pytest

from clinic_env.agents.offline_measurement import OfflineMeasurement
from clinic_env.datasets import load_cases
from clinic_env.language.text import fold
from clinic_env.schema.action import Action, ActionKind
from clinic_env.validation import result_issues, validate_cases, validation_rules
from clinic_env.validation.knowledge import disease_of, recorded, recorded_tests
from tests.helpers.cases import minimal_case


def test_every_bundled_case_passes_every_content_check(bundled):
    issues = validate_cases(bundled)
    assert issues == [], "\n".join(map(str, issues))


def test_every_bundled_diagnosis_is_a_knowledge_base_disease(bundled):
    missing = [case.id for case in bundled if disease_of(case) is None]
    assert missing == []


def test_ordering_each_test_the_diagnosis_implies_returns_the_case_result(bundled):
    """The offline room answers every knowledge-base test of the diagnosis from the case."""
    wrong = []
    for case in bundled:
        room = OfflineMeasurement(case.measurement_view(), random.Random(0))
        index = recorded_tests(case)
        for test in disease_of(case).tests:  # type: ignore[union-attr]
            expected = recorded(index, test.test)
            answer = room.lookup(Action(kind=ActionKind.ORDER_TEST, text=test.test))
            if expected is None or not answer.found or expected.result not in answer.text:
                wrong.append(f"{case.id}: {test.test!r} -> {answer.text[:80]!r}")
    assert wrong == []


def test_a_missing_test_and_an_unsupported_result_are_reported():
    issues = result_issues(minimal_case())
    missing = {i.message for i in issues if i.check == "diagnosis-tests"}
    assert any("Joint aspiration" in m for m in missing)
    unsupported = {i.where for i in issues if i.check == "supports"}
    assert unsupported == {"tests (Serum uric acid)", "tests (Complete blood count)"}


def test_a_supporting_word_satisfies_the_check():
    tests = [
        {
            "name": "Serum uric acid",
            "result": "9.1 mg/dL, raised.",
            "cost_usd": 20,
            "turnaround_hours": 4,
        },
    ]
    issues = result_issues(minimal_case(tests=tests))
    assert not [i for i in issues if i.check == "supports"]


def test_a_diagnosis_outside_the_knowledge_base_is_a_warning():
    truth = {"diagnosis": "Quantum aura syndrome", "aliases": []}
    (issue,) = result_issues(minimal_case(ground_truth=truth))
    assert issue.severity == "warning" and issue.check == "knowledge"


def test_a_differential_without_its_main_test_is_a_warning():
    truth = {"diagnosis": "Gout", "differentials": [{"diagnosis": "Pulmonary embolism"}]}
    issues = result_issues(minimal_case(ground_truth=truth))
    (issue,) = [i for i in issues if i.check == "differential-tests"]
    assert issue.severity == "warning" and "CT pulmonary angiogram" in issue.message


@pytest.mark.parametrize("entry", validation_rules().result_exceptions, ids=lambda e: e.case)
def test_each_result_exception_names_a_recorded_test_of_a_bundled_case(entry):
    case = next(c for c in load_cases("starter") if c.id == entry.case)
    assert fold(entry.test) in {fold(t.name) for t in case.tests}
