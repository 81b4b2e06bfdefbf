"""OSCE-style rubrics: content loads, offline checks on known consultations, a model judge."""

from pathlib import Path

import pytest

from clinic_env.content import load_yaml_model
from clinic_env.errors import ContentError
from clinic_env.evaluators.rubric import LLMRubricEvaluator, Rubric, RubricEvaluator, rubrics
from clinic_env.testing.scripted import ScriptedTransport
from tests.agents.test_llm_agents import role
from tests.helpers.cases import minimal_case
from tests.helpers.transcripts import score, transcript, turn

GOOD = [
    ("Hello, my name is Dr Lee. What brings you in today?", "Patient: My knee swelled up.", (0,)),
    ("I'm sorry to hear that, it must be painful. When did it start?", "Patient: Yesterday.", ()),
    ("Did the pain wake you at night?", "Patient: Yes, it woke me up.", (1,)),
    ("Any fever or rash?", "Patient: No.", ()),
    ("Have you had any illnesses or operations in the past?", "Patient: No.", ()),
    ("What medication do you take?", "Patient: A water tablet.", (2,)),
    ("Any allergies?", "Patient: None.", ()),
    ("Does anything run in your family?", "Patient: No.", ()),
    ("How much alcohol do you drink?", "Patient: Six beers a night.", (3,)),
    ("What are you worried it might be?", "Patient: I don't know.", ()),
    ("Just to check I have understood: the knee swelled yesterday?", "Patient: Yes.", ()),
    ("REQUEST EXAM: knee", "Examination (musculoskeletal): Hot, red, swollen knee.", ()),
    ("REQUEST TEST: serum uric acid", "Test result: 9.1 mg/dL.", ()),
]
POOR = [
    ("Where does it hurt?", "Patient: My knee.", (0,)),
    ("Where does it hurt?", "Patient: My knee.", ()),
    ("", "Your message was not understood.", ()),
]


def consultation(script, differential):
    case = minimal_case()
    turns = []
    for i, (message, reply, facts) in enumerate(script, start=1):
        cost = 20.0 if message.startswith("REQUEST TEST") else 0.0
        error = "empty message" if not message else None
        turns.append(turn(i, message, reply, facts=facts, cost=cost, error=error))
    return case, transcript(case, turns, differential=differential)


def test_the_five_rubrics_load_and_validate():
    assert set(rubrics()) == {"history_taking", "communication", "empathy", "management", "safety"}
    for rubric in rubrics().values():
        assert any(c.check is not None for c in rubric.criteria), rubric.id


def test_a_bad_rubric_names_file_line_and_field(tmp_path: Path):
    path = tmp_path / "bad.yaml"
    path.write_text(
        "id: bad\nname: Bad\nsummary: x\ncriteria:\n"
        "  - id: a\n    text: t\n    check: {said: empathy, diagnosed: true}\n"
    )
    with pytest.raises(ContentError, match=r"bad.yaml:\d+ \(field criteria.0.check\).*exactly one"):
        load_yaml_model(path, Rubric)
    path.write_text(
        "id: bad\nname: Bad\nsummary: x\ncriteria:\n"
        "  - id: a\n    text: t\n    check: {said: nope}\n"
    )
    with pytest.raises(ContentError, match=r"bad.yaml:7 .*unknown phrase set 'nope'"):
        load_yaml_model(path, Rubric)


def test_a_thorough_consultation_scores_high_and_a_poor_one_low():
    case, good = consultation(GOOD, ["Gout", "Septic arthritis"])
    got = score(case, good, RubricEvaluator()).as_dict()
    assert got["rubric_history_taking"] == 1.0
    assert got["rubric_management"] == 1.0
    assert got["rubric_safety"] == 1.0
    assert got["rubric_empathy"] == 1.0  # the criterion needing a judge is not counted
    assert got["rubric_communication"] == pytest.approx(5 / 6)  # no plain-language rewording
    case, poor = consultation(POOR, ["Gout"])
    low = score(case, poor, RubricEvaluator()).as_dict()
    assert low["rubric_history_taking"] == pytest.approx(2 / 12)  # symptoms characterised only
    assert low["rubric_communication"] == 0.0  # garbled, repeated, no greeting
    assert low["rubric_safety"] == pytest.approx(2 / 7)  # committed, fair, missed septic arthritis
    assert low["rubric_management"] == pytest.approx(2 / 5)


def test_a_model_judge_scores_every_criterion_and_failures_are_recorded():
    case, good = consultation(GOOD, ["Gout"])
    verdicts = {
        rubric_id: "{" + ", ".join(f'"{c.id}": true' for c in rubric.criteria) + "}"
        for rubric_id, rubric in rubrics().items()
    }
    verdicts["empathy"] = '{"acknowledges_feelings": true}'  # the others are missing
    transport = ScriptedTransport({"judge": [verdicts[r] for r in rubrics()]})
    got = score(case, good, LLMRubricEvaluator(role("judge", transport)))
    assert got.value("rubric_llm_history_taking") == 1.0
    failed = next(c for c in got.components if c.name == "rubric_llm_empathy")
    assert failed.value is None and "explores_concerns" in failed.error
    prompts = [r["messages"][0]["content"] for r in transport.requests]
    history = next(p for p in prompts if "characterises_symptoms" in p)
    assert "Doctor: Any allergies?" in history and "Patient: None." in history
