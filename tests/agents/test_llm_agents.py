"""Model-backed agents driven by a scripted transport: prompts, parsing, leaks, images."""

import asyncio
import json

import pytest

from clinic_env.agents.base import DoctorObservation, PatientQuestion
from clinic_env.agents.llm_doctor import LLMDoctor, action_from_tool_call
from clinic_env.agents.llm_measurement import SYNTHESISED_MARK, LLMMeasurement, measurement_prompt
from clinic_env.agents.llm_patient import LLMPatient, clean_reply, patient_prompt
from clinic_env.agents.model_role import CallLog, ModelRole
from clinic_env.agents.personas import load_persona, personas
from clinic_env.datasets import load_cases
from clinic_env.evaluators.llm_judge import UnclearVerdictError, parse_verdict
from clinic_env.language import knowledge
from clinic_env.language.text import contains_phrase
from clinic_env.llm import ModelClient, ModelConfig
from clinic_env.llm.client import ToolCall
from clinic_env.schema import Action, ActionKind, CaseImage
from clinic_env.testing.scripted import ScriptedTransport, tool_call
from tests.helpers.cases import minimal_case


def role(name: str, transport: ScriptedTransport, **config) -> ModelRole:
    cfg = ModelConfig(model="openai/stub", api_base="http://127.0.0.1:9/v1", backoff_s=0, **config)
    return ModelRole(name, cfg, ModelClient(transport=transport), CallLog(), seed=1)


def test_no_ground_truth_in_any_rendered_patient_or_measurement_prompt():
    for case in load_cases("starter"):
        names = [case.ground_truth.diagnosis, *case.ground_truth.aliases]
        prompts = [measurement_prompt(case.measurement_view())]
        prompts += [patient_prompt(case.patient_view(), p) for p in personas().values()]
        for prompt in prompts:
            for name in names:
                assert not contains_phrase(prompt, name), (case.id, name)


def test_patient_prompt_carries_facts_persona_and_caregiver_voice():
    child = next(c for c in load_cases("starter") if c.informant == "caregiver")
    prompt = patient_prompt(child.patient_view(), load_persona("anxious"), ["Mention a worry."])
    assert child.caregiver in prompt
    assert child.facts[0].says in prompt
    assert load_persona("anxious").prompt.strip()[:40] in prompt
    assert "Mention a worry." in prompt


def test_llm_patient_keeps_one_append_only_conversation_and_tracks_facts():
    case = minimal_case()
    transport = ScriptedTransport(
        {"patient": ["Patient: I have a few beers most nights, maybe six.", '"No."']}
    )
    patient = LLMPatient(role("patient", transport), case.patient_view(), load_persona("plain"))
    first = asyncio.run(patient.reply(PatientQuestion("Do you drink?", 1, 19)))
    assert first.text.startswith("I have a few beers") and first.facts == (3,)
    second = asyncio.run(patient.reply(PatientQuestion("Any rash?", 2, 18)))
    assert second.text == "No." and second.facts == ()
    sent = transport.requests[1]["messages"]
    assert [m["role"] for m in sent] == ["system", "user", "assistant", "user"]
    assert transport.requests[0]["messages"] == sent[:2]  # the prefix never changes


def test_llm_measurement_only_selects_what_the_case_lists():
    case = minimal_case()
    transport = ScriptedTransport({"measurement": ["T2", "NONE", "uric acid 9.0 mg/dL"]})
    room = LLMMeasurement(role("measurement", transport), case.measurement_view(), synthesise=True)
    direct = asyncio.run(room.measure(Action(kind=ActionKind.ORDER_TEST, text="CBC")))
    assert "11.2" in direct.text and not transport.requests  # resolved without the model
    picked = asyncio.run(
        room.measure(Action(kind=ActionKind.ORDER_TEST, text="the gout blood test"))
    )
    assert "9.1 mg/dL" in picked.text and picked.found
    made_up = asyncio.run(room.measure(Action(kind=ActionKind.ORDER_TEST, text="ferritin")))
    assert SYNTHESISED_MARK in made_up.text and not made_up.found
    listed = knowledge.test_catalog()["Serum ferritin"]
    assert made_up.spared == ("Serum ferritin",) and made_up.cost_usd == listed.cost_usd


def test_llm_measurement_answers_unrecorded_tests_by_policy_and_never_invents_unknown_ones():
    transport = ScriptedTransport({"measurement": ["NONE", "NONE", "NONE"]})
    view = minimal_case().measurement_view()
    room = LLMMeasurement(role("measurement", transport), view, synthesise=True)
    unknown = asyncio.run(room.measure(Action(kind=ActionKind.ORDER_TEST, text="aura scan")))
    assert unknown.text.startswith("Test request: not a test") and unknown.cost_usd == 0
    plain = LLMMeasurement(role("measurement", transport), view)
    ferritin = asyncio.run(plain.measure(Action(kind=ActionKind.ORDER_TEST, text="ferritin")))
    assert "no result" in ferritin.text and ferritin.spared == ("Serum ferritin",)
    normal = LLMMeasurement(role("measurement", transport), view, unrecorded="normal")
    replicated = asyncio.run(normal.measure(Action(kind=ActionKind.ORDER_TEST, text="ferritin")))
    assert "normal readings" in replicated.text


def test_llm_measurement_finds_signs_and_panels_by_lookup_before_asking_the_model():
    case = minimal_case(
        exam=[{"system": "skin", "name": "Nikolsky sign", "finding": "Positive."}],
        tests=[
            {
                "name": "Urea",
                "group": "Serum labs",
                "result": "Up",
                "cost_usd": 5,
                "turnaround_hours": 1,
            },
            {
                "name": "Creatinine",
                "group": "Serum labs",
                "result": "Up too",
                "cost_usd": 5,
                "turnaround_hours": 1,
            },
        ],
    )
    transport = ScriptedTransport({"measurement": ["T1, T2"]})
    room = LLMMeasurement(role("measurement", transport), case.measurement_view())
    sign = asyncio.run(room.measure(Action(kind=ActionKind.ORDER_TEST, text="Nikolsky sign")))
    panel = asyncio.run(room.measure(Action(kind=ActionKind.ORDER_TEST, text="U&E")))
    assert "Positive." in sign.text and "Up too" in panel.text and not transport.requests
    assert "[Serum labs]" in measurement_prompt(case.measurement_view())
    both = asyncio.run(room.measure(Action(kind=ActionKind.ORDER_TEST, text="kidney numbers")))
    assert "Urea: Up" in both.text and "Creatinine: Up too" in both.text and both.cost_usd == 10


def observation(text: str, images=()) -> DoctorObservation:
    return DoctorObservation(text, 1, 20, minimal_case().doctor_view(), tuple(images))


def test_llm_doctor_text_protocol():
    transport = ScriptedTransport({"doctor": ["When did it start?", "DIAGNOSIS READY: Gout"]})
    doctor = LLMDoctor(role("doctor", transport), max_turns=20)
    assert asyncio.run(doctor.act(observation("opening"))) == "When did it start?"
    assert asyncio.run(doctor.act(observation("Patient: yesterday"))) == "DIAGNOSIS READY: Gout"
    assert "20 turns" in transport.requests[0]["messages"][0]["content"]
    assert "tools" not in transport.requests[0]


def test_llm_doctor_tool_protocol():
    transport = ScriptedTransport(
        {
            "doctor": [
                tool_call("order_test", test="CBC"),
                tool_call("diagnose", differential=["Gout", "Pseudogout"]),
            ]
        }
    )
    doctor = LLMDoctor(role("doctor", transport, tools=True), max_turns=20)
    first = asyncio.run(doctor.act(observation("opening")))
    assert first == Action(kind=ActionKind.ORDER_TEST, text="CBC")
    second = asyncio.run(doctor.act(observation("Test result: normal")))
    assert second.kind is ActionKind.DIAGNOSE and second.differential == ("Gout", "Pseudogout")
    messages = transport.requests[1]["messages"]
    assert messages[-1]["role"] == "tool" and messages[-1]["content"] == "Test result: normal"
    assert {t["function"]["name"] for t in transport.requests[0]["tools"]} >= {
        "ask_patient",
        "diagnose",
    }


def test_broken_tool_calls_become_text_the_protocol_can_explain():
    assert "unknown tool" in action_from_tool_call(ToolCall("1", "teleport", "{}"))
    assert "not JSON" in action_from_tool_call(ToolCall("1", "order_test", "{oops"))
    assert (
        json.loads(action_from_tool_call(ToolCall("1", "order_test", "{}")))["action"]
        == "order_test"
    )


def test_images_reach_a_vision_doctor_as_content_parts(tmp_path):
    picture = tmp_path / "xray.png"
    picture.write_bytes(b"\x89PNG fake")
    images = [
        CaseImage(location="https://example.org/a.jpg", kind="xray"),
        CaseImage(location=str(picture)),
    ]
    transport = ScriptedTransport({"doctor": ["DIAGNOSIS READY: fracture"]})
    doctor = LLMDoctor(role("doctor", transport, vision=True), max_turns=20)
    asyncio.run(doctor.act(observation("Images available (2)", images)))
    assert len(transport.requests) == 1  # one call, images included: no text-only second call
    parts = transport.requests[0]["messages"][-1]["content"]
    assert parts[0]["type"] == "text"
    assert parts[1]["image_url"]["url"] == "https://example.org/a.jpg"
    assert parts[2]["image_url"]["url"].startswith("data:image/png;base64,")


@pytest.mark.parametrize(
    ("reply", "verdict"),
    [
        ("Yes.", True),
        ("yes, same disease", True),
        ("**Yes**", True),
        ("Same.", True),
        ("No.", False),
        ("no - different", False),
        ("They are not the same disease.", False),
    ],
)
def test_judge_verdicts_are_read_tolerantly(reply, verdict):
    assert parse_verdict(reply) is verdict


def test_unclear_verdict_is_an_error():
    with pytest.raises(UnclearVerdictError):
        parse_verdict("It depends on the imaging.")


def test_clean_reply():
    assert clean_reply("**Patient:** It hurts.") == "It hurts."
    assert clean_reply("  ") == "..."
