"""The four inquiry types on a hand-written consultation, by rules and by a scripted judge."""

import pytest

from clinic_env.evaluators.inquiry import (
    InquiryEvaluator,
    InquiryTracker,
    LLMInquiryEvaluator,
    inquiry_labels,
)
from clinic_env.testing.scripted import ScriptedTransport
from tests.agents.test_llm_agents import role
from tests.helpers.cases import minimal_case
from tests.helpers.transcripts import OPENING, score, transcript, turn

CONSULTATION = [
    (
        "What brings you in today?",
        "Patient: My right knee swelled up yesterday.",
        "chief_complaint",
    ),
    ("How long has the knee been swollen?", "Patient: Since yesterday.", "known_symptoms"),
    ("Is the pain worse at night?", "Patient: The pain woke me up in the night.", "known_symptoms"),
    ("Have you had a fever?", "Patient: No, not that I've noticed.", "accompanying_symptoms"),
    ("Any rash anywhere?", "Patient: No.", "accompanying_symptoms"),
    ("Do you take any medicines?", "Patient: A water tablet.", "history"),
    ("Does anything run in your family?", "Patient: Not that I know.", "history"),
    ("How much alcohol do you drink?", "Patient: Six beers most nights.", "history"),
    ("REQUEST EXAM: knee", "Examination: hot, red, swollen knee.", None),
    ("What do you think it is?", "Patient: You're the doctor.", "other"),
]


def consultation():
    case = minimal_case()
    turns = [turn(i, q, a) for i, (q, a, _) in enumerate(CONSULTATION, start=1)]
    return case, transcript(case, turns, differential=["Gout"])


def test_rules_label_each_question_of_a_known_consultation():
    _, record = consultation()
    assert inquiry_labels(record) == [label for _, _, label in CONSULTATION]


def test_a_symptom_becomes_known_once_the_patient_names_it():
    tracker = InquiryTracker(OPENING)
    assert tracker.classify("Do you have a cough?") == "accompanying_symptoms"
    tracker.heard("Patient: Yes, a dry cough for a week.")
    assert tracker.classify("Is the cough worse at night?") == "known_symptoms"


def test_counts_and_types_covered():
    case, record = consultation()
    got = score(case, record, InquiryEvaluator()).as_dict()
    assert got == {
        "inquiry_chief_complaint": 1.0,
        "inquiry_known_symptoms": 2.0,
        "inquiry_accompanying_symptoms": 2.0,
        "inquiry_history": 3.0,
        "inquiry_types_covered": 1.0,
    }
    only_history = transcript(case, [turn(1, "Any allergies?", "Patient: No.")])
    assert score(case, only_history, InquiryEvaluator()).value("inquiry_types_covered") == 0.25


def test_recorded_labels_are_used_when_every_question_has_one():
    case, record = consultation()
    relabelled = record.model_copy(
        update={
            "turns": tuple(
                t.model_copy(update={"inquiry": "history"}) if t.responder == "patient" else t
                for t in record.turns
            )
        }
    )
    assert score(case, relabelled, InquiryEvaluator()).value("inquiry_history") == 9.0


def test_judge_labels_and_agreement_with_the_rules():
    case, record = consultation()
    labels = [label for _, _, label in CONSULTATION if label is not None]
    labels[1] = "accompanying_symptoms"  # the judge disagrees once
    reply = "{" + ", ".join(f'"{i}": "{lab}"' for i, lab in enumerate(labels, start=1)) + "}"
    transport = ScriptedTransport({"judge": [f"Here you go:\n```json\n{reply}\n```"]})
    got = score(case, record, LLMInquiryEvaluator(role("judge", transport))).as_dict()
    assert got["inquiry_llm_accompanying_symptoms"] == 3.0
    assert got["inquiry_llm_agreement"] == pytest.approx(8 / 9)
    prompt = transport.requests[0]["messages"][0]["content"]
    assert "Q9 (doctor): What do you think it is?" in prompt and "Gout" not in prompt


def test_unreadable_judge_labels_are_recorded_as_failures():
    case, record = consultation()
    transport = ScriptedTransport({"judge": ['{"1": "chief_complaint"}']})
    result = score(case, record, LLMInquiryEvaluator(role("judge", transport)))
    assert all(c.value is None and "question 2" in c.error for c in result.components)
    no_questions = transcript(case, [turn(1, "REQUEST EXAM: knee", "Hot knee.")])
    assert score(case, no_questions, LLMInquiryEvaluator(role("judge", transport))).components == ()
