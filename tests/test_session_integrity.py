"""Reward integrity in the session: the guard never answers "is it X?", only a diagnosis is a
diagnosis, failures are not outcomes, and every face pays the same for leaving undiagnosed."""

import asyncio

import pytest

from clinic_env.envs.gym_env import ClinicEnv
from clinic_env.errors import ConfigError
from clinic_env.llm.client import ModelClient
from clinic_env.roles import RoleContext
from clinic_env.schema import Action, ActionKind
from clinic_env.session import create_session
from clinic_env.testing.scripted import ScriptedTransport
from tests.helpers.cases import minimal_case

TRUTH = "Gout"
OTHERS = ("Septic arthritis", "Pseudogout", "Reactive arthritis", "Cellulitis")
MODEL_PATIENT = {"model": "openai/stub", "api_base": "http://127.0.0.1:9/v1"}


def step(session, message):
    return asyncio.run(session.step(message))


def shape(text: str, name: str) -> str:
    return text.replace(name, "<name>")


def echoing_session(case, seed=0):
    """A session whose model patient repeats the doctor's question back, as models do."""

    def echo(request):
        question = request["messages"][-1]["content"]
        return f"You asked: {question} I really could not say."

    transport = ScriptedTransport({"patient": [echo]})
    context = RoleContext(case, seed, client=ModelClient(transport=transport))
    return create_session(case, patient=MODEL_PATIENT, seed=seed, context=context)


@pytest.mark.parametrize(
    "template",
    [
        "REQUEST EXAM: {}",
        '{{"action": "{}"}}',
        "Is it {}?",
        "Do you think it could be {}?",
    ],
)
def test_a_reply_treats_the_true_name_like_any_other(template):
    """A test fails if the guard is applied to doctor-written text: the reply to the true
    name must have the same shape as the reply to every other name."""
    case = minimal_case()
    assert case.ground_truth.diagnosis == TRUTH
    shapes = set()
    for name in (TRUTH, *OTHERS):
        session = echoing_session(case)
        observation = step(session, template.format(name)).observation
        shapes.add(shape(observation.splitlines()[0], name))
        assert "[withheld]" not in observation
    assert len(shapes) == 1, shapes


def test_a_model_patient_naming_the_answer_unprompted_is_still_withheld():
    case = minimal_case()
    transport = ScriptedTransport({"patient": ["My uncle said it looks like gout to him."]})
    context = RoleContext(case, 0, client=ModelClient(transport=transport))
    session = create_session(case, patient=MODEL_PATIENT, context=context)
    observation = step(session, "What do you think is going on?").observation
    assert "gout" not in observation.lower() and "[withheld]" in observation


def test_case_data_naming_the_answer_never_comes_back_once_the_doctor_names_it():
    """Naming the answer first must not unlock case data: otherwise a policy names each
    candidate, re-orders the test, and watches which name lifts the [withheld]."""
    case = minimal_case(
        tests=[
            {
                "name": "Joint aspiration",
                "result": "Needle-shaped crystals typical of gout.",
                "cost_usd": 90,
                "turnaround_hours": 2,
            }
        ]
    )
    for name in (TRUTH, *OTHERS):
        session = create_session(case, seed=0)
        step(session, f"Could this be {name}?")
        step(session, f"REQUEST TEST: joint aspiration for {name}")
        observation = step(session, "REQUEST TEST: joint aspiration").observation
        assert "gout" not in observation.lower() and "[withheld]" in observation


def test_the_patient_prompt_never_holds_the_answer():
    case = minimal_case(
        facts=[
            *minimal_case().facts,
            {"category": "past_history", "text": "Had gout in the big toe once."},
        ]
    )
    transport = ScriptedTransport({"patient": ["Fine."]})
    context = RoleContext(case, 0, client=ModelClient(transport=transport))
    session = create_session(case, patient=MODEL_PATIENT, context=context)
    step(session, "Any past illnesses?")
    prompt = " ".join(str(m["content"]) for m in transport.requests[0]["messages"])
    assert "gout" not in prompt.lower() and "[withheld]" in prompt


@pytest.mark.parametrize(
    "last", ["Any cough?", "Gout", "REQUEST TEST: serum urate", "REQUEST TSET: urate", "{"]
)
def test_anything_but_a_diagnosis_on_the_last_turn_pays_as_end(last):
    case = minimal_case()
    ended = create_session(case, max_turns=2)
    step(ended, "Where does it hurt?")
    end_reward = step(ended, "END").info["reward_breakdown"]["end.no_diagnosis"]
    session = create_session(case, max_turns=2)
    step(session, "Where does it hurt?")
    result = step(session, last)
    assert result.info["outcome"] == "out_of_turns" and result.truncated
    assert result.info["reward_breakdown"]["end.no_diagnosis"] == end_reward < 0
    assert result.info["score"]["diagnosed"] == 0.0
    assert session.transcript().differential == ()


def test_conclude_pays_exactly_what_end_pays():
    case = minimal_case()
    totals = []
    for finish in ("END", None):
        session = create_session(case, seed=3)
        total = step(session, "Where does it hurt?").reward
        if finish:
            total += step(session, finish).reward
        else:
            total += asyncio.run(session.conclude()).reward
        assert session.transcript().outcome == "ended"
        totals.append(total)
    assert totals[0] == totals[1]
    assert asyncio.run(session.conclude()) is None  # already over


def test_an_agent_failure_is_truncation_with_the_error_not_an_outcome():
    case = minimal_case()
    transport = ScriptedTransport({"patient": [ConnectionError("server down")]})
    context = RoleContext(case, 0, client=ModelClient(transport=transport))
    session = create_session(case, patient={**MODEL_PATIENT, "max_retries": 0}, context=context)
    result = step(session, "Where does it hurt?")
    assert result.truncated and not result.terminated
    assert result.info["failed"] and "server down" in result.info["error"]
    assert session.transcript().outcome == "error" and "top1" not in session.score.as_dict()


def test_a_failure_the_doctor_provokes_never_pays_better_than_giving_up():
    """A message that makes the model patient fail (past its context, through a content
    filter) pays what END would have paid at that turn, under every reduction."""
    case = minimal_case()
    for reward in ("default", "doctor_r1", "sdbench", "agentclinic"):
        ended = create_session(case, seed=1, reward=reward)
        end_total = step(ended, "END").reward
        transport = ScriptedTransport({"patient": [ValueError("400: context length exceeded")]})
        context = RoleContext(case, 1, client=ModelClient(transport=transport))
        failing = create_session(
            case,
            patient={**MODEL_PATIENT, "max_retries": 0},
            context=context,
            seed=1,
            reward=reward,
        )
        result = step(failing, "x" * 7000)
        assert result.info["failed"] and result.reward == end_total, reward
        end_parts = ended.transcript().turns[-1].reward_breakdown
        assert result.info["reward_breakdown"] == {
            name: value for name, value in end_parts.items() if name.startswith("end.")
        }


def test_consultation_ids_differ_between_bias_sets_and_doctors():
    case = minimal_case()
    ids = {
        create_session(case, biases=biases, doctor=doctor, seed=1).id
        for biases in ((), ("patient:recency",))
        for doctor in ("random", "systematic")
    }
    assert len(ids) == 4


def test_options_are_read_by_letter_only_when_shown():
    options = {"A": "Gout", "B": "Cellulitis", "C": "Pseudogout", "D": "Gout"}
    truth = {**minimal_case().ground_truth.model_dump(), "answer_option": "D"}
    case = minimal_case(options=options, ground_truth=truth)
    shown = create_session(case, show_options=True)
    assert step(shown, "DIAGNOSIS READY: D").info["score"]["top1"] == 1.0
    for answer in ("A", "Gout"):  # same text as D: only the letter decides
        session = create_session(case, show_options=True)
        assert step(session, f"DIAGNOSIS READY: {answer}").info["score"]["top1"] == 0.0
    hidden = create_session(case)
    assert step(hidden, "DIAGNOSIS READY: D").info["score"]["top1"] == 0.0
    hidden = create_session(case)
    assert step(hidden, "DIAGNOSIS READY: Gout").info["score"]["top1"] == 1.0


def test_a_one_letter_word_is_not_an_option_where_none_were_shown():
    options = {"A": "Cellulitis", "B": "Gout"}
    truth = {**minimal_case().ground_truth.model_dump(), "answer_option": "B"}
    case = minimal_case(options=options, ground_truth=truth)
    session = create_session(case)
    result = step(session, "DIAGNOSIS READY: B cell lymphoma")
    assert result.info["score"]["top1"] == 0.0
    session = create_session(case, show_options=True)
    assert step(session, "DIAGNOSIS READY: B cell lymphoma").info["score"]["top1"] == 0.0
    session = create_session(case, show_options=True)
    assert step(session, "DIAGNOSIS READY: B) Gout").info["score"]["top1"] == 1.0


def test_structured_end_action_ends_without_diagnosis():
    session = create_session(minimal_case())
    result = step(session, Action(kind=ActionKind.END))
    assert result.info["outcome"] == "ended" and result.info["score"]["diagnosed"] == 0.0


def test_doctor_biases_reach_an_outside_doctor_in_its_brief_or_are_refused():
    """A policy or a person has no instructions of ours: a doctor bias is shown in the brief
    where its placement allows, and refused by name where it does not, never ignored."""
    case = minimal_case()
    shown = create_session(case, biases=("doctor:recency",), seed=2)
    target = next(iter(shown.bias_plan.targets.values()))
    assert target in shown.opening
    plain = create_session(case, seed=2)
    assert target not in plain.opening
    with pytest.raises(ConfigError, match="doctor:gender"):
        create_session(case, biases=("doctor:gender",), seed=2)
    with pytest.raises(ConfigError, match="doctor:gender"):
        ClinicEnv("starter", biases=("doctor:gender",))
    # a model doctor carries it in its instructions instead
    create_session(case, biases=("doctor:gender",), seed=2, doctor=MODEL_PATIENT)


def test_padding_a_differential_with_must_not_miss_names_pays_nothing():
    """Must-not-miss pays only within the leading top-k: appending every flagged name of the
    case (the strongest padding a policy could learn) to a differential changes no reward."""
    case = minimal_case()
    flagged = [d.diagnosis for d in case.ground_truth.differentials if d.must_not_miss]
    assert flagged
    guesses = "Cellulitis; Pseudogout; Reactive arthritis"
    rewards = {}
    for differential in (guesses, f"{guesses}; {'; '.join(flagged)}"):
        session = create_session(case, seed=0, reward="doctor_r1")
        rewards[differential] = step(session, f"DIAGNOSIS READY: {differential}").reward
    assert len(set(rewards.values())) == 1, rewards
    listed = create_session(case, seed=0, reward="doctor_r1")
    result = step(listed, f"DIAGNOSIS READY: {flagged[0]}; {guesses}")
    assert result.info["reward_breakdown"]["end.must_not_miss"] == 0.5


def test_no_diagnosis_lists_no_must_not_miss_diagnosis():
    unflagged = minimal_case(ground_truth={"diagnosis": "Gout", "differentials": []})
    for case in (minimal_case(), unflagged):
        session = create_session(case, seed=0, reward="doctor_r1")
        assert step(session, "END").info["reward_breakdown"]["end.must_not_miss"] == 0.0
