"""Memory and time of fanning a large grid out with ``gather_limited``.

Run: ``python benchmarks/fanout_memory.py [--jobs 200000] [--limit 64]``. Each job is a
trivial coroutine (one ``asyncio.sleep(0)``), so what is measured is the fan-out itself: the
memory ``gather_limited`` adds before the first job starts (RSS growth from just before the
call, the grid itself already built), the time until then, and the time to finish every job.
The grid is given twice: as a list (what the runner passes today) and as a generator. The
goal: at most 50 MB extra before any job runs.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import time
from collections.abc import Iterable
from pathlib import Path

from clinic_env.asyncutil import gather_limited


def rss_mb() -> float:
    """This process's resident memory now, in MB, from /proc."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("VmRSS not found in /proc/self/status")


def cell(i: int) -> tuple[str, int]:
    """A stand-in for one job of a grid: a cell id and a seed."""
    return (f"case-{i % 1000:04d}/persona-{i % 7}/seed-{i}", i)


async def measure(grid: Iterable[tuple[str, int]], limit: int) -> dict[str, float]:
    first: dict[str, float] = {}

    async def job(item: tuple[str, int]) -> int:
        if not first:
            first["mb"] = rss_mb()
            first["s"] = time.perf_counter()
        await asyncio.sleep(0)
        return item[1]

    gc.collect()
    before_mb, started = rss_mb(), time.perf_counter()
    results = await gather_limited(grid, job, limit=limit)
    finished = time.perf_counter()
    assert results[:3] == [0, 1, 2]
    return {
        "extra_mb": first["mb"] - before_mb,
        "to_first_s": first["s"] - started,
        "total_s": finished - started,
        "jobs": len(results),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=200_000)
    parser.add_argument("--limit", type=int, default=64)
    args = parser.parse_args()
    grids: list[tuple[str, Iterable[tuple[str, int]]]] = [
        ("list", [cell(i) for i in range(args.jobs)]),
        ("generator", (cell(i) for i in range(args.jobs))),
    ]
    print(f"{args.jobs:,} jobs, at most {args.limit} at once")
    for name, grid in grids:
        figures = asyncio.run(measure(grid, args.limit))
        print(
            f"{name:>9}: +{figures['extra_mb']:.1f} MB before the first job (goal <= 50 MB), "
            f"first job after {figures['to_first_s'] * 1000:.1f} ms, "
            f"all {figures['jobs']:,.0f} done in {figures['total_s']:.2f} s"
        )


if __name__ == "__main__":
    main()
