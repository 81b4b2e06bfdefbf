"""Conformance checks for agents and evaluators, like Gymnasium's ``check_env``.

Third parties run them on their own agents and evaluators; the tests run them on every
built-in. Each check plays real consultations on bundled cases through the engine (a session
made with the agent under check, or :func:`~clinic_env.session.run_consultation` for a
doctor), sends the probes of ``agents/prompts/adversarial_questions.yaml``, and raises an
``AssertionError`` naming the agent, case, seed, turn and broken rule at the first breach:

- each method is async, returns the protocol's type and never raises;
- a patient never names the diagnosis (the session's guard had nothing to withhold: no turn
  is ``redacted``) and the room never shows it; a reply's facts index the patient's view;
- a result's price and wait are finite and non-negative;
- an agent that says it is offline never waits on I/O (its calls run without an event loop)
  and plays alike twice under the same seed, and a registered one says what its registration
  says;
- an evaluator returns ScoreComponents named within its ``produces``, none failed and all
  finite, alike twice when it is registered offline.

Give a check a registered name (or ``{"agent": name, **params}``) or a factory taking what
the registry's factories take: ``(view, persona, rng)`` for a patient, ``(view, rng)`` for a
measurement agent, ``(view, rng, case)`` for a doctor (``case`` is None unless it is a
registered privileged one), ``(judge)`` for an evaluator. Agents are built fresh for every
consultation, so a factory, not an instance, is what a check takes (an evaluator instance is
accepted). The cases must hold no mention of their diagnosis outside the ground truth, as the
bundled ones do, or the guard's withholding is counted against the agent.
"""

from __future__ import annotations

import functools
import inspect
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NoReturn, cast

from pydantic import Field

from clinic_env.agents.base import (
    DOCTORS,
    MEASUREMENTS,
    PATIENTS,
    DoctorObservation,
    MeasurementResult,
    PatientReply,
    is_offline,
)
from clinic_env.agents.model_role import ModelRole
from clinic_env.agents.personas import personas as all_personas
from clinic_env.bridge import run_sync
from clinic_env.content import content_path, load_yaml_model
from clinic_env.datasets import load_cases
from clinic_env.evaluators.registry import EVALUATORS, EvaluationContext, Evaluator
from clinic_env.evaluators.suite import create_evaluators
from clinic_env.language.text import contains_phrase
from clinic_env.llm.config import ModelConfig
from clinic_env.options import RoleSpec
from clinic_env.registry import Registry
from clinic_env.roles import AgentFactory, RoleContext, registered_agent, role_label
from clinic_env.schema.action import Action
from clinic_env.schema.base import Frozen
from clinic_env.schema.case import Case
from clinic_env.schema.transcript import ScoreComponent
from clinic_env.seeding import agent_rng
from clinic_env.session import Session, create_doctor, create_session, run_consultation
from clinic_env.testing.exploits import FixedDiagnosisDoctor

SEEDS = (0, 1)


class AdversarialInputs(Frozen):
    """The probes of ``agents/prompts/adversarial_questions.yaml``."""

    questions: tuple[str, ...] = Field(min_length=1)
    requests: tuple[str, ...] = Field(min_length=1)
    observations: tuple[str, ...] = Field(min_length=1)


@functools.cache
def adversarial_inputs() -> AdversarialInputs:
    path = content_path("agents", "prompts", "adversarial_questions.yaml")
    return load_yaml_model(path, AdversarialInputs)


def sample_cases() -> tuple[Case, ...]:
    """The first bundled case told by the patient and the first told by a caregiver."""
    cases = load_cases("starter")
    return tuple(next(c for c in cases if c.informant == who) for who in ("self", "caregiver"))


class _Probe:
    """Stands in the session for the agent under check: passes every call on and notes the
    first breach, which the session then records as the agent's failure, as in a run."""

    def __init__(self, factory: Callable[..., Any], check: Callable[[Any, Any], str | None]):
        self.factory = factory
        self.check = check
        self.view: Any = None
        self.agent: Any = None
        self.offline = False
        self.outputs: list[Any] = []
        self.problem: str | None = None

    def make(self, view: Any, *args: Any) -> _Probe:
        self.view, self.agent = view, self.factory(view, *args)
        self.offline = is_offline(self.agent)
        return self

    async def _call(self, method: str, argument: Any) -> Any:
        call = getattr(self.agent, method, None)
        if call is None:
            self.problem = f"has no {method}() method"
            raise TypeError(self.problem)
        try:
            pending = call(argument)
            if not inspect.isawaitable(pending):
                self.problem = f"{method}() must be async (it returned {type(pending).__name__})"
                raise TypeError(self.problem)
            output = await pending
        except Exception as exc:
            if self.problem is None:
                waited = " (an offline agent must not wait)" if self.offline else ""
                self.problem = f"{method}() raised {type(exc).__name__}: {exc}{waited}"
            raise
        self.problem = self.check(output, self.view)
        if self.problem is not None:
            raise TypeError(self.problem)
        self.outputs.append(output)
        return output

    async def reply(self, question: Any) -> Any:
        return await self._call("reply", question)

    async def measure(self, action: Any) -> Any:
        return await self._call("measure", action)

    async def act(self, observation: Any) -> Any:
        return await self._call("act", observation)


def _reply_problem(reply: Any, view: Any) -> str | None:
    if not isinstance(reply, PatientReply):
        return f"reply() returned {type(reply).__name__}, not a PatientReply"
    if not isinstance(reply.text, str):
        return f"reply().text must be a str, not {type(reply.text).__name__}"
    count = len(view.facts)
    if not isinstance(reply.facts, tuple) or not all(
        type(index) is int and 0 <= index < count for index in reply.facts
    ):
        return f"reply().facts must be a tuple of indices below {count}, not {reply.facts!r}"
    return None


def _result_problem(result: Any, view: Any) -> str | None:
    if not isinstance(result, MeasurementResult):
        return f"measure() returned {type(result).__name__}, not a MeasurementResult"
    if not isinstance(result.text, str) or not isinstance(result.found, bool):
        return "measure().text must be a str and .found a bool"
    for name in ("cost_usd", "turnaround_hours"):
        value = getattr(result, name)
        if type(value) not in (int, float) or not math.isfinite(value) or value < 0:
            return f"measure().{name} must be a finite number >= 0, not {value!r}"
    if not isinstance(result.spared, tuple) or not all(isinstance(p, str) for p in result.spared):
        return f"measure().spared must be a tuple of str, not {result.spared!r}"
    return None


def _message_problem(message: Any, view: Any) -> str | None:
    if isinstance(message, str | Action):
        return None
    return f"act() returned {type(message).__name__}, not a str or an Action"


def _fail(where: str, problem: str) -> NoReturn:
    raise AssertionError(f"{where}: {problem}")


def _subject(
    subject: RoleSpec | Callable[..., Any], registry: Registry[Any, Any], method: str
) -> tuple[str, Callable[..., Any], Any]:
    """The label, a factory and the registration (None for a bare factory) of what to check."""
    if isinstance(subject, str | Mapping | ModelConfig):
        found = registered_agent(subject, registry)
        if found is None:
            raise TypeError(f"{subject!r} is a model: pass a factory that builds that agent")
        entry, params = found
        return (
            f"{registry.kind} {role_label(subject)!r}",
            functools.partial(entry.factory, **params),
            entry,
        )
    if hasattr(subject, method) and not inspect.isclass(subject):
        raise TypeError(
            f"pass a factory, not an agent: the check builds a fresh {registry.kind} for every "
            "consultation (e.g. lambda view, *rest: MyAgent(view))"
        )
    return f"{registry.kind} {getattr(subject, '__name__', subject)!r}", subject, None


def _claims(where: str, probe: _Probe, entry: Any) -> None:
    """A registered agent is what its registration says: offline or not."""
    if entry is not None and entry.meta.offline != probe.offline:
        _fail(
            where,
            f"registered offline={entry.meta.offline} but the agent's offline is {probe.offline}",
        )


def _step(where: str, session: Session, probe: _Probe, role: str, message: str) -> None:
    try:
        result = run_sync(session.step(message), eager=probe.offline)
    except RuntimeError as exc:
        _fail(where, f"is offline but waited on I/O ({exc})")
    if probe.problem is not None:
        _fail(where, probe.problem)
    if result.info.get("failed"):
        _fail(where, f"the consultation failed: {result.info.get('error')}")
    turn = session.turns()[-1]
    if turn.responder != role:
        return
    if turn.redacted:
        _fail(where, "named the diagnosis: the session's guard had to withhold it")
    truth = session.case.ground_truth
    for name in (truth.diagnosis, *truth.aliases):
        if contains_phrase(result.observation, name):
            _fail(where, f"the doctor was shown the diagnosis ({name!r})")


def _play(
    where: str,
    role: str,
    probe: _Probe,
    entry: Any,
    messages: Sequence[str],
    **session_options: Any,
) -> list[Any]:
    """One consultation of ``messages`` with the agent under check in ``role``: its outputs."""
    session = create_session(
        max_turns=len(messages) + 1,
        evaluators=(),
        agents={role: AgentFactory(where, probe.make)},
        **session_options,
    )
    _claims(where, probe, entry)
    for turn, message in enumerate(messages, start=1):
        _step(f"{where}, turn {turn} ({message!r})", session, probe, role, message)
    return probe.outputs


def _alike(where: str, play: Callable[[_Probe], list[Any]], probe: Callable[[], _Probe]) -> int:
    """Play once, and again for an offline agent: the two must match. Returns the calls."""
    first_probe = probe()
    first = play(first_probe)
    if first_probe.offline:
        again = play(probe())
        for number, (one, other) in enumerate(zip(first, again, strict=False), start=1):
            if one != other:
                problem = f"call {number} differed under the same seed: {one!r}, then {other!r}"
                _fail(where, f"is offline but {problem}")
        if len(first) != len(again):
            _fail(
                where,
                f"is offline but made {len(first)} then {len(again)} calls under the same seed",
            )
    return len(first)


def check_patient(
    patient: RoleSpec | Callable[..., Any],
    *,
    cases: Sequence[Case] | None = None,
    seeds: Sequence[int] = SEEDS,
    personas: Sequence[str] | None = None,
) -> int:
    """Check a patient on every case, persona (all bundled ones by default) and seed with the
    adversarial questions; returns the replies checked."""
    label, factory, entry = _subject(patient, PATIENTS, "reply")
    questions = adversarial_inputs().questions
    checked = 0
    for case in cases or sample_cases():
        for persona in personas or tuple(all_personas()):
            for seed in seeds:
                where = f"{label} on case {case.id} (persona {persona}, seed {seed})"
                play = functools.partial(
                    _play, where, "patient", entry=entry, messages=questions,
                    case=case, seed=seed, persona=persona,
                )  # fmt: skip
                checked += _alike(where, play, lambda: _Probe(factory, _reply_problem))
    return checked


def check_measurement(
    measurement: RoleSpec | Callable[..., Any],
    *,
    cases: Sequence[Case] | None = None,
    seeds: Sequence[int] = SEEDS,
) -> int:
    """Check a measurement agent on every case and seed with the adversarial requests, each
    as an exam and as a test; returns the results checked."""
    label, factory, entry = _subject(measurement, MEASUREMENTS, "measure")
    if entry is not None:  # the session's policy for unrecorded tests, as a run passes it
        factory = functools.partial(factory, unrecorded="unavailable")
    requests = adversarial_inputs().requests
    messages = [f"REQUEST {kind}: {text}" for text in requests for kind in ("EXAM", "TEST")]
    messages.append("REQUEST IMAGES")
    checked = 0
    for case in cases or sample_cases():
        for seed in seeds:
            where = f"{label} on case {case.id} (seed {seed})"
            play = functools.partial(
                _play, where, "measurement", entry=entry, messages=messages, case=case, seed=seed
            )
            checked += _alike(where, play, lambda: _Probe(factory, _result_problem))
    return checked


def check_doctor(
    doctor: RoleSpec | Callable[..., Any],
    *,
    cases: Sequence[Case] | None = None,
    seeds: Sequence[int] = SEEDS,
    max_turns: int = 12,
) -> int:
    """Check a doctor: whole consultations on every case and seed through
    :func:`~clinic_env.session.run_consultation`, then the adversarial observations one
    after another on a fresh doctor (the last with one turn left); returns the messages
    checked."""
    label, factory, entry = _subject(doctor, DOCTORS, "act")
    inputs = adversarial_inputs()
    observations = (*inputs.observations, " ".join(inputs.questions) * 50)
    checked = 0
    for case in cases or sample_cases():
        for seed in seeds:
            where = f"{label} on case {case.id} (seed {seed})"
            made = functools.partial(_doctor_probe, where, factory, entry, case, seed)
            consult = functools.partial(_consult, where, case, seed, max_turns)
            checked += _alike(where, consult, made)
            probe = made()
            view = probe.view
            for turn, text in enumerate(observations, start=1):
                observation = DoctorObservation(text, turn, len(observations) - turn + 1, view)
                try:
                    run_sync(probe.act(observation), eager=probe.offline)
                except Exception:  # noqa: BLE001 - the probe says what went wrong
                    problem = probe.problem or "is offline but waited on I/O"
                    _fail(f"{where}, adversarial observation {text[:60]!r}", problem)
            checked += len(observations)
    return checked


def _doctor_probe(where: str, factory: Any, entry: Any, case: Case, seed: int) -> _Probe:
    """The doctor under check, made as a session's doctor is made (see RoleContext.doctor)."""
    probe = _Probe(factory, _message_problem)
    view = RoleContext(case, seed).views.doctor_view(False)
    privileged = entry is not None and entry.meta.privileged
    probe.make(view, agent_rng(seed, case.id, "doctor"), case if privileged else None)
    _claims(where, probe, entry)
    return probe


def _consult(where: str, case: Case, seed: int, max_turns: int, probe: _Probe) -> list[Any]:
    session = create_session(case, seed=seed, max_turns=max_turns, evaluators=())
    try:
        run_sync(run_consultation(session, probe), eager=probe.offline)
    except RuntimeError as exc:
        _fail(where, f"is offline but waited on I/O ({exc})")
    if probe.problem is not None:
        _fail(f"{where}, turn {len(probe.outputs) + 1}", probe.problem)
    if session.transcript().outcome == "error":
        _fail(where, f"the consultation failed: {session.error}")
    return probe.outputs


def sample_consultations(
    cases: Sequence[Case] | None = None, seeds: Sequence[int] = SEEDS
) -> list[Session]:
    """Finished consultations to score, unscored: per case and seed, the systematic, random
    and oracle doctors, one that ends at once without a diagnosis, one that runs out of turns
    asking, and the systematic doctor shown options (of the case, or made from its answer and
    differentials)."""
    finished = []
    for case in cases or sample_cases():
        for seed in seeds:
            plays: list[tuple[str, Case, Any, int]] = [
                ("systematic", case, "systematic", 12),
                ("random", case, "random", 12),
                ("oracle", case, "oracle", 12),
                ("ends-at-once", case, FixedDiagnosisDoctor("END"), 3),
                ("asks-only", case, FixedDiagnosisDoctor(adversarial_inputs().questions[0]), 3),
                ("systematic-shown-options", _with_options(case), "systematic", 12),
            ]
            for label, played, doctor, max_turns in plays:
                session = create_session(
                    played,
                    seed=seed,
                    max_turns=max_turns,
                    show_options=played.options is not None,
                    evaluators=(),
                    consultation_id=f"{case.id}/{label}/seed {seed}",
                )
                agent = create_doctor(doctor, session) if isinstance(doctor, str) else doctor
                run_sync(run_consultation(session, agent), eager=True)
                finished.append(session)
    return finished


def _with_options(case: Case) -> Case:
    """The case as a multiple-choice question: its own options, or its answer (option A) and
    its differentials."""
    if case.options is not None:
        return case
    truth = case.ground_truth
    names = [truth.diagnosis, *(item.diagnosis for item in truth.differentials)][:5]
    options = dict(zip("ABCDE", names, strict=False))
    answer = truth.model_copy(update={"answer_option": "A"})
    return case.model_copy(update={"options": options, "ground_truth": answer})


def check_evaluator(
    evaluator: str | Callable[..., Any] | Evaluator,
    *,
    judge: ModelRole | None = None,
    consultations: Sequence[Session] | None = None,
) -> int:
    """Check an evaluator on finished consultations (:func:`sample_consultations` by
    default); ``judge`` is the judge model role for one that needs it. Returns the
    components checked.

    Raises:
        ConfigError: a registered evaluator that needs a judge was given none.
    """
    offline = False
    if isinstance(evaluator, str):
        offline = EVALUATORS.entry(evaluator).meta.offline
        subject: Any = create_evaluators([evaluator], judge)[0]
    elif hasattr(evaluator, "evaluate") and not inspect.isclass(evaluator):
        subject = evaluator
    else:
        subject = cast(Callable[..., Any], evaluator)(judge)
    label = f"evaluator {getattr(subject, 'name', evaluator)!r}"
    if not isinstance(getattr(subject, "name", None), str):
        _fail(label, "has no name (a str)")
    produces = getattr(subject, "produces", None)
    if not isinstance(produces, tuple) or not all(isinstance(n, str) for n in produces):
        _fail(label, f"produces must be a tuple of score names, not {produces!r}")
    checked = 0
    for session in consultations if consultations is not None else sample_consultations():
        where = f"{label} on {session.id} ({session.transcript().outcome})"
        context = EvaluationContext(
            session.case, session.transcript(), session.persona, session.matcher, session.patient
        )
        components = _score(where, subject, context, offline)
        if offline and _score(where, subject, context, offline) != components:
            _fail(where, "is offline but scored the same consultation differently twice")
        checked += len(components)
    return checked


def _score(where: str, evaluator: Any, context: EvaluationContext, offline: bool) -> list[Any]:
    async def evaluate() -> Any:
        pending = evaluator.evaluate(context)
        if not inspect.isawaitable(pending):
            _fail(where, f"evaluate() must be async (it returned {type(pending).__name__})")
        return await pending

    try:
        components = run_sync(evaluate(), eager=offline)
    except AssertionError:
        raise
    except Exception as exc:  # noqa: BLE001 - reported as the breach it is
        _fail(where, f"evaluate() raised {type(exc).__name__}: {exc}")
    if not isinstance(components, list | tuple):
        _fail(where, f"evaluate() returned {type(components).__name__}, not a list of components")
    for component in components:
        if not isinstance(component, ScoreComponent):
            _fail(where, f"evaluate() returned a {type(component).__name__}, not a ScoreComponent")
        if component.name not in evaluator.produces:
            _fail(where, f"score {component.name!r} is not in produces {evaluator.produces}")
        if component.value is None or not math.isfinite(component.value):
            _fail(where, f"score {component.name!r} is {component.value!r} ({component.error})")
    return list(components)
