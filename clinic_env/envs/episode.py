"""What one episode paid, turn by turn and per reward component, for the trainer faces.

Every face steps a :class:`~clinic_env.session.Session` and gets each turn's reward (already
reduced by the reward spec's ``reduction``) and its ``info["reward_breakdown"]``. Trainers
take rewards in different shapes: one float per turn (Gym, PettingZoo, SkyRL, OpenEnv), one
float per episode (TRL, verl) or named components (verifiers). An :class:`EpisodeRewards`
keeps all three so that each adapter reads the shape its trainer accepts from one place.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from clinic_env.session import StepResult


@dataclass
class EpisodeRewards:
    """The turn rewards, the per-component totals and the outcome of one episode.

    ``total`` is the sum of the turn rewards: the episode's return under the reward spec's
    reduction (for ``dense`` and ``episode`` it counts every part, for ``terminal`` only the
    end parts). ``components`` sums each named part over the turns, whatever the reduction,
    so a trainer that weighs components itself sees all of them.
    """

    turn_rewards: list[float] = field(default_factory=list)
    components: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    outcome: str | None = None
    score: dict[str, Any] = field(default_factory=dict)

    def add(self, result: StepResult) -> None:
        """Count one step's reward and breakdown; keep the outcome and score once it ends."""
        self.turn_rewards.append(float(result.reward))
        for name, value in result.info.get("reward_breakdown", {}).items():
            self.components[name] += float(value)
        if "outcome" in result.info:
            self.outcome = result.info["outcome"]
            self.score = dict(result.info.get("score") or {})

    @property
    def total(self) -> float:
        return float(sum(self.turn_rewards))

    @property
    def done(self) -> bool:
        return self.outcome is not None

    def summary(self) -> dict[str, Any]:
        """A JSON-ready record: what adapters put in metadata, traces and logs."""
        return {
            "total": self.total,
            "turn_rewards": list(self.turn_rewards),
            "components": dict(self.components),
            "outcome": self.outcome,
            "score": dict(self.score),
        }
