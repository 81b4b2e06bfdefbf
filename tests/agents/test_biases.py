"""Biases: every file loads, points cognitive biases at a wrong diagnosis, reaches the right
agent (model prompts, the offline patient, the case the doctor reads), and never the truth."""

import asyncio
import random

import pytest

from clinic_env.agents.base import PATIENTS
from clinic_env.agents.biasing import bias_target, plan_biases, target_candidates
from clinic_env.agents.offline_patient import OfflinePatient
from clinic_env.agents.personas import biases, load_bias, load_persona, parse_bias
from clinic_env.datasets import load_cases
from clinic_env.errors import ConfigError, ContentError, UnknownNameError
from clinic_env.language.leak import leak_guard
from clinic_env.language.matcher import DiagnosisMatcher
from clinic_env.language.text import contains_phrase
from clinic_env.llm import ModelClient
from clinic_env.roles import RoleContext
from clinic_env.schema.persona import Bias
from clinic_env.session import create_doctor, create_session
from clinic_env.testing.scripted import ScriptedTransport
from tests.helpers.cases import minimal_case

AGENTCLINIC_PATIENT = (
    "recency", "frequency", "false_consensus", "self_diagnosis", "gender", "race",
    "sexual_orientation", "cultural", "education", "religion", "socioeconomic",
)  # fmt: skip
AGENTCLINIC_DOCTOR = (
    "recency", "frequency", "false_consensus", "confirmation", "status_quo", "gender", "race",
    "sexual_orientation", "cultural", "education", "religion", "socioeconomic",
)  # fmt: skip
BIASMEDQA = (
    "self_diagnosis", "recency", "confirmation", "frequency", "cultural", "status_quo",
    "false_consensus",
)  # fmt: skip
MODEL = {"model": "openai/stub", "api_base": "http://127.0.0.1:9/v1", "backoff_s": 0}


def names_of(case):
    return [case.ground_truth.diagnosis, *case.ground_truth.aliases]


def test_every_published_bias_is_bundled_for_its_roles():
    known = biases()
    for bias_id in AGENTCLINIC_PATIENT:
        assert "patient" in known[bias_id].applies_to, bias_id
    for bias_id in AGENTCLINIC_DOCTOR:
        assert "doctor" in known[bias_id].applies_to, bias_id
    for bias_id in BIASMEDQA:
        bias = known[f"biasmedqa_{bias_id}"]
        assert bias.kind == "cognitive" and bias.placement == "case"
    for bias in known.values():
        assert bias.source and bias.summary


def test_the_schema_keeps_biases_consistent():
    base = {"id": "x", "applies_to": ["patient"], "summary": "s"}
    with pytest.raises(ValueError, match="must name its"):
        Bias.model_validate({**base, "kind": "cognitive", "prompt": "no target here"})
    with pytest.raises(ValueError, match="has no"):
        Bias.model_validate({**base, "kind": "implicit", "prompt": "it is {target}"})
    with pytest.raises(ValueError, match="doctor alone"):
        Bias.model_validate({**base, "kind": "implicit", "prompt": "p", "placement": "case"})
    with pytest.raises(ValueError, match="only be given for roles"):
        Bias.model_validate({**base, "kind": "implicit", "prompt": "p", "prompts": {"doctor": "d"}})


def test_a_bias_can_be_given_to_one_role():
    assert parse_bias("recency")[1] == ("patient", "doctor")
    assert parse_bias("doctor:recency")[1] == ("doctor",)
    assert load_bias("patient:self_diagnosis").id == "self_diagnosis"
    with pytest.raises(UnknownNameError, match="does not apply to 'doctor'"):
        parse_bias("doctor:self_diagnosis")
    with pytest.raises(UnknownNameError, match="unknown bias"):
        load_bias("vibes")
    with pytest.raises(ContentError, match="twice"):
        plan_biases(minimal_case(), ["recency", "patient:recency"], random.Random(0))


def test_every_bias_on_every_case_names_a_wrong_target_and_never_the_truth():
    matcher = DiagnosisMatcher.from_content()
    for case in load_cases("starter"):
        names = names_of(case)
        for bias_id, bias in biases().items():
            plan = plan_biases(case, [bias_id], random.Random(f"{case.id}:{bias_id}"))
            for use in plan.uses:
                texts = [use.text, use.says or ""]
                for text in texts:
                    for name in names:
                        assert not contains_phrase(text, name), (case.id, bias_id, name)
                    assert "[withheld]" not in text
                if bias.kind == "cognitive":
                    assert use.target and use.target in use.text, (case.id, bias_id)
                    truth = case.ground_truth
                    assert not matcher.matches(use.target, truth.diagnosis, truth.aliases)
                else:
                    assert use.target is None and "{target}" not in use.text


def test_the_target_comes_from_the_differential_or_options_and_is_seeded():
    case = minimal_case()
    assert target_candidates(case, DiagnosisMatcher.from_content(), leak_guard(("Gout",), "x")) == [
        "Septic arthritis"
    ]
    options = {"A": "Gout", "B": "Cellulitis", "C": "Pseudogout"}
    truth = {**case.ground_truth.model_dump(), "answer_option": "A", "differentials": []}
    mcq = minimal_case(options=options, ground_truth=truth)
    drawn = {bias_target(mcq, random.Random(seed)) for seed in range(40)}
    assert drawn == {"Cellulitis", "Pseudogout"}
    first = plan_biases(mcq, ["recency"], random.Random(3)).targets
    again = plan_biases(mcq, ["doctor:confirmation", "self_diagnosis"], random.Random(3)).targets
    assert set(first.values()) == set(again.values())  # one target per case and seed


def test_a_case_without_differential_falls_back_to_the_knowledge_base():
    truth = {"diagnosis": "Gout", "aliases": ["gouty arthritis"]}
    bare = minimal_case(ground_truth=truth)
    matcher = DiagnosisMatcher.from_content()
    for seed in range(20):
        target = bias_target(bare, random.Random(seed))
        assert not matcher.matches(target, "Gout", ["gouty arthritis"])
        assert not contains_phrase(target, "gout")


def model_session(case, biases, **kwargs):
    transport = ScriptedTransport({"patient": ["I see."], "doctor": ["DIAGNOSIS READY: x"]})
    context = RoleContext(case, 0, client=ModelClient(transport=transport))
    session = create_session(case, biases=biases, patient=MODEL, context=context, **kwargs)
    return session, context, transport


@pytest.mark.parametrize("bias_id", sorted(biases()))
def test_the_biased_agent_is_told_the_target_and_never_the_truth(bias_id):
    """The acceptance check, for every bias: the target is in the prompt of the agent the bias
    is given to (model patient, model doctor, or the case the doctor reads)."""
    case = load_cases("starter")[0]
    bias = biases()[bias_id]
    session, context, transport = model_session(case, [bias_id])
    doctor = create_doctor(MODEL, session, context)
    asyncio.run(doctor.act(session.observation_for_doctor(session.opening)))
    patient_prompt = session.patient.messages[0]["content"]
    doctor_prompt = "\n".join(m["content"] for m in transport.requests[0]["messages"])
    target = next(iter(session.bias_plan.targets.values()), None)
    if "patient" in bias.applies_to:
        assert bias.text("patient", target)[:60] in patient_prompt
    if "doctor" in bias.applies_to:
        where = session.opening if bias.placement == "case" else doctor_prompt
        assert bias.text("doctor", target)[:60] in where
    if bias.kind == "cognitive":
        told = patient_prompt if bias.applies_to == ("patient",) else doctor_prompt
        assert target and target in told
    for text in (patient_prompt, doctor_prompt, session.opening):
        for name in names_of(case):
            assert not contains_phrase(text, name), (bias_id, name)
    record = session.transcript()
    assert record.bias_targets == session.bias_plan.targets


def test_without_biases_the_prompts_carry_none():
    case = minimal_case()
    session, context, transport = model_session(case, [])
    doctor = create_doctor(MODEL, session, context)
    asyncio.run(doctor.act(session.observation_for_doctor(session.opening)))
    assert "Septic arthritis" not in session.patient.messages[0]["content"]
    assert "Septic arthritis" not in transport.requests[0]["messages"][0]["content"]


def test_the_offline_patient_voices_a_cognitive_belief_once_and_the_guard_lets_it_through():
    session = create_session(minimal_case(), biases=["self_diagnosis"], seed=0)
    first = asyncio.run(session.step("What brings you in today?")).observation
    assert "Septic arthritis" in first and "[withheld]" not in first
    later = [asyncio.run(session.step(q)).observation for q in ("Any fever?", "Do you smoke?")]
    assert not any("Septic arthritis" in text for text in later)
    assert session.transcript().turns[0].fidelity == ()


def test_asked_for_their_own_idea_the_biased_patient_gives_the_target():
    session = create_session(minimal_case(), biases=["patient:recency"], seed=0)
    reply = asyncio.run(session.step("What do you think it is?")).observation
    assert "Septic arthritis" in reply and "gout" not in reply.lower()
    unbiased = create_session(minimal_case(), seed=0)
    assert (
        "Septic arthritis" not in asyncio.run(unbiased.step("What do you think it is?")).observation
    )


QUESTIONS = (
    "How did this start?",
    "Do you drink alcohol?",
    "Any medications?",
    "Did the pain wake you?",
    "Anything else?",
)


def facts_told(persona, bias_ids, seed):
    case = minimal_case()
    plan = plan_biases(case, bias_ids, random.Random(seed))
    patient = OfflinePatient(case.patient_view(), load_persona(persona), random.Random(seed))
    patient.take_biases(plan.for_role("patient"))
    replies = [patient.answer(q) for q in QUESTIONS]
    return sum(len(r.facts) for r in replies), " ".join(r.text for r in replies)


PATIENT_BIASES = [b for b, bias in biases().items() if "patient" in bias.applies_to]


@pytest.mark.parametrize("bias_id", PATIENT_BIASES)
def test_every_patient_bias_changes_what_the_offline_patient_says(bias_id):
    told = [facts_told("plain", [f"patient:{bias_id}"], seed) for seed in range(30)]
    plain = [facts_told("plain", [], seed) for seed in range(30)]
    assert [text for _, text in told] != [text for _, text in plain]
    bias = biases()[bias_id]
    if bias.offline.disclosure <= -0.1:  # a guarded patient tells less
        assert sum(n for n, _ in told) < sum(n for n, _ in plain)


def test_a_patient_bias_needs_a_patient_that_can_act_it_out(monkeypatch):
    def make(view, persona, rng):
        return type("Plain", (), {"offline": True})()

    monkeypatch.setitem(PATIENTS._factories, "unbiasable", make)
    with pytest.raises(ConfigError, match="cannot take biases"):
        create_session(minimal_case(), biases=["self_diagnosis"], patient="unbiasable")
    create_session(minimal_case(), biases=["doctor:confirmation"], patient="unbiasable")
