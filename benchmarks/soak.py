"""Soak: ``clinic-env eval`` killed at random points, raced by a second writer, fed poisoned
model replies; then the run folder is compared cell by cell with an undisturbed run.

Run: ``python benchmarks/soak.py [--cases 10] [--seeds 3] [--kills 6] [--seed 0]`` (about
two minutes on two cores). The patient is a model on an in-process stub server (0.1 s per
reply) whose reply is a function of the question, so every run gets the same replies, and
one reply in three holds a lone surrogate (``\\ud800``), the poison that used to stop a run
for good. Doctors are offline. The phases, each through the real command in a child process:

1. two writers: while one eval writes, a second eval and an ``--retry-failed`` are started
   (each must be refused); the first is then killed with SIGKILL;
2. kill -9: the eval is run again and killed after a random delay, again and again, then run
   to the end;
3. kill -9 during ``--retry-failed``: some records are marked failed, then the retry that
   rewrites the file is killed at random points, and run to the end.

It prints lost (cells of the grid with no record), duplicated (cells with more than one
line in ``results.jsonl``) and differing (cells whose transcript differs from the
undisturbed run's), and exits non-zero unless all three are 0.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from clinic_env.runner.batch import Cell
from clinic_env.runner.experiment import Experiment, load_experiment
from clinic_env.runner.runner import run_experiment
from clinic_env.runner.store import RESULTS, RunRecord, RunStore, read_records
from clinic_env.testing.stub_server import ReplyScript, StubConfig, StubModelServer

REPLIES = (
    "It started three days ago and it is getting worse.",
    "No, nothing like that. \ud800 Sorry, what was the question?",
    "It hurts most in the morning, and resting helps a little.",
)
"""The patient's answers; the second holds a lone surrogate, as a broken server might send."""


def reply_to(role: str | None, request: dict[str, Any]) -> str:
    """The same question always gets the same answer, whatever the order of requests."""
    question = json.dumps(request.get("messages", [])[-1:], sort_keys=True)
    return REPLIES[int(hashlib.sha256(question.encode()).hexdigest(), 16) % len(REPLIES)]


def write_experiment(path: Path, base_url: str, cases: int, seeds: int) -> Path:
    patient = {"model": "openai/stub", "api_base": base_url, "max_retries": 2, "timeout_s": 30}
    experiment = {
        "name": "soak",
        "datasets": [{"name": "starter", "cases": {"limit": cases}}],
        "personas": ["plain", "anxious"],
        "roles": {"patient": patient, "doctors": {"systematic": "systematic", "random": "random"}},
        "seeds": list(range(seeds)),
        "max_turns": 12,
        "concurrency": 8,
    }
    path.write_text(json.dumps(experiment))
    return path


def evaluate(experiment: Path, folder: Path, *extra: str) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "clinic_env.cli.main", "eval", str(experiment)]
    command += ["--out", str(folder), "--quiet", "--no-report", *extra]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def kill_at_random(
    experiment: Path, folder: Path, kills: int, rng: random.Random, *extra: str
) -> int:
    """Kill the command after a random delay ``kills`` times (fewer if it ends first)."""
    killed = 0
    for _ in range(kills):
        running = evaluate(experiment, folder, *extra)
        try:
            running.wait(timeout=rng.uniform(2.0, 7.0))  # imports take ~2 s: some die early
        except subprocess.TimeoutExpired:
            running.send_signal(signal.SIGKILL)
            running.wait()
            killed += 1
            continue
        if running.returncode != 0:
            raise SystemExit(f"eval failed: {running.stderr.read() if running.stderr else ''}")
        break
    return killed


def finish(experiment: Path, folder: Path, *extra: str) -> None:
    running = evaluate(experiment, folder, *extra)
    _, error = running.communicate()
    if running.returncode != 0:
        raise SystemExit(f"eval failed ({running.returncode}): {error}")


def race(experiment: Path, folder: Path, rng: random.Random) -> tuple[int, int]:
    """A writer, then a second eval and a --retry-failed while it writes; the writer is then
    killed. Returns (second writers refused, second writers tried)."""
    first = evaluate(experiment, folder)
    results = folder / RESULTS
    deadline = time.monotonic() + 60
    while first.poll() is None and time.monotonic() < deadline:
        if results.exists() and results.stat().st_size > 0:
            break  # the first is writing now
        time.sleep(0.05)
    refused = tries = 0
    for extra in ((), ("--retry-failed",)):
        if first.poll() is not None:
            break
        second = evaluate(experiment, folder, *extra)
        _, error = second.communicate()
        if first.poll() is not None:
            continue  # the first ended before the second tried: there was nothing to race
        tries += 1
        refused += second.returncode == 2 and "being written by another run" in error
    time.sleep(rng.uniform(0.0, 1.0))
    first.send_signal(signal.SIGKILL)
    first.wait()
    return refused, tries


def mark_failed(experiment: Experiment, folder: Path, count: int, rng: random.Random) -> None:
    """Turn some records into failures (under the folder's lock), for a retry to redo."""
    with RunStore(folder, experiment) as store:
        records = store.records()
        chosen = rng.sample(records, min(count, len(records)))
        store.forget(r.cell.id for r in chosen)
        for record in chosen:
            failed = record.transcript.model_copy(update={"outcome": "error", "error": "soak"})
            store.add(RunRecord(cell=record.cell, transcript=failed))


def lines_per_cell(folder: Path) -> Counter[str]:
    """Cells as written on disk, before any reader drops an extra record."""
    counts: Counter[str] = Counter()
    for line in (folder / RESULTS).read_text(encoding="utf-8").splitlines():
        if line.strip():
            counts[Cell.model_validate(json.loads(line)["cell"]).id] += 1
    return counts


def transcripts(folder: Path) -> dict[str, str]:
    return {r.cell.id: r.transcript.model_dump_json() for r in read_records(folder / RESULTS)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=10, help="bundled cases")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--kills", type=int, default=6, help="kill -9 rounds per phase")
    parser.add_argument("--seed", type=int, default=0, help="fixes the kill times")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    started = time.perf_counter()
    with (
        StubModelServer(StubConfig(latency_s=0.1), ReplyScript(responder=reply_to)) as server,
        tempfile.TemporaryDirectory(prefix="clinic-env-soak-") as scratch,
    ):
        path = write_experiment(
            Path(scratch) / "soak.yaml", server.base_url, args.cases, args.seeds
        )
        experiment = load_experiment(path)
        grid = [job.id for job in experiment.jobs()]
        reference = Path(scratch) / "reference"
        run_experiment(experiment, reference, progress=False)
        folder = Path(scratch) / "stressed"

        refused, tries = race(path, folder, rng)
        killed = 1 + kill_at_random(path, folder, args.kills, rng)
        finish(path, folder)
        mark_failed(experiment, folder, max(1, len(grid) // 5), rng)
        killed_retrying = kill_at_random(path, folder, args.kills, rng, "--retry-failed")
        finish(path, folder, "--retry-failed")

        on_disk = lines_per_cell(folder)
        expected, got = transcripts(reference), transcripts(folder)
        poisoned = sum("\ufffd" in text for text in got.values())
    lost = sum(cell not in on_disk for cell in grid)
    duplicated = sum(count > 1 for count in on_disk.values())
    differing = sum(expected.get(cell) != got.get(cell) for cell in grid)
    print(f"grid: {len(grid)} consultations; {time.perf_counter() - started:.0f} s in all")
    print(f"kill -9: {killed} during eval, {killed_retrying} during --retry-failed")
    print(f"second writers refused: {refused} of {tries}")
    print(f"transcripts holding a mended poisoned reply: {poisoned}")
    print(f"lost: {lost}  duplicated: {duplicated}  differing: {differing}")
    return 0 if lost == duplicated == differing == 0 and refused == tries > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
