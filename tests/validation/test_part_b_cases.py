"""The bundled cases numbered 101 and up (issue 20, part B): coverage, validity, answers.

They widen the starter set with older and atypical patients, "no serious disease" visits and
multimorbidity. Each must load, be a knowledge-base disease with a result for every test the
knowledge base lists, keep its blood gases consistent, leak nothing, and have every recorded
result come back from the offline room when the test is ordered by name.
"""

from __future__ import annotations

import random
import re

import pytest

from clinic_env.agents.offline_measurement import OfflineMeasurement
from clinic_env.content import content_path, load_yaml_model
from clinic_env.datasets.loading import load_cases
from clinic_env.language import knowledge
from clinic_env.language.leak import case_guard, withheld_case
from clinic_env.schema.action import Action, ActionKind
from clinic_env.schema.case import Case
from clinic_env.schema.knowledge import DiseaseFile
from clinic_env.validation import (
    blood_gas_issues,
    case_alias_issues,
    expected_ph,
    label_issues,
    result_issues,
    unit_issues,
)
from clinic_env.validation.knowledge import disease_of, recorded, recorded_tests

ATYPICAL_ELDERLY = "atypical-elderly"
NO_SERIOUS_DISEASE = "no-serious-disease"
MULTIMORBIDITY = "multimorbidity"

# Which gap of the clinical review each case fills; the review's counts are the minimums.
CATEGORIES: dict[str, str] = {
    "cardio-101": ATYPICAL_ELDERLY,
    "endo-101": ATYPICAL_ELDERLY,
    "neuro-101": ATYPICAL_ELDERLY,
    "neuro-102": ATYPICAL_ELDERLY,
    "nephro-101": ATYPICAL_ELDERLY,
    "ortho-101": ATYPICAL_ELDERLY,
    "rheum-101": ATYPICAL_ELDERLY,
    "rheum-102": ATYPICAL_ELDERLY,
    "surg-101": ATYPICAL_ELDERLY,
    "uro-101": ATYPICAL_ELDERLY,
    "cardio-103": NO_SERIOUS_DISEASE,
    "cardio-104": NO_SERIOUS_DISEASE,
    "ent-101": NO_SERIOUS_DISEASE,
    "gastro-101": NO_SERIOUS_DISEASE,
    "neuro-103": NO_SERIOUS_DISEASE,
    "ortho-102": NO_SERIOUS_DISEASE,
    "paeds-101": NO_SERIOUS_DISEASE,
    "paeds-102": NO_SERIOUS_DISEASE,
    "paeds-103": NO_SERIOUS_DISEASE,
    "cardio-102": MULTIMORBIDITY,
    "endo-102": MULTIMORBIDITY,
    "geri-101": MULTIMORBIDITY,
    "nephro-102": MULTIMORBIDITY,
    "nephro-103": MULTIMORBIDITY,
}
KNOWLEDGE_FILE = "primary_care_and_older_adults.yaml"
MINIMUM = {ATYPICAL_ELDERLY: 8, NO_SERIOUS_DISEASE: 6, MULTIMORBIDITY: 4}
PART_B_ID = re.compile(r"^[a-z]+-1\d\d$")
GAS_TESTS = ("Arterial blood gas", "Venous blood gas")
_PH = re.compile(r"\bpH (\d\.\d+)")
_PCO2 = re.compile(r"\b(?:Pa|p)CO2 (\d+(?:\.\d+)?) mmHg")
_HCO3 = re.compile(r"\bbicarbonate (\d+(?:\.\d+)?) mmol/L")


@pytest.fixture(scope="module")
def cases() -> dict[str, Case]:
    found = {case.id: case for case in load_cases("starter") if PART_B_ID.match(case.id)}
    assert found, "no bundled case numbered 101 or above"
    return found


def test_every_part_b_case_is_listed_with_its_category(cases: dict[str, Case]) -> None:
    assert set(cases) == set(CATEGORIES)
    assert len(cases) >= 22


def test_category_counts_reach_the_review_minimums(cases: dict[str, Case]) -> None:
    for category, minimum in MINIMUM.items():
        assert sum(1 for c in CATEGORIES.values() if c == category) >= minimum, category
    older = [case for case in cases.values() if case.demographics.age_years >= 65]
    assert len(older) >= 8
    for case_id, category in CATEGORIES.items():
        case = cases[case_id]
        if category == ATYPICAL_ELDERLY:
            assert case.demographics.age_years >= 65, case_id
        if category == NO_SERIOUS_DISEASE:
            assert not case.ground_truth.must_not_miss, case_id
        if category == MULTIMORBIDITY:
            history = [f for f in case.facts if f.category == "past_history"]
            assert history and case.demographics.age_years >= 65, case_id


def test_labels_and_differentials(cases: dict[str, Case]) -> None:
    for case in cases.values():
        assert label_issues(case) == [], case.id
        assert 3 <= len(case.ground_truth.differentials) <= 6, case.id
        assert case.ground_truth.diagnosis not in case.ground_truth.aliases, case.id


def test_each_case_is_a_knowledge_base_disease_with_every_test_recorded(
    cases: dict[str, Case],
) -> None:
    for case in cases.values():
        assert disease_of(case) is not None, case.id
        assert result_issues(case) == [], [str(i) for i in result_issues(case)]


def test_aliases_name_the_same_disease_only(cases: dict[str, Case]) -> None:
    for case in cases.values():
        assert case_alias_issues(case) == [], [str(i) for i in case_alias_issues(case)]


def test_blood_gases_satisfy_henderson_hasselbalch(cases: dict[str, Case]) -> None:
    checked = 0
    for case in cases.values():
        assert blood_gas_issues(case) == [], case.id
        for test in case.tests:
            if test.name not in GAS_TESTS:
                continue
            ph, pco2, hco3 = (p.search(test.result) for p in (_PH, _PCO2, _HCO3))
            assert ph and pco2 and hco3, f"{case.id}: {test.name} lacks pH, pCO2 or bicarbonate"
            assert abs(expected_ph(float(pco2[1]), float(hco3[1])) - float(ph[1])) <= 0.03
            checked += 1
    assert checked >= 7


def test_units_are_us_conventional(cases: dict[str, Case]) -> None:
    assert unit_issues(list(cases.values())) == []


def test_nothing_names_the_answer(cases: dict[str, Case]) -> None:
    for case in cases.values():
        guard = case_guard(case, "[withheld]")
        assert withheld_case(case, guard) == case, case.id


def test_new_knowledge_entries_load_and_name_catalogue_tests() -> None:
    path = content_path("agents", "knowledge", "diseases", KNOWLEDGE_FILE)
    new = load_yaml_model(path, DiseaseFile).diseases
    loaded = {disease.name for disease in knowledge.diseases()}
    for disease in new:
        assert disease.name in loaded
        assert all(test.test in knowledge.test_catalog() for test in disease.tests), disease.name


def _order(room: OfflineMeasurement, name: str) -> str:
    return room.lookup(Action(kind=ActionKind.ORDER_TEST, text=name)).text


def test_offline_room_returns_each_recorded_result_by_name(cases: dict[str, Case]) -> None:
    for case in cases.values():
        room = OfflineMeasurement(case.measurement_view(), random.Random(0))
        for test in case.tests:
            for name in (test.name, *test.aliases):
                assert test.result in _order(room, name), f"{case.id}: {name}"


def test_offline_room_answers_the_knowledge_base_tests_from_the_case(
    cases: dict[str, Case],
) -> None:
    for case in cases.values():
        disease = disease_of(case)
        assert disease is not None
        room = OfflineMeasurement(case.measurement_view(), random.Random(0))
        index = recorded_tests(case)
        for listed in disease.tests:
            expected = recorded(index, listed.test)
            assert expected is not None, f"{case.id}: {listed.test}"
            assert expected.result in _order(room, listed.test), f"{case.id}: {listed.test}"
