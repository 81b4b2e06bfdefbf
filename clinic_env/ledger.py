"""The reward ledger of one consultation: what each turn pays, and what the episode has paid.

The session hands it the facts of each turn (what the doctor did, what came back) and, on the
last turn, how the consultation ended; the ledger turns them into the reward spec's signals,
its weighted parts (``info["reward_breakdown"]``) and the one number the step returns under
the spec's reduction. Only the signals the spec names are computed: a phrase check that no
weight reads costs nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import NamedTuple

from clinic_env.evaluators.fidelity import manipulates
from clinic_env.evaluators.inquiry import INQUIRY_TYPES
from clinic_env.evaluators.rewards import RewardSpec
from clinic_env.language.rules import phrase_set, says_any
from clinic_env.schema.action import ActionKind
from clinic_env.schema.transcript import InquiryType


class TurnFacts(NamedTuple):
    """What happened on one turn, as the reward signals read it (a named tuple: built on every
    step, and a frozen dataclass costs three times as much to build)."""

    message: str
    kind: ActionKind | None
    asked: bool
    """The patient was asked (the turn's responder is the patient)."""
    told: int
    """Case facts the reply told, new or not."""
    new_facts: int
    invalid: bool
    repeated: bool
    cost_usd: float
    inquiry: InquiryType | None


_EXAMINE, _ORDER_TEST = ActionKind.EXAMINE, ActionKind.ORDER_TEST
"""Module names: an enum class's attributes go through its metaclass hook in 3.11, slowly."""

_TURN_SIGNALS: dict[str, Callable[[TurnFacts], float]] = {
    "new_facts": lambda t: float(t.new_facts),
    "answered": lambda t: float(t.asked and t.told > 0),
    "unanswered": lambda t: float(t.asked and t.told == 0),
    "invalid": lambda t: float(t.invalid),
    "repeated": lambda t: float(t.repeated),
    "test_cost_usd": lambda t: t.cost_usd if t.kind is _ORDER_TEST else 0.0,
    "exam": lambda t: float(t.kind is _EXAMINE),
    "test": lambda t: float(t.kind is _ORDER_TEST),
    "turn": lambda t: 1.0,
    "question": lambda t: float(t.asked),
    "inquiry": lambda t: float(t.inquiry in INQUIRY_TYPES),
    "empathy": lambda t: float(says_any(t.message, phrase_set("empathy"))),
    "manipulation": lambda t: float(manipulates(t.message)),
}
"""Each turn signal a reward spec may weigh (see clinic_env.evaluators.rewards.TurnSignal)."""


@dataclass
class RewardLedger:
    """Turn rewards under one spec, and the running totals the end of the episode needs."""

    spec: RewardSpec
    revealed: set[int] = field(default_factory=set)
    total_cost_usd: float = 0.0
    _paid_parts: float = 0.0

    def __post_init__(self) -> None:
        self._weighted = tuple(
            (name, weight, _TURN_SIGNALS[name]) for name, weight in self.spec.turn.items()
        )
        self._left_under_cap = dict(self.spec.caps)

    def new_facts(self, told: tuple[int, ...]) -> tuple[int, ...]:
        """The facts of ``told`` not told before, now counted as told."""
        if not told:
            return ()
        revealed = self.revealed
        new = tuple([i for i in told if i not in revealed])
        revealed.update(new)
        return new

    def turn_parts(self, turn: TurnFacts) -> dict[str, float]:
        """Weight x signal for every turn part the spec names, a capped part no further than
        what its cap has left this episode."""
        self.total_cost_usd += turn.cost_usd
        parts: dict[str, float] = {}
        for name, weight, signal in self._weighted:  # a loop: a comprehension is a call in 3.11
            parts[name] = weight * signal(turn)
        for name, left in self._left_under_cap.items():
            if parts[name] > 0:
                parts[name] = min(parts[name], left)
                self._left_under_cap[name] = left - parts[name]
        return parts

    def end_parts(self, signals: Mapping[str, float]) -> dict[str, float]:
        """Weight x signal for every end part the spec names."""
        return self.spec.end_breakdown(signals)

    def pay(self, breakdown: Mapping[str, float], *, final: bool) -> float:
        """The step's reward under the spec's reduction; the parts join the episode's."""
        reward = self.spec.reduce(breakdown, final=final, earlier=self._paid_parts)
        self._paid_parts += sum(breakdown.values())
        return reward
