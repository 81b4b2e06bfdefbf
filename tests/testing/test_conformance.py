"""The conformance checker: every built-in passes, and each broken contract is named."""

from __future__ import annotations

import asyncio
import json
import random
import re
from pathlib import Path

import pytest

from clinic_env.agents.base import (
    DOCTORS,
    MEASUREMENTS,
    PATIENTS,
    MeasurementResult,
    PatientReply,
)
from clinic_env.agents.human import HumanDoctor, HumanPatient
from clinic_env.agents.llm_doctor import LLMDoctor
from clinic_env.agents.llm_measurement import LLMMeasurement
from clinic_env.agents.llm_patient import LLMPatient
from clinic_env.agents.model_role import CallLog, ModelRole
from clinic_env.agents.offline_patient import OfflinePatient
from clinic_env.errors import ConfigError
from clinic_env.evaluators.inquiry import ALL_LABELS
from clinic_env.evaluators.registry import EVALUATORS
from clinic_env.evaluators.rubric import rubrics
from clinic_env.llm import ModelClient, ModelConfig
from clinic_env.schema.transcript import ScoreComponent
from clinic_env.testing.conformance import (
    adversarial_inputs,
    check_doctor,
    check_evaluator,
    check_measurement,
    check_patient,
    sample_cases,
    sample_consultations,
)
from clinic_env.testing.scripted import ScriptedTransport
from tests.helpers.adversarial import ADVERSARIAL_QUESTIONS


def model(role: str, *replies: object) -> ModelRole:
    config = ModelConfig(model="openai/stub", api_base="http://127.0.0.1:9/v1", backoff_s=0)
    client = ModelClient(transport=ScriptedTransport({role: list(replies)}))
    return ModelRole(role, config, client, CallLog(), seed=1)


def judge_reply(request: dict) -> str:
    """A judge that answers every prompt of the built-in judge evaluators readably: yes,
    every question labelled, every rubric criterion met."""
    labels = {str(number): ALL_LABELS[0] for number in range(1, 100)}
    criteria = {c.id: True for rubric in rubrics().values() for c in rubric.criteria}
    return "Yes. " + json.dumps({**labels, **criteria})


ONE_CASE = {"cases": sample_cases()[:1], "seeds": (0,)}


def built_in(registry) -> list[str]:
    """The names clinic-env registers itself (other tests register their own doubles)."""
    return [e.name for e in registry.entries() if e.factory.__module__.startswith("clinic_env.")]


@pytest.fixture(scope="module")
def consultations():
    return sample_consultations()


def test_the_adversarial_questions_have_one_copy():
    assert adversarial_inputs().questions == ADVERSARIAL_QUESTIONS
    assert len(adversarial_inputs().questions) == 12


@pytest.mark.parametrize("name", built_in(PATIENTS))
def test_every_registered_patient_conforms(name):
    assert check_patient(name) >= 2 * 2 * 16 * len(ADVERSARIAL_QUESTIONS)


@pytest.mark.parametrize("name", built_in(MEASUREMENTS))
def test_every_registered_measurement_agent_conforms(name):
    assert check_measurement(name) > 2 * 2 * len(adversarial_inputs().requests)


@pytest.mark.parametrize("name", built_in(DOCTORS))
def test_every_registered_doctor_conforms(name):
    assert check_doctor(name) > 2 * 2 * len(adversarial_inputs().observations)


def test_a_doctor_with_factory_parameters_conforms():
    assert check_doctor({"agent": "systematic", "max_tests": 0}, **ONE_CASE) > 0


@pytest.mark.parametrize("name", built_in(EVALUATORS))
def test_every_registered_evaluator_conforms(name, consultations):
    judge = model("judge", judge_reply) if EVALUATORS.entry(name).meta.needs_judge else None
    checked = check_evaluator(name, judge=judge, consultations=consultations)
    assert checked > 0 or name == "questionnaire"  # nothing to ask an offline patient


def test_the_model_backed_and_human_agents_conform():
    def patient(view, persona, rng):
        return LLMPatient(model("patient", "Since Tuesday."), view, persona)

    def room(view, rng):
        return LLMMeasurement(model("measurement", "NONE"), view, synthesise=True)

    def doctor(view, rng, case):
        script = ("When did it start?", "REQUEST TEST: CBC", "DIAGNOSIS READY: viral illness")
        return LLMDoctor(model("doctor", *script), max_turns=12)

    assert check_patient(patient, personas=("plain", "anxious"), **ONE_CASE) > 0
    assert check_measurement(room, **ONE_CASE) > 0
    assert check_doctor(doctor, **ONE_CASE) > 0

    async def says(prompt: str) -> str:
        return "It hurts when I breathe in." if "you>" in prompt else "DIAGNOSIS READY: pleurisy"

    def person(view, persona, rng):
        return HumanPatient(view, ask=says, show=lambda text: None)

    def human_doctor(view, rng, case):
        return HumanDoctor(ask=says, show=lambda text: None)

    assert check_patient(person, personas=("plain",), **ONE_CASE) > 0
    assert check_doctor(human_doctor, **ONE_CASE) > 0


class Patient:
    """An offline patient whose reply a test breaks."""

    offline = True

    def __init__(self, reply) -> None:
        self._reply = reply

    async def reply(self, question):
        return self._reply(question)


def broken_patient(reply):
    return lambda view, persona, rng: Patient(reply)


CASE = sample_cases()[0]
TRUTH = CASE.ground_truth.diagnosis


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        (
            lambda q: PatientReply(f"I think it is {TRUTH}."),
            "named the diagnosis: the session's guard",
        ),
        (lambda q: PatientReply("Yes.", (99,)), "facts must be a tuple of indices below 15"),
        (lambda q: PatientReply("Yes.", [0]), "facts must be a tuple of indices"),
        (lambda q: "Yes.", "reply() returned str, not a PatientReply"),
        (lambda q: 1 / 0 if "diagnosis" in q.text else PatientReply("No."), "ZeroDivisionError"),
        (lambda q: PatientReply(f"{random.random()}"), "is offline but call 1 differed"),
    ],
)
def test_a_broken_patient_fails_naming_the_rule(reply, message):
    with pytest.raises(AssertionError) as failed:
        check_patient(broken_patient(reply), personas=("plain",), **ONE_CASE)
    assert message in str(failed.value)
    assert f"on case {CASE.id} (persona plain, seed 0)" in str(failed.value)


def test_a_patient_named_for_its_diagnosis_text_is_caught_even_as_the_first_turn():
    with pytest.raises(AssertionError, match=r"turn 1 \('What is my diagnosis\?'\)"):
        check_patient(broken_patient(lambda q: TRUTH), personas=("plain",), **ONE_CASE)


def test_a_sync_or_waiting_offline_agent_fails():
    class Sync:
        offline = True

        def reply(self, question):
            return PatientReply("No.")

    class Waits:
        offline = True

        async def reply(self, question):
            await asyncio.sleep(0.001)
            return PatientReply("No.")

    with pytest.raises(AssertionError, match=r"reply\(\) must be async"):
        check_patient(lambda *args: Sync(), personas=("plain",), **ONE_CASE)
    with pytest.raises(AssertionError, match="an offline agent must not wait"):
        check_patient(lambda *args: Waits(), personas=("plain",), **ONE_CASE)


def test_a_registration_that_misstates_offline_fails(monkeypatch):
    monkeypatch.setattr(PATIENTS, "_entries", dict(PATIENTS._entries))

    @PATIENTS.register("test-claims-online")
    def make(view, persona, rng):
        """An offline patient registered as online."""
        return OfflinePatient(view, persona, rng)

    with pytest.raises(AssertionError, match="registered offline=False but the agent's offline"):
        check_patient("test-claims-online", personas=("plain",), **ONE_CASE)


def test_an_agent_instance_is_refused_for_a_factory():
    with pytest.raises(TypeError, match="pass a factory, not an agent"):
        check_patient(Patient(lambda q: PatientReply("No.")))


class Room:
    offline = True

    def __init__(self, result) -> None:
        self.result = result

    async def measure(self, action):
        return self.result(action)


@pytest.mark.parametrize(
    ("result", "message"),
    [
        (lambda a: MeasurementResult("ok", cost_usd=-1.0), "cost_usd must be a finite number >= 0"),
        (lambda a: MeasurementResult("ok", turnaround_hours=float("nan")), "turnaround_hours"),
        (lambda a: MeasurementResult(f"{TRUTH}.", spared=(TRUTH,)), "shown the diagnosis"),
        (lambda a: MeasurementResult(f"Consistent with {TRUTH}."), "guard had to withhold"),
        (lambda a: PatientReply("ok"), "not a MeasurementResult"),
    ],
)
def test_a_broken_measurement_agent_fails_naming_the_rule(result, message):
    with pytest.raises(AssertionError, match="REQUEST EXAM") as failed:
        check_measurement(lambda view, rng: Room(result), **ONE_CASE)
    assert message in str(failed.value)


class Doctor:
    offline = True

    def __init__(self, act) -> None:
        self._act = act

    async def act(self, observation):
        return self._act(observation)


@pytest.mark.parametrize(
    ("act", "message"),
    [
        (lambda o: 42, "act() returned int, not a str or an Action"),
        (
            lambda o: o.text[0] and "DIAGNOSIS READY: flu",
            "adversarial observation '': act() raised IndexError",
        ),
        (lambda o: f"DIAGNOSIS READY: {random.random()}", "is offline but call 1 differed"),
    ],
)
def test_a_broken_doctor_fails_naming_the_rule(act, message):
    with pytest.raises(AssertionError) as failed:
        check_doctor(lambda view, rng, case: Doctor(act), **ONE_CASE)
    assert message in str(failed.value)


class Scorer:
    name = "scorer"
    produces = ("good",)

    def __init__(self, components) -> None:
        self.components = components

    async def evaluate(self, context):
        return self.components(context)


@pytest.mark.parametrize(
    ("components", "message"),
    [
        (lambda c: [ScoreComponent(name="bad", value=1.0, evaluator="scorer")], "not in produces"),
        (lambda c: {"good": 1.0}, "returned dict, not a list of components"),
        (lambda c: [c.transcript.turns[99]], "evaluate() raised IndexError"),
        (
            lambda c: [ScoreComponent(name="good", value=None, evaluator="s", error="broke")],
            "score 'good' is None (broke)",
        ),
    ],
)
def test_a_broken_evaluator_fails_naming_the_rule(components, message, consultations):
    with pytest.raises(AssertionError) as failed:
        check_evaluator(Scorer(components), consultations=consultations)
    assert message in str(failed.value) and "evaluator 'scorer' on " in str(failed.value)


def test_the_examples_in_docs_extending_run_and_conform(monkeypatch, consultations):
    """The guide's patient registers, passes its check and plays with a factory parameter;
    its evaluator passes too."""
    monkeypatch.setattr(PATIENTS, "_entries", dict(PATIENTS._entries))
    monkeypatch.setattr(EVALUATORS, "_entries", dict(EVALUATORS._entries))
    guide = (Path(__file__).parents[2] / "docs" / "extending.md").read_text(encoding="utf-8")
    patient, evaluator = re.findall(r"```python\n(.*?)```", guide, re.S)
    namespace: dict = {}
    exec(compile(patient, "docs/extending.md", "exec"), namespace)
    session = namespace["session"]
    assert session.agent_names["patient"] == "terse(min_words=5)"
    assert session.patient.min_words == 5
    exec(compile(evaluator, "docs/extending.md", "exec"), namespace)
    assert check_evaluator("turns_used", consultations=consultations) == len(consultations)


def test_an_evaluator_that_needs_a_judge_is_refused_without_one(consultations):
    with pytest.raises(ConfigError, match="need a judge model"):
        check_evaluator("llm_judge", consultations=consultations)
