"""Biases: every published bias is bundled with a variant faithful to its source, cognitive
biases aim at a wrong diagnosis that cannot hint at the answer, each reaches the agent it is
given to (model prompts, the offline patient, the brief), and an outside doctor is shown a
doctor bias in its brief or refused it."""

import asyncio
import random

import pytest

from clinic_env.agents.base import PATIENTS
from clinic_env.agents.biasing import (
    bias_target,
    check_outside_doctor,
    plan_biases,
    target_candidates,
)
from clinic_env.agents.personas import biases, load_bias, parse_bias
from clinic_env.datasets import load_cases
from clinic_env.errors import ConfigError, ContentError, UnknownNameError
from clinic_env.language.leak import leak_guard
from clinic_env.language.lexicon import share_distinctive_word
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
STARTER = load_cases("starter")
GOUT_TRUTH = {
    "diagnosis": "Gout",
    "aliases": ["gouty arthritis"],
    "differentials": [
        {"diagnosis": "Septic arthritis"},
        {"diagnosis": "Cellulitis"},
        {"diagnosis": "Pseudogout"},
    ],
}


def names_of(case):
    return [case.ground_truth.diagnosis, *case.ground_truth.aliases]


def test_every_published_bias_is_bundled_with_a_variant_faithful_to_its_source():
    known = biases()
    for bias_id in AGENTCLINIC_PATIENT:
        assert "patient" in known[bias_id].applies_to, bias_id
    for bias_id in AGENTCLINIC_DOCTOR:
        assert "doctor" in known[bias_id].applies_to, bias_id
    for bias_id in {*AGENTCLINIC_PATIENT, *AGENTCLINIC_DOCTOR}:
        bias = known[bias_id]
        if bias.kind == "cognitive":
            faithful = known[f"agentclinic_{bias_id}"]
            assert faithful.target.kind == "fixed" and faithful.target.name == "cancer"
            assert faithful.prompt == bias.prompt and faithful.variant_of == bias_id
            assert bias.target.kind == "drawn"
    for bias_id in BIASMEDQA:
        bias = known[f"biasmedqa_{bias_id}"]
        assert bias.kind == "cognitive" and bias.placement == "case"
        assert bias.target.kind == "wrong_option" and "brief" in bias.shown_in
    for bias in known.values():
        assert bias.source and bias.summary and bias.meaning, bias.id


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
    with pytest.raises(ValueError, match="brief"):
        Bias.model_validate({**base, "kind": "implicit", "prompt": "p", "shown_in": ["brief"]})
    with pytest.raises(ValueError, match="fixed target needs a name"):
        Bias.model_validate(
            {**base, "kind": "cognitive", "prompt": "{target}", "target": {"kind": "fixed"}}
        )
    with pytest.raises(ValueError, match="concede"):
        Bias.model_validate(
            {**base, "kind": "implicit", "prompt": "p", "offline": {"yields_after": 2}}
        )


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


@pytest.mark.parametrize("case", STARTER, ids=lambda case: case.id)
def test_no_drawn_target_shares_a_distinctive_word_with_the_truth(case):
    candidates = target_candidates(
        case, DiagnosisMatcher.from_content(), leak_guard(tuple(names_of(case)), "x")
    )
    assert candidates
    for candidate in candidates:
        for name in names_of(case):
            assert not share_distinctive_word(candidate, name), (candidate, name)


def test_every_bias_on_every_case_names_a_wrong_target_and_never_the_truth():
    matcher = DiagnosisMatcher.from_content()
    for case in STARTER[::5]:
        names = names_of(case)
        for bias_id, bias in biases().items():
            plan = plan_biases(case, [bias_id], random.Random(f"{case.id}:{bias_id}"))
            for use in plan.uses:
                lines = use.lines
                texts = [use.text, use.says or "", use.brief or "", *lines.belief]
                texts += [*lines.pushback, *lines.requests, *lines.asks]
                for text in texts:
                    for name in names:
                        assert not contains_phrase(text, name), (case.id, bias_id, name)
                    assert "[withheld]" not in text and "{" not in text
                if bias.kind == "cognitive":
                    assert use.target and use.target in use.text, (case.id, bias_id)
                    truth = case.ground_truth
                    assert not matcher.matches(use.target, truth.diagnosis, truth.aliases)
                    if bias.target.kind != "fixed":
                        assert not any(share_distinctive_word(use.target, n) for n in names)
                else:
                    assert use.target is None and "{target}" not in use.text


def test_the_drawn_target_leaves_out_names_sharing_a_word_with_the_truth_and_is_seeded():
    case = minimal_case(ground_truth=GOUT_TRUTH)
    matcher = DiagnosisMatcher.from_content()
    assert target_candidates(case, matcher, leak_guard(("Gout",), "x")) == ["Cellulitis"]
    options = {"A": "Gout", "B": "Cellulitis", "C": "Pseudogout", "D": "Bursitis"}
    truth = {**GOUT_TRUTH, "answer_option": "A", "differentials": []}
    mcq = minimal_case(options=options, ground_truth=truth)
    drawn = {bias_target(mcq, random.Random(seed)) for seed in range(40)}
    assert drawn == {"Cellulitis", "Bursitis"}
    first = plan_biases(mcq, ["recency"], random.Random(3)).targets
    again = plan_biases(mcq, ["doctor:confirmation", "self_diagnosis"], random.Random(3)).targets
    assert set(first.values()) == set(again.values())  # one target per case and seed


def test_source_faithful_targets_are_cancer_and_a_wrong_option():
    options = {"A": "Gout", "B": "Cellulitis", "C": "Bursitis"}
    truth = {**GOUT_TRUTH, "answer_option": "A"}
    mcq = minimal_case(options=options, ground_truth=truth)
    for seed in range(20):
        plan = plan_biases(mcq, ["agentclinic_recency", "biasmedqa_recency"], random.Random(seed))
        targets = plan.targets
        assert targets["patient:agentclinic_recency"] == "cancer"
        assert targets["doctor:biasmedqa_recency"] in {"Cellulitis", "Bursitis"}
    no_options = minimal_case(ground_truth=GOUT_TRUTH)
    plan = plan_biases(no_options, ["biasmedqa_confirmation"], random.Random(0))
    assert plan.targets == {"doctor:biasmedqa_confirmation": "Cellulitis"}


def test_a_case_without_differential_falls_back_to_the_knowledge_base():
    bare = minimal_case(ground_truth={"diagnosis": "Gout", "aliases": ["gouty arthritis"]})
    matcher = DiagnosisMatcher.from_content()
    for seed in range(20):
        target = bias_target(bare, random.Random(seed))
        assert not matcher.matches(target, "Gout", ["gouty arthritis"])
        assert not share_distinctive_word(target, "gouty arthritis")


def model_session(case, biases, **kwargs):
    transport = ScriptedTransport({"patient": ["I see."], "doctor": ["DIAGNOSIS READY: x"]})
    context = RoleContext(case, 0, client=ModelClient(transport=transport))
    session = create_session(case, biases=biases, patient=MODEL, context=context, **kwargs)
    return session, context, transport


@pytest.mark.parametrize("bias_id", sorted(biases()))
def test_the_biased_agent_is_told_the_target_and_never_the_truth(bias_id):
    """For every bias: the text is in the prompt of the agent it is given to (model patient,
    model doctor, or the case the doctor reads), the target with it."""
    case = STARTER[0]
    bias = biases()[bias_id]
    session, context, transport = model_session(case, [bias_id], doctor=MODEL)
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
    assert session.transcript().bias_targets == session.bias_plan.targets


def test_without_biases_the_prompts_carry_none():
    case = minimal_case(ground_truth=GOUT_TRUTH)
    session, context, transport = model_session(case, [])
    doctor = create_doctor(MODEL, session, context)
    asyncio.run(doctor.act(session.observation_for_doctor(session.opening)))
    assert "Cellulitis" not in session.patient.messages[0]["content"]
    assert "Cellulitis" not in transport.requests[0]["messages"][0]["content"]


@pytest.mark.parametrize(
    "bias_id", sorted(b for b, bias in biases().items() if "doctor" in bias.applies_to)
)
def test_an_outside_doctor_is_shown_a_doctor_bias_in_the_brief_or_refused(bias_id):
    bias = biases()[bias_id]
    case = minimal_case(ground_truth=GOUT_TRUTH)
    plan = plan_biases(case, [f"doctor:{bias_id}"], random.Random(0))
    inside = plan.brief_texts(outside_doctor=False)
    assert inside == ([plan.uses[0].text] if bias.placement == "case" else [])
    if "brief" in bias.shown_in:
        check_outside_doctor([f"doctor:{bias_id}"])
        (shown,) = plan.brief_texts(outside_doctor=True)
        if bias.kind == "cognitive":
            assert plan.uses[0].target in shown
    else:
        for refuse in (
            lambda: plan.brief_texts(outside_doctor=True),
            lambda: check_outside_doctor([bias_id]),
        ):
            with pytest.raises(ConfigError, match=f"doctor:{bias_id}.*outside the simulator"):
                refuse()


def test_patient_biases_do_not_concern_an_outside_doctor():
    check_outside_doctor(["patient:gender", "self_diagnosis"])
    plan = plan_biases(minimal_case(ground_truth=GOUT_TRUTH), ["patient:race"], random.Random(0))
    assert plan.brief_texts(outside_doctor=True) == []


def test_a_patient_bias_needs_a_patient_that_can_act_it_out(monkeypatch):
    def make(view, persona, rng):
        return type("Plain", (), {"offline": True})()

    monkeypatch.setattr(PATIENTS, "_entries", dict(PATIENTS._entries))
    PATIENTS.register("unbiasable", offline=True)(make)
    with pytest.raises(ConfigError, match="cannot take biases"):
        create_session(minimal_case(), biases=["self_diagnosis"], patient="unbiasable")
    create_session(minimal_case(), biases=["doctor:confirmation"], patient="unbiasable")
