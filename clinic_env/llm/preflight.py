"""Checks a model config can work before any consultation starts.

A missing API key, a server URL that is not http(s), a port out of range, a replica listed
twice or a server that is not listening would otherwise surface on the first model call of
every consultation, after its retries, as a failed episode. Faces call :func:`check_model`
when an env or a run is built, so the user hears it at once, in one line. No message here
shows a URL's credentials: servers are named by host and port.
"""

from __future__ import annotations

import os
import socket
from urllib.parse import urlsplit

from clinic_env.errors import ConfigError
from clinic_env.llm.cache import CacheMode
from clinic_env.llm.client import ModelClient
from clinic_env.llm.config import PROVIDER_KEYS, ModelConfig
from clinic_env.schema.base import strip_url_credentials

__all__ = ["CONNECT_TIMEOUT_S", "PROVIDER_KEYS", "check_model", "needs_servers", "server_address"]

CONNECT_TIMEOUT_S = 2.0


def server_address(url: str, role: str, field: str = "api_base") -> tuple[str, int]:
    """Host and port of a server URL; one that is not http(s) with a host, or whose port is
    not a number from 1 to 65535, is an error naming the role and ``field`` (never the URL,
    which may carry credentials)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{role}: {field} is not an http(s) URL with a host")
    try:
        port = parts.port
    except ValueError:
        port = 0
    if port == 0:
        raise ConfigError(f"{role}: {field} has an invalid port (1 to 65535)")
    return parts.hostname, port or (443 if parts.scheme == "https" else 80)


def _servers(config: ModelConfig, role: str) -> list[tuple[str, int]]:
    """Every server's address, each URL checked; a replica listed twice is an error."""
    named = [(f"replicas[{i}]", url) for i, url in enumerate(config.replicas)]
    if config.api_base:
        named.insert(0, ("api_base", config.api_base))
    addresses = [server_address(url, role, field) for field, url in named]
    seen: set[str] = set()
    for url in config.replicas:
        same = strip_url_credentials(url).rstrip("/")
        if same in seen:
            host, port = server_address(url, role)
            raise ConfigError(f"{role}: replica {host}:{port} is listed twice; list each once")
        seen.add(same)
    return list(dict.fromkeys(addresses))


def check_model(config: ModelConfig, role: str, *, reachable: bool = True) -> None:
    """Raise a :class:`ConfigError` naming the role if its key is missing, a server URL or
    port is invalid, a replica is repeated or, when ``reachable``, a server does not accept
    a connection (replayed runs pass False)."""
    if config.api_key_env and not os.environ.get(config.api_key_env):
        raise ConfigError(
            f"{role}: the environment variable {config.api_key_env} (api_key_env) is not set"
        )
    servers = _servers(config, role)
    if not servers:
        provider = config.model.split("/", 1)[0]
        variable = PROVIDER_KEYS.get(provider)
        if not config.api_key_env and variable and not os.environ.get(variable):
            raise ConfigError(
                f"{role}: model {config.model!r} needs an API key: set {variable}, or name "
                "another variable with api_key_env"
            )
        return
    if not reachable:
        return
    for host, port in servers:
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
