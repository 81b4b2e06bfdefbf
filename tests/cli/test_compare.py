"""``clinic-env compare``: two runs paired by cell, the difference with intervals and a plot."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

import clinic_env.runner
from clinic_env.cli.compare import differences, pair_runs, side
from clinic_env.cli.main import main
from clinic_env.runner.experiment import Experiment
from clinic_env.runner.report_frame import load_run
from clinic_env.runner.runner import run_experiment
from clinic_env.runner.store import RESULTS, RunRecord, read_records


def run(folder: Path, doctors: dict[str, str], cases: list[str], **more: object) -> Path:
    experiment = Experiment.model_validate(
        {
            "name": folder.name,
            "datasets": [{"name": "starter", "cases": {"ids": cases}}],
            "roles": {"doctors": doctors},
            "seeds": [0, 1],
            **more,
        }
    )
    run_experiment(experiment, folder, progress=False)
    return folder


CASES = ["resp-001", "derm-001", "cardio-001"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("runs")
    a = run(root / "a", {"systematic": "systematic"}, CASES)
    b = run(root / "b", {"random": "random"}, [*CASES, "gastro-001"])
    return a, b


def test_two_runs_compared_cell_by_cell(runs: tuple[Path, Path], tmp_path: Path, capsys):
    a, b = runs
    assert main(["compare", str(a), str(b), "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert "A: " in printed and "(doctor systematic)" in printed
    assert "| top-1 | all | 6 |" in printed and "| top-3 | all | 6 |" in printed
    assert "pp [" in printed and "p=" in printed
    assert "0 cell(s) only in A, 2 only in B" in printed
    assert 'roles.doctors.random: (not set) -> "random"' in printed
    assert (tmp_path / "comparison.md").read_text().startswith("# Comparison")
    assert (tmp_path / "comparison.png").read_bytes().startswith(b"\x89PNG")


def test_the_difference_is_paired_b_minus_a_with_a_newcombe_interval(runs: tuple[Path, Path]):
    a, b = (side(load_run(folder), None, flag) for folder, flag in zip(runs, "ab", strict=True))
    pairing = pair_runs(a, b)
    top1 = next(d for d in differences(pairing) if d.score == "top-1")
    scores = [
        [pairing.pairs[key][at].transcript.score.value("top1") for key in pairing.pairs]
        for at in (0, 1)
    ]
    assert top1.effect.control_mean == sum(scores[0]) / 6
    assert top1.effect.treated_mean == sum(scores[1]) / 6
    assert top1.effect.low < top1.effect.effect < top1.effect.high


def test_a_failed_side_leaves_its_pair_out_and_is_counted(runs: tuple[Path, Path], tmp_path):
    a, b = runs
    records = read_records(a / RESULTS)
    broken = records[0].transcript.model_copy(update={"outcome": "error", "error": "down"})
    records[0] = RunRecord(cell=records[0].cell, transcript=broken)
    copy = tmp_path / "a-broken"
    copy.mkdir()
    (copy / RESULTS).write_text("".join(r.model_dump_json() + "\n" for r in records))
    pairing = pair_runs(side(load_run(copy), None, "a"), side(load_run(b), None, "b"))
    assert (len(pairing.pairs), pairing.failed, pairing.only_b) == (5, 1, 2)


def test_one_run_of_two_doctors_is_narrowed_to_one_per_side(tmp_path: Path, capsys):
    both = run(
        tmp_path / "both",
        {"systematic": "systematic", "random": "random"},
        CASES[:2],
        personas=["plain", "anxious"],
    )
    assert main(["compare", str(both), str(both), "--no-plot"]) == 2
    assert "holds several doctors (systematic, random)" in capsys.readouterr().err
    arguments = ["compare", str(both), str(both), "--doctor-a", "systematic"]
    arguments += ["--doctor-b", "random", "--no-plot", "--out", str(tmp_path / "out")]
    assert main(arguments) == 0
    printed = capsys.readouterr().out
    assert "| top-1 | all | 8 |" in printed
    assert "| top-1 | anxious · none | 4 |" in printed and "| top-1 | plain · none | 4 |" in printed


def test_without_matplotlib_the_table_is_written_and_the_plot_is_a_one_line_error(
    runs: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
):
    monkeypatch.setitem(sys.modules, "clinic_env.runner.report_plots", None)  # as if absent
    monkeypatch.delattr(clinic_env.runner, "report_plots", raising=False)
    a, b = runs
    assert main(["compare", str(a), str(b), "--out", str(tmp_path)]) == 2
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0 and 'pip install "clinic-env[report]"' in error
    assert (tmp_path / "comparison.md").exists() and not (tmp_path / "comparison.png").exists()
