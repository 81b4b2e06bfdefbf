"""How model calls fail: worth retrying, never worth retrying, or failed for good."""

from __future__ import annotations

from clinic_env.errors import AgentError


class ModelCallError(AgentError):
    """A model call failed for good: a fatal error, or every retry used up."""


class RetryableCallError(Exception):
    """Raised by a transport for failures worth another attempt (429, 5xx, timeouts, bad bodies)."""


class FatalCallError(Exception):
    """Raised by a transport for failures no retry can fix (bad request, bad key)."""
