"""Drives one consultation: the protocol, the agents, the leak guard, rewards and scores.

This is the one entry every face calls: the Gym env, the batch runner, the trainer adapters,
the CLI and the web page all create a :class:`Session` with :func:`create_session` and feed it
doctor messages. It is async so one process can hold many consultations while model-backed
agents wait on servers; offline agents never wait. The session orchestrates; the protocol
(:mod:`clinic_env.protocol`) decides turns and endings, the reward ledger
(:mod:`clinic_env.ledger`) what each turn pays, the turn log (:mod:`clinic_env.turn_log`) what
was said and what the fidelity checks found, and the evaluators score the finished record.
No face sets a session's fields: agents are given at creation, and :meth:`Session.abort`
stops a consultation.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple, TypedDict

from clinic_env.agents.base import (
    MEASUREMENTS,
    PATIENTS,
    DoctorAgent,
    DoctorObservation,
    MeasurementAgent,
    PatientAgent,
    PatientQuestion,
    is_offline,
)
from clinic_env.agents.biasing import (
    BIAS_TARGET_STREAM,
    BiasPlan,
    check_outside_doctor,
    plan_biases,
)
from clinic_env.agents.model_role import CallLog
from clinic_env.agents.offline_patient import speaker_label
from clinic_env.agents.personas import load_bias, load_persona
from clinic_env.errors import EpisodeStateError
from clinic_env.evaluators.fidelity import DOCTOR_FAILURE_PREFIX
from clinic_env.evaluators.inquiry import InquiryTracker
from clinic_env.evaluators.llm_judge import LLMJudge
from clinic_env.evaluators.registry import EVALUATORS, EvaluationContext, Evaluator, evaluate
from clinic_env.evaluators.rewards import load_reward_spec
from clinic_env.evaluators.scoring import diagnosis_rank, must_not_miss_listed
from clinic_env.evaluators.suite import create_evaluators, default_evaluators
from clinic_env.language.leak import case_guard, withheld_case
from clinic_env.language.matcher import DiagnosisMatcher
from clinic_env.ledger import RewardLedger, TurnFacts
from clinic_env.llm.client import ModelClient, default_client
from clinic_env.llm.config import as_model_config
from clinic_env.llm.preflight import check_model, needs_servers
from clinic_env.options import RoleSpec, SessionOptions
from clinic_env.protocol.consultation import Consultation, Limits, Request
from clinic_env.protocol.observations import opening_text, with_closing, with_turn_notice
from clinic_env.protocol.texts import protocol_texts
from clinic_env.roles import AgentFactory, RoleContext, model_config_of, role_label
from clinic_env.schema.action import Action, ActionKind
from clinic_env.schema.base import trusted, valid_text
from clinic_env.schema.case import Case, CaseImage, PatientView
from clinic_env.schema.persona import Persona
from clinic_env.schema.transcript import (
    TRANSCRIPT_SCHEMA_VERSION,
    Outcome,
    Score,
    Transcript,
    Turn,
    Validity,
)
from clinic_env.seeding import agent_rng
from clinic_env.turn_log import TurnLog


class Answer(NamedTuple):
    """What answered one doctor message, before the leak guard and the turn notice."""

    text: str
    facts: tuple[int, ...] = ()
    cost_usd: float = 0.0
    turnaround_hours: float = 0.0
    found: bool = True
    spared: tuple[str, ...] = ()
    """Phrases of ``text`` that are not case data (see MeasurementResult.spared)."""


class StepInfo(TypedDict, total=False):
    """The ``info`` of every step, on every path.

    Always: ``turn``, ``turns_left``, ``action`` (the action kind, None for a message that
    was not understood), ``responder``, ``error`` (why the message was rejected, or why the
    consultation failed), ``found`` (the patient or room had something for it), ``new_facts``
    (case facts told for the first time), ``cost_usd`` and ``total_cost_usd`` (test prices),
    ``reward_breakdown`` (weight x signal per reward part). Once the consultation is over:
    ``outcome``, ``score`` (name -> value) and ``validity``. When an agent failed (a model
    server down after its retries): ``failed`` True, with the error in ``error``.
    """

    turn: int
    turns_left: int
    action: str | None
    responder: str
    error: str | None
    found: bool
    new_facts: int
    cost_usd: float
    total_cost_usd: float
    reward_breakdown: dict[str, float]
    outcome: Outcome
    score: dict[str, float | None]
    validity: Validity | None
    failed: bool


class StepResult(NamedTuple):
    """What one doctor message produced, in the shape Gym's ``step`` returns: a named tuple,
    so ``observation, reward, terminated, truncated, info = await session.step(...)`` works."""

    observation: str
    reward: float
    terminated: bool
    truncated: bool
    info: StepInfo


_ACTION_NAMES: dict[ActionKind | None, str | None] = {
    None: None,
    **{kind: kind.value for kind in ActionKind},
}
"""info["action"] for each action kind, looked up (an enum's value is a property call)."""


@functools.lru_cache(maxsize=256)
def _offline_evaluators(names: tuple[str, ...]) -> tuple[Evaluator, ...]:
    """Evaluators without a judge hold no state: built once per name set."""
    return tuple(create_evaluators(names, None))


@dataclass
class Session:
    """One consultation between a doctor (outside) and the simulated patient and room.

    Made by :func:`create_session`; faces read it and call :meth:`step`, :meth:`conclude`
    and :meth:`abort`, never set its fields.
    """

    case: Case
    options: SessionOptions
    persona: Persona
    patient: PatientAgent
    measurement: MeasurementAgent
    dataset: str = "custom"
    seed: int = 0
    agent_names: Mapping[str, str] = field(default_factory=dict)
    bias_plan: BiasPlan = field(default_factory=BiasPlan)
    judge: LLMJudge | None = None
    log: CallLog = field(default_factory=CallLog)
    matcher: DiagnosisMatcher = field(default_factory=DiagnosisMatcher.from_content)
    consultation_id: str | None = None
    outside_doctor: bool = True
    """The doctor is a policy or a person (no instructions of ours): doctor biases must be
    shown in its brief, or refused."""

    def __post_init__(self) -> None:
        options = self.options
        self.texts = protocol_texts()
        self.limits = Limits(max_turns=options.max_turns)
        self.consultation = Consultation(self.limits)
        self.guard = case_guard(self.case, self.texts.redacted)
        self.ledger = RewardLedger(load_reward_spec(options.reward))
        self.turn_log = TurnLog(self.case, self.persona)
        self.speaker = speaker_label(self.case.patient_view())
        self.doctor_view = self.case.doctor_view(options.show_options)
        self.score = Score()
        self.error: str | None = None
        self.validity: Validity | None = None
        self._named_by_doctor: frozenset[str] = frozenset()
        """Names of the answer the doctor used itself: heard back, never withheld."""
        self._transcript: Transcript | None = None
        names = options.evaluators
        if names is None:
            names = default_evaluators(self.judge is not None)
        self._evaluators = (
            _offline_evaluators(tuple(names))
            if self.judge is None
            else create_evaluators(names, self.judge.model)
        )
        self._offline = is_offline(self.patient) and is_offline(self.measurement)
        self._tools = options.interface == "tools"
        self.opening = self._opening()
        self.inquiry = InquiryTracker(self.opening)
        self._images_to_show: tuple[CaseImage, ...] = (
            self.case.images if options.images_at_start else ()
        )

    @property
    def offline(self) -> bool:
        """Whether every agent answers without I/O, so sync faces need no event loop."""
        return self._offline

    @property
    def done(self) -> bool:
        return self.consultation.finished

    @property
    def biases(self) -> tuple[str, ...]:
        return self.options.biases

    @property
    def id(self) -> str:
        """Unique within a run: the same fields as a grid cell's id, unless given."""
        if self.consultation_id is not None:
            return self.consultation_id
        biases = "+".join(self.biases) or "none"
        doctor = self.agent_names.get("doctor", "doctor")
        return f"{self.dataset}/{self.case.id}/{self.persona.id}/{biases}/{doctor}/{self.seed}"

    @property
    def patient_view(self) -> PatientView:
        """What the patient knows, the answer withheld: the notes for a person or a policy
        playing the patient."""
        return withheld_case(self.case, self.guard).patient_view()

    @property
    def _options_shown(self) -> bool:
        return self.doctor_view.options is not None

    def observation_for_doctor(self, text: str) -> DoctorObservation:
        """What a doctor agent gets: the text, the turn budget, and images just shown."""
        c = self.consultation
        images, self._images_to_show = self._images_to_show, ()
        return DoctorObservation(text, c.turn_count + 1, c.turns_left, self.doctor_view, images)

    def _opening(self) -> str:
        notes = self.bias_plan.brief_texts(outside_doctor=self.outside_doctor)
        brief, _ = self.guard.scrub(" ".join((self.case.doctor_brief, *notes)))
        statement, _ = self.guard.scrub(self.case.opening_statement)
        return opening_text(
            self.texts,
            brief=brief,
            speaker=self.speaker,
            statement=statement,
            max_turns=self.limits.max_turns,
            options=self.doctor_view.options,
            tools=self._tools,
        )

    async def step(self, message: str | Action) -> StepResult:
        """Play one doctor message through the protocol and whoever must answer it.

        An agent that fails (a model server down after its retries) is not an outcome of the
        consultation: the step comes back ``truncated`` with ``info["failed"]`` and the
        error, paying what ``END`` would have (see :meth:`_fail`), and the transcript records
        outcome "error"; the Gym face raises it.
        """
        if self.consultation.finished:
            raise EpisodeStateError("the consultation is over; reset before stepping again")
        request = self.consultation.submit(message)
        self.log.turn = request.turn
        named = self.guard.names_in(request.message)
        if named:
            self._named_by_doctor |= named
        kind = request.action.kind if request.action is not None else None
        asked = request.responder == "patient" and request.action is not None
        inquiry = self.inquiry.classify(request.action.text) if asked and request.action else None
        try:
            answer = await self._answer(request)
        except Exception as exc:  # noqa: BLE001 - an agent's failure is recorded, not lost
            return self._fail(request, exc)
        observation, redacted = self._guarded(request, answer)
        if inquiry is not None:
            self.inquiry.heard(observation)
        new_facts = self.ledger.new_facts(answer.facts)
        if request.responder == "measurement" and kind is ActionKind.REQUEST_IMAGES:
            self._images_to_show = self.case.images
        turn = TurnFacts(
            request.message,
            kind,
            asked,
            len(answer.facts),
            len(new_facts),
            request.error is not None,
            request.repeated,
            answer.cost_usd,
            inquiry,
        )
        breakdown = self.ledger.turn_parts(turn)
        outcome = self.consultation.outcome_of(request)
        if outcome is not None:
            breakdown.update(self._end_parts(request, outcome))
            observation = with_closing(self.texts, observation, outcome, self.limits.max_turns)
        else:
            left = self.consultation.turns_left - 1
            observation = with_turn_notice(self.texts, observation, left, self._tools)
        reward = self.ledger.pay(breakdown, final=outcome is not None)
        self.turn_log.record(
            valid_text(request.message),
            request.responder,
            request.action,
            observation,
            redacted=redacted,
            facts_revealed=new_facts,
            index=request.turn,
            error=request.error,
            cost_usd=answer.cost_usd,
            turnaround_hours=answer.turnaround_hours,
            reward=reward,
            reward_breakdown=breakdown,
            inquiry=inquiry,
        )
        self.consultation.close(request)
        if outcome is not None:
            await self._score()
        info = self._info(
            request,
            found=answer.found,
            new_facts=len(new_facts),
            cost_usd=answer.cost_usd,
            breakdown=dict(breakdown),
        )
        truncated = outcome == "out_of_turns"
        terminated = outcome is not None and not truncated
        return StepResult(observation, reward, terminated, truncated, info)

    async def _answer(self, request: Request) -> Answer:
        action = request.action
        if request.responder == "patient" and action is not None:
            reply = await self.patient.reply(
                PatientQuestion(action.text, request.turn, self.consultation.turns_left)
            )
            text = self.texts.patient_reply.format(speaker=self.speaker, reply=reply.text)
            return Answer(valid_text(text), reply.facts, found=bool(reply.facts))
        if request.responder == "measurement" and action is not None:
            result = await self.measurement.measure(action)
            return Answer(
                valid_text(result.text),
                (),
                result.cost_usd,
                result.turnaround_hours,
                result.found,
                result.spared,
            )
        if request.error is not None:
            return Answer(self.texts.invalid.format(error=request.error), found=False)
        return Answer("")

    def _guarded(self, request: Request, answer: Answer) -> tuple[str, bool]:
        """The answer with mentions of the diagnosis withheld from case data only.

        A measurement result says which of its phrases are not case data (the request, a
        catalogue name). The patient works from case data already withheld and the protocol's
        own texts hold none, so in their replies only what the doctor never said is withheld:
        a model patient repeating the doctor's "is it X?" repeats it for every X alike. The
        flag also counts case data withheld before the agent saw it.
        """
        if request.responder == "measurement":
            text, scrubbed = self.guard.scrub_result(answer.text, answer.spared)
        else:
            text, scrubbed = self.guard.scrub(answer.text, spare_names=self._named_by_doctor)
        return text, scrubbed or self.texts.redacted in text

    def _end_parts(self, request: Request, outcome: Outcome) -> dict[str, float]:
        """The end signals, weighted: the diagnosis's rank, coverage, cost, must-not-miss.

        Must-not-miss pays only for a diagnosis whose leading ``top_k`` entries name every
        must-not-miss diagnosis of the case: counted anywhere in the list, a blind policy
        earned it by padding its differential with the dataset's most often flagged names
        (more often than the systematic doctor did), at no cost to its top-k. A doctor who
        gave no diagnosis listed nothing. Signals no weight reads are not worked out.
        """
        differential = request.action.differential if request.action else ()
        shown = self._options_shown
        spec = self.ledger.spec
        try:
            rank = diagnosis_rank(self.case, differential, self.matcher, options_shown=shown)
            listed = "must_not_miss" in spec.end and must_not_miss_listed(
                self.case, differential[: spec.top_k], self.matcher, options_shown=shown
            )
        except Exception:  # noqa: BLE001 - the scores record the matcher's failure
            rank, listed = None, False
        return self.ledger.end_parts(
            {
                "top1": float(rank == 1),
                "topk": float(rank is not None and rank <= spec.top_k),
                "diagnosed": float(bool(differential)),
                "no_diagnosis": float(not differential),
                "out_of_turns": float(outcome == "out_of_turns"),
                "ended": float(outcome == "ended"),
                "coverage": len(self.ledger.revealed) / len(self.case.facts),
                "total_cost_usd": self.ledger.total_cost_usd,
                "must_not_miss": float(bool(differential) and listed is not False),
            }
        )

    def _info(
        self,
        request: Request,
        *,
        found: bool,
        new_facts: int,
        cost_usd: float = 0.0,
        breakdown: dict[str, float] | None = None,
    ) -> StepInfo:
        kind = request.action.kind if request.action is not None else None
        info: StepInfo = {
            "turn": request.turn,
            "turns_left": self.consultation.turns_left,
            "action": _ACTION_NAMES[kind],
            "responder": request.responder,
            "error": request.error,
            "found": found,
            "new_facts": new_facts,
            "cost_usd": cost_usd,
            "total_cost_usd": self.ledger.total_cost_usd,
            "reward_breakdown": {} if breakdown is None else breakdown,
        }
        if self.done:
            info["outcome"] = self.consultation.outcome or "error"
            info["score"] = self.score.as_dict()
            info["validity"] = self.validity
        return info

    async def _score(self) -> None:
        """Label the episode's validity and run the evaluators on the finished record."""
        self.validity = self.turn_log.validity(self.error)
        context = EvaluationContext(
            self.case, self.transcript(), self.persona, self.matcher, self.patient
        )
        self.score = await evaluate(context, self._evaluators)
        self._transcript = None

    def _fail(self, request: Request, exc: BaseException) -> StepResult:
        """Record an agent's failure on the transcript and end the consultation.

        The step pays what ``END`` would have paid here (the no-diagnosis penalty): a doctor
        whose message makes a model role fail (a prompt past its context, a provider's content
        filter) must not escape that penalty by it. Trainers that can drop a rollout should
        drop those with ``info["failed"]``; reports never score them.
        """
        error = f"{type(exc).__name__}: {exc}"
        breakdown = self._end_parts(request, "ended")
        reward = self.ledger.pay(breakdown, final=True)
        self.turn_log.record(
            valid_text(request.message),
            request.responder,
            request.action,
            "",
            index=request.turn,
            error=error,
            reward=reward,
            reward_breakdown=breakdown,
        )
        self.consultation.close(request)
        self.abort(error)
        info = self._info(request, found=False, new_facts=0, breakdown=dict(breakdown))
        info["error"] = error
        info["failed"] = True
        return StepResult("", reward, False, True, info)

    async def conclude(self) -> StepResult | None:
        """End a consultation its doctor left without a diagnosis (a trainer stopped the
        rollout, a token budget ran out) exactly as ``END`` would: same outcome, same
        no-diagnosis penalty. None when the consultation is already over.

        Every face calls this where a rollout can stop before the session does, so leaving
        without a diagnosis never pays better than saying ``END``.
        """
        if self.done:
            return None
        return await self.step(Action(kind=ActionKind.END))

    def abort(self, reason: str) -> None:
        """Stop the consultation where it is (an agent or the doctor failed, a person left):
        recorded with outcome "error" and ``reason``, never scored. Does nothing once over."""
        if self.done:
            return
        self.error = valid_text(reason)
        self.consultation.finish("error")
        self.validity = self.turn_log.validity(self.error)
        self._transcript = None

    def turns(self) -> tuple[Turn, ...]:
        """Every turn so far, with what the fidelity checks found on each."""
        return tuple(self.turn_log.turns)

    def transcript(self) -> Transcript:
        """The record so far; once the consultation is over, built once and kept."""
        if self._transcript is not None:
            return self._transcript
        c = self.consultation
        transcript = trusted(
            Transcript,
            schema_version=TRANSCRIPT_SCHEMA_VERSION,  # every field given: nothing merged
            id=self.id,
            case_id=self.case.id,
            dataset=self.dataset,
            seed=self.seed,
            persona=self.persona.id,
            biases=self.biases,
            agents=dict(self.agent_names),
            max_turns=self.limits.max_turns,
            options_shown=self._options_shown,
            opening_observation=self.opening,
            turns=tuple(self.turn_log.turns),
            differential=c.differential,
            outcome=c.outcome or "ongoing",
            score=self.score,
            model_calls=tuple(self.log.calls),
            error=self.error,
            bias_targets=self.bias_plan.targets,
            validity=self.validity,
        )
        if self.done:
            self._transcript = transcript
        return transcript


OUTSIDE_DOCTORS = frozenset({"human"})
"""Doctor labels that stand for a person: like a policy, they get no instructions of ours."""


def create_session(
    case: Case,
    options: SessionOptions | None = None,
    *,
    seed: int = 0,
    dataset: str = "custom",
    agents: Mapping[str, AgentFactory] | None = None,
    doctor: RoleSpec | None = None,
    context: RoleContext | None = None,
    consultation_id: str | None = None,
    **option_fields: Any,
) -> Session:
    """A session whose roles are each a registered agent, a model, or an agent you give.

    Args:
        case: the case to simulate.
        options: the consultation's :class:`~clinic_env.options.SessionOptions`; any of its
            fields may also be given by keyword (``persona="anxious"``), replacing them.
        seed: fixes the bias target, the offline agents' choices and model sampling seeds.
        dataset: the dataset's name, for the record.
        agents: ``{"patient": AgentFactory(...)}`` or ``"measurement"``: an agent made from
            the role's view (the answer already withheld), such as a person at a keyboard or
            a policy under training, in place of the option's registered agent or model.
        doctor: names the doctor in the transcript (create it with :func:`create_doctor`);
            without one (or "human"), the doctor is outside the simulator, a policy or a
            person, and its doctor biases are shown in its brief or refused.
        context: the roles' shared client and call log (a fresh one by default).
        consultation_id: the record's id (by default made from dataset, case, persona,
            biases, doctor and seed).

    Example:
        >>> session = create_session(case, persona="anxious", max_turns=10, seed=3)
        >>> result = await session.step("When did the pain start?")
    """
    options = SessionOptions.of(options, **option_fields)
    agents = dict(agents or {})
    unknown = set(agents) - {"patient", "measurement"}
    if unknown:
        raise ValueError(f"agents may replace the patient or measurement, not {sorted(unknown)}")
    persona = load_persona(options.persona)
    plan = BiasPlan()  # an unbiased session draws nothing: its stream is not even seeded
    if options.biases:
        plan = plan_biases(case, options.biases, agent_rng(seed, case.id, BIAS_TARGET_STREAM))
    context = context or RoleContext(case, seed)
    patient_spec = agents.get("patient", options.patient)
    measurement_spec = agents.get("measurement", options.measurement)
    names = {"patient": role_label(patient_spec), "measurement": role_label(measurement_spec)}
    if doctor is not None:
        names["doctor"] = role_label(doctor)
    if options.judge is not None:
        names["judge"] = role_label(options.judge)
    return Session(
        case=case,
        options=options,
        persona=persona,
        patient=context.patient(patient_spec, persona, plan.for_role("patient")),
        measurement=context.measurement(measurement_spec, options),
        dataset=dataset,
        seed=seed,
        agent_names=names,
        bias_plan=plan,
        judge=context.judge(options.judge),
        log=context.log,
        consultation_id=consultation_id,
        outside_doctor=doctor is None or role_label(doctor) in OUTSIDE_DOCTORS,
    )


def create_doctor(
    spec: RoleSpec, session: Session, context: RoleContext | None = None
) -> DoctorAgent:
    """A doctor for ``session``: a registered one (only privileged ones, the oracle, see the
    whole case) or a model, which gets the session's doctor biases in its instructions."""
    context = context or RoleContext(session.case, session.seed, log=session.log)
    uses = tuple(use for use in session.bias_plan.uses if use.role == "doctor")
    return context.doctor(spec, session.limits.max_turns, session.options.show_options, uses)


async def run_consultation(session: Session, doctor: DoctorAgent) -> Transcript:
    """Let ``doctor`` hold the whole consultation; a doctor's failure is recorded, not raised."""
    observation = session.opening
    while not session.done:
        try:
            message = await doctor.act(session.observation_for_doctor(observation))
        except Exception as exc:  # noqa: BLE001 - recorded on the transcript
            session.abort(f"{DOCTOR_FAILURE_PREFIX}: {type(exc).__name__}: {exc}")
            break
        observation = (await session.step(message)).observation
    return session.transcript()


def check_options(
    options: SessionOptions,
    *,
    personas: Sequence[str | None] = (),
    client: ModelClient | None = None,
    outside_doctor: bool = True,
) -> None:
    """Check every name the options give (personas, biases, reward spec, evaluators, agents)
    and every model's key and server, so a mistake is one error when a face is built, not a
    failed consultation later. Servers are not dialled when ``client`` replays a record. For
    an ``outside_doctor`` (a policy, a person), doctor biases it cannot be shown are refused."""
    for name in {*personas, options.persona}:
        load_persona(name)
    for bias in options.biases:
        load_bias(bias)
    if outside_doctor:
        check_outside_doctor(options.biases)
    load_reward_spec(options.reward)
    for name in options.evaluators or ():
        EVALUATORS.get(name)
    reachable = needs_servers(client or default_client())
    roles = (
        ("patient", options.patient, PATIENTS),
        ("measurement", options.measurement, MEASUREMENTS),
        ("judge", options.judge, None),
    )
    for role, spec, registry in roles:
        if spec is None:
            continue
        config = model_config_of(spec, registry) if registry is not None else as_model_config(spec)
        if config is not None:
            check_model(config, role, reachable=reachable)


def started(session: Session | None) -> Session:
    """``session`` if it is running; the one error every face raises before a reset or after
    the end otherwise."""
    if session is None:
        raise EpisodeStateError("the consultation has not started: call reset() first")
    if session.done:
        raise EpisodeStateError("the consultation is over: call reset() before stepping again")
    return session


__all__ = [
    "Session",
    "SessionOptions",
    "StepInfo",
    "StepResult",
    "check_options",
    "create_doctor",
    "create_session",
    "run_consultation",
    "started",
]
