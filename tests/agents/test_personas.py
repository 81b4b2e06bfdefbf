"""Personas: every file loads, and its numbers change what the offline patient says."""

import random

import pytest

from clinic_env.agents.offline_patient import OfflinePatient
from clinic_env.agents.personas import load_persona, personas
from clinic_env.datasets import load_cases
from clinic_env.schema import Persona

QUESTIONS = (
    "What brings you in today?",
    "When did it start?",
    "How has it changed since?",
    "Any other symptoms?",
    "Do you take any medications?",
    "Any allergies?",
    "Do you smoke or drink?",
    "Anything in the family?",
    "Any illnesses in the past?",
    "Anything else?",
)
CASES = load_cases("starter")[:8]


def interview(persona: Persona, seed: int) -> tuple[int, list[str]]:
    """Facts told and replies over the same questions on several cases."""
    told, replies = 0, []
    for case in CASES:
        patient = OfflinePatient(case.patient_view(), persona, random.Random(seed))
        for question in QUESTIONS:
            reply = patient.answer(question)
            told += len(reply.facts)
            replies.append(reply.text)
    return told, replies


def with_numbers(persona: Persona, **numbers) -> Persona:
    behaviour = {**persona.behaviour.model_dump(), **numbers}
    return Persona.model_validate({**persona.model_dump(), "behaviour": behaviour})


def test_the_issues_personas_are_all_bundled():
    wanted = {
        "plain", "upset", "verbose", "reserved", "tangential", "pleasing",  # PATIENT-Psi
        "sanguine", "choleric", "melancholic", "phlegmatic",  # 3MDBench
        "anxious", "taciturn", "hostile", "low_health_literacy", "limited_english",
        "poor_recall_elderly",
    }  # fmt: skip
    assert wanted <= set(personas())
    for persona in personas().values():
        assert "\n" not in persona.summary and persona.prompt.strip()
        assert "diagnosis" in persona.prompt  # every prompt forbids naming one


def test_taciturn_says_less_and_discloses_less_than_verbose_on_the_same_questions():
    for seed in range(3):
        terse_told, terse = interview(load_persona("taciturn"), seed)
        chatty_told, chatty = interview(load_persona("verbose"), seed)
        assert terse_told < chatty_told
        words = [sum(len(r.split()) for r in replies) for replies in (terse, chatty)]
        assert words[0] < words[1] * 0.6


@pytest.mark.parametrize("persona_id", sorted(personas()))
def test_each_personas_numbers_change_what_it_says(persona_id):
    persona = load_persona(persona_id)
    told, replies = interview(persona, 1)
    closed, _ = interview(with_numbers(persona, verbosity=0.0, disclosure=0.2), 1)
    open_, _ = interview(with_numbers(persona, verbosity=1.0, disclosure=1.0), 1)
    assert closed < open_
    assert closed <= told <= open_
    _, flat_replies = interview(with_numbers(persona, emotional_cues=0.0, patience=1000), 1)
    if persona.phrases.cues:
        assert not any(cue in " ".join(flat_replies) for cue in persona.phrases.cues)
        if persona.behaviour.emotional_cues >= 0.1:  # 80 replies: some carry a cue
            assert any(cue in " ".join(replies) for cue in persona.phrases.cues), persona_id
    if persona.phrases.impatience and persona.behaviour.patience < len(QUESTIONS):
        assert any(line in replies[-1] for line in persona.phrases.impatience), persona_id
