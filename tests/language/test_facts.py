"""Answering the question asked: history questions from their own category, the complaint from
the story, guesses at a diagnosis from nothing at all."""

import pytest

from clinic_env.datasets import find_case
from clinic_env.language.facts import build_index
from clinic_env.language.lexicon import lexicon, share_distinctive_word
from tests.helpers.cases import minimal_case


def answer(case, question):
    return build_index(case.facts).relevant(lexicon().question(question))


def categories(case, question):
    return {case.facts[i].category for i in answer(case, question)}


def test_other_medical_problems_are_the_past_history_not_the_family():
    case = find_case("starter", "cardio-001")
    assert categories(case, "What other medical problems have you had?") == {"past_history"}
    assert categories(case, "Does anything run in your family?") == {"family"}
    assert categories(case, "Does anyone in your family have heart problems?") == {"family"}


def test_contraception_finds_the_removed_coil_and_work_finds_school_and_sport():
    coil = find_case("starter", "obgyn-001")
    told = [coil.facts[i].says or "" for i in answer(coil, "What contraception do you use?")]
    assert any("coil" in text for text in told)
    pupil = find_case("starter", "id-001")
    told = [pupil.facts[i].text for i in answer(pupil, "What do you do for work?")]
    assert any("school" in text and "rugby" in text for text in told)


def test_a_specific_history_question_without_a_fact_is_answered_by_nothing():
    case = minimal_case()
    assert answer(case, "Do you smoke?") == ()
    assert answer(case, "Do you drink alcohol?") == (3,)
    assert answer(case, "Do you take any medications?") == (2,)


@pytest.mark.parametrize(
    "question",
    [
        "Is it gout?",
        "Do you think it could be septic arthritis?",
        "Might I have a kidney stone?",
        "I think it's gout.",
        "Could this be Lambert-Eaton myasthenic syndrome?",
        "Is it ALL?",
    ],
)
def test_a_guess_at_the_illness_is_answered_by_no_fact(question):
    asked = lexicon().question(question)
    assert asked.kind in ("guess", "proposal")
    assert answer(minimal_case(), question) == ()


@pytest.mark.parametrize(
    "question",
    ["Is it worse at night?", "Is it in your knee?", "Is that when the pain started?"],
)
def test_a_question_about_the_complaint_in_a_guess_frame_is_still_a_question(question):
    assert lexicon().question(question).kind == "ask"


def test_a_history_question_naming_an_illness_matches_it_strictly_within_its_category():
    case = find_case("starter", "cardio-001")
    assert categories(case, "Have you had diabetes before?") == {"past_history"}
    assert answer(case, "Have you ever been told you have asthma?") == ()
    assert answer(case, "Does anyone in your family have diabetes?") == ()
    assert lexicon().question("Do you have diabetes?").topics == {"past_history"}


def test_rapport_and_ideas_concerns_expectations_are_read():
    asked = lexicon().question("I'm sorry to hear that. What are you most worried about?")
    assert "empathy" in asked.rapport and asked.ice == {"concerns"}
    assert lexicon().question("What do you think is causing this?").ice == {"ideas"}
    assert lexicon().question("I'd like to order a chest X-ray.").kind == "proposal"


@pytest.mark.parametrize(
    ("first", "second", "shared"),
    [
        ("Tension pneumothorax", "Primary spontaneous pneumothorax", True),
        ("Lambert-Eaton myasthenic syndrome", "Myasthenia gravis", True),
        ("Pseudogout", "Gout", True),
        ("Septic arthritis", "gouty arthritis", True),
        ("Acute appendicitis", "Acute pancreatitis", False),
        ("Unstable angina", "ST-elevation myocardial infarction", False),
    ],
)
def test_distinctive_words_are_shared_after_folding_and_stemming(first, second, shared):
    assert share_distinctive_word(first, second) is shared
