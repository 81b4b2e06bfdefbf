"""NEJM Image Challenge records: second-person patient text, options, images."""

import pytest

from clinic_env.datasets import load_dataset
from clinic_env.datasets.convert.nejm import first_person
from tests.helpers.datasets import NEJM


@pytest.fixture(scope="module")
def loaded():
    return load_dataset(NEJM)


def by_id(loaded, case_id):
    return next(case for case in loaded.cases if case.id == case_id)


def test_records_cases_and_defects(loaded):
    assert loaded.format == "agentclinic-nejm"
    assert (loaded.records, len(loaded.cases)) == (6, 4)
    assert loaded.counts() == {
        "label_mismatch": 2,
        "missing_field": 2,
        "duplicate_case": 1,
        "leak": 1,
    }


def test_patient_text_becomes_facts_the_patient_can_say(loaded):
    case = by_id(loaded, "agentclinic_nejm-1")
    texts = [fact.text for fact in case.facts]
    assert texts[0] == "You are a 34-year-old man."
    assert case.facts[1].says == "I have had a painless rash on my palms for two weeks."
    assert not any("**" in text or "Remember" in text or "role" in text for text in texts)
    assert case.opening_statement == "I am a 34-year-old man."
    assert (case.demographics.age_years, case.demographics.sex) == (34, "male")


def test_the_doctor_gets_the_first_sentence_and_the_question(loaded):
    case = by_id(loaded, "agentclinic_nejm-1")
    assert case.doctor_brief == (
        "A 34-year-old man presented with a painless rash on both palms for two weeks. "
        "What is the most likely diagnosis?"
    )


def test_options_answer_and_images(loaded):
    case = by_id(loaded, "agentclinic_nejm-1")
    assert list(case.options) == ["A", "B", "C", "D", "E"]
    assert (case.ground_truth.answer_option, case.ground_truth.diagnosis) == (
        "A",
        "Secondary syphilis",
    )
    assert case.images[0].location == "https://images.example.org/challenge/palms.jpg"
    assert case.images[0].kind == "dermatology"
    two = by_id(loaded, "agentclinic_nejm-4")
    assert two.images[0].kind == "CT scan, pathology"
    assert two.ground_truth.answer_option == "C"


def test_findings_become_exams_and_tests(loaded):
    case = by_id(loaded, "agentclinic_nejm-1")
    assert [(f.system, f.name) for f in case.exam] == [("skin", "skin examination")]
    assert {t.name: t.result for t in case.tests} == {
        "Rapid plasma reagin test": "Reactive at 1:64.",
        "Treponemal antibody test": "Positive.",
    }
    numbered = by_id(loaded, "agentclinic_nejm-4")
    assert [t.name for t in numbered.tests] == ["Chest CT", "Lymph node biopsy"]


def test_two_answers_marked_correct_keep_the_first(loaded):
    case = by_id(loaded, "agentclinic_nejm-2")
    assert case.ground_truth.diagnosis == "Lung adenocarcinoma"


@pytest.mark.parametrize(
    ("said", "meant"),
    [
        ("You are 40.", "I am 40."),
        ("Your arm hurts when you move it.", "My arm hurts when I move it."),
        ("It was hard for you to swallow.", "It was hard for me to swallow."),
        ("You've noticed that you're tired.", "I've noticed that I'm tired."),
    ],
)
def test_first_person(said, meant):
    assert first_person(said) == meant
