"""How model calls fail: worth retrying, never worth retrying, or failed for good."""

from __future__ import annotations

from clinic_env.errors import AgentError


class ModelCallError(AgentError):
    """A model call failed for good: a fatal error, or every retry used up."""


class UnusableRecordError(ModelCallError):
    """Replay met a recorded reply it cannot use (corrupt, or not a reply): that one call
    fails, and with it its consultation, never the whole run."""


class RetryableCallError(Exception):
    """Raised by a transport for failures worth another attempt (429, 5xx, timeouts, bad bodies).

    ``retry_after`` is the wait the server asked for (a 429's ``Retry-After``), if any.
    """

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class FatalCallError(Exception):
    """Raised by a transport for failures no retry can fix (bad request, bad or missing key)."""
