"""Checks a model config can work before any consultation starts.

A missing API key or a server that is not listening would otherwise surface on the first
model call of every consultation, after its retries, as a failed episode. Faces call
:func:`check_model` when an env or a run is built, so the user hears it at once, in one line.
"""

from __future__ import annotations

import os
import socket
from urllib.parse import urlsplit

from clinic_env.errors import ConfigError
from clinic_env.llm.cache import CacheMode
from clinic_env.llm.client import ModelClient
from clinic_env.llm.config import ModelConfig

CONNECT_TIMEOUT_S = 2.0
PROVIDER_KEYS = {
    "openai": "OPENAI_API_KEY",
    "anthropic": "ANTHROPIC_API_KEY",
    "gemini": "GEMINI_API_KEY",
    "mistral": "MISTRAL_API_KEY",
    "groq": "GROQ_API_KEY",
    "together_ai": "TOGETHERAI_API_KEY",
    "deepseek": "DEEPSEEK_API_KEY",
    "openrouter": "OPENROUTER_API_KEY",
}
"""The variable litellm reads for a hosted provider's key when no ``api_key_env`` is set."""


def server_address(url: str, role: str) -> tuple[str, int]:
    """Host and port of an ``api_base``; a URL that is not http(s) with a host is an error."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{role}: api_base is not an http(s) URL with a host")
    try:
        port = parts.port
    except ValueError:
        raise ConfigError(f"{role}: api_base has an invalid port") from None
    return parts.hostname, port or (443 if parts.scheme == "https" else 80)


def check_model(config: ModelConfig, role: str, *, reachable: bool = True) -> None:
    """Raise a :class:`ConfigError` naming the role if its key is missing or, when
    ``reachable``, its server does not accept a connection (replayed runs pass False)."""
    if config.api_key_env and not os.environ.get(config.api_key_env):
        raise ConfigError(
            f"{role}: the environment variable {config.api_key_env} (api_key_env) is not set"
        )
    servers = (config.api_base, *config.replicas) if config.api_base else config.replicas
    if not servers:
        provider = config.model.split("/", 1)[0]
        variable = PROVIDER_KEYS.get(provider)
        if not config.api_key_env and variable and not os.environ.get(variable):
            raise ConfigError(
                f"{role}: model {config.model!r} needs an API key: set {variable}, or name "
                "another variable with api_key_env"
            )
        return
    for url in servers:
        host, port = server_address(url, role)
        if not reachable:
            continue
        try:
            socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_S).close()
        except OSError as exc:
            # host and port only: a URL may carry credentials
            raise ConfigError(f"{role}: cannot reach the server at {host}:{port} ({exc})") from None


def needs_servers(client: ModelClient) -> bool:
    """Whether calls will reach servers: a client replaying a recorded run needs none."""
    return client.transport is None and not (
        client.cache is not None and client.cache.mode is CacheMode.REPLAY
    )
