"""Seeded random streams: one independent, reproducible stream per role of a consultation."""

from __future__ import annotations

import random


def agent_rng(seed: int, case_id: str, role: str) -> random.Random:
    """An independent, reproducible random stream per role of one consultation."""
    return random.Random(f"{seed}:{case_id}:{role}")
