"""What every model-backed role shares: its settings, the client, and the call log.

Each role keeps its conversation as an append-only list of chat messages, so a serving
engine's prefix cache is reused from one turn to the next.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from clinic_env.llm.client import Completion, ModelClient
from clinic_env.llm.config import ModelConfig
from clinic_env.schema.transcript import ModelCall


@dataclass
class CallLog:
    """Every model call of one consultation, tagged with the turn it served."""

    turn: int = 0
    calls: list[ModelCall] = field(default_factory=list)

    def record(self, role: str, completion: Completion) -> None:
        self.calls.append(
            ModelCall(
                role=role,
                turn=self.turn,
                key=completion.key,
                prompt_tokens=completion.prompt_tokens,
                completion_tokens=completion.completion_tokens,
                cost_usd=completion.cost_usd,
            )
        )


@dataclass
class ModelRole:
    """A role played by a model in one consultation."""

    role: str
    config: ModelConfig
    client: ModelClient
    log: CallLog
    seed: int | None = None

    async def complete(
        self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None
    ) -> Completion:
        completion = await self.client.complete(
            self.config,
            messages,
            role=self.role,
            seed=self.seed,
            tools=tools,
            affinity=f"{self.role}:{self.seed}",
        )
        self.log.record(self.role, completion)
        return completion
