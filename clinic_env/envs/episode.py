"""What one episode paid, turn by turn and per reward component, for the trainer faces.

Every face steps a :class:`~clinic_env.session.Session` and gets each turn's reward (already
reduced by the reward spec's ``reduction``) and its ``info["reward_breakdown"]``. Trainers
take rewards in different shapes: one float per turn (Gym, PettingZoo, SkyRL, OpenEnv), one
float per episode (TRL, verl) or named components (verifiers). An :class:`EpisodeRewards`
keeps all three so that each adapter reads the shape its trainer accepts from one place.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from clinic_env.session import StepResult
from clinic_env.summary import reward_totals


@dataclass
class EpisodeRewards:
    """The turn rewards, the per-component totals and the outcome of one episode.

    ``total`` is the sum of the turn rewards: the episode's return under the reward spec's
    reduction (for ``dense`` and ``episode`` it counts every part, for ``terminal`` only the
    end parts). ``components`` sums each named part over the turns, whatever the reduction,
    so a trainer that weighs components itself sees all of them. Both are summed by
    :func:`clinic_env.summary.reward_totals`, as the transcript's summary is.
    """

    turn_rewards: list[float] = field(default_factory=list)
    breakdowns: list[dict[str, float]] = field(default_factory=list)
    outcome: str | None = None
    score: dict[str, Any] = field(default_factory=dict)

    def add(self, result: StepResult) -> None:
        """Count one step's reward and breakdown; keep the outcome and score once it ends."""
        self.turn_rewards.append(float(result.reward))
        self.breakdowns.append(dict(result.info.get("reward_breakdown", {})))
        if "outcome" in result.info:
            self.outcome = result.info["outcome"]
            self.score = dict(result.info.get("score") or {})

    @property
    def total(self) -> float:
        return reward_totals(self.turn_rewards, ())[0]

    @property
    def components(self) -> dict[str, float]:
        """Each reward part summed over the turns so far, by name (absent: never paid)."""
        return reward_totals((), self.breakdowns)[1]

    @property
    def done(self) -> bool:
        return self.outcome is not None

    def summary(self) -> dict[str, Any]:
        """A JSON-ready record: what adapters put in metadata, traces and logs."""
        total, components = reward_totals(self.turn_rewards, self.breakdowns)
        return {
            "total": total,
            "turn_rewards": list(self.turn_rewards),
            "components": components,
            "outcome": self.outcome,
            "score": dict(self.score),
        }
