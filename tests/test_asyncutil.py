import asyncio
import random

import pytest

from clinic_env.asyncutil import gather_limited


def test_results_come_in_input_order_and_on_result_in_completion_order():
    delays = [0.02, 0.0, 0.01, 0.0, 0.015, 0.005]
    finished = []

    async def work(i):
        await asyncio.sleep(delays[i])
        return i * 10

    results = asyncio.run(gather_limited(range(6), work, limit=3, on_result=finished.append))
    assert results == [0, 10, 20, 30, 40, 50]
    assert sorted(finished) == results
    assert finished != results, "the slow first job finished after later ones"


def test_concurrency_never_exceeds_the_limit_and_reaches_it():
    running = 0
    peak = 0
    rng = random.Random(3)

    async def work(i):
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(rng.random() / 500)
        running -= 1
        return i

    assert asyncio.run(gather_limited(list(range(100)), work, limit=7)) == list(range(100))
    assert peak == 7


def test_a_generator_is_pulled_lazily_never_far_ahead_of_the_jobs():
    pulled = 0
    started = 0
    lead = []

    def grid():
        nonlocal pulled
        for i in range(1000):
            pulled += 1
            yield i

    async def work(i):
        nonlocal started
        started += 1
        lead.append(pulled - started)
        await asyncio.sleep(0)
        return i

    results = asyncio.run(gather_limited(grid(), work, limit=5))
    assert results == list(range(1000))
    assert max(lead) < 5, "never more items taken than jobs started plus the workers"


def test_the_first_error_cancels_the_rest_and_is_raised():
    started = []
    cancelled = []

    async def work(i):
        started.append(i)
        if i == 3:
            raise RuntimeError("job 3 failed")
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            cancelled.append(i)
            raise
        return i

    with pytest.raises(RuntimeError, match="job 3 failed"):
        asyncio.run(gather_limited(iter(range(1000)), work, limit=4))
    assert started == [0, 1, 2, 3]
    assert sorted(cancelled) == [0, 1, 2]


def test_empty_input_and_a_bad_limit():
    async def work(i):
        return i

    assert asyncio.run(gather_limited([], work, limit=8)) == []
    with pytest.raises(ValueError, match="at least 1"):
        asyncio.run(gather_limited([1], work, limit=0))
