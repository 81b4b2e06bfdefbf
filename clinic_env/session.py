"""Drives one consultation: the protocol, the agents, the leak guard, rewards and scores.

This is the one entry every face calls: the Gym env, the batch runner and the CLI all create
a :class:`Session` and feed it doctor messages. It is async so one process can hold many
consultations while model-backed agents wait on servers; offline agents never wait.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from clinic_env.agents.base import (
    DOCTORS,
    MEASUREMENTS,
    PATIENTS,
    PRIVILEGED_DOCTORS,
    DoctorAgent,
    DoctorObservation,
    MeasurementAgent,
    MeasurementResult,
    PatientAgent,
    PatientQuestion,
    is_offline,
)
from clinic_env.agents.offline_patient import speaker_label
from clinic_env.agents.personas import load_bias, load_persona
from clinic_env.errors import ProtocolError
from clinic_env.evaluators.leak import leak_guard
from clinic_env.evaluators.matcher import DiagnosisMatcher
from clinic_env.evaluators.rewards import RewardSpec, load_reward_spec
from clinic_env.evaluators.scoring import diagnosis_rank, score_consultation
from clinic_env.protocol.consultation import Consultation, Limits, Request
from clinic_env.protocol.texts import ProtocolTexts, protocol_texts
from clinic_env.schema.action import Action, ActionKind
from clinic_env.schema.case import Case
from clinic_env.schema.persona import Persona
from clinic_env.schema.transcript import Score, Transcript, Turn


@dataclass(frozen=True, slots=True)
class StepResult:
    """What one doctor message produced, in the shape Gym's ``step`` returns."""

    observation: str
    reward: float
    terminated: bool
    truncated: bool
    info: dict[str, Any]


def agent_rng(seed: int, case_id: str, role: str) -> random.Random:
    """An independent, reproducible random stream per role of one consultation."""
    return random.Random(f"{seed}:{case_id}:{role}")


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
    show_options: bool = False
    matcher: DiagnosisMatcher = field(default_factory=DiagnosisMatcher.from_content)

    def __post_init__(self) -> None:
        self.texts: ProtocolTexts = protocol_texts()
        self.consultation = Consultation(self.limits)
        truth = self.case.ground_truth
        self.guard = leak_guard((truth.diagnosis, *truth.aliases), self.texts.redacted)
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
        self.opening = self._opening()

    @property
    def done(self) -> bool:
        return self.consultation.finished

    @property
    def id(self) -> str:
        return f"{self.dataset}/{self.case.id}/{self.persona.id}/{self.seed}"

    def observation_for_doctor(self, text: str) -> DoctorObservation:
        c = self.consultation
        return DoctorObservation(text, c.turn_count + 1, c.turns_left, self.doctor_view)

    def _opening(self) -> str:
        case = self.case
        brief, _ = self.guard.scrub(case.doctor_brief)
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
        """Play one doctor message through the protocol and whoever must answer it."""
        if self.done:
            raise ProtocolError("the consultation is over; reset before stepping again")
        request = self.consultation.submit(message)
        try:
            observation, facts, cost, hours, found = await self._answer(request)
        except Exception as exc:  # noqa: BLE001 - an agent's failure is recorded, not lost
            return self._fail(request, exc)
        observation, redacted = self.guard.scrub(observation)
        new_facts = tuple(i for i in facts if i not in self.revealed)
        self.revealed.update(new_facts)
        self.total_cost += cost
        kind = request.action.kind if request.action is not None else None
        if kind is ActionKind.ORDER_TEST:
            self.test_costs.append(cost)
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
        reward = sum(breakdown.values())
        self._record(
            index=request.turn,
            doctor_message=request.message,
            action=request.action,
            responder=request.responder,
            observation=observation,
            error=request.error,
            facts_revealed=new_facts,
            cost_usd=cost,
            turnaround_hours=hours,
            redacted=redacted,
            reward=reward,
            reward_breakdown=breakdown,
        )
        self.consultation.close(request)
        if outcome is not None:
            self.score = score_consultation(
                self.case,
                differential,
                rank,
                turns=request.turn,
                revealed=self.revealed,
                test_costs=self.test_costs,
            )
        info: dict[str, Any] = {
            "turn": request.turn,
            "turns_left": self.consultation.turns_left,
            "action": kind.value if kind is not None else None,
            "responder": request.responder,
            "error": request.error,
            "found": found,
            "new_facts": len(new_facts),
            "cost_usd": cost,
            "total_cost_usd": self.total_cost,
            "reward_breakdown": dict(breakdown),
        }
        if self.done:
            info["outcome"] = self.consultation.outcome
            info["score"] = self.score.as_dict()
        return StepResult(
            observation,
            reward,
            self.done and not self.consultation.truncated,
            self.consultation.truncated,
            info,
        )

    async def _answer(self, request: Request) -> tuple[str, tuple[int, ...], float, float, bool]:
        """Observation text, facts told, cost, turnaround and whether anything was found."""
        action = request.action
        if request.responder == "patient" and action is not None:
            reply = await self.patient.reply(
                PatientQuestion(action.text, request.turn, self.consultation.turns_left)
            )
            text = self.texts.patient_reply.format(speaker=self.speaker, reply=reply.text)
            return text, reply.facts, 0.0, 0.0, bool(reply.facts)
        if request.responder == "measurement" and action is not None:
            result: MeasurementResult = await self.measurement.measure(action)
            return result.text, (), result.cost_usd, result.turnaround_hours, result.found
        if request.error is not None:
            return self.texts.invalid.format(error=request.error), (), 0.0, 0.0, False
        return "", (), 0.0, 0.0, True

    def _rank(self, differential: Sequence[str]) -> int | Exception | None:
        """The diagnosis rank, or the matcher's exception (recorded on the score)."""
        try:
            return diagnosis_rank(self.case, differential, self.matcher)
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
            "reward_breakdown": {},
        }
        return StepResult("", 0.0, True, False, info)

    def _record(self, **turn: Any) -> None:
        """Keep a turn's fields; the pydantic :class:`Turn` is built when someone reads it."""
        self._turn_fields.append(turn)

    def turns(self) -> tuple[Turn, ...]:
        """Every turn so far, validated once each."""
        built = self._turns_built
        for fields in self._turn_fields[len(built) :]:
            built.append(Turn(**fields))
        return tuple(built)

    def transcript(self) -> Transcript:
        c = self.consultation
        return Transcript(
            id=self.id,
            case_id=self.case.id,
            dataset=self.dataset,
            seed=self.seed,
            persona=self.persona.id,
            biases=self.biases,
            agents=dict(self.agent_names),
            max_turns=self.limits.max_turns,
            opening_observation=self.opening,
            turns=self.turns(),
            differential=c.differential,
            outcome=c.outcome or "error",
            score=self.score,
            error=self.error,
        )


def create_session(
    case: Case,
    *,
    dataset: str = "custom",
    persona: str | None = None,
    biases: Sequence[str] = (),
    patient: str = "offline",
    measurement: str = "offline",
    reward: str = "default",
    max_turns: int = 20,
    show_options: bool = False,
    seed: int = 0,
    doctor: str | None = None,
) -> Session:
    """A session with agents built by registered name, each with its own seeded stream."""
    persona_model = load_persona(persona)
    for bias in biases:
        load_bias(bias)
    names = {"patient": patient, "measurement": measurement}
    if doctor is not None:
        names["doctor"] = doctor
    return Session(
        case=case,
        patient=PATIENTS.get(patient)(
            case.patient_view(), persona_model, agent_rng(seed, case.id, "patient")
        ),
        measurement=MEASUREMENTS.get(measurement)(
            case.measurement_view(), agent_rng(seed, case.id, "measurement")
        ),
        persona=persona_model,
        dataset=dataset,
        seed=seed,
        reward_spec=load_reward_spec(reward),
        limits=Limits(max_turns=max_turns),
        agent_names=names,
        biases=tuple(biases),
        show_options=show_options,
    )


def create_doctor(name: str, session: Session) -> DoctorAgent:
    """A doctor by registered name; only privileged doctors (the oracle) see the whole case."""
    factory = DOCTORS.get(name)
    case = session.case if name in PRIVILEGED_DOCTORS else None
    return factory(session.doctor_view, agent_rng(session.seed, session.case.id, "doctor"), case)


async def run_consultation(session: Session, doctor: DoctorAgent) -> Transcript:
    """Let ``doctor`` hold the whole consultation; a doctor's failure is recorded, not raised."""
    observation = session.opening
    while not session.done:
        try:
            message = await doctor.act(session.observation_for_doctor(observation))
        except Exception as exc:  # noqa: BLE001 - recorded on the transcript
            session.error = f"doctor failed: {type(exc).__name__}: {exc}"
            session.consultation.finish("error")
            break
        observation = (await session.step(message)).observation
    return session.transcript()
