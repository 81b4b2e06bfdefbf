"""A ``clinic-env eval`` killed with SIGKILL part-way resumes to one record per grid cell."""

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from clinic_env.runner.experiment import load_experiment
from clinic_env.runner.store import RESULTS, read_records

EXPERIMENT = """\
name: kill-and-resume
datasets: [starter]
personas: [plain, anxious]
roles:
  doctors:
    random: random
seeds: [0, 1]
concurrency: 8
"""
KILL_AFTER_LINES = 5


def eval_command(experiment: Path, folder: Path) -> list[str]:
    return [
        sys.executable, "-m", "clinic_env.cli.main", "eval", str(experiment),
        "--out", str(folder), "--quiet", "--no-report",
    ]  # fmt: skip


def lines_in(path: Path) -> int:
    return path.read_bytes().count(b"\n") if path.exists() else 0


def test_sigkill_part_way_then_rerun_keeps_exactly_one_record_per_cell(tmp_path: Path):
    experiment = tmp_path / "experiment.yaml"
    experiment.write_text(EXPERIMENT)
    folder = tmp_path / "run"
    results = folder / RESULTS
    grid = [job.id for job in load_experiment(experiment).jobs()]

    running = subprocess.Popen(eval_command(experiment, folder), stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while lines_in(results) < KILL_AFTER_LINES and running.poll() is None:
        assert time.monotonic() < deadline, "the run wrote nothing in two minutes"
        time.sleep(0.01)
    os.kill(running.pid, signal.SIGKILL)
    assert running.wait() == -signal.SIGKILL, "the run ended before it could be killed"
    kept = lines_in(results)
    assert KILL_AFTER_LINES <= kept < len(grid), "killed part-way"

    rerun = subprocess.run(
        eval_command(experiment, folder), capture_output=True, text=True, check=False, timeout=300
    )
    assert rerun.returncode == 0, rerun.stderr
    assert f"{len(grid)} consultations in the grid: {kept} already done" in rerun.stdout

    per_cell = Counter(record.cell.id for record in read_records(results))
    assert sorted(per_cell) == sorted(grid)
    assert set(per_cell.values()) == {1}
