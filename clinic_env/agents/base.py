"""The agent protocols: one async method each, taking one typed input.

Any object with the right method is an agent: an offline rule-based one, an LLM one, a human
at a keyboard, or an RL policy. Factories are registered by name with their metadata
(``@DOCTORS.register("oracle", offline=True, privileged=True)``) so that configs can say
``patient: offline`` or ``doctor: {agent: systematic, max_tests: 3}``; third-party packages
register through the ``clinic_env.agents`` entry-point group (see :mod:`clinic_env.registry`
and ``docs/extending.md``), and ``clinic_env.testing.conformance`` checks an agent keeps the
contract below.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Literal, NamedTuple, Protocol, runtime_checkable

from clinic_env.registry import Registry
from clinic_env.schema.action import Action
from clinic_env.schema.case import Case, CaseImage, DoctorView, MeasurementView, PatientView
from clinic_env.schema.persona import Persona


class PatientQuestion(NamedTuple):
    """A doctor's question as the patient receives it (a named tuple, as :class:`PatientReply`:
    immutable, and built on every patient turn for a third of a frozen dataclass's cost)."""

    text: str
    turn: int
    turns_left: int


class PatientReply(NamedTuple):
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
    """Plays the patient (or the caregiver who speaks for them) from the case's patient view,
    in which the answer is already withheld."""

    async def reply(self, question: PatientQuestion) -> PatientReply:
        """Answer one doctor question in the patient's own words.

        Args:
            question: the doctor's question as the patient hears it (commands are never sent
                here), with the turn number and the turns left.

        Returns:
            The reply and the indices into the view's facts that it told, new or not (they
            pay the doctor for new information, so list only facts the text really says).
            Never name a diagnosis the doctor did not: the session's guard withholds the
            answer and marks the turn ``redacted``, which the conformance check refuses.

        Example:
            >>> class Terse:
            ...     offline = True
            ...
            ...     async def reply(self, question: PatientQuestion) -> PatientReply:
            ...         return PatientReply("I'd rather not say.")
        """
        ...


@runtime_checkable
class MeasurementAgent(Protocol):
    """Plays the examination room and the laboratory from the case's measurement view."""

    async def measure(self, action: Action) -> MeasurementResult:
        """Report one exam, test or imaging request.

        Args:
            action: the doctor's ``REQUEST EXAM``, ``REQUEST TEST`` or ``REQUEST IMAGES``
                action; ``action.text`` is the doctor's own wording of what it asked for.

        Returns:
            The result as the doctor will read it, with a finite non-negative price and
            wait, ``found`` False when the record has nothing for the request, and in
            ``spared`` the phrases of the text that are not case data (the request echoed).

        Example:
            >>> class ClosedLab:
            ...     offline = True
            ...
            ...     async def measure(self, action: Action) -> MeasurementResult:
            ...         return MeasurementResult(f"{action.text}: not available.", found=False)
        """
        ...


@runtime_checkable
class DoctorAgent(Protocol):
    """Holds the consultation: asks, examines, orders tests and finally diagnoses."""

    async def act(self, observation: DoctorObservation) -> str | Action:
        """Choose the next message.

        Args:
            observation: what the doctor sees now (the opening, or the answer to its last
                message with the turn notice), its turn budget, its view of the case (no
                ground truth) and any images just shown.

        Returns:
            A message in the text protocol (``"REQUEST TEST: troponin"``, ``"DIAGNOSIS
            READY: a; b"``) or an :class:`~clinic_env.schema.action.Action`. The turn with
            ``turns_left == 1`` is the last; a doctor that has not diagnosed by then runs out
            of turns.

        Example:
            >>> class OneQuestion:
            ...     offline = True
            ...
            ...     async def act(self, observation: DoctorObservation) -> str:
            ...         if observation.turn == 1:
            ...             return "When did it start?"
            ...         return "DIAGNOSIS READY: viral illness"
        """
        ...


class PatientFactory(Protocol):
    """Makes a patient for one consultation. Parameters after these three, with defaults,
    are factory parameters a config may set (``{"agent": name, "param": value}``)."""

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


@dataclass(frozen=True, slots=True)
class AgentInfo:
    """What an agent's registration says about it (``@PATIENTS.register(name, offline=True)``)."""

    offline: bool = False
    """It answers without I/O (no model, no person) and alike under the same seed; the
    conformance check holds it to both."""


@dataclass(frozen=True, slots=True)
class DoctorInfo(AgentInfo):
    """A doctor's registration: also whether it may read the whole case."""

    privileged: bool = False
    """It is given the whole case, ground truth included (the oracle: an upper bound for
    testing evaluators); every other doctor gets ``case=None``."""


AGENT_GROUP = "clinic_env.agents"
"""The entry-point group third-party patients, measurement agents and doctors register in."""

PATIENTS: Registry[PatientFactory, AgentInfo] = Registry(
    "patient agent", AgentInfo, group=AGENT_GROUP, passes=("view", "persona", "rng")
)
MEASUREMENTS: Registry[MeasurementFactory, AgentInfo] = Registry(
    "measurement agent",
    AgentInfo,
    group=AGENT_GROUP,
    passes=("view", "rng"),
    supplied=("unrecorded",),
)
DOCTORS: Registry[DoctorFactory, DoctorInfo] = Registry(
    "doctor agent", DoctorInfo, group=AGENT_GROUP, passes=("view", "rng", "case")
)


def is_offline(agent: object) -> bool:
    """Offline agents finish every call without waiting on I/O, so sync faces may run them
    without an event loop; anything else (LLM, human) is driven on the bridge's loop thread."""
    return bool(getattr(agent, "offline", False))
