"""The base every boundary model shares: frozen, and strict about unknown keys."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Frozen(BaseModel):
    """Immutable data with unknown keys rejected, so a typo in a content file is an error."""

    model_config = ConfigDict(frozen=True, extra="forbid")
