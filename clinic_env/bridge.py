"""The one bridge from sync callers (the Gym env, the CLI) to the async engine.

Coroutines run on a private event loop in a daemon thread, so a sync call works the same in a
plain script and inside Jupyter's already-running loop, with no ``nest_asyncio``. A session
whose agents are all offline never waits on I/O; its coroutines are driven to completion
directly in the caller's thread, which is what makes offline stepping fast.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

ResultT = TypeVar("ResultT")
_EAGER_WAITED = (
    "a coroutine run eagerly tried to wait: it needs the event loop "
    "(an agent marked offline must not wait on I/O)"
)


class _LoopThread:
    """A lazily started event loop running forever in a daemon thread."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()

    def loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None or self._loop.is_closed():
                loop = asyncio.new_event_loop()
                thread = threading.Thread(
                    target=loop.run_forever, name="clinic-env-loop", daemon=True
                )
                thread.start()
                self._loop = loop
            return self._loop


_LOOP_THREAD = _LoopThread()


def run_sync(coroutine: Coroutine[Any, Any, ResultT], *, eager: bool = False) -> ResultT:
    """Run ``coroutine`` to completion from sync code and return its result.

    With ``eager=True`` the coroutine is stepped in the calling thread; it must not wait on
    anything (offline agents only). A coroutine that does wait is an error in the caller's
    promise, reported as such rather than hung.
    """
    if eager:
        try:
            coroutine.send(None)
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]
        except RuntimeError as exc:  # asyncio's "no running event loop", from an await
            raise RuntimeError(_EAGER_WAITED) from exc
        coroutine.close()
        raise RuntimeError(_EAGER_WAITED)
    future = asyncio.run_coroutine_threadsafe(coroutine, _LOOP_THREAD.loop())
    return future.result()
