"""An in-process stand-in for a model server: scripted replies per role, no network.

``ModelClient(transport=ScriptedTransport({...}))`` lets a test drive model-backed agents
deterministically. Each role's replies are used in turn (the last one repeats); a reply may
be text, a tool call, or an exception to raise (to test retries and failures).
"""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

Reply = str | dict[str, Any] | BaseException | Callable[[dict[str, Any]], "Reply"]


def tool_call(name: str, **arguments: Any) -> dict[str, Any]:
    """A scripted reply that calls a tool."""
    return {
        "tool_calls": [{"id": f"call-{name}", "name": name, "arguments": json.dumps(arguments)}]
    }


@dataclass
class ScriptedTransport:
    """A transport for :class:`~clinic_env.llm.client.ModelClient` that never leaves the process."""

    replies: Mapping[str, Sequence[Reply]]
    default: Reply = "I am not sure."
    delay_s: float = 0.0
    requests: list[dict[str, Any]] = field(default_factory=list)
    _positions: dict[str, int] = field(default_factory=dict)

    async def __call__(
        self, request: dict[str, Any], api_key: str | None, timeout: float
    ) -> dict[str, Any]:
        self.requests.append(copy.deepcopy(request))  # callers keep appending to their lists
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        role = str(request.get("role", ""))
        script = self.replies.get(role, ())
        position = self._positions.get(role, 0)
        self._positions[role] = position + 1
        reply: Reply = script[min(position, len(script) - 1)] if script else self.default
        while callable(reply) and not isinstance(reply, BaseException):
            reply = reply(request)
        if isinstance(reply, BaseException):
            raise reply
        if isinstance(reply, str):
            reply = {"text": reply}
        words = sum(len(str(m.get("content", "")).split()) for m in request.get("messages", ()))
        return {
            "text": reply.get("text", ""),
            "tool_calls": reply.get("tool_calls", []),
            "usage": {
                "prompt_tokens": words,
                "completion_tokens": len(str(reply.get("text", "")).split()),
            },
            "cost_usd": 0.0,
        }
