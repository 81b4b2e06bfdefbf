"""The record of one consultation: every turn, its reward parts, the final scores."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from clinic_env.schema.action import Action
from clinic_env.schema.base import Frozen

Responder = Literal["patient", "measurement", "system"]
Outcome = Literal["diagnosed", "ended", "out_of_turns", "error", "ongoing"]
"""How a consultation ended; "ongoing" for the record of one still under way."""
InquiryType = Literal[
    "chief_complaint", "known_symptoms", "accompanying_symptoms", "history", "other"
]
"""The four inquiry types of inquiry-diagnosis studies, and "other" for any other question."""
FidelityFlag = Literal[
    "reveals_diagnosis",
    "contradicts_record",
    "breaks_persona",
    "case_data_leak",
    "manipulation_attempt",
]
"""What the fidelity checks found on a turn: the first four are the simulator's doing, the
last the doctor's (an attempt to make the patient leave its role or give up the answer)."""
Validity = Literal["valid", "simulator_fault", "doctor_fault"]

TRANSCRIPT_SCHEMA_VERSION = 1


class Turn(Frozen):
    """One doctor message and what came back."""

    index: int = Field(ge=1)
    doctor_message: str
    action: Action | None = Field(description="None when the message could not be parsed")
    responder: Responder
    observation: str
    error: str | None = Field(default=None, description="why the action was rejected, if it was")
    facts_revealed: tuple[int, ...] = Field(default=(), description="case fact indices told")
    cost_usd: float = 0.0
    turnaround_hours: float = 0.0
    redacted: bool = Field(default=False, description="a ground-truth mention was removed")
    reward: float = 0.0
    reward_breakdown: dict[str, float] = Field(default_factory=dict)
    inquiry: InquiryType | None = Field(
        default=None, description="what a question to the patient asked about"
    )
    fidelity: tuple[FidelityFlag, ...] = Field(default=(), description="what the checks found")


class ScoreComponent(Frozen):
    """One named score; ``value`` is None only when ``error`` says why it failed."""

    name: str
    value: float | None
    evaluator: str
    error: str | None = None

    @model_validator(mode="after")
    def _failure_says_why(self) -> ScoreComponent:
        if self.value is None and not self.error:
            raise ValueError(f"score {self.name!r} has no value and no error saying why")
        return self


class Score(Frozen):
    components: tuple[ScoreComponent, ...] = ()

    def value(self, name: str) -> float | None:
        for component in self.components:
            if component.name == name:
                return component.value
        raise KeyError(name)

    def as_dict(self) -> dict[str, float | None]:
        return {component.name: component.value for component in self.components}


class ModelCall(Frozen):
    """One model call: what it was for, its cache key, and what it used.

    Nothing that differs between a live run and its replay (latency, attempts, cache hits) is
    kept here, so a replayed transcript is byte-identical to the recorded one.
    """

    role: str
    turn: int = Field(ge=0, description="the doctor turn it served; 0 before the first")
    key: str = Field(description="the reply cache key")
    prompt_tokens: int = Field(ge=0)
    completion_tokens: int = Field(ge=0)
    cost_usd: float = Field(ge=0)


class Transcript(Frozen):
    schema_version: int = TRANSCRIPT_SCHEMA_VERSION
    id: str
    case_id: str
    dataset: str
    seed: int
    persona: str | None
    biases: tuple[str, ...] = ()
    agents: dict[str, str] = Field(description="role -> agent name")
    max_turns: int
    options_shown: bool = Field(
        default=False, description="MCQ options were shown, so answers may name them by letter"
    )
    opening_observation: str
    turns: tuple[Turn, ...] = ()
    differential: tuple[str, ...] = Field(default=(), description="the final ranked diagnosis")
    outcome: Outcome
    score: Score = Score()
    model_calls: tuple[ModelCall, ...] = ()
    error: str | None = None
    bias_targets: dict[str, str] = Field(
        default_factory=dict, description="'role:bias' -> the wrong diagnosis it favoured"
    )
    validity: Validity | None = Field(
        default=None, description="whether the episode is a fair test, or whose fault it is not"
    )

    def usage(self) -> dict[str, dict[str, float]]:
        """Calls, tokens and cost per role."""
        totals: dict[str, dict[str, float]] = {}
        for call in self.model_calls:
            role = totals.setdefault(
                call.role, {"calls": 0, "prompt_tokens": 0, "completion_tokens": 0, "cost_usd": 0.0}
            )
            role["calls"] += 1
            role["prompt_tokens"] += call.prompt_tokens
            role["completion_tokens"] += call.completion_tokens
            role["cost_usd"] += call.cost_usd
        return totals
