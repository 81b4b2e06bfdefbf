"""The one helper for running many coroutines with a named concurrency limit."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
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

    ``on_result`` is called as each one finishes (in completion order), which is where a
    caller appends it to disk so that nothing finished is lost if the run stops.
    """
    if limit < 1:
        raise ValueError(f"the concurrency limit must be at least 1, got {limit}")
    semaphore = asyncio.Semaphore(limit)

    async def guarded(item: ItemT) -> ResultT:
        async with semaphore:
            result = await work(item)
        if on_result is not None:
            on_result(result)
        return result

    return list(await asyncio.gather(*(guarded(item) for item in items)))
