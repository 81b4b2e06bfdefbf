"""A lean transport for OpenAI-compatible servers (vLLM, llama.cpp, Ollama, stubs).

litellm adapts one API to dozens of providers, and pays several milliseconds of CPU per call
for it (measured on this project's 2-core CI machine: about 100 calls/s per core). A local
OpenAI-compatible server needs none of that adapting, and a batch run wants thousands of
calls per second. This transport speaks the chat completions protocol over pooled HTTP/1.1
keep-alive connections on asyncio streams, at a small fraction of the cost.
"""

from __future__ import annotations

import asyncio
import functools
import json
import ssl
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from clinic_env.llm.encoding import request_body
from clinic_env.llm.errors import FatalCallError, RetryableCallError

_RETRY_STATUSES = frozenset({408, 409, 425, 429})


@dataclass(frozen=True, slots=True)
class Endpoint:
    host: str
    port: int
    path: str
    tls: bool

    @classmethod
    @functools.lru_cache(maxsize=256)
    def parse(cls, api_base: str) -> Endpoint:
        parts = urlsplit(api_base)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise FatalCallError(f"api_base must be an http(s) URL, not {api_base!r}")
        tls = parts.scheme == "https"
        port = parts.port or (443 if tls else 80)
        return cls(parts.hostname, port, parts.path.rstrip("/") + "/chat/completions", tls)


Connection = tuple[asyncio.StreamReader, asyncio.StreamWriter]


@dataclass
class _Pool:
    """Idle keep-alive connections to one endpoint, per event loop."""

    idle: list[Connection] = field(default_factory=list)


class DirectTransport:
    """POSTs chat completions itself; one pool of connections per endpoint and event loop."""

    def __init__(self) -> None:
        self._pools: dict[tuple[int, Endpoint], _Pool] = {}

    async def __call__(
        self, request: dict[str, Any], api_key: str | None, timeout: float
    ) -> dict[str, Any]:
        endpoint = Endpoint.parse(str(request.get("api_base") or ""))
        body = request_body(_payload(request), request["messages"])
        headers = [
            f"POST {endpoint.path} HTTP/1.1",
            f"Host: {endpoint.host}:{endpoint.port}",
            "Content-Type: application/json",
            f"Content-Length: {len(body)}",
            f"X-Clinic-Env-Role: {request.get('role', '')}",
        ]
        if api_key:
            headers.append(f"Authorization: Bearer {api_key}")
        message = ("\r\n".join(headers) + "\r\n\r\n").encode("latin-1") + body
        status, payload = await self._exchange(endpoint, message)
        return _reply(status, payload)

    async def _exchange(
        self, endpoint: Endpoint, message: bytes, reuse: bool = True
    ) -> tuple[int, bytes]:
        pool = self._pools.setdefault((id(asyncio.get_running_loop()), endpoint), _Pool())
        reused = reuse and bool(pool.idle)
        reader, writer = pool.idle.pop() if reused else await _connect(endpoint)
        try:
            writer.write(message)
            await writer.drain()
            status, keep_alive, payload = await _read_response(reader)
        except (
            ConnectionError,
            asyncio.IncompleteReadError,
            asyncio.LimitOverrunError,
            OSError,
        ) as exc:
            writer.close()
            if reused:  # the server closed an idle connection: try once on a fresh one
                return await self._exchange(endpoint, message, reuse=False)
            raise RetryableCallError(f"connection failed: {type(exc).__name__}: {exc}") from None
        except BaseException:
            writer.close()  # cancelled (timeout) or broken mid-response: never reuse it
            raise
        if keep_alive:
            pool.idle.append((reader, writer))
        else:
            writer.close()
        return status, payload


async def _connect(endpoint: Endpoint) -> Connection:
    try:
        context = ssl.create_default_context() if endpoint.tls else None
        return await asyncio.open_connection(endpoint.host, endpoint.port, ssl=context)
    except OSError as exc:
        raise RetryableCallError(
            f"cannot connect to {endpoint.host}:{endpoint.port}: {exc}"
        ) from None


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bool, bytes]:
    """Status, whether the connection stays open, and the body (Content-Length or chunked)."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[1].isdigit():
        raise RetryableCallError(f"malformed status line: {lines[0][:80]!r}")
    status = int(parts[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name:
            headers[name.strip().lower()] = value.strip()
    keep_alive = headers.get("connection", "").lower() != "close" and parts[0] == "HTTP/1.1"
    if "content-length" in headers:
        body = await reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        body = await _read_chunked(reader)
    else:
        body = await reader.read()
        keep_alive = False
    return status, keep_alive, body


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    chunks = []
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0].strip(), 16)
        if size == 0:
            await reader.readuntil(b"\r\n")
            return b"".join(chunks)
        chunks.append(await reader.readexactly(size))
        await reader.readexactly(2)


def _payload(request: dict[str, Any]) -> dict[str, Any]:
    """The OpenAI request body but its messages: the model name loses litellm's prefix."""
    model = str(request["model"]).split("/", 1)[-1]
    payload: dict[str, Any] = {
        "model": model,
        "temperature": request["temperature"],
        "max_tokens": request["max_tokens"],
    }
    for name in ("seed", "stop", "tools"):
        if request.get(name) is not None:
            payload[name] = request[name]
    payload.update(request.get("extra_body") or {})
    return payload


def _reply(status: int, payload: bytes) -> dict[str, Any]:
    """The normalised reply, or the error a status or a broken body calls for."""
    if status >= 500 or status in _RETRY_STATUSES:
        raise RetryableCallError(f"HTTP {status}: {payload[:200].decode('utf-8', 'replace')}")
    if status >= 400:
        raise FatalCallError(f"HTTP {status}: {payload[:300].decode('utf-8', 'replace')}")
    try:
        data = json.loads(payload)
        message = data["choices"][0]["message"]
    except (ValueError, KeyError, IndexError, TypeError):
        raise RetryableCallError(f"malformed reply body: {payload[:120]!r}") from None
    calls = [
        {
            "id": call.get("id", ""),
            "name": call["function"]["name"],
            "arguments": call["function"].get("arguments") or "{}",
        }
        for call in message.get("tool_calls") or ()
    ]
    usage = data.get("usage") or {}
    return {
        "text": message.get("content") or "",
        "tool_calls": calls,
        "usage": {
            "prompt_tokens": usage.get("prompt_tokens", 0),
            "completion_tokens": usage.get("completion_tokens", 0),
        },
        "cost_usd": 0.0,
    }
