"""No answer oracle in the patient (issue 12, point 1).

Asked whether it has X now, the patient replies the same way (the same words, with the same
random state) whatever X names: every diagnosis name of the knowledge base and every case's
truth, aliases, differentials and options. Asked a history question naming X, it answers
from the facts of the category asked about, never from a fact of another category.
"""

import functools
import random

import pytest

from clinic_env.agents.biasing import plan_biases
from clinic_env.agents.offline_patient import OfflinePatient
from clinic_env.agents.personas import load_persona
from clinic_env.datasets import load_cases
from clinic_env.language.knowledge import diseases
from clinic_env.language.lexicon import lexicon
from tests.helpers.cases import minimal_case

CASES = load_cases("starter")
GUESSES = ("Is it {}?", "Do you think it could be {}?", "Might I have {}?", "Could this be {}?")
NAMING = ("Are you worried it might be {}?", "What about {}?", "I think you have {}.")
"""Other ways of naming an illness now: never answered from the facts by the name's words
(a name made only of everyday symptom words, "eye bleed", is asked as the symptom it names)."""
HISTORY = {
    "Have you had {} before?": "past_history",
    "Have you ever been told you have {}?": "past_history",
    "Does anyone in your family have {}?": "family",
}


@functools.cache
def names() -> tuple[str, ...]:
    found = {name for disease in diseases() for name in (disease.name, *disease.aliases)}
    for case in CASES:
        truth = case.ground_truth
        found |= {truth.diagnosis, *truth.aliases}
        found |= {item.diagnosis for item in truth.differentials}
        found |= set((case.options or {}).values())
    return tuple(sorted(found))


def replies(case, phrasing, biases=()):
    """Replies by the names that drew them: one patient, its random state and turn count
    restored before each name (a guess changes nothing else of an unbiased patient; a biased
    one is built afresh for each name)."""
    plan = plan_biases(case, biases, random.Random(3))
    view = case.patient_view()
    by_reply: dict[tuple[str, tuple[int, ...]], list[str]] = {}
    patient = None
    for name in names():
        if patient is None or biases:
            patient = OfflinePatient(view, load_persona("anxious"), random.Random(7))
            patient.take_biases(plan.for_role("patient"))
            patient.answer("What brings you in today?")
            state = patient.rng.getstate()
        patient.rng.setstate(state)
        patient.turns = 1
        reply = patient.answer(phrasing.format(name))
        by_reply.setdefault((reply.text, reply.facts), []).append(name)
    return by_reply


def test_every_name_in_a_guess_frame_is_read_as_a_guess():
    words = lexicon()
    for phrasing in GUESSES:
        kinds = {words.question(phrasing.format(name)).kind for name in names()}
        assert kinds == {"guess"}, phrasing


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_a_guess_gets_the_same_reply_whatever_it_names(case):
    truth = {case.ground_truth.diagnosis, *case.ground_truth.aliases}
    for phrasing in GUESSES[:2]:
        by_reply = replies(case, phrasing)
        assert len(by_reply) == 1, (phrasing, {k[0][:60]: v[:3] for k, v in by_reply.items()})
        ((_, told),) = by_reply
        assert told == ()
    assert truth <= set(names())


@pytest.mark.parametrize("biases", [["self_diagnosis"], ["race"], ["patient:recency", "gender"]])
def test_a_biased_patient_too_replies_the_same_whatever_is_named(biases):
    for case in CASES[::43]:
        for phrasing in GUESSES[1::2]:
            assert len(replies(case, phrasing, biases)) == 1, (case.id, phrasing, biases)


@pytest.mark.parametrize("case", CASES[::6], ids=lambda case: case.id)
def test_naming_an_illness_in_other_ways_tells_no_fact(case):
    illnesses = [name for name in names()[::3] if lexicon().names_illness(name)]
    assert len(illnesses) > 600
    for phrasing in NAMING:
        for name in illnesses:
            patient = OfflinePatient(case.patient_view(), load_persona("plain"), random.Random(0))
            assert patient.answer(phrasing.format(name)).facts == (), (phrasing, name)


@pytest.mark.parametrize("case", CASES[::4], ids=lambda case: case.id)
def test_a_history_question_is_answered_from_the_category_it_asks_about(case):
    for phrasing, category in HISTORY.items():
        for name in names()[::7]:
            patient = OfflinePatient(case.patient_view(), load_persona("plain"), random.Random(0))
            told = patient.answer(phrasing.format(name)).facts
            assert {case.facts[i].category for i in told} <= {category}, (phrasing, name)


def test_a_history_question_tells_the_fact_it_names():
    case = minimal_case(
        facts=[
            *minimal_case().facts,
            {"category": "past_history", "text": "Kidney stone five years ago."},
            {"category": "family", "text": "Father has type 2 diabetes."},
        ]
    )
    patient = OfflinePatient(case.patient_view(), load_persona("plain"), random.Random(0))
    assert patient.answer("Have you ever had kidney stones?").facts == (4,)
    assert patient.answer("Does anyone in your family have diabetes?").facts == (5,)
    assert patient.answer("Does anyone in your family have kidney stones?").facts == ()
    assert patient.answer("Is it a kidney stone?").facts == ()
