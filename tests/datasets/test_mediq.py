"""MediQ records: atomic facts, the first sentence for the doctor, answer and answer_idx."""

import pytest

from clinic_env.datasets import load_dataset
from clinic_env.evaluators.scoring import diagnosis_rank
from clinic_env.language.matcher import DiagnosisMatcher
from tests.helpers.datasets import MEDIQ


@pytest.fixture(scope="module")
def loaded():
    return load_dataset(MEDIQ)


def by_id(loaded, case_id):
    return next(case for case in loaded.cases if case.id == case_id)


def test_records_cases_and_defects(loaded):
    assert loaded.format == "mediq"
    assert (loaded.records, len(loaded.cases)) == (11, 10)
    assert loaded.counts() == {
        "label_mismatch": 2,
        "answer_text": 1,
        "empty_case": 1,
        "count_mismatch": 1,
        "duplicate_case": 2,
        "missing_field": 2,
        "leak": 1,
    }
    (empty,) = [d for d in loaded.defects if d.kind == "empty_case"]
    assert (empty.case_id, empty.line, empty.skipped) == ("mediq-13", 4, True)


def test_facts_brief_options_and_answer(loaded):
    case = by_id(loaded, "mediq-10")
    assert case.source.record_id == "10"
    assert case.facts[0].text == "The patient is a 25-year-old man."
    assert len(case.facts) == 6
    assert {f.category for f in case.facts} >= {"family", "presenting_complaint"}
    assert case.doctor_brief == (
        "A 25-year-old man presents with itchy scaly plaques on his elbows and knees for six "
        "months. Which of the following is the most likely diagnosis?"
    )
    assert case.options == {
        "A": "Plaque psoriasis",
        "B": "Atopic eczema",
        "C": "Tinea corporis",
        "D": "Lichen planus",
    }
    assert (case.ground_truth.answer_option, case.ground_truth.diagnosis) == (
        "A",
        "Plaque psoriasis",
    )
    assert case.specialty == "Dermatology"
    assert (case.demographics.age_years, case.demographics.sex) == (25, "male")


def test_disagreeing_labels_keep_answer_idx(loaded):
    case = by_id(loaded, "mediq-11")
    assert (case.ground_truth.answer_option, case.ground_truth.diagnosis) == (
        "C",
        "Viral pharyngitis",
    )
    assert case.ground_truth.aliases == ()


def test_a_slightly_different_answer_text_is_accepted_too(loaded):
    case = by_id(loaded, "mediq-12")
    assert case.ground_truth.aliases == ("Hereditary hemorrhagic telangiectasia",)
    matcher = DiagnosisMatcher.from_content()
    assert diagnosis_rank(case, ["Hereditary hemorrhagic telangiectasia"], matcher) == 1
    assert diagnosis_rank(case, ["B"], matcher) == 1


def test_missing_facts_list_options_and_no_letter(loaded):
    case = by_id(loaded, "mediq-16")
    assert case.facts[0].text.startswith("A 33-year-old woman presents")
    assert case.options["B"] == "Tinea corporis"
    assert case.ground_truth.answer_option == "B"


def test_infants_and_repeated_ids(loaded):
    infant = by_id(loaded, "mediq-18")
    assert infant.demographics.age_years == pytest.approx(0.5)
    assert (infant.demographics.sex, infant.caregiver) == ("female", "mother")
    assert by_id(loaded, "mediq-10-line10").ground_truth.diagnosis == "Shingles"


def test_answer_outside_the_options(loaded):
    case = by_id(loaded, "mediq-19")
    assert case.ground_truth.diagnosis == "Donovanosis"
    assert case.ground_truth.answer_option is None
