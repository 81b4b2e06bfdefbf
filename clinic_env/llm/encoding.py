"""JSON for model requests, each message encoded once.

Conversations are append-only, so every call re-sends the same system prompt and history.
Encoding a message once and reusing its JSON for the cache key and the request body keeps
the cost of a call from growing with the length of the conversation. Text that holds a lone
surrogate (a policy may write one) is made valid UTF-8 when encoded, never an error.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Sequence
from typing import Any

from clinic_env.schema.base import valid_text

# Built once (``json.dumps`` with options builds an encoder on every call); their output is
# byte for byte that of ``json.dumps`` with the same options, so cache keys are unchanged.
_COMPACT = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
_SORTED = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=True)


@functools.lru_cache(maxsize=1 << 16)
def _plain_message_json(role: str, content: str) -> str:
    return _COMPACT.encode({"role": role, "content": content})


def message_json(message: dict[str, Any]) -> str:
    """One message as compact JSON; plain text messages are remembered by value."""
    content = message.get("content")
    if len(message) == 2 and isinstance(content, str) and isinstance(message.get("role"), str):
        return _plain_message_json(message["role"], content)
    return _SORTED.encode(message)


def messages_json(messages: Sequence[dict[str, Any]]) -> str:
    """A JSON array of messages, built from the remembered encodings."""
    return "[" + ",".join(map(message_json, messages)) + "]"


def utf8(text: str) -> bytes:
    """``text`` as UTF-8, lone surrogates replaced (only then is the text copied)."""
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return valid_text(text).encode("utf-8")


def request_key(request: dict[str, Any]) -> str:
    """A stable hash of everything that decides a reply (the messages included)."""
    settings = {name: value for name, value in request.items() if name != "messages"}
    digest = hashlib.sha256(utf8(_SORTED.encode(settings)))
    digest.update(utf8(messages_json(request.get("messages", ()))))
    return digest.hexdigest()


def request_body(payload: dict[str, Any], messages: Sequence[dict[str, Any]]) -> bytes:
    """The HTTP body: ``payload`` with ``messages`` spliced in from their encodings."""
    head = _COMPACT.encode(payload)
    return utf8(head[:-1] + ',"messages":' + messages_json(messages) + "}")
