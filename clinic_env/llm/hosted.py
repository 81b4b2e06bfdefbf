"""The transport for hosted providers: ``litellm.acompletion``, imported on the first call.

litellm takes seconds to import, so ``import clinic_env`` never imports it and a replayed run
never does at all. A key that is missing is found before litellm is called, and a failure
that says credentials are missing is never retried (litellm reports OpenAI's as a 500).
"""

from __future__ import annotations

import os
import re
from typing import Any

from clinic_env.errors import UserError
from clinic_env.llm.config import PROVIDER_KEYS
from clinic_env.llm.errors import FatalCallError, RetryableCallError
from clinic_env.schema.base import valid_text

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
_MISSING_KEY = re.compile(
    r"missing (credentials|api[ _-]?key)|no api[ _-]?key"
    r"|api[ _-]?key\W.{0,40}(must be set|not set)",
    re.IGNORECASE,
)


def missing_key(model: str, api_key: str | None) -> str | None:
    """The variable a hosted provider's key is read from, when it is needed and unset."""
    variable = PROVIDER_KEYS.get(model.split("/", 1)[0])
    if api_key is None and variable and not os.environ.get(variable):
        return variable
    return None


async def litellm_transport(
    request: dict[str, Any], api_key: str | None, timeout: float
) -> dict[str, Any]:
    """Send a request with ``litellm.acompletion`` and normalise its reply."""
    variable = None if request.get("api_base") else missing_key(request["model"], api_key)
    if variable is not None:
        raise FatalCallError(f"no API key: set {variable}, or name another variable in api_key_env")
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    try:
        import litellm  # noqa: PLC0415 - seconds to import: only when a server is called
    except ImportError as exc:
        raise UserError('model roles need litellm: pip install "clinic-env[llm]"') from exc
    litellm.suppress_debug_info = True  # its hints go to stdout, beside our one-line errors
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
    except Exception as exc:  # noqa: BLE001 - sorted into fatal and retryable below
        raise call_error(exc, fatal) from None
    return _normalise(response, litellm)


def call_error(
    error: Exception, fatal: tuple[type[Exception], ...]
) -> FatalCallError | RetryableCallError:
    """A litellm failure as fatal (bad request, refused or missing credentials) or worth a
    retry (anything else: rate limits, server errors, timeouts, dropped connections)."""
    text = f"{type(error).__name__}: {error}"
    if isinstance(error, fatal) or _MISSING_KEY.search(text):
        return FatalCallError(text)
    return RetryableCallError(text)


def _normalise(response: Any, litellm: Any) -> dict[str, Any]:
    choices = getattr(response, "choices", None) or []
    if not choices:
        raise RetryableCallError("the reply has no choices")
    message = choices[0].message
    calls = [
        {
            "id": valid_text(call.id or ""),
            "name": valid_text(call.function.name),
            "arguments": valid_text(call.function.arguments or "{}"),
        }
        for call in (getattr(message, "tool_calls", None) or [])
    ]
    usage = getattr(response, "usage", None)
    try:
        cost = float(litellm.completion_cost(completion_response=response) or 0.0)
    except Exception:  # noqa: BLE001 - unknown (local) models have no price
        cost = 0.0
    return {
        "text": valid_text(message.content or ""),
        "tool_calls": calls,
        "usage": {
            "prompt_tokens": getattr(usage, "prompt_tokens", 0) or 0,
            "completion_tokens": getattr(usage, "completion_tokens", 0) or 0,
        },
        "cost_usd": cost,
    }
