"""Secrets out of every text the model path writes: errors, logs, cache rows, transcripts.

A server may echo the API key (whole, or a cut-off prefix of it) in an error body, and an
``api_base`` may carry ``user:password@``. Every error text passes through :func:`redact`
*before* it is cut to length, so no cut can leave a prefix of a key behind.
"""

from __future__ import annotations

from clinic_env.llm.config import LOCAL_PLACEHOLDER_KEY
from clinic_env.schema.base import strip_url_credentials

MASK = "[key]"
PREFIX_MIN = 6
"""A run of at least this many leading characters of a key is masked too: a server that cuts
the key it echoes must not leave a usable prefix in our logs."""


def mask_secret(text: str, secret: str | None) -> str:
    """``text`` with ``secret`` and any echoed prefix of it (``PREFIX_MIN`` characters or
    more) replaced by ``[key]``. Short keys are masked too; a key no one keeps secret (the
    placeholder sent to local servers) is left alone."""
    if not secret or secret == LOCAL_PLACEHOLDER_KEY:
        return text
    text = text.replace(secret, MASK)
    if len(secret) <= PREFIX_MIN:
        return text
    head = secret[:PREFIX_MIN]
    start = text.find(head)
    while start != -1:
        end = start + PREFIX_MIN
        while end - start < len(secret) and end < len(text) and text[end] == secret[end - start]:
            end += 1
        text = text[:start] + MASK + text[end:]
        start = text.find(head, start + len(MASK))
    return text


def redact(text: str, secret: str | None = None, *, limit: int | None = None) -> str:
    """``text`` without the key or URL credentials, then cut to ``limit`` characters."""
    text = strip_url_credentials(mask_secret(text, secret))
    if limit is not None and len(text) > limit:
        return text[:limit] + "..."
    return text
