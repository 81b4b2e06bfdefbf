"""The agent protocols: one async method each, taking one typed input.

Any object with the right method is an agent: an offline rule-based one, an LLM one, a human
at a keyboard, or an RL policy. Factories are registered by name so that configs can say
``patient: offline`` or ``doctor: systematic``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

from clinic_env.registry import Registry
from clinic_env.schema.action import Action
from clinic_env.schema.case import Case, CaseImage, DoctorView, MeasurementView, PatientView
from clinic_env.schema.persona import Persona


@dataclass(frozen=True, slots=True)
class PatientQuestion:
    """A doctor's question as the patient receives it."""

    text: str
    turn: int
    turns_left: int


@dataclass(frozen=True, slots=True)
class PatientReply:
    """What the patient said, and which case facts (by index) the reply told, new or not."""

    text: str
    facts: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class MeasurementResult:
    """An exam, test or image result as the doctor will see it, with its price and wait."""

    text: str
    cost_usd: float = 0.0
    turnaround_hours: float = 0.0
    found: bool = True
    spared: tuple[str, ...] = ()
    """Phrases of ``text`` that are not case data (the doctor's own request echoed, a
    catalogue name): the leak guard leaves them alone, since withholding words that do not
    come from the case would answer "is it X?" for whatever X the doctor names."""


@dataclass(frozen=True, slots=True)
class DoctorObservation:
    """What the doctor sees before choosing its next message."""

    text: str
    turn: int
    turns_left: int
    view: DoctorView
    images: tuple[CaseImage, ...] = ()
    """Images shown with this observation (after REQUEST IMAGES, or at the start if set)."""


@runtime_checkable
class PatientAgent(Protocol):
    async def reply(self, question: PatientQuestion) -> PatientReply: ...


@runtime_checkable
class MeasurementAgent(Protocol):
    async def measure(self, action: Action) -> MeasurementResult: ...


@runtime_checkable
class DoctorAgent(Protocol):
    async def act(self, observation: DoctorObservation) -> str | Action: ...


class PatientFactory(Protocol):
    def __call__(self, view: PatientView, persona: Persona, rng: random.Random) -> PatientAgent: ...


Unrecorded = Literal["unavailable", "normal"]
"""What the room says of a known test the record does not hold (SessionOptions.unrecorded_tests)."""


class MeasurementFactory(Protocol):
    def __call__(
        self, view: MeasurementView, rng: random.Random, *, unrecorded: Unrecorded = "unavailable"
    ) -> MeasurementAgent:
        """``unrecorded`` is the session's policy for a known test the record lacks
        ("unavailable" or "normal", see ``SessionOptions.unrecorded_tests``)."""
        ...


class DoctorFactory(Protocol):
    def __call__(self, view: DoctorView, rng: random.Random, case: Case | None) -> DoctorAgent:
        """``case`` is given only to doctors registered as privileged (the oracle)."""
        ...


PATIENTS: Registry[PatientFactory] = Registry("patient agent")
MEASUREMENTS: Registry[MeasurementFactory] = Registry("measurement agent")
DOCTORS: Registry[DoctorFactory] = Registry("doctor agent")
PRIVILEGED_DOCTORS: set[str] = set()
"""Doctors allowed to read the whole case, ground truth included (upper bounds for testing)."""


def is_offline(agent: object) -> bool:
    """Offline agents finish every call without waiting on I/O, so sync faces may run them
    without an event loop; anything else (LLM, human) is driven on the bridge's loop thread."""
    return bool(getattr(agent, "offline", False))
