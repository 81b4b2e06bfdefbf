"""Ray scaling: the same offline grid in one process, then on 1 and on 2 Ray workers.

Run: ``python benchmarks/ray_scaling.py [--seeds 1] [--workers 1 2]``. The grid is the
bundled starter experiment (every bundled case x four personas x the systematic and random
doctors, offline agents throughout: CPU-bound work, which is what more processes help
with). A local Ray instance is started once, before the clock; each Ray run's time includes
starting its worker processes, as a real run's does. Prints consultations/s for each run,
how many consultations each Ray worker took from the shared queue, and each Ray run's ratio
to the 1-worker run, and checks every run kept one record per cell.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections import Counter
from pathlib import Path

from clinic_env.runner.experiment import Experiment, default_experiment_path, load_experiment
from clinic_env.runner.ray_runner import RayRunner, init_ray
from clinic_env.runner.runner import Runner, run_experiment, run_in_process
from clinic_env.runner.store import RESULTS, read_records


def timed(experiment: Experiment, runner: Runner, folder: Path) -> float:
    """Consultations per second of one run of the grid into ``folder``."""
    started = time.perf_counter()
    outcome = run_experiment(experiment, folder, runner=runner, progress=False)
    elapsed = time.perf_counter() - started
    counts = Counter(record.cell.id for record in read_records(folder / RESULTS))
    if sorted(counts) != sorted(experiment.jobs().ids()) or max(counts.values()) > 1:
        raise SystemExit(f"{folder}: not exactly one record per cell")
    return outcome.ran / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()

    experiment = load_experiment(default_experiment_path())
    experiment = experiment.model_copy(update={"seeds": tuple(range(args.seeds))})
    print(f"grid: {len(experiment.jobs())} offline consultations; {os.cpu_count()} cores")
    init_ray(num_cpus=max([os.cpu_count() or 1, *args.workers]))
    with tempfile.TemporaryDirectory(prefix="clinic-env-scaling-") as scratch:
        alone = timed(experiment, run_in_process, Path(scratch) / "asyncio")
        print(f"asyncio, one process: {alone:,.1f} consultations/s")
        rates = {}
        for workers in args.workers:
            folder = Path(scratch) / f"ray-{workers}"
            runner = RayRunner(workers=workers)
            rates[workers] = timed(experiment, runner, folder)
            played = ", ".join(map(str, runner.played))
            print(f"Ray, {workers} worker(s): {rates[workers]:,.1f} consultations/s ({played})")
    if 1 in rates:
        for workers, rate in rates.items():
            if workers != 1:
                print(f"{workers} workers / 1 worker: {rate / rates[1]:.2f}x")


if __name__ == "__main__":
    main()
