"""The offline patient understands a question however it is put: several topics at once,
shorthand, a kind word first, a slip of the keyboard; and still tells nothing of a topic it
was not asked about, and nothing that depends on a guessed name."""

import random

from clinic_env.agents.offline_patient import OfflinePatient
from clinic_env.agents.personas import load_persona
from clinic_env.datasets import find_case
from clinic_env.schema import Persona
from tests.helpers.cases import MINIMAL_CASE, minimal_case

SEPARATE = minimal_case(
    facts=[
        *MINIMAL_CASE["facts"],
        {"category": "social", "text": "Smokes twenty cigarettes a day."},
        {"category": "allergies", "text": "Penicillin gives him a rash."},
        {"category": "past_history", "text": "Kidney stones five years ago."},
        {"category": "review_of_systems", "text": "Has had a fever for two days."},
    ]
)
"""The minimal case with smoking, drinking, medication, allergy and past history apart."""


def terse() -> Persona:
    """A patient of as few words as can be, who holds nothing back."""
    base = load_persona("plain")
    numbers = {**base.behaviour.model_dump(), "verbosity": 0.0, "disclosure": 1.0}
    return Persona.model_validate({**base.model_dump(), "id": "terse", "behaviour": numbers})


def patient(case=SEPARATE, persona: str = "plain") -> OfflinePatient:
    chosen = terse() if persona == "terse" else load_persona(persona)
    return OfflinePatient(case.patient_view(), chosen, random.Random(0))


def categories(case, facts) -> set[str]:
    return {case.facts[i].category for i in facts}


def told(question: str, case=SEPARATE, persona: str = "plain") -> tuple[int, ...]:
    return patient(case, persona).answer(question).facts


def test_a_compound_question_is_answered_part_by_part():
    assert set(told("Do you smoke or drink?")) == {3, 4}
    assert set(told("Any meds or allergies?")) == {2, 5}
    assert set(told("Any medical problems, and what medication are you on?")) == {6, 2}


def test_even_a_patient_of_few_words_answers_each_part():
    assert set(told("Do you smoke or drink?", persona="terse")) == {3, 4}
    assert set(told("Any meds or allergies?", persona="terse")) == {2, 5}
    assert len(told("Tell me about your social history.", persona="terse")) == 1


def test_a_symptom_asked_with_a_history_question_is_answered_too():
    assert set(told("Any fever, and do you smoke?")) == {7, 4}
    assert told("Do you use any inhalers, creams or tablets?") == (2,)


def test_shorthand_and_a_slip_are_answered_as_the_words_meant():
    assert told("Any PMH?") == told("Any past medical history?") == (6,)
    assert told("What meds are you on?") == (2,)
    assert told("Any ETOH?") == (3,)
    assert told("Any alergies?") == told("Any allergies?") == (5,)
    assert told("Do you smkoe?") == (4,)


def test_a_kind_word_first_does_not_change_the_answer():
    for question in ("Do you smoke?", "Are you on any medication?", "Any allergies?"):
        kind = f"I'm sorry to hear that. {question}"
        assert told(kind) == told(question), question


def test_a_history_topic_the_case_lacks_is_denied_not_answered_from_the_story():
    p = patient(minimal_case())
    reply = p.answer("Any sexual health concerns?")
    assert reply.facts == ()


def test_asked_about_one_topic_the_patient_tells_no_other():
    case = find_case("starter", "gastro-001")
    for question, category in (
        ("Any meds?", "medications"),
        ("Any PMH?", "past_history"),
        ("Any FHx?", "family"),
        ("Any alergies?", "allergies"),
        ("Did a medicine ever give you a rash?", "allergies"),
    ):
        assert categories(case, told(question, case)) == {category}, question


def test_a_guess_spelt_wrong_gets_the_same_reply_whatever_it_names():
    replies = set()
    for name in ("pnuemonia", "gout", "apendicitis", "menengitis", "diabetis", "a hart atack"):
        reply = patient(minimal_case()).answer(f"Is it {name}?")
        assert reply.facts == ()
        replies.add(reply.text)
    assert len(replies) == 1
