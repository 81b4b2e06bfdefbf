"""Drives one consultation: the protocol, the agents, the leak guard, rewards and scores.

This is the one entry every face calls: the Gym env, the batch runner and the CLI all create
a :class:`Session` and feed it doctor messages. It is async so one process can hold many
consultations while model-backed agents wait on servers; offline agents never wait. At the
end, the fidelity checks label every turn and the episode's validity, and the registered
evaluators score the transcript.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from clinic_env.agents.base import (
    DoctorAgent,
    DoctorObservation,
    MeasurementAgent,
    MeasurementResult,
    PatientAgent,
    PatientQuestion,
    is_offline,
)
from clinic_env.agents.biasing import BIAS_TARGET_STREAM, BiasPlan, plan_biases
from clinic_env.agents.model_role import CallLog
from clinic_env.agents.offline_patient import speaker_label
from clinic_env.agents.personas import load_persona
from clinic_env.errors import ProtocolError
from clinic_env.evaluators.fidelity import (
    DOCTOR_FAILURE_PREFIX,
    FidelityChecker,
    manipulates,
    validity_of,
)
from clinic_env.evaluators.inquiry import INQUIRY_TYPES, InquiryTracker
from clinic_env.evaluators.llm_judge import LLMJudge
from clinic_env.evaluators.registry import EvaluationContext, evaluate
from clinic_env.evaluators.rewards import RewardSpec, load_reward_spec
from clinic_env.evaluators.scoring import diagnosis_rank, must_not_miss_listed
from clinic_env.evaluators.suite import create_evaluators, default_evaluators
from clinic_env.language.leak import case_guard
from clinic_env.language.matcher import DiagnosisMatcher
from clinic_env.language.rules import phrase_set, says_any
from clinic_env.protocol.consultation import Consultation, Limits, Request
from clinic_env.protocol.texts import ProtocolTexts, protocol_texts
from clinic_env.roles import RoleContext, RoleSpec, role_label
from clinic_env.schema.action import Action, ActionKind
from clinic_env.schema.case import Case, CaseImage
from clinic_env.schema.persona import Persona
from clinic_env.schema.transcript import Score, Transcript, Turn, Validity
from clinic_env.seeding import agent_rng


@dataclass(frozen=True, slots=True)
class Answer:
    """What answered one doctor message, before the leak guard and the turn notice."""

    text: str
    facts: tuple[int, ...] = ()
    cost_usd: float = 0.0
    turnaround_hours: float = 0.0
    found: bool = True
    spared: tuple[str, ...] = ()
    """Phrases of ``text`` that are not case data (see MeasurementResult.spared)."""


@dataclass(frozen=True, slots=True)
class StepResult:
    """What one doctor message produced, in the shape Gym's ``step`` returns."""

    observation: str
    reward: float
    terminated: bool
    truncated: bool
    info: dict[str, Any]


@dataclass
class Session:
    """One consultation between a doctor (outside) and the simulated patient and room."""

    case: Case
    patient: PatientAgent
    measurement: MeasurementAgent
    persona: Persona
    dataset: str = "custom"
    seed: int = 0
    reward_spec: RewardSpec = field(default_factory=lambda: load_reward_spec("default"))
    limits: Limits = field(default_factory=Limits)
    agent_names: dict[str, str] = field(default_factory=dict)
    biases: tuple[str, ...] = ()
    bias_plan: BiasPlan = field(default_factory=BiasPlan)
    show_options: bool = False
    images_at_start: bool = False
    judge: LLMJudge | None = None
    evaluators: Sequence[str] | None = None
    """Evaluator names to score with; None means the defaults (see evaluators.suite)."""
    log: CallLog = field(default_factory=CallLog)
    matcher: DiagnosisMatcher = field(default_factory=DiagnosisMatcher.from_content)

    def __post_init__(self) -> None:
        self.texts: ProtocolTexts = protocol_texts()
        self.consultation = Consultation(self.limits)
        self.guard = case_guard(self.case, self.texts.redacted)
        self._named_by_doctor: frozenset[str] = frozenset()
        """Names of the answer the doctor used itself: heard back, never withheld."""
        self.speaker = speaker_label(self.case.patient_view())
        self.offline = is_offline(self.patient) and is_offline(self.measurement)
        self.doctor_view = self.case.doctor_view(self.show_options)
        self.revealed: set[int] = set()
        self.test_costs: list[float] = []
        self._turn_fields: list[dict[str, Any]] = []
        self._turns_built: list[Turn] = []
        self.total_cost = 0.0
        self.score = Score()
        self.error: str | None = None
        self.validity: Validity | None = None
        self._episode_parts = 0.0
        names = self.evaluators
        if names is None:
            names = default_evaluators(self.judge is not None)
        self._evaluators = create_evaluators(names, self.judge.model if self.judge else None)
        self.opening = self._opening()
        self.inquiry = InquiryTracker(self.opening)
        self._images_to_show: tuple[CaseImage, ...] = (
            self.case.images if self.images_at_start else ()
        )

    @property
    def _options_shown(self) -> bool:
        return self.doctor_view.options is not None

    @property
    def done(self) -> bool:
        return self.consultation.finished

    @property
    def id(self) -> str:
        """Unique within a run: the same fields as a grid cell's id."""
        biases = "+".join(self.biases) or "none"
        doctor = self.agent_names.get("doctor", "doctor")
        return f"{self.dataset}/{self.case.id}/{self.persona.id}/{biases}/{doctor}/{self.seed}"

    def observation_for_doctor(self, text: str) -> DoctorObservation:
        """What a doctor agent gets: the text, the turn budget, and images just shown."""
        c = self.consultation
        images, self._images_to_show = self._images_to_show, ()
        return DoctorObservation(text, c.turn_count + 1, c.turns_left, self.doctor_view, images)

    def _opening(self) -> str:
        case = self.case
        notes = self.bias_plan.texts("doctor", placement="case")
        brief, _ = self.guard.scrub(" ".join((case.doctor_brief, *notes)))
        statement, _ = self.guard.scrub(case.opening_statement)
        text = self.texts.opening.format(
            doctor_brief=brief,
            speaker=self.speaker,
            opening_statement=statement,
            max_turns=self.limits.max_turns,
        )
        if self.doctor_view.options:
            listing = "\n".join(f"{k}. {v}" for k, v in sorted(self.doctor_view.options.items()))
            text += "\n\n" + self.texts.options.format(options=listing)
        return text

    async def step(self, message: str | Action) -> StepResult:
        """Play one doctor message through the protocol and whoever must answer it.

        An agent that fails (a model server down after its retries) is not an outcome of the
        consultation: the step comes back ``truncated`` with ``info["failed"]`` and the
        error, reward 0, and the transcript records outcome "error"; the Gym face raises it.
        """
        if self.done:
            raise ProtocolError("the consultation is over; reset before stepping again")
        request = self.consultation.submit(message)
        self.log.turn = request.turn
        kind = request.action.kind if request.action is not None else None
        inquiry = None
        if request.responder == "patient" and kind is ActionKind.ASK and request.action:
            inquiry = self.inquiry.classify(request.action.text)
        self._named_by_doctor |= self.guard.names_in(request.message)
        try:
            answer = await self._answer(request)
        except Exception as exc:  # noqa: BLE001 - an agent's failure is recorded, not lost
            return self._fail(request, exc)
        observation, redacted = self._guarded(request, answer)
        if inquiry is not None:
            self.inquiry.heard(observation)
        facts, cost = answer.facts, answer.cost_usd
        new_facts = tuple(i for i in facts if i not in self.revealed)
        self.revealed.update(new_facts)
        self.total_cost += cost
        if kind is ActionKind.ORDER_TEST:
            self.test_costs.append(cost)
        elif kind is ActionKind.REQUEST_IMAGES:
            self._images_to_show = self.case.images
        asked = request.responder == "patient"
        signals = {
            "new_facts": float(len(new_facts)),
            "answered": float(asked and bool(facts)),
            "unanswered": float(asked and not facts),
            "invalid": float(request.error is not None),
            "repeated": float(request.repeated),
            "test_cost_usd": cost if kind is ActionKind.ORDER_TEST else 0.0,
            "exam": float(kind is ActionKind.EXAMINE),
            "test": float(kind is ActionKind.ORDER_TEST),
            "turn": 1.0,
            "question": float(asked),
            "inquiry": float(inquiry in INQUIRY_TYPES),
            "empathy": float(says_any(request.message, phrase_set("empathy"))),
            "manipulation": float(manipulates(request.message)),
        }
        breakdown = self.reward_spec.turn_breakdown(signals)
        outcome = self.consultation.outcome_of(request)
        differential = request.action.differential if request.action else ()
        rank: int | Exception | None = None
        if outcome is not None:
            rank = self._rank(differential)
            breakdown.update(
                self.reward_spec.end_breakdown(self._end_signals(differential, outcome, rank))
            )
            observation = self._closing_text(observation, outcome)
        else:
            observation = self._with_turn_notice(observation)
        reward = self.reward_spec.reduce(
            breakdown, final=outcome is not None, earlier=self._episode_parts
        )
        self._episode_parts += sum(breakdown.values())
        self._record(
            index=request.turn,
            doctor_message=request.message,
            action=request.action,
            responder=request.responder,
            observation=observation,
            error=request.error,
            facts_revealed=new_facts,
            cost_usd=cost,
            turnaround_hours=answer.turnaround_hours,
            redacted=redacted,
            reward=reward,
            reward_breakdown=breakdown,
            inquiry=inquiry,
        )
        self.consultation.close(request)
        if outcome is not None:
            context = EvaluationContext(
                self.case, self.transcript(), self.persona, self.matcher, self.patient
            )
            self.score = await evaluate(context, self._evaluators)
        info: dict[str, Any] = {
            "turn": request.turn,
            "turns_left": self.consultation.turns_left,
            "action": kind.value if kind is not None else None,
            "responder": request.responder,
            "error": request.error,
            "found": answer.found,
            "new_facts": len(new_facts),
            "cost_usd": cost,
            "total_cost_usd": self.total_cost,
            "reward_breakdown": dict(breakdown),
        }
        if self.done:
            info["outcome"] = self.consultation.outcome
            info["score"] = self.score.as_dict()
            info["validity"] = self.validity
        return StepResult(
            observation,
            reward,
            self.done and not self.consultation.truncated,
            self.consultation.truncated,
            info,
        )

    async def _answer(self, request: Request) -> Answer:
        action = request.action
        if request.responder == "patient" and action is not None:
            reply = await self.patient.reply(
                PatientQuestion(action.text, request.turn, self.consultation.turns_left)
            )
            text = self.texts.patient_reply.format(speaker=self.speaker, reply=reply.text)
            return Answer(text, reply.facts, found=bool(reply.facts))
        if request.responder == "measurement" and action is not None:
            result: MeasurementResult = await self.measurement.measure(action)
            return Answer(
                result.text,
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
            text, scrubbed = self.guard.scrub(answer.text, spare=answer.spared)
        else:
            text, scrubbed = self.guard.scrub(answer.text, spare_names=self._named_by_doctor)
        return text, scrubbed or self.texts.redacted in text

    def _rank(self, differential: Sequence[str]) -> int | Exception | None:
        """The diagnosis rank, or the matcher's exception (recorded on the score)."""
        try:
            return diagnosis_rank(
                self.case, differential, self.matcher, options_shown=self._options_shown
            )
        except Exception as exc:  # noqa: BLE001 - recorded on the score, never a silent 0
            return exc

    def _end_signals(
        self, differential: Sequence[str], outcome: str, rank: int | Exception | None
    ) -> dict[str, float]:
        found = rank if isinstance(rank, int) else None
        return {
            "top1": float(found == 1),
            "topk": float(found is not None and found <= self.reward_spec.top_k),
            "diagnosed": float(bool(differential)),
            "no_diagnosis": float(not differential),
            "out_of_turns": float(outcome == "out_of_turns"),
            "ended": float(outcome == "ended"),
            "coverage": len(self.revealed) / len(self.case.facts),
            "total_cost_usd": self.total_cost,
            "must_not_miss": float(
                must_not_miss_listed(
                    self.case, differential, self.matcher, options_shown=self._options_shown
                )
                is not False
            ),
        }

    def _closing_text(self, observation: str, outcome: str) -> str:
        if outcome == "diagnosed":
            closing = self.texts.diagnosis_recorded
        elif outcome == "ended":
            closing = self.texts.ended
        else:
            closing = self.texts.out_of_turns.format(max_turns=self.limits.max_turns)
        return f"{observation}\n{closing}" if observation else closing

    def _with_turn_notice(self, observation: str) -> str:
        left = self.consultation.turns_left - 1
        if left == 1:
            return f"{observation}\n{self.texts.last_turn}"
        return f"{observation}\n{self.texts.turns_left.format(turns_left=left)}"

    def _fail(self, request: Request, exc: BaseException) -> StepResult:
        """Record an agent's failure on the transcript and end the consultation."""
        self.error = f"{type(exc).__name__}: {exc}"
        self._record(
            index=request.turn,
            doctor_message=request.message,
            action=request.action,
            responder=request.responder,
            observation="",
            error=self.error,
        )
        self.consultation.close(request)
        self.consultation.finish("error")
        info = {
            "turn": request.turn,
            "error": self.error,
            "outcome": "error",
            "failed": True,
            "reward_breakdown": {},
        }
        return StepResult("", 0.0, False, True, info)

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

    def _record(self, **turn: Any) -> None:
        """Keep a turn's fields; the pydantic :class:`Turn` is built when someone reads it."""
        self._turn_fields.append(turn)

    def turns(self) -> tuple[Turn, ...]:
        """Every turn so far, validated once each; once the consultation is over, with what
        the fidelity checks found on each."""
        built = self._turns_built
        for fields in self._turn_fields[len(built) :]:
            built.append(Turn(**fields))
        if self.done and self.validity is None:
            checker = FidelityChecker(self.case, self.persona)
            flags = [checker.turn_flags(turn) for turn in built]
            built[:] = [
                t.model_copy(update={"fidelity": f}) if f else t
                for t, f in zip(built, flags, strict=True)
            ]
            self.validity = validity_of(flags, self.error)
        return tuple(built)

    def transcript(self) -> Transcript:
        c = self.consultation
        turns = self.turns()
        return Transcript(
            id=self.id,
            case_id=self.case.id,
            dataset=self.dataset,
            seed=self.seed,
            persona=self.persona.id,
            biases=self.biases,
            agents=dict(self.agent_names),
            max_turns=self.limits.max_turns,
            options_shown=self.doctor_view.options is not None,
            opening_observation=self.opening,
            turns=turns,
            differential=c.differential,
            outcome=c.outcome or "error",
            score=self.score,
            model_calls=tuple(self.log.calls),
            error=self.error,
            bias_targets=self.bias_plan.targets,
            validity=self.validity,
        )


def create_session(
    case: Case,
    *,
    dataset: str = "custom",
    persona: str | None = None,
    biases: Sequence[str] = (),
    patient: RoleSpec = "offline",
    measurement: RoleSpec = "offline",
    judge: RoleSpec | None = None,
    evaluators: Sequence[str] | None = None,
    reward: str = "default",
    max_turns: int = 20,
    show_options: bool = False,
    images_at_start: bool = False,
    synthesise_results: bool = False,
    seed: int = 0,
    doctor: RoleSpec | None = None,
    context: RoleContext | None = None,
) -> Session:
    """A session whose roles are each a registered agent or a model, seeded per role.

    ``biases`` are bias ids, each optionally given to one role (``"doctor:recency"``); a bare
    id goes to every role it applies to. ``evaluators`` names the evaluators to score with
    (None: the offline ones, plus the judge's when there is one). ``doctor`` only names the
    doctor in the transcript; create it with :func:`create_doctor`.
    """
    persona_model = load_persona(persona)
    plan = plan_biases(case, biases, agent_rng(seed, case.id, BIAS_TARGET_STREAM))
    context = context or RoleContext(case, seed)
    names = {"patient": role_label(patient), "measurement": role_label(measurement)}
    if doctor is not None:
        names["doctor"] = role_label(doctor)
    if judge is not None:
        names["judge"] = role_label(judge)
    return Session(
        case=case,
        patient=context.patient(patient, persona_model, plan.for_role("patient")),
        measurement=context.measurement(measurement, synthesise_results),
        persona=persona_model,
        dataset=dataset,
        seed=seed,
        reward_spec=load_reward_spec(reward),
        limits=Limits(max_turns=max_turns),
        agent_names=names,
        biases=tuple(biases),
        bias_plan=plan,
        show_options=show_options,
        images_at_start=images_at_start,
        judge=context.judge(judge),
        evaluators=evaluators,
        log=context.log,
    )


def create_doctor(
    spec: RoleSpec, session: Session, context: RoleContext | None = None
) -> DoctorAgent:
    """A doctor for ``session``: a registered one (only privileged ones, the oracle, see the
    whole case) or a model, which gets the session's doctor biases in its instructions."""
    context = context or RoleContext(session.case, session.seed, log=session.log)
    instructions = session.bias_plan.texts("doctor")
    return context.doctor(spec, session.limits.max_turns, session.show_options, instructions)


async def run_consultation(session: Session, doctor: DoctorAgent) -> Transcript:
    """Let ``doctor`` hold the whole consultation; a doctor's failure is recorded, not raised."""
    observation = session.opening
    while not session.done:
        try:
            message = await doctor.act(session.observation_for_doctor(observation))
        except Exception as exc:  # noqa: BLE001 - recorded on the transcript
            session.error = f"{DOCTOR_FAILURE_PREFIX}: {type(exc).__name__}: {exc}"
            session.consultation.finish("error")
            break
        observation = (await session.step(message)).observation
    return session.transcript()
