"""Resources that belong to one event loop (connection pools), closed when that loop ends.

A model client outlives event loops: a script calls ``asyncio.run`` several times, the Gym
env runs on a private loop thread, tests make a loop each. Sockets and semaphores belong to
the loop they were made on, so each loop gets its own, made on first use there. The loop
closes them when it shuts down: each resource is guarded by an async generator, and
``asyncio.run`` (like any loop that calls ``shutdown_asyncgens``) closes those generators
before the loop closes, which runs the guard's ``finally`` on that loop. ``aclose`` closes
them earlier, explicitly.
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

ValueT = TypeVar("ValueT")


@dataclass(slots=True)
class _Entry(Generic[ValueT]):
    value: ValueT
    guard: AsyncGenerator[None, None]


class LoopBound(Generic[ValueT]):
    """One ``ValueT`` per running event loop, made by ``make`` and closed by ``close``."""

    def __init__(
        self,
        make: Callable[[], ValueT],
        close: Callable[[ValueT], Awaitable[None]] | None = None,
    ) -> None:
        self._make = make
        self._close = close
        self._entries: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Entry[ValueT]] = (
            weakref.WeakKeyDictionary()
        )
        self._last: tuple[weakref.ref[asyncio.AbstractEventLoop], ValueT] | None = None

    def get(self) -> ValueT:
        """The running loop's value, made on first use there."""
        loop = asyncio.get_running_loop()
        last = self._last
        if last is not None and last[0]() is loop:
            return last[1]  # the common case, a call per model call: no dictionary lookup
        entry = self._entries.get(loop)
        if entry is None:
            # A loop closed without shutting down its async generators never closed its
            # value; forget it (its sockets went with that loop).
            for closed in [other for other in self._entries if other.is_closed()]:
                del self._entries[closed]
            value = self._make()
            guard = self._guard(weakref.ref(loop), value)
            # Step the guard to its ``yield`` now: that registers it with the running loop
            # (asyncgen hooks), whose shutdown then closes it.
            with contextlib.suppress(StopIteration):
                guard.__anext__().send(None)
            entry = self._entries[loop] = _Entry(value, guard)
        self._last = (weakref.ref(loop), entry.value)
        return entry.value

    async def _guard(
        self, loop_ref: weakref.ref[asyncio.AbstractEventLoop], value: ValueT
    ) -> AsyncGenerator[None]:
        try:
            yield
        finally:
            self._last = None
            loop = loop_ref()
            entry = None if loop is None else self._entries.get(loop)
            if loop is not None and entry is not None and entry.value is value:
                del self._entries[loop]
            if self._close is not None:
                await self._close(value)

    async def aclose(self) -> None:
        """Close every value: this loop's now; those of other running loops on their loop."""
        current = asyncio.get_running_loop()
        for loop, entry in list(self._entries.items()):
            if loop is current:
                await entry.guard.aclose()
            elif not loop.is_closed():
                loop.call_soon_threadsafe(loop.create_task, entry.guard.aclose())
            else:
                del self._entries[loop]

    def __len__(self) -> int:
        """How many loops hold a value (for tests: closed loops hold none)."""
        return len(self._entries)
