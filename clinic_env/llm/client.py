"""The one async model client: limits, retries, timeouts, cache and usage, with a lifecycle.

Every model call of every role goes through :meth:`ModelClient.complete`. It limits calls in
flight per endpoint, retries what a server may get right next time (429, 5xx, timeouts,
dropped connections, malformed bodies) with exponential backoff and jitter (longer when a
429 asks for it), never retries what no retry can fix (a refused or missing key, a bad
request), gives up with a :class:`ModelCallError` that says what failed after how many
attempts (the key and URL credentials masked), and answers from the reply cache when it can.

Connection pools and semaphores belong to the event loop they were made on and are closed
when that loop ends (``asyncio.run`` returning); ``async with ModelClient() as client`` or
``await client.aclose()`` closes them, and the cache's connection, at a point of your choosing.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import os
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from clinic_env.errors import UserError
from clinic_env.llm.cache import CacheMode, ReplyCache, request_key
from clinic_env.llm.config import ModelConfig
from clinic_env.llm.direct import DirectTransport
from clinic_env.llm.errors import FatalCallError, ModelCallError, RetryableCallError
from clinic_env.llm.hosted import litellm_transport
from clinic_env.llm.loopbound import LoopBound
from clinic_env.llm.redact import redact
from clinic_env.schema.base import strip_url_credentials

Transport = Callable[[dict[str, Any], str | None, float], Awaitable[dict[str, Any]]]
"""Sends one request (and the key, and a timeout) and returns the normalised reply dict."""


@dataclass(frozen=True, slots=True)
class ToolCall:
    id: str
    name: str
    arguments: str


@dataclass(frozen=True, slots=True)
class Completion:
    """One model reply with what it cost; ``cached`` and ``attempts`` describe this run only."""

    text: str
    tool_calls: tuple[ToolCall, ...]
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    key: str
    cached: bool
    attempts: int


def build_request(
    config: ModelConfig,
    messages: list[dict[str, Any]],
    seed: int | None,
    tools: list[dict[str, Any]] | None,
) -> dict[str, Any]:
    """Everything that decides the reply, and nothing secret: this is hashed for the cache
    (and stored in it), so URL credentials are left out."""
    api_base = config.api_base
    request: dict[str, Any] = {
        "model": config.model,
        "api_base": api_base if api_base is None else strip_url_credentials(api_base),
        "messages": messages,
        "temperature": config.temperature,
        "max_tokens": config.max_tokens,
        "seed": seed,
    }
    if config.stop:
        request["stop"] = list(config.stop)
    if tools:
        request["tools"] = tools
    if config.extra_body:
        request["extra_body"] = config.extra_body
    return request


def parse_reply(reply: dict[str, Any]) -> tuple[str, tuple[ToolCall, ...]]:
    """Text and tool calls of a normalised reply; a reply with neither is malformed."""
    text = reply.get("text") or ""
    if not isinstance(text, str):
        raise RetryableCallError("the reply's text is not a string")
    calls = tuple(
        ToolCall(str(c.get("id", "")), str(c["name"]), str(c.get("arguments", "{}")))
        for c in reply.get("tool_calls") or ()
    )
    if not text.strip() and not calls:
        raise RetryableCallError("the model returned neither text nor a tool call")
    return text, calls


@dataclass
class _LoopState:
    """What belongs to one event loop: a semaphore per endpoint, the calls in flight."""

    limits: dict[str, asyncio.Semaphore] = field(default_factory=dict)
    flights: dict[str, asyncio.Future[Completion]] = field(default_factory=dict)


class ModelClient:
    """Shared by every role of every consultation in a process (or used as ``async with``)."""

    def __init__(
        self,
        cache: ReplyCache | None = None,
        transport: Transport | None = None,
        *,
        jitter: random.Random | None = None,
    ) -> None:
        self.cache = cache
        self.transport = transport
        self._direct = DirectTransport()
        self._jitter = jitter or random.Random()
        self._loops: LoopBound[_LoopState] = LoopBound(_LoopState)
        self._closed = False

    async def __aenter__(self) -> ModelClient:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.aclose()

    @property
    def closed(self) -> bool:
        return self._closed

    async def aclose(self) -> None:
        """Close pooled connections and the cache's connection; later calls are an error.

        An injected transport is the caller's to close.
        """
        self._closed = True
        await self._direct.aclose()
        await self._loops.aclose()
        if self.cache is not None:
            self.cache.close()

    def _transport_for(self, config: ModelConfig) -> Transport:
        """The injected transport if any, else direct HTTP or litellm as the config says."""
        if self.transport is not None:
            return self.transport
        return self._direct if config.uses_direct_transport else litellm_transport

    def _limit(self, config: ModelConfig, server: str | None) -> asyncio.Semaphore:
        """One semaphore per server (or provider) in this event loop."""
        limits = self._loops.get().limits
        key = server or config.endpoint
        semaphore = limits.get(key)
        if semaphore is None:
            semaphore = limits[key] = asyncio.Semaphore(config.concurrency)
        return semaphore

    async def complete(
        self,
        config: ModelConfig,
        messages: list[dict[str, Any]],
        *,
        role: str,
        seed: int | None = None,
        tools: list[dict[str, Any]] | None = None,
        affinity: str | None = None,
    ) -> Completion:
        """One reply for ``messages``, from the cache or the model.

        ``affinity`` names the conversation, so that with replicas it stays on one server.
        """
        if self._closed:
            raise RuntimeError("this ModelClient is closed")
        request = build_request(
            config, messages, config.seed if config.seed is not None else seed, tools
        )
        key = request_key(request)
        if self.cache is None:
            return await self._call(config, request, key, role, affinity)
        recorded = self.cache.get(key)
        if recorded is not None:
            try:
                return _completion(recorded, key, cached=True, attempts=0)
            except (RetryableCallError, KeyError, TypeError, ValueError, AttributeError) as exc:
                self.cache.reject(key, f"{type(exc).__name__}: {exc}")  # replay: fails here
        # With a cache, identical requests in flight share one call, so they get one reply:
        # what a deterministic model would give, and what a replay will give.
        flights = self._loops.get().flights
        flight = flights.get(key)
        if flight is not None:
            shared = await asyncio.shield(flight)
            return dataclasses.replace(shared, cached=True, attempts=0)
        flight = flights[key] = asyncio.ensure_future(
            self._call(config, request, key, role, affinity)
        )
        flight.add_done_callback(lambda _: flights.pop(key, None))
        return await asyncio.shield(flight)

    async def _call(
        self,
        config: ModelConfig,
        request: dict[str, Any],
        key: str,
        role: str,
        affinity: str | None,
    ) -> Completion:
        """Ask the model, retrying what may pass next time; store the reply in the cache.

        The server chosen for a conversation is not part of the cache key: a run recorded
        against one set of replicas replays against any other, or none. A missing key is a
        :class:`~clinic_env.errors.ConfigError` at once, never retried.
        """
        api_key = config.api_key()
        server = config.route(affinity)
        sent = {**request, "role": role, "api_base": server}
        transport = self._transport_for(config)
        last_error = "no attempt was made"
        for attempt in range(1, config.max_retries + 2):
            wait: float | None = None
            try:
                async with self._limit(config, server), asyncio.timeout(config.timeout_s):
                    reply = await transport(sent, api_key, config.timeout_s)
                text, calls = parse_reply(reply)
            except FatalCallError as exc:
                raise ModelCallError(_describe(config, role, attempt, exc, api_key)) from None
            except (RetryableCallError, TimeoutError) as exc:
                last_error = _describe(config, role, attempt, exc, api_key)
                wait = getattr(exc, "retry_after", None)
            else:
                if self.cache is not None:
                    self.cache.put(key, request, reply)
                return _completion(reply, key, cached=False, attempts=attempt, parsed=(text, calls))
            if attempt <= config.max_retries:
                delay = min(config.backoff_max_s, config.backoff_s * 2 ** (attempt - 1))
                delay *= 0.5 + self._jitter.random()
                if wait is not None:
                    delay = max(delay, min(wait, config.backoff_max_s))
                await asyncio.sleep(delay)
        raise ModelCallError(last_error)


def _describe(
    config: ModelConfig, role: str, attempt: int, error: BaseException, api_key: str | None
) -> str:
    """The error in one line, without the API key (or any prefix of it) or URL credentials,
    should a server have echoed them."""
    detail = str(error) or type(error).__name__
    servers = config.api_base or ", ".join(config.replicas)
    where = f" at {servers}" if servers else ""
    text = f"{role} model {config.model}{where}: attempt {attempt} failed: {detail}"
    return redact(text, api_key)


def _completion(
    reply: dict[str, Any],
    key: str,
    *,
    cached: bool,
    attempts: int,
    parsed: tuple[str, tuple[ToolCall, ...]] | None = None,
) -> Completion:
    """The reply as a :class:`Completion`; ``parsed`` is what :func:`parse_reply` gave, if
    it was called already."""
    text, calls = parse_reply(reply) if parsed is None else parsed
    usage = reply.get("usage") or {}
    return Completion(
        text=text,
        tool_calls=calls,
        prompt_tokens=int(usage.get("prompt_tokens") or 0),
        completion_tokens=int(usage.get("completion_tokens") or 0),
        cost_usd=float(reply.get("cost_usd") or 0.0),
        key=key,
        cached=cached,
        attempts=attempts,
    )


@functools.cache
def default_client() -> ModelClient:
    """The process-wide client. ``CLINIC_ENV_LLM_CACHE`` names a cache file and
    ``CLINIC_ENV_LLM_CACHE_MODE`` its mode (read_write by default when a file is named).

    It is never closed by the library: its pools close with each event loop that used them.
    """
    path = os.environ.get("CLINIC_ENV_LLM_CACHE")
    if not path:
        return ModelClient()
    mode = os.environ.get("CLINIC_ENV_LLM_CACHE_MODE", CacheMode.READ_WRITE.value)
    try:
        return ModelClient(ReplyCache(path, CacheMode(mode)))
    except ValueError:
        modes = ", ".join(m.value for m in CacheMode)
        raise UserError(f"CLINIC_ENV_LLM_CACHE_MODE={mode!r} is not one of {modes}") from None
