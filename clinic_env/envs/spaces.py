"""A Gymnasium space for free clinical text.

``gymnasium.spaces.Text`` defaults to an alphanumeric charset, so "37.8 °C, BP 120/80" would
not be a member. This space accepts any string up to a length; its samples are short random
phrases (enough for ``check_env`` and random-action smoke tests).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces

_SAMPLE_WORDS = (
    "when",
    "did",
    "it",
    "start",
    "pain",
    "fever",
    "how",
    "long",
    "any",
    "cough",
    "medications",
    "family",
    "history",
    "REQUEST TEST: complete blood count",
    "REQUEST EXAM: abdomen",
)


class FreeText(spaces.Space[str]):
    """Any ``str`` of at most ``max_length`` characters."""

    def __init__(
        self, max_length: int = 8000, seed: int | np.random.Generator | None = None
    ) -> None:
        self.max_length = max_length
        super().__init__(shape=None, dtype=None, seed=seed)

    @property
    def is_np_flattenable(self) -> bool:
        return False

    def contains(self, x: Any) -> bool:
        return isinstance(x, str) and len(x) <= self.max_length

    def sample(self, mask: Any = None, probability: Any = None) -> str:
        count = int(self.np_random.integers(1, 6))
        picks = self.np_random.choice(len(_SAMPLE_WORDS), size=count)
        return " ".join(_SAMPLE_WORDS[i] for i in picks)[: self.max_length]

    def __repr__(self) -> str:
        return f"FreeText(max_length={self.max_length})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, FreeText) and other.max_length == self.max_length

    def __hash__(self) -> int:
        return hash(("FreeText", self.max_length))
