"""What the stub model server says: scripted replies per role, as OpenAI-shaped JSON bodies.

Kept apart from :mod:`clinic_env.testing.stub_server` (which decides *whether* and *when* to
answer: slots, latency, faults) so either can change without the other.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from pydantic import Field

from clinic_env.schema.base import Frozen

Reply = str | dict[str, Any]
Responder = Callable[[str | None, dict[str, Any]], Reply]
Answer = tuple[int, dict[str, str], str]
"""An HTTP answer: status, extra headers, body."""


class ReplyScript(Frozen):
    """Replies by role, each role's list used in rotation; ``responder`` overrides them all.

    A reply is a string (the message content) or a dict with ``content`` and/or
    ``tool_calls`` (a list of ``{"name": ..., "arguments": {...}}``). The responder is called
    on the server's thread, in-process only, with the role (``None`` when the request has no
    role header) and the request body; if it raises, the client gets a 500 saying so.
    """

    by_role: dict[str, tuple[Reply, ...]] = Field(default_factory=dict)
    default: Reply = "OK."
    responder: Responder | None = None


DEFAULT_REPLIES = ReplyScript(
    by_role={
        "doctor": (
            "What brings you in today, and when did it start?",
            "Have you noticed anything that makes it better or worse?",
            "REQUEST TEST: Complete blood count",
            "DIAGNOSIS READY: Viral syndrome",
        ),
        "patient": ("It started a few days ago and it has been getting slowly worse.",),
        "measurement": ("normal",),
        "judge": ("Yes",),
    },
)


def error_answer(
    status: int, message: str, kind: str, extra: dict[str, str] | None = None
) -> Answer:
    """An OpenAI-style error body."""
    body = {"error": {"message": message, "type": kind, "param": None, "code": None}}
    return status, extra or {}, json.dumps(body)


def _tool_calls(reply: dict[str, Any], serial: int) -> list[dict[str, Any]]:
    calls = []
    for i, call in enumerate(reply.get("tool_calls") or ()):
        arguments = call.get("arguments", {})
        arguments = arguments if isinstance(arguments, str) else json.dumps(arguments)
        function = {"name": call["name"], "arguments": arguments}
        calls.append({"id": f"call_{serial}_{i}", "type": "function", "function": function})
    return calls


def completion_answer(
    request: dict[str, Any], reply: Reply | None, serial: int, model_name: str
) -> Answer:
    """A chat completion for ``reply``: one JSON object, or a one-chunk SSE stream when the
    request asked for ``stream``. Token counts are characters / 4, which is all a stub needs."""
    reply = reply if isinstance(reply, dict) else {"content": reply}
    content, calls = reply.get("content"), _tool_calls(reply, serial)
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if calls:
        message["tool_calls"] = calls
    prompt = sum(
        len(str(m.get("content") or "")) for m in request["messages"] if isinstance(m, dict)
    )
    completion = len(content or "") + len(json.dumps(calls) if calls else "")
    usage = {"prompt_tokens": prompt // 4 + 1, "completion_tokens": completion // 4 + 1}
    usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
    finish = "tool_calls" if calls else "stop"
    head = {"id": f"chatcmpl-stub-{serial}", "created": int(time.time()), "model": model_name}
    if not request.get("stream"):
        choice = {"index": 0, "message": message, "finish_reason": finish}
        completion_object = {"object": "chat.completion", "choices": [choice], "usage": usage}
        return 200, {}, json.dumps(head | completion_object)
    head["object"] = "chat.completion.chunk"
    if calls:
        message["tool_calls"] = [call | {"index": i} for i, call in enumerate(calls)]
    events = [head | {"choices": [{"index": 0, "delta": message, "finish_reason": None}]}]
    events.append(head | {"choices": [{"index": 0, "delta": {}, "finish_reason": finish}]})
    if (request.get("stream_options") or {}).get("include_usage"):
        events.append(head | {"choices": [], "usage": usage})
    sse = "".join(f"data: {json.dumps(event)}\n\n" for event in events) + "data: [DONE]\n\n"
    return 200, {"Content-Type": "text/event-stream"}, sse
