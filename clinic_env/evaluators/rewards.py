"""Reward specs: named dense (per turn) and terminal parts, weighted from a YAML file.

A spec in ``evaluators/rewards/*.yaml`` (or any YAML file given by path) maps signal names to
weights. The session computes the signals of each turn (new facts told, an invalid or
repeated action, money spent on tests, the kind of question asked) and, on the last turn, of
the outcome (top-1, top-k, must-not-miss diagnoses listed, no diagnosis). Each step's
``info["reward_breakdown"]`` holds ``weight x signal`` for every part the spec names; the
spec's ``reduction`` says how they become the one number a step returns:

- ``dense``: every step pays its own parts (the last one its end parts too);
- ``terminal``: only the end parts count, paid on the last step (dense parts are still
  reported in the breakdown, for analysis);
- ``episode``: nothing is paid until the last step, which pays every part of the episode, so
  the return equals ``dense``'s for trainers that take one number per episode.

A turn part that pays on every turn it holds (a question of a clinical type, an empathic
phrase, a question the patient answered) would pay a policy for making the episode longer,
however little it learns: a blind policy that asked thirty varied, courteous questions would
out-earn one that diagnosed correctly. So a positive weight on any turn signal but
``new_facts`` (each case fact pays once, so the case bounds it) needs a cap in ``caps``: the
most that part may add up to in one episode. Past its cap a part pays 0, and the breakdown
shows what was paid.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from clinic_env.content import content_files, content_path, load_yaml_model
from clinic_env.errors import ContentError, UnknownNameError
from clinic_env.schema.base import Frozen

TurnSignal = Literal[
    "new_facts",
    "answered",
    "unanswered",
    "invalid",
    "repeated",
    "test_cost_usd",
    "exam",
    "test",
    "turn",
    "question",
    "inquiry",
    "empathy",
    "manipulation",
]
EndSignal = Literal[
    "top1",
    "topk",
    "diagnosed",
    "no_diagnosis",
    "out_of_turns",
    "ended",
    "coverage",
    "total_cost_usd",
    "must_not_miss",
]
Reduction = Literal["dense", "terminal", "episode"]
END_PREFIX = "end."
BOUNDED_BY_THE_CASE: frozenset[str] = frozenset({"new_facts"})
"""Turn signals whose episode total the case bounds, so a positive weight needs no cap."""


class RewardSpec(Frozen):
    id: str = Field(pattern=r"^[a-z0-9_]+$")
    summary: str = Field(min_length=1)
    source: str | None = None
    top_k: int = Field(default=3, ge=1)
    turn: dict[TurnSignal, float] = Field(default_factory=dict)
    end: dict[EndSignal, float] = Field(default_factory=dict)
    reduction: Reduction = "dense"
    caps: dict[TurnSignal, float] = Field(
        default_factory=dict,
        description="the most a positive turn part may add up to in one episode",
    )

    @model_validator(mode="after")
    def _no_unbounded_turn_pay(self) -> RewardSpec:
        for name, cap in self.caps.items():
            if name not in self.turn or self.turn[name] <= 0:
                raise ValueError(f"caps.{name} caps a part the spec does not pay (turn.{name})")
            if cap <= 0:
                raise ValueError(f"caps.{name} must be positive, not {cap}")
        for name, weight in self.turn.items():
            if weight > 0 and name not in BOUNDED_BY_THE_CASE and name not in self.caps:
                raise ValueError(
                    f"turn.{name} pays {weight:+g} on every turn it holds, so a policy would earn "
                    f"it by prolonging the episode: give caps.{name}, the most it may add up to "
                    "in one episode"
                )
        return self

    def turn_breakdown(self, signals: Mapping[str, float]) -> dict[str, float]:
        return {name: weight * signals.get(name, 0.0) for name, weight in self.turn.items()}

    def end_breakdown(self, signals: Mapping[str, float]) -> dict[str, float]:
        return {
            f"{END_PREFIX}{name}": weight * signals.get(name, 0.0)
            for name, weight in self.end.items()
        }

    def reduce(self, breakdown: Mapping[str, float], *, final: bool, earlier: float) -> float:
        """The one number a step returns, from its breakdown.

        ``earlier`` is the sum of every part of the episode's earlier steps, which the
        ``episode`` reduction pays out on the last step.
        """
        if self.reduction == "dense":
            return sum(breakdown.values())
        if not final:
            return 0.0
        if self.reduction == "terminal":
            return sum(v for k, v in breakdown.items() if k.startswith(END_PREFIX))
        return earlier + sum(breakdown.values())


@functools.cache
def reward_specs() -> dict[str, RewardSpec]:
    found: dict[str, RewardSpec] = {}
    for path in content_files(content_path("evaluators", "rewards")):
        spec = load_yaml_model(path, RewardSpec)
        if spec.id != path.stem:
            raise ContentError(f"{path}: reward spec id {spec.id!r} must match the file name")
        found[spec.id] = spec
    return found


def load_reward_spec(name: str) -> RewardSpec:
    """A bundled spec by id, or a spec file of your own by its path (``my_reward.yaml``)."""
    specs = reward_specs()
    if name not in specs and name.endswith((".yaml", ".yml")) and Path(name).is_file():
        return load_yaml_model(Path(name), RewardSpec)
    if name not in specs:
        raise UnknownNameError(f"unknown reward spec {name!r} (known: {', '.join(specs)})")
    return specs[name]
