"""Reward specs: named dense (per turn) and terminal parts, weighted from a YAML file.

A spec in ``evaluators/rewards/*.yaml`` maps signal names to weights. The session computes
the signals of each turn (new facts told, an invalid or repeated action, money spent on
tests) and, on the last turn, of the outcome (top-1, top-k, no diagnosis). Each step's
``info["reward_breakdown"]`` holds ``weight x signal`` for every part the spec names, so a
trainer can reduce them to one number however it likes.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Literal

from pydantic import Field

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
]


class RewardSpec(Frozen):
    id: str = Field(pattern=r"^[a-z0-9_]+$")
    summary: str = Field(min_length=1)
    source: str | None = None
    top_k: int = Field(default=3, ge=1)
    turn: dict[TurnSignal, float] = Field(default_factory=dict)
    end: dict[EndSignal, float] = Field(default_factory=dict)

    def turn_breakdown(self, signals: Mapping[str, float]) -> dict[str, float]:
        return {name: weight * signals.get(name, 0.0) for name, weight in self.turn.items()}

    def end_breakdown(self, signals: Mapping[str, float]) -> dict[str, float]:
        return {f"end.{name}": weight * signals.get(name, 0.0) for name, weight in self.end.items()}


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
    specs = reward_specs()
    if name not in specs:
        raise UnknownNameError(f"unknown reward spec {name!r} (known: {', '.join(specs)})")
    return specs[name]
