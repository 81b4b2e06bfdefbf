"""Fault soak: a grid run against a stub server that fails often, counting what was kept.

Run: ``python benchmarks/fault_soak.py [--cases 25] [--seeds 20] [--workers N]``: 25 bundled
cases x 20 seeds, 500 consultations. The stub (in its own process) answers 10% of requests
with a 500, 5% with a 429, never answers 1% (the client's timeout ends them) and sends a
malformed body for 2%. Patient and doctor are model roles. The grid goes through the runner
into a run folder (``--workers N``: through the Ray runner, N workers), then the folder is
read back and the cells counted:

- completed: cells with a record of a finished consultation;
- failed: cells with a record of a failed one (a call that failed all its retries), which
  ``clinic-env eval --retry-failed`` runs again;
- lost: cells with no record at all; duplicated: cells with more than one.

It exits non-zero unless lost and duplicated are both 0.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from clinic_env.llm import ModelConfig
from clinic_env.runner.batch import Cell
from clinic_env.runner.experiment import Experiment
from clinic_env.runner.runner import Runner, run_experiment, run_in_process
from clinic_env.runner.store import RESULTS, read_records
from clinic_env.testing.stub_server import FaultRates, StubConfig, start_in_subprocess

FAULTS = FaultRates(error_500=0.10, rate_limit_429=0.05, hang=0.01, malformed=0.02)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=25, help="bundled cases (at most 41)")
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--concurrency", type=int, default=128)
    parser.add_argument("--latency", type=float, default=0.02, help="stub: seconds per reply")
    parser.add_argument("--timeout", type=float, default=2.0, help="per attempt; ends hangs")
    parser.add_argument("--retries", type=int, default=4)
    parser.add_argument("--workers", type=int, default=None, help="run through Ray, N workers")
    parser.add_argument("--seed", type=int, default=0, help="fixes the stub's fault draws")
    parser.add_argument("--out", type=Path, default=None, help="keep the run folder here")
    args = parser.parse_args()

    runner: Runner = run_in_process
    if args.workers is not None:
        from clinic_env.runner.ray_runner import RayRunner  # noqa: PLC0415 - optional extra

        runner = RayRunner(workers=args.workers)
    stub = StubConfig(latency_s=args.latency, slots=args.concurrency, faults=FAULTS, seed=args.seed)
    with (
        start_in_subprocess(stub) as server,
        tempfile.TemporaryDirectory(prefix="clinic-env-soak-") as scratch,
    ):
        model = ModelConfig(
            model="openai/stub",
            api_base=server.base_url,
            concurrency=args.concurrency,
            timeout_s=args.timeout,
            max_retries=args.retries,
            backoff_s=0.05,
            backoff_max_s=1.0,
        )
        experiment = Experiment.model_validate(
            {
                "name": "fault-soak",
                "datasets": [{"name": "starter", "cases": {"limit": args.cases}}],
                "seeds": list(range(args.seeds)),
                "roles": {"patient": model, "doctors": {"model": model}},
                "max_turns": 20,
                "concurrency": args.concurrency,
            }
        )
        folder = args.out or Path(scratch)
        started = time.perf_counter()
        run_experiment(experiment, folder, runner=runner, progress=False)
        elapsed = time.perf_counter() - started
        stats = server.stats
        records = read_records(folder / RESULTS)
        lines = (folder / RESULTS).read_text(encoding="utf-8").splitlines()

    grid = [job.id for job in experiment.jobs()]
    # counted on disk: reading keeps one record per cell, which would hide a duplicate
    per_cell = Counter(Cell.model_validate(json.loads(line)["cell"]).id for line in lines)
    completed = sum(not r.failed for r in records)
    failed = sum(r.failed for r in records)
    lost = sum(cell not in per_cell for cell in grid)
    duplicated = sum(count > 1 for count in per_cell.values())
    outcomes = ", ".join(f"{name} {count}" for name, count in sorted(stats.outcomes.items()))
    how = f"Ray, {args.workers} workers" if args.workers else "asyncio, one process"
    print(f"grid: {len(grid)} consultations ({how}), {elapsed:.1f} s")
    print(f"stub: {stats.requests} chat requests: {outcomes}")
    print(f"completed: {completed}  failed: {failed}  lost: {lost}  duplicated: {duplicated}")
    if failed:
        print("first failure:", next(r.transcript.error for r in records if r.failed))
    return 0 if lost == duplicated == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
