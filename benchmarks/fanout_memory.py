"""Memory and time of fanning a large grid out: a real run, then ``gather_limited`` alone.

Run: ``python benchmarks/fanout_memory.py [--jobs 200000] [--limit 64] [--resume-lines 2000]``.

1. A real experiment of about ``--jobs`` cells (every bundled starter case x enough seeds)
   through :func:`run_experiment`, with a runner that stops at its first job: the memory
   (RSS growth, and the peak's) and time from the call to that job, which cover planning the
   grid, checking the run folder and writing its manifest. The content (cases, personas,
   evaluators) is loaded before the clock by a one-cell run: it costs the same for any grid.
2. The same experiment resumed over ``--resume-lines`` finished records (copies of one real
   record, one per cell): the memory and time until the first job, which cover reading what
   is done.
3. ``gather_limited`` over trivial coroutines (one ``asyncio.sleep(0)`` each), the grid given
   as a list and as a generator: the memory the pool adds before the first job starts (RSS
   growth from just before the call, the grid itself already built), the time until then,
   and the time to finish every job.

The goal (issue 13): a 200,000-job grid costs at most 50 MB extra before any job runs.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from clinic_env.asyncutil import gather_limited
from clinic_env.datasets import load_cases
from clinic_env.runner.batch import Cell, Job
from clinic_env.runner.experiment import Experiment
from clinic_env.runner.runner import run_experiment
from clinic_env.runner.store import RESULTS, RunRecord, read_records


def status_mb(field: str) -> float:
    """A field of /proc/self/status (``VmRSS``, ``VmHWM``), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"{field} not found in /proc/self/status")


def rss_mb() -> float:
    """This process's resident memory now, in MB."""
    return status_mb("VmRSS")


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


def pool_alone(jobs: int, limit: int) -> None:
    grids: list[tuple[str, Iterable[tuple[str, int]]]] = [
        ("list", [cell(i) for i in range(jobs)]),
        ("generator", (cell(i) for i in range(jobs))),
    ]
    print(f"gather_limited alone: {jobs:,} trivial jobs, at most {limit} at once")
    for name, grid in grids:
        figures = asyncio.run(measure(grid, limit))
        print(
            f"{name:>11}: +{figures['extra_mb']:.1f} MB before the first job, "
            f"first job after {figures['to_first_s'] * 1000:.1f} ms, "
            f"all {figures['jobs']:,.0f} done in {figures['total_s']:.2f} s"
        )


class FirstJob:
    """A runner that looks at its first job and stops, noting memory and time then."""

    def __init__(self) -> None:
        self.mb = self.at = 0.0
        self.pending = 0

    def __call__(
        self,
        experiment: Experiment,
        jobs: Sequence[Job],
        client: Any,
        on_done: Callable[[Job, Any], None],
    ) -> None:
        next(iter(jobs))
        self.mb, self.at, self.pending = rss_mb(), time.perf_counter(), len(jobs)


def until_first_job(experiment: Experiment, folder: Path) -> tuple[float, float, float, int]:
    """(extra MB at the first job, peak extra MB, seconds to it, jobs pending) of a run."""
    gc.collect()
    before, peak_before, started = rss_mb(), status_mb("VmHWM"), time.perf_counter()
    first = FirstJob()
    run_experiment(experiment, folder, runner=first, progress=False)
    peak = status_mb("VmHWM")
    peak_extra = peak - before if peak > peak_before else first.mb - before
    return first.mb - before, max(peak_extra, first.mb - before), first.at - started, first.pending


def real_run(jobs: int, resume_lines: int) -> None:
    cases = load_cases("starter")
    seeds = -(-jobs // len(cases))
    spec = {"name": "fanout", "datasets": ["starter"], "roles": {"doctors": {"random": "random"}}}
    big = Experiment.model_validate({**spec, "seeds": list(range(seeds))})
    with tempfile.TemporaryDirectory(prefix="clinic-env-fanout-") as scratch:
        warm = Path(scratch) / "warm-up"
        small = Experiment.model_validate(
            {**spec, "datasets": [{"name": "starter", "cases": {"limit": 1}}]}
        )
        run_experiment(small, warm, progress=False)  # content loaded, one real record made
        cells = len(cases) * seeds
        print(f"\nrun_experiment: {len(cases)} bundled cases x {seeds:,} seeds = {cells:,} cells")
        extra, peak, seconds, pending = until_first_job(big, Path(scratch) / "fresh")
        print(
            f"      fresh: +{extra:.1f} MB at the first job (peak +{peak:.1f} MB; goal <= 50 MB), "
            f"first job after {seconds:.2f} s, {pending:,} pending"
        )
        if resume_lines:
            folder = Path(scratch) / "resumed"
            until_first_job(big, folder)  # the manifest of the big grid
            transcript = read_records(warm / RESULTS)[0].transcript
            lines = min(resume_lines, cells)
            with (folder / RESULTS).open("w", encoding="utf-8") as results:
                for index in range(lines):  # the grid's first cells: case by case, seeds inside
                    case, seed = cases[index // seeds].id, index % seeds
                    done = Cell(dataset="starter", case_id=case, doctor="random", seed=seed)
                    results.write(RunRecord(cell=done, transcript=transcript).model_dump_json())
                    results.write("\n")
            size = (folder / RESULTS).stat().st_size / 1e6
            extra, peak, seconds, pending = until_first_job(big, folder)
            print(
                f"    resumed: over {lines:,} records ({size:.0f} MB): "
                f"+{extra:.1f} MB at the first job (peak +{peak:.1f} MB), "
                f"first job after {seconds:.2f} s, {pending:,} pending"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=200_000)
    parser.add_argument("--limit", type=int, default=64)
    parser.add_argument("--resume-lines", type=int, default=2_000)
    args = parser.parse_args()
    real_run(args.jobs, args.resume_lines)  # first, so that its peak memory can be seen
    pool_alone(args.jobs, args.limit)


if __name__ == "__main__":
    main()
