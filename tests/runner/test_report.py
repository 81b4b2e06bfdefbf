"""The run report: its numbers, figures, paired effects, failures, exports, and a real run."""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import re
import sys
from pathlib import Path

import pytest

import clinic_env.runner
from clinic_env.cli import report as report_command
from clinic_env.datasets import find_case
from clinic_env.errors import UserError
from clinic_env.runner.batch import Cell
from clinic_env.runner.experiment import CaseFilter, DatasetEntry, Experiment, Roles
from clinic_env.runner.report import write_report
from clinic_env.runner.report_frame import load_run, played_records, results_frame
from clinic_env.runner.report_plots import pareto_front
from clinic_env.runner.runner import run_experiment
from clinic_env.runner.store import MANIFEST, RESULTS, RunRecord, TranscriptWriter
from clinic_env.schema.action import Action, ActionKind
from clinic_env.schema.transcript import Transcript, Turn
from clinic_env.session import create_doctor, create_session, run_consultation
from tests.helpers.transcripts import score_of

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
CASES = 20
CONTROL_RIGHT = 16
"""Control consultations get cases 0-15 right (80%); biased ones only cases 0-7 (40%)."""
BIASED_RIGHT = 8
FAILED_CASE = 19
"""The control consultation of this case (persona plain) fails; it would have been wrong."""


def transcript(
    cell: Cell,
    scores: dict[str, float | None],
    *,
    outcome: str = "diagnosed",
    turns: int = 5,
    error: str | None = None,
    validity: str | None = None,
) -> Transcript:
    asked = Action(kind=ActionKind.ASK, text="Where does it hurt?")
    return Transcript(
        id=cell.id,
        case_id=cell.case_id,
        dataset=cell.dataset,
        seed=cell.seed,
        persona=cell.persona,
        biases=cell.biases,
        agents={"doctor": cell.doctor},
        max_turns=20,
        opening_observation="A patient comes in.",
        turns=tuple(
            Turn(
                index=i,
                doctor_message="Where does it hurt?",
                action=asked,
                responder="patient",
                observation="Here.",
            )
            for i in range(1, turns + 1)
        ),
        outcome=outcome,
        error=error,
        validity=validity,
        score=score_of(scores),
    )


def scores(right: bool, *, cost: float = 100.0) -> dict[str, float | None]:
    return {
        "diagnosed": 1.0,
        "top1": float(right),
        "top3": float(right),
        "top5": 1.0,
        "coverage": 0.5,
        "turns": 5.0,
        "tests_ordered": 1.0,
        "test_cost_usd": cost,
    }


def synthetic_records(*, extras: bool = False) -> list[RunRecord]:
    """Doctor ``sys``, personas plain and anxious, the control and ``confirmation``.

    The control consultation of (plain, case 19) failed (with a stray top1 of 0 that must not
    count); (anxious, control, case 0) has a failed top-3 evaluator and no coverage score.
    ``extras`` adds validity verdicts and inquiry-type counts.
    """
    records = []
    for persona in ("plain", "anxious"):
        for biases in ((), ("confirmation",)):
            for i in range(CASES):
                cell = Cell(
                    dataset="synth",
                    case_id=f"c{i:02d}",
                    persona=persona,
                    biases=biases,
                    doctor="sys",
                )
                right = i < (BIASED_RIGHT if biases else CONTROL_RIGHT)
                values = scores(right, cost=100.0 if biases else 50.0)
                kwargs = {}
                if extras:
                    values |= {"inquiry_history": 2.0, "inquiry_chief_complaint": 1.0}
                    kwargs["validity"] = "simulator_fault" if i < 2 else "valid"
                if persona == "plain" and not biases and i == FAILED_CASE:
                    record = transcript(
                        cell,
                        {"top1": 0.0},
                        outcome="error",
                        error="AgentError: the patient model timed out",
                        **kwargs,
                    )
                else:
                    if persona == "anxious" and not biases and i == 0:
                        values["top3"] = None
                        del values["coverage"]
                    record = transcript(cell, values, turns=3 + i % 5, **kwargs)
                records.append(RunRecord(cell=cell, transcript=record))
    return records


def write_run(folder: Path, records: list[RunRecord]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    experiment = {
        "name": "synthetic",
        "description": "A hand-made grid with a known bias effect.",
        "personas": ["plain", "anxious"],
        "bias_sets": [[], ["confirmation"]],
        "roles": {"doctors": {"sys": "systematic"}},
        "max_turns": 10,
    }
    manifest = {"experiment": experiment, "config_hash": "abc", "created": "now", "versions": {}}
    (folder / MANIFEST).write_text(json.dumps(manifest))
    (folder / RESULTS).write_text("".join(r.model_dump_json() + "\n" for r in records))
    return folder


def table_row(markdown: str, *cells: str) -> list[str]:
    prefix = "| " + " | ".join(cells) + " |"
    rows = [line for line in markdown.splitlines() if line.startswith(prefix)]
    assert len(rows) == 1, f"no single row {prefix!r} in\n{markdown}"
    return [cell.strip() for cell in rows[0].strip("|").split("|")]


def percent(cell: str) -> float:
    return float(cell.split("%", maxsplit=1)[0]) / 100


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    folder = write_run(tmp_path_factory.mktemp("synthetic"), synthetic_records())
    report = write_report(folder)
    return folder, report.path.read_text()


def test_the_table_counts_failures_and_leaves_them_out_of_every_rate(synthetic):
    _, markdown = synthetic
    row = table_row(markdown, "plain", "none")
    assert row[2:5] == ["20", "1", "0"]
    assert percent(row[5]) == pytest.approx(CONTROL_RIGHT / (CASES - 1), abs=5e-4)
    low, high = map(float, re.findall(r"\[([\d.]+)–([\d.]+)\]", row[5])[0])
    assert low / 100 < CONTROL_RIGHT / (CASES - 1) < high / 100
    biased = table_row(markdown, "plain", "confirmation")
    assert biased[2:5] == ["20", "0", "0"]
    assert percent(biased[5]) == pytest.approx(BIASED_RIGHT / CASES)
    everything = table_row(markdown, "all", "all")
    assert everything[2:5] == ["80", "1", "0"]
    assert percent(everything[5]) == pytest.approx(
        (2 * CONTROL_RIGHT + 2 * BIASED_RIGHT) / (4 * CASES - 1), abs=5e-4
    )
    assert "**80 consultations**" in markdown and "**1 failed**" in markdown


def test_a_failed_evaluator_and_a_missing_score_are_shown_not_zeroed(synthetic):
    _, markdown = synthetic
    row = table_row(markdown, "anxious", "none")
    assert row[6].endswith("n=19")
    assert percent(row[6]) == pytest.approx((CONTROL_RIGHT - 1) / 19, abs=5e-4)
    assert re.search(r"\| top3 \| 1 \| 0 \| ValueError: broken \|", markdown)
    assert re.search(r"\| coverage \| 0 \| 1 \|", markdown)


def test_every_figure_with_data_is_written_and_the_others_say_why(synthetic):
    folder, markdown = synthetic
    out = folder / "report"
    for name in ("accuracy.png", "bias_effects.png", "turns.png", "cost.png", "failures.png"):
        assert (out / name).read_bytes().startswith(PNG_MAGIC), name
        assert f"]({name})" in markdown
    assert not (out / "inquiry_mix.png").exists()
    assert not (out / "simulator_faults.png").exists()
    assert "Not drawn: no inquiry evaluator" in markdown
    assert "Not drawn: no consultation carries a validity verdict" in markdown
    assert "AgentError: the patient model timed out" in markdown


def test_the_paired_bias_effect_has_the_right_sign_and_size(synthetic):
    _, markdown = synthetic
    row = table_row(markdown, "sys", "confirmation", "anxious")
    assert row[3] == "20"
    effect = float(re.match(r"([+-][\d.]+) pp", row[6]).group(1))
    assert effect == pytest.approx(-100 * (CONTROL_RIGHT - BIASED_RIGHT) / CASES)
    pooled = table_row(markdown, "sys", "confirmation", "all")
    assert pooled[3] == "39" and pooled[-1] == "1"
    high = float(re.search(r"\[[+-][\d.]+, ([+-][\d.]+)\]", pooled[6]).group(1))
    assert high < 0


def test_validity_and_inquiry_scores_add_their_figures(tmp_path: Path):
    folder = write_run(tmp_path, synthetic_records(extras=True))
    report = write_report(folder)
    out = folder / "report"
    assert (out / "inquiry_mix.png").read_bytes().startswith(PNG_MAGIC)
    assert (out / "simulator_faults.png").read_bytes().startswith(PNG_MAGIC)
    markdown = report.path.read_text()
    assert "Of 80 consultations checked: simulator_fault 8, valid 72." in markdown
    assert "inquiry_mix.png" in report.summary_markdown


def test_the_summary_names_the_run_the_table_and_every_figure(synthetic, tmp_path: Path):
    folder, _ = synthetic
    summary = write_report(folder).summary_markdown
    assert summary.startswith("# Run report: synthetic")
    assert "| persona | bias set | n | failed | sim. faults | top-1 accuracy (95% CI)" in summary
    assert "Throughout: doctor sys." in summary
    for name in ("accuracy.png", "bias_effects.png", "turns.png", "cost.png", "failures.png"):
        assert f"- {name}: " in summary
    assert "- Inquiry-type mix: Not drawn" in summary


def test_a_second_report_removes_figures_it_no_longer_draws(tmp_path: Path):
    folder = write_run(tmp_path, synthetic_records(extras=True))
    write_report(folder)
    write_run(folder, synthetic_records())
    write_report(folder)
    assert not (folder / "report" / "inquiry_mix.png").exists()


def test_a_folder_without_results_is_a_user_error(tmp_path: Path):
    with pytest.raises(UserError, match="not a run folder"):
        write_report(tmp_path)
    with pytest.raises(UserError, match="no finished consultation"):
        write_report(write_run(tmp_path, []))


def test_a_run_where_everything_failed_draws_only_the_failures(tmp_path: Path):
    records = [
        RunRecord(cell=r.cell, transcript=transcript(r.cell, {}, outcome="error", error="x"))
        for r in synthetic_records()
    ]
    report = write_report(write_run(tmp_path, records))
    assert [plot.name for plot in report.plots] == ["failures.png"]
    assert "| all | all | 80 | 80 | 0 | - | - |" in report.summary_markdown


def test_the_pareto_front_keeps_only_undominated_points():
    points = [(10.0, 0.5), (5.0, 0.5), (20.0, 0.9), (15.0, 0.4), (5.0, 0.3)]
    assert pareto_front(points) == [1, 2]


def test_results_frame_has_a_row_per_consultation_and_no_score_for_failures(synthetic):
    folder, _ = synthetic
    frame = results_frame(folder)
    assert len(frame) == 80
    assert {"cell_id", "doctor", "persona", "bias_set", "outcome", "error", "top1"} <= set(frame)
    failed = frame[frame.failed]
    assert len(failed) == 1 and math.isnan(failed.top1.iloc[0])
    assert failed.error.iloc[0].startswith("AgentError")
    plain = frame[(frame.persona == "plain") & (frame.bias_set == "none")]
    assert plain.top1.mean() == pytest.approx(CONTROL_RIGHT / (CASES - 1))


def test_results_frame_without_pandas_names_the_extra(synthetic, monkeypatch):
    folder, _ = synthetic
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(ImportError, match=re.escape('pip install "clinic-env[report]"')):
        results_frame(folder)
    assert write_report(folder).path.exists()


def command(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    report_command.add_parser(parser.add_subparsers())
    return parser.parse_args(argv)


def test_the_report_command_exports_parquet_and_csv(synthetic, tmp_path: Path, capsys):
    folder, _ = synthetic
    pandas = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    parquet, csv = tmp_path / "results.parquet", tmp_path / "results.csv"
    args = command(["report", str(folder), "--parquet", str(parquet), "--csv", str(csv)])
    assert args.handler(args) == 0
    assert len(pandas.read_parquet(parquet)) == len(pandas.read_csv(csv)) == 80
    printed = capsys.readouterr().out
    assert "Full report:" in printed and "80 consultations written to" in printed


def test_the_export_without_pandas_is_a_one_line_user_error(synthetic, tmp_path, monkeypatch):
    folder, _ = synthetic
    monkeypatch.setitem(sys.modules, "pandas", None)
    args = command(["report", str(folder), "--csv", str(tmp_path / "out.csv")])
    with pytest.raises(UserError, match=re.escape('pip install "clinic-env[report]"')):
        args.handler(args)


def test_a_report_without_matplotlib_is_a_one_line_user_error(synthetic, monkeypatch):
    folder, _ = synthetic
    for module in (
        "matplotlib",
        "clinic_env.runner.report_sections",
        "clinic_env.runner.report_plots",
    ):
        monkeypatch.setitem(sys.modules, module, None)
    for name in ("report_sections", "report_plots"):  # as a fresh process would have them
        monkeypatch.delattr(clinic_env.runner, name, raising=False)
    with pytest.raises(UserError, match=re.escape('pip install "clinic-env[report]"')):
        write_report(folder)


def test_a_real_offline_run_reports_every_consultation(tmp_path: Path):
    experiment = Experiment(
        name="small",
        datasets=(DatasetEntry(name="starter", cases=CaseFilter(limit=6)),),
        personas=("plain", "hostile"),
        roles=Roles(doctors={"systematic": "systematic", "random": "random"}),
    )
    run_experiment(experiment, tmp_path, progress=False)
    ids = [record.transcript.id for record in load_run(tmp_path).records]
    assert len(ids) == 24 and len(set(ids)) == 24  # a consultation id is unique in its run
    report = write_report(tmp_path)
    markdown = report.path.read_text()
    for doctor in ("systematic", "random"):
        for persona in ("plain", "hostile"):
            assert table_row(markdown, doctor, persona)[2:4] == ["6", "0"]
        assert table_row(markdown, doctor, "all")[2:4] == ["12", "0"]
    assert "Throughout: bias set none (the control)." in markdown
    assert {p.name for p in report.plots} >= {"accuracy.png", "turns.png", "cost.png"}
    assert "Not drawn: this run has no bias set besides the control." in markdown
    assert "No consultation failed." in markdown


def test_consultations_played_by_hand_are_reported_like_a_run(tmp_path: Path):
    with TranscriptWriter(tmp_path) as writer:
        for case_id in ("cardio-001", "resp-001"):
            session = create_session(
                find_case("starter", case_id), dataset="starter", doctor="systematic", seed=4
            )
            doctor = create_doctor("systematic", session)
            writer.write(asyncio.run(run_consultation(session, doctor)))
    report = write_report(tmp_path)
    markdown = report.path.read_text()
    assert table_row(markdown, "systematic")[1:3] == ["2", "0"]
    assert "2 cases × 1 seed" in markdown
    assert "accuracy.png" in {p.name for p in report.plots}


def test_a_folder_without_results_or_transcripts_is_not_a_run(tmp_path: Path):
    with pytest.raises(UserError, match=r"has no results\.jsonl or transcripts\.jsonl"):
        write_report(tmp_path)


def test_the_same_case_played_again_with_the_same_seed_is_a_repeat(tmp_path: Path):
    session = create_session(find_case("starter", "derm-001"), dataset="starter", seed=2)
    transcript = asyncio.run(run_consultation(session, create_doctor("random", session)))
    with TranscriptWriter(tmp_path) as writer:
        writer.write(transcript)
        writer.write(transcript)
    records = played_records(tmp_path / "transcripts.jsonl")
    assert [r.cell.repeat for r in records] == [0, 1]
    assert len({r.cell.id for r in records}) == 2
