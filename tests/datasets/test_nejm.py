"""NEJM Image Challenge records: second-person patient text, options, images."""

import re

import pytest

from clinic_env.datasets import load_dataset
from clinic_env.datasets.convert.nejm import first_person
from tests.helpers.datasets import NEJM, NEJM_EXT


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
    assert case.opening_statement == "I have had a painless rash on my palms for two weeks."
    assert case.facts[1].category == "presenting_complaint"
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


# ------------------------------------------------------------ issue 14: NEJM-extended text
@pytest.fixture(scope="module")
def extended():
    return load_dataset(NEJM_EXT)


def test_refusal_text_under_tests_is_no_finding(extended):
    zoster = by_id(extended, "agentclinic_nejm_extended-1")
    assert (zoster.exam, zoster.tests) == ((), ())
    every = [*extended.cases, *load_dataset(NEJM).cases]
    assert all(f.system != "genitourinary" for case in every for f in case.exam)
    texts = [t.result for case in every for t in case.tests]
    texts += [f.finding for case in every for f in case.exam]
    assert not any("provided" in text or "not specified" in text for text in texts)


def test_a_placeholder_after_a_label_and_a_missing_range_remark_are_dropped(extended):
    haemolysis = by_id(extended, "agentclinic_nejm_extended-2")
    assert {t.name: t.result for t in haemolysis.tests} == {
        "Haptoglobin": "Low",
        "Hemoglobin": "6.9 g per deciliter (reference range, 11.0 to 14.0)",
    }


def test_the_opening_line_is_a_complaint_not_an_age(extended):
    zoster = by_id(extended, "agentclinic_nejm_extended-1")
    assert zoster.facts[0].text == "You are 83 years old."
    assert zoster.opening_statement == (
        "I have had a painful, blistering rash on the left side of my chest for three days."
    )
    nails = by_id(extended, "agentclinic_nejm_extended-3")
    assert nails.facts[0].text == "You are a 45-year-old man."
    assert nails.opening_statement == "I have come in because of thickened, discoloured toenails."


def test_role_play_sentences_are_never_patient_facts(extended):
    role_play = re.compile(r"\b(act as|respond as|remember|actor|role|not aware|portray)", re.I)
    every = [*extended.cases, *load_dataset(NEJM).cases]
    assert not [f.text for case in every for f in case.facts if role_play.search(f.text)]
    texts = [f.text for f in by_id(extended, "agentclinic_nejm_extended-1").facts]
    assert "You are a worried but polite older woman." not in texts
    mother = by_id(extended, "agentclinic_nejm_extended-2")
    assert [f.text for f in mother.facts][:1] == ["You are the mother of a 2-year-old boy."]
    assert "You know the doctors took blood yesterday." in [f.text for f in mother.facts]
    assert (mother.informant, mother.caregiver) == ("caregiver", "mother")


def test_a_vignette_value_missing_from_the_patient_text_is_kept_for_the_patient(extended):
    nails = by_id(extended, "agentclinic_nejm_extended-3")
    assert nails.doctor_brief == (
        "A 45-year-old man presented with thickened, discoloured toenails. "
        "What is the most likely diagnosis?"
    )
    assert "He had lost 6 kg over two months and had a temperature of 38.1°C." in [
        f.text for f in nails.facts
    ]
