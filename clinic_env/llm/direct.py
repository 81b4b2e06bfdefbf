"""A lean transport for OpenAI-compatible servers (vLLM, llama.cpp, Ollama, stubs), on aiohttp.

litellm adapts one API to dozens of providers and pays milliseconds of CPU per call for it; a
local OpenAI-compatible server needs none of that, and a batch run wants thousands of calls
per second. This transport POSTs chat completions over aiohttp's pooled keep-alive
connections (measured against httpx on this project's stub: about 0.15 ms of CPU per call
against 2 ms). Each event loop gets its own session, closed with that loop or by ``aclose``.
Replies are decoded with lone surrogates replaced, and error texts lose the key and any URL
credentials before they are cut to length.

Per call it does only what differs between calls: the parsed URL and the headers of an
endpoint, role and key are built once and reused (aiohttp copies them); the body is
encoded once; the deadline is one ``asyncio.timeout`` rather than aiohttp's per-request
timer objects (the session has none); the reply is read as bytes and parsed once. What
remains is aiohttp's own: against the hand-written HTTP/1.1 client this replaced (about
0.05 ms per call), some 0.1 ms more per call, and about 45 more garbage-collected objects
per request in flight, which in a process holding a thousand consultations cost the
collector as much again (``benchmarks/llm_throughput.py --baseline``).
"""

from __future__ import annotations

import asyncio
import base64
import functools
import json
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from clinic_env.llm.config import LOCAL_PLACEHOLDER_KEY
from clinic_env.llm.encoding import request_body
from clinic_env.llm.errors import FatalCallError, RetryableCallError
from clinic_env.llm.loopbound import LoopBound
from clinic_env.llm.redact import redact
from clinic_env.schema.base import strip_url_credentials, valid_text

if TYPE_CHECKING:
    import aiohttp
    import yarl
    from multidict import CIMultiDict

_RETRY_STATUSES = frozenset({408, 409, 425, 429})
_AUTH_STATUSES = frozenset({401, 403})
_ERROR_TEXT = 200
"""Characters of a server's error body kept in an error message (after redaction)."""
_TARGETS = 256
"""URLs and headers (per endpoint, role and key) a transport keeps ready."""


@functools.lru_cache(maxsize=256)
def _endpoint(api_base: str) -> tuple[str, str | None]:
    """The chat completions URL without credentials, and a Basic authorization header for
    the ``user:password`` it carried, if any."""
    parts = urlsplit(api_base)
    try:
        valid = parts.scheme in ("http", "https") and bool(parts.hostname) and parts.port != 0
    except ValueError:  # a port that is not a number in range
        valid = False
    if not valid:
        raise FatalCallError(
            f"api_base must be an http(s) URL with a host and a valid port, "
            f"not {strip_url_credentials(api_base)!r}"
        )
    url = strip_url_credentials(api_base).rstrip("/") + "/chat/completions"
    if parts.username is None:
        return url, None
    pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode()
    return url, "Basic " + base64.b64encode(pair).decode("ascii")


def _session() -> aiohttp.ClientSession:
    import aiohttp  # noqa: PLC0415 - a tenth of a second to import: only when a server is called

    # No connection limit here: the client's per-endpoint semaphores are the limit (one
    # connection per call in flight, kept alive for the next). No session timeout either:
    # each call has its own deadline (``asyncio.timeout``), cheaper than aiohttp's timers.
    connector = aiohttp.TCPConnector(limit=0, limit_per_host=0)
    return aiohttp.ClientSession(
        connector=connector,
        cookie_jar=aiohttp.DummyCookieJar(),
        skip_auto_headers=("User-Agent",),
        timeout=aiohttp.ClientTimeout(total=None),
    )


async def _close_session(session: aiohttp.ClientSession) -> None:
    await session.close()


class DirectTransport:
    """POSTs chat completions; one aiohttp session per event loop, closed with that loop."""

    def __init__(self) -> None:
        self._sessions: LoopBound[aiohttp.ClientSession] = LoopBound(_session, _close_session)
        self._targets: dict[tuple[str, str, str | None], tuple[yarl.URL, CIMultiDict[str]]] = {}

    async def aclose(self) -> None:
        """Close every pooled connection now, rather than when each loop ends."""
        await self._sessions.aclose()

    def _target(
        self, api_base: str, role: str, api_key: str | None
    ) -> tuple[yarl.URL, CIMultiDict[str]]:
        """The parsed URL and the headers for this endpoint, role and key, built once (aiohttp
        copies them; they stay in this transport's memory, never in a log or an error)."""
        target = self._targets.get((api_base, role, api_key))
        if target is not None:
            return target
        import yarl  # noqa: PLC0415 - yarl and multidict come with aiohttp: imported on first use
        from multidict import CIMultiDict  # noqa: PLC0415

        url, basic = _endpoint(api_base)
        headers = {"Content-Type": "application/json", "X-Clinic-Env-Role": role}
        if basic is not None:
            if api_key and api_key != LOCAL_PLACEHOLDER_KEY:
                raise FatalCallError(
                    "api_base carries credentials and api_key_env names a key: give one of them"
                )
            headers["Authorization"] = basic
        elif api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        if len(self._targets) >= _TARGETS:
            self._targets.clear()
        target = self._targets[api_base, role, api_key] = (yarl.URL(url), CIMultiDict(headers))
        return target

    async def __call__(
        self, request: dict[str, Any], api_key: str | None, timeout: float
    ) -> dict[str, Any]:
        session = self._sessions.get()  # imports aiohttp on first use
        import aiohttp  # noqa: PLC0415

        api_base = str(request.get("api_base") or "")
        url, headers = self._target(api_base, str(request.get("role", "")), api_key)
        body = request_body(_payload(request), request["messages"])
        for fresh in (False, True):
            try:
                async with (
                    asyncio.timeout(timeout),
                    session.post(
                        url, data=body, headers=headers, allow_redirects=False
                    ) as response,
                ):
                    status, payload = response.status, await response.read()
                    retry_after = response.headers.get("Retry-After") if status >= 400 else None
                break
            except aiohttp.ServerDisconnectedError:
                # Most often a kept-alive connection the server had just closed: once more.
                if fresh:
                    raise RetryableCallError("the server closed the connection") from None
            except aiohttp.ClientConnectorError as exc:
                where = f"{exc.host}:{exc.port}"
                raise RetryableCallError(f"cannot connect to {where}: {exc.os_error}") from None
            except TimeoutError:
                raise RetryableCallError(f"no reply within {timeout:g} s") from None
            except (aiohttp.ClientError, OSError) as exc:
                detail = redact(f"{type(exc).__name__}: {exc}", api_key, limit=_ERROR_TEXT)
                raise RetryableCallError(f"connection failed: {detail}") from None
        return _reply(status, payload, api_key, retry_after)


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


def _seconds(header: str | None) -> float | None:
    """A ``Retry-After`` in seconds (the HTTP-date form is ignored)."""
    try:
        return max(0.0, float(header)) if header else None
    except ValueError:
        return None


def _reply(
    status: int, payload: bytes, api_key: str | None, retry_after: str | None = None
) -> dict[str, Any]:
    """The normalised reply, or the error a status or a broken body calls for."""
    if status >= 400:
        detail = redact(payload.decode("utf-8", "replace"), api_key, limit=_ERROR_TEXT)
        if status >= 500 or status in _RETRY_STATUSES:
            raise RetryableCallError(f"HTTP {status}: {detail}", retry_after=_seconds(retry_after))
        if status in _AUTH_STATUSES:
            raise FatalCallError(f"HTTP {status}: the server refused the credentials: {detail}")
        raise FatalCallError(f"HTTP {status}: {detail}")
    text = payload.decode("utf-8", "replace")
    try:
        data = json.loads(text)
        message = data["choices"][0]["message"]
        calls = [
            {
                "id": valid_text(str(call.get("id") or "")),
                "name": valid_text(str(call["function"]["name"])),
                "arguments": valid_text(str(call["function"].get("arguments") or "{}")),
            }
            for call in message.get("tool_calls") or ()
        ]
        content = message.get("content") or ""
        usage = data.get("usage") or {}
        prompt_tokens = int(usage.get("prompt_tokens") or 0)
        completion_tokens = int(usage.get("completion_tokens") or 0)
    except (ValueError, KeyError, IndexError, TypeError, AttributeError):
        detail = redact(text, api_key, limit=120)
        raise RetryableCallError(f"malformed reply body: {detail!r}") from None
    if not isinstance(content, str):
        raise RetryableCallError("malformed reply body: the message content is not text")
    return {
        "text": valid_text(content),
        "tool_calls": calls,
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens},
        "cost_usd": 0.0,
    }
