"""The consultation state machine: turns, actions, limits and the end, with no I/O.

A consultation alternates between the doctor and whoever answers the doctor's action (the
patient for questions, the measurement agent for exams, tests and images, the protocol itself
for diagnoses, ends and rejected messages). :meth:`Consultation.submit` takes the doctor's
message and says who must answer; :meth:`Consultation.close` closes the turn once answered.
Keeping the record of what was said is the session's job. Every face (Gym, PettingZoo,
trainers, the batch runner) drives this one machine through :mod:`clinic_env.session`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import NamedTuple

from clinic_env.errors import ProtocolError
from clinic_env.language.text import fold
from clinic_env.protocol.parsing import MAX_DIFFERENTIAL, ParseError, parse_action
from clinic_env.schema.action import Action, ActionKind
from clinic_env.schema.transcript import Outcome, Responder

DEFAULT_MAX_TURNS = 20
_RESPONDERS: dict[ActionKind, Responder] = {
    ActionKind.ASK: "patient",
    ActionKind.EXAMINE: "measurement",
    ActionKind.ORDER_TEST: "measurement",
    ActionKind.REQUEST_IMAGES: "measurement",
}
"""Who answers each action; diagnoses, ends and rejected messages are answered by the system."""
_ENDINGS: dict[ActionKind, Outcome] = {ActionKind.DIAGNOSE: "diagnosed", ActionKind.END: "ended"}
"""The actions that end a consultation, and how."""


@dataclass(frozen=True, slots=True)
class Limits:
    """How long a consultation may run and how much a message may hold."""

    max_turns: int = DEFAULT_MAX_TURNS
    max_message_chars: int = 8000

    def __post_init__(self) -> None:
        if self.max_turns < 1:
            raise ProtocolError(f"max_turns must be at least 1, got {self.max_turns}")
        if self.max_message_chars < 1:
            raise ProtocolError(f"max_message_chars must be positive, got {self.max_message_chars}")


class Phase(StrEnum):
    AWAITING_DOCTOR = "awaiting_doctor"
    AWAITING_REPLY = "awaiting_reply"
    FINISHED = "finished"


_AWAITING_DOCTOR = Phase.AWAITING_DOCTOR
_AWAITING_REPLY = Phase.AWAITING_REPLY
_FINISHED = Phase.FINISHED
"""The phases as module names: an enum class's attributes are looked up through its
metaclass's ``__getattr__`` hook in Python 3.11, several times slower, on every step."""


class Request(NamedTuple):
    """What the doctor's message asks for, and who must answer it (a named tuple: immutable,
    and about three times cheaper to build than a frozen dataclass, once per step).

    ``responder`` is "patient" (a question), "measurement" (exam, test, images) or "system"
    (a diagnosis, an end, or a rejected message, answered by the protocol's own texts).
    """

    turn: int
    message: str
    action: Action | None
    responder: Responder
    error: str | None = None
    repeated: bool = False


@dataclass(slots=True)
class Consultation:
    """One consultation's protocol state."""

    limits: Limits = field(default_factory=Limits)
    phase: Phase = _AWAITING_DOCTOR
    turn_count: int = 0
    outcome: Outcome | None = None
    differential: tuple[str, ...] = ()
    _pending: Request | None = None
    _seen_actions: set[tuple[str, str]] = field(default_factory=set)

    @property
    def turns_left(self) -> int:
        return self.limits.max_turns - self.turn_count

    @property
    def finished(self) -> bool:
        return self.phase is _FINISHED

    @property
    def truncated(self) -> bool:
        return self.outcome == "out_of_turns"

    def submit(self, message: str | Action) -> Request:
        """Take the doctor's message for the next turn and say who must answer it."""
        if self.phase is not _AWAITING_DOCTOR:
            if self.phase is _FINISHED:
                raise ProtocolError("the consultation is over; reset before stepping again")
            raise ProtocolError("the previous turn has not been answered yet")
        turn = self.turn_count + 1
        if type(message) is str and len(message) <= self.limits.max_message_chars:
            parsed: Action | ParseError = parse_action(message)  # the common case, first
            text = message
        elif isinstance(message, Action):
            parsed = _check_structured(message)
            text = _describe(message)
        elif not isinstance(message, str):
            parsed = ParseError(f"a message must be text, not {type(message).__name__}")
            text = repr(message)
        elif len(message) > self.limits.max_message_chars:
            parsed = ParseError(
                f"the message has {len(message)} characters; the limit is "
                f"{self.limits.max_message_chars}"
            )
            text = message[: self.limits.max_message_chars]
        else:
            parsed = parse_action(message)
            text = message
        if isinstance(parsed, ParseError):
            request = Request(turn, text, None, "system", error=parsed.message)
        else:
            key = (parsed.kind, fold(parsed.text) or "|".join(map(fold, parsed.differential)))
            repeated = key in self._seen_actions
            self._seen_actions.add(key)
            responder = _RESPONDERS.get(parsed.kind, "system")
            request = Request(turn, text, parsed, responder, None, repeated)
        self._pending = request
        self.phase = _AWAITING_REPLY
        return request

    def close(self, request: Request) -> None:
        """Close the pending turn once it is answered; finish the consultation if it is over."""
        pending = self._pending
        if self.phase is not _AWAITING_REPLY or pending is None:
            raise ProtocolError("close() needs a pending turn from submit()")
        if request is not pending:
            raise ProtocolError(f"turn {request.turn} closed while turn {pending.turn} is pending")
        self.turn_count = pending.turn
        self._pending = None
        outcome = self.outcome_of(pending)
        if outcome is not None:
            self.finish(outcome, pending.action.differential if pending.action else ())
        else:
            self.phase = _AWAITING_DOCTOR

    def outcome_of(self, request: Request) -> Outcome | None:
        """How the consultation ends after ``request``'s turn, or None if it goes on."""
        action = request.action
        if action is not None and action.kind in _ENDINGS:
            return _ENDINGS[action.kind]
        if request.turn >= self.limits.max_turns:
            return "out_of_turns"
        return None

    def finish(self, outcome: Outcome, differential: tuple[str, ...] = ()) -> None:
        """End the consultation, e.g. when an agent failed and the session gives up."""
        self.outcome = outcome
        self.differential = differential
        self.phase = _FINISHED
        self._pending = None


def _check_structured(action: Action) -> Action | ParseError:
    """A structured action must carry what its kind needs, as a parsed one always does, and
    its differential is cut to the length a typed one may have."""
    if action.kind in (ActionKind.ASK, ActionKind.ORDER_TEST) and not action.text.strip():
        return ParseError(f"the {action.kind.value} action needs text")
    if action.kind is ActionKind.DIAGNOSE and not any(d.strip() for d in action.differential):
        return ParseError("a diagnose action needs at least one diagnosis")
    if len(action.differential) > MAX_DIFFERENTIAL:
        return action.model_copy(update={"differential": action.differential[:MAX_DIFFERENTIAL]})
    return action


def _describe(action: Action) -> str:
    """The text form of a structured action, as it would have been typed."""
    match action.kind:
        case ActionKind.ASK:
            return action.text
        case ActionKind.EXAMINE:
            return f"REQUEST EXAM: {action.text}"
        case ActionKind.ORDER_TEST:
            return f"REQUEST TEST: {action.text}"
        case ActionKind.REQUEST_IMAGES:
            return "REQUEST IMAGES"
        case ActionKind.DIAGNOSE:
            return "DIAGNOSIS READY: " + "; ".join(action.differential)
        case _:
            return "END"
