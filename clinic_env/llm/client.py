"""The one async model client: limits, retries, timeouts, cache and usage, over litellm.

Every model call of every role goes through :meth:`ModelClient.complete`. It limits calls in
flight per endpoint, retries what a server may get right next time (429, 5xx, timeouts,
dropped connections, malformed bodies) with exponential backoff and jitter, gives up with a
:class:`ModelCallError` that says what failed after how many attempts, and answers from the
reply cache when it can. litellm is imported on the first call that reaches a server, so
``import clinic_env`` stays fast and a replayed run never imports it at all.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import os
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from clinic_env.errors import UserError
from clinic_env.llm.cache import CacheMode, ReplyCache, request_key
from clinic_env.llm.config import ModelConfig
from clinic_env.llm.direct import DirectTransport
from clinic_env.llm.errors import FatalCallError, ModelCallError, RetryableCallError

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
    """Everything that decides the reply, and nothing secret: this is hashed for the cache."""
    request: dict[str, Any] = {
        "model": config.model,
        "api_base": config.api_base,
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
    calls = tuple(
        ToolCall(str(c.get("id", "")), str(c["name"]), str(c.get("arguments", "{}")))
        for c in reply.get("tool_calls") or ()
    )
    if not text.strip() and not calls:
        raise RetryableCallError("the model returned neither text nor a tool call")
    return text, calls


class ModelClient:
    """Shared by every role of every consultation in a process."""

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
        self._limits: dict[tuple[int, str], asyncio.Semaphore] = {}
        self._in_flight: dict[int, dict[str, asyncio.Future[Completion]]] = {}

    def _transport_for(self, config: ModelConfig) -> Transport:
        """The injected transport if any, else direct HTTP or litellm as the config says."""
        if self.transport is not None:
            return self.transport
        return self._direct if config.uses_direct_transport else litellm_transport

    def _limit(self, config: ModelConfig, server: str | None) -> asyncio.Semaphore:
        """One semaphore per server (or provider) and event loop (semaphores belong to a loop)."""
        key = (id(asyncio.get_running_loop()), server or config.endpoint)
        semaphore = self._limits.get(key)
        if semaphore is None:
            semaphore = self._limits[key] = asyncio.Semaphore(config.concurrency)
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
        request = build_request(
            config, messages, config.seed if config.seed is not None else seed, tools
        )
        key = request_key(request)
        if self.cache is None:
            return await self._call(config, request, key, role, affinity)
        recorded = self.cache.get(key)
        if recorded is not None:
            return _completion(recorded, key, cached=True, attempts=0)
        # With a cache, identical requests in flight share one call, so they get one reply:
        # what a deterministic model would give, and what a replay will give.
        flights = self._in_flight.setdefault(id(asyncio.get_running_loop()), {})
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
        against one set of replicas replays against any other, or none.
        """
        api_key = config.api_key()
        server = config.route(affinity)
        sent = {**request, "role": role, "api_base": server}
        transport = self._transport_for(config)
        last_error = "no attempt was made"
        for attempt in range(1, config.max_retries + 2):
            try:
                async with self._limit(config, server), asyncio.timeout(config.timeout_s):
                    reply = await transport(sent, api_key, config.timeout_s)
                parse_reply(reply)
            except FatalCallError as exc:
                raise ModelCallError(self._describe(config, role, attempt, exc, api_key)) from None
            except (RetryableCallError, TimeoutError) as exc:
                last_error = self._describe(config, role, attempt, exc, api_key)
            else:
                if self.cache is not None:
                    self.cache.put(key, request, reply)
                return _completion(reply, key, cached=False, attempts=attempt)
            if attempt <= config.max_retries:
                delay = min(config.backoff_max_s, config.backoff_s * 2 ** (attempt - 1))
                await asyncio.sleep(delay * (0.5 + self._jitter.random()))
        raise ModelCallError(last_error)

    @staticmethod
    def _describe(
        config: ModelConfig, role: str, attempt: int, error: BaseException, api_key: str | None
    ) -> str:
        """The error in one line, with the API key cut out should a server have echoed it."""
        detail = str(error) or type(error).__name__
        if api_key and len(api_key) >= 8:
            detail = detail.replace(api_key, "[key]")
        servers = config.api_base or ", ".join(config.replicas)
        where = f" at {servers}" if servers else ""
        return f"{role} model {config.model}{where}: attempt {attempt} failed: {detail}"


def _completion(reply: dict[str, Any], key: str, *, cached: bool, attempts: int) -> Completion:
    text, calls = parse_reply(reply)
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


_FATAL_NAMES = (
    "BadRequestError",
    "AuthenticationError",
    "PermissionDeniedError",
    "NotFoundError",
    "UnprocessableEntityError",
    "ContextWindowExceededError",
    "ContentPolicyViolationError",
    "UnsupportedParamsError",
)


async def litellm_transport(
    request: dict[str, Any], api_key: str | None, timeout: float
) -> dict[str, Any]:
    """Send a request with ``litellm.acompletion`` and normalise its reply."""
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    try:
        import litellm  # noqa: PLC0415 - seconds to import: only when a server is called
    except ImportError as exc:
        raise UserError('model roles need litellm: pip install "clinic-env[llm]"') from exc
    fatal = tuple(getattr(litellm.exceptions, name) for name in _FATAL_NAMES)
    arguments: dict[str, Any] = {
        "model": request["model"],
        "messages": request["messages"],
        "temperature": request["temperature"],
        "max_tokens": request["max_tokens"],
        "timeout": timeout,
        "num_retries": 0,
        "max_retries": 0,
        "extra_headers": {"X-Clinic-Env-Role": request.get("role", "")},
    }
    for name in ("api_base", "seed", "stop", "tools", "extra_body"):
        if request.get(name) is not None:
            arguments[name] = request[name]
    if api_key is not None:
        arguments["api_key"] = api_key
    try:
        response = await litellm.acompletion(**arguments)
    except fatal as exc:
        raise FatalCallError(f"{type(exc).__name__}: {exc}") from None
    except Exception as exc:  # noqa: BLE001 - anything else may pass on a retry
        raise RetryableCallError(f"{type(exc).__name__}: {exc}") from None
    return _normalise(response, litellm)


def _normalise(response: Any, litellm: Any) -> dict[str, Any]:
    choices = getattr(response, "choices", None) or []
    if not choices:
        raise RetryableCallError("the reply has no choices")
    message = choices[0].message
    calls = [
        {"id": call.id, "name": call.function.name, "arguments": call.function.arguments or "{}"}
        for call in (getattr(message, "tool_calls", None) or [])
    ]
    usage = getattr(response, "usage", None)
    try:
        cost = float(litellm.completion_cost(completion_response=response) or 0.0)
    except Exception:  # noqa: BLE001 - unknown (local) models have no price
        cost = 0.0
    return {
        "text": message.content or "",
        "tool_calls": calls,
        "usage": {
            "prompt_tokens": getattr(usage, "prompt_tokens", 0) or 0,
            "completion_tokens": getattr(usage, "completion_tokens", 0) or 0,
        },
        "cost_usd": cost,
    }


@functools.cache
def default_client() -> ModelClient:
    """The process-wide client. ``CLINIC_ENV_LLM_CACHE`` names a cache file and
    ``CLINIC_ENV_LLM_CACHE_MODE`` its mode (read_write by default when a file is named)."""
    path = os.environ.get("CLINIC_ENV_LLM_CACHE")
    if not path:
        return ModelClient()
    mode = os.environ.get("CLINIC_ENV_LLM_CACHE_MODE", CacheMode.READ_WRITE.value)
    try:
        return ModelClient(ReplyCache(path, CacheMode(mode)))
    except ValueError:
        modes = ", ".join(m.value for m in CacheMode)
        raise UserError(f"CLINIC_ENV_LLM_CACHE_MODE={mode!r} is not one of {modes}") from None
