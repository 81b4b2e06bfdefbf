"""The one helper for running many coroutines with a named concurrency limit."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Sized
from typing import TypeVar

ItemT = TypeVar("ItemT")
ResultT = TypeVar("ResultT")


async def gather_limited(
    items: Iterable[ItemT],
    work: Callable[[ItemT], Awaitable[ResultT]],
    *,
    limit: int,
    on_result: Callable[[ResultT], None] | None = None,
) -> list[ResultT]:
    """Run ``work`` on every item with at most ``limit`` in flight; results in input order.

    ``limit`` workers pull items from one iterator, so a grid of any size (a generator
    included) costs ``limit`` tasks before any job runs, not one per item. ``on_result`` is
    called as each one finishes (in completion order), which is where a caller appends it to
    disk so that nothing finished is lost if the run stops. The first error stops the pull,
    cancels the jobs still running and is raised.
    """
    if limit < 1:
        raise ValueError(f"the concurrency limit must be at least 1, got {limit}")
    numbered = enumerate(items)  # shared by the workers: each takes the next item
    results: dict[int, ResultT] = {}

    async def worker() -> None:
        for index, item in numbered:
            result = await work(item)
            if on_result is not None:
                on_result(result)
            results[index] = result

    count = min(limit, len(items)) if isinstance(items, Sized) else limit
    workers = [asyncio.ensure_future(worker()) for _ in range(count)]
    try:
        await asyncio.gather(*workers)
    except BaseException:
        for task in workers:
            task.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        raise
    return [results[index] for index in range(len(results))]
