"""Results kept per object, found by the object's identity.

Content objects (a case's fact and test tuples, phrase sets) are immutable and passed again on
every episode; hashing their values to find what was built from them cost more than the
lookup saved. A kept result holds its object, so the identity it is found by cannot be reused
by another object while the result is kept.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

Key = TypeVar("Key")
Value = TypeVar("Value")


class IdentityCache(Generic[Key, Value]):
    """``build(key)`` once per key object, at most ``size`` kept (all dropped when full).

    Example:
        >>> index_of = IdentityCache(build_index, 4096)
        >>> index_of(view.facts) is index_of(view.facts)
        True
    """

    def __init__(self, build: Callable[[Key], Value], size: int) -> None:
        self.build = build
        self.size = size
        self._kept: dict[int, tuple[Key, Value]] = {}

    def __call__(self, key: Key) -> Value:
        kept = self._kept.get(id(key))
        if kept is not None and kept[0] is key:
            return kept[1]
        value = self.build(key)
        if len(self._kept) >= self.size:
            self._kept.clear()
        self._kept[id(key)] = (key, value)
        return value
