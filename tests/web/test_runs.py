"""The run index: filters and pages without loading a run, follows a growing file, and
never reads outside the runs folder."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from clinic_env.errors import UnknownNameError, UserError
from clinic_env.runner.store import RESULTS
from clinic_env.web import runs
from clinic_env.web.runs import RunCatalog, RunIndex, result_of


def line(number: int, *, persona: str = "plain", top1: float | None = 1.0) -> str:
    """A results line shaped like a RunRecord, with only the fields the index reads."""
    components = [] if top1 is None else [{"name": "top1", "value": top1}]
    record = {
        "cell": {"id": f"c{number}", "persona": persona, "biases": [], "doctor": "systematic"},
        "transcript": {
            "id": f"t{number}",
            "case_id": f"case-{number:03d}",
            "dataset": "starter",
            "outcome": "diagnosed",
            "differential": ["x"],
            "validity": "valid",
            "turns": [{"reward": 0.5}, {"reward": 0.25}],
            "score": {"components": components},
        },
    }
    return json.dumps(record) + "\n"


def write(path: Path, lines: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(lines), encoding="utf-8")


def test_pages_and_filters_count_what_matches(tmp_path: Path):
    personas = ["plain", "anxious", "hostile"]
    write(tmp_path / RESULTS, [line(i, persona=personas[i % 3], top1=i % 2) for i in range(30)])
    index = RunIndex(tmp_path / RESULTS)
    page = index.page({"persona": "anxious"}, offset=5, limit=3)
    assert page["total"] == 10
    assert [row["case_id"] for row in page["rows"]] == ["case-016", "case-019", "case-022"]
    both = index.page({"persona": "anxious", "result": "correct"}, limit=500)
    assert {row["case_id"] for row in both["rows"]} == {f"case-{i:03d}" for i in (1, 7, 13, 19, 25)}
    assert index.facet_counts()["persona"] == {"anxious": 10, "hostile": 10, "plain": 10}
    assert index.page({}, limit=1)["rows"][0]["reward"] == 0.75
    assert index.record(22)["transcript"]["case_id"] == "case-022"


def test_bad_page_arguments_and_unknown_filters_say_what_is_wrong(tmp_path: Path):
    write(tmp_path / RESULTS, [line(0)])
    index = RunIndex(tmp_path / RESULTS)
    with pytest.raises(UserError, match="unknown filter 'colour'"):
        index.page({"colour": "red"})
    with pytest.raises(UserError, match="limit between 1 and 500"):
        index.page({}, limit=0)
    with pytest.raises(UnknownNameError, match="no consultation number 7"):
        index.record(7)


def test_the_index_follows_a_growing_file_and_a_rewritten_one(tmp_path: Path):
    path = tmp_path / RESULTS
    write(path, [line(0), line(1)])
    index = RunIndex(path)
    assert index.page({})["total"] == 2
    with path.open("a", encoding="utf-8") as file:
        file.write(line(2))
        file.write(line(3)[:40])  # a record still being written is not indexed yet
    assert index.page({})["total"] == 3
    with path.open("a", encoding="utf-8") as file:
        file.write(line(3)[40:])
    assert index.page({})["total"] == 4
    replacement = tmp_path / "new.jsonl"
    write(replacement, [line(9)])
    replacement.replace(path)  # how a retry rewrites the file
    assert [r["case_id"] for r in index.page({})["rows"]] == ["case-009"]


def test_an_unreadable_line_is_a_problem_with_its_line_number_not_a_failure(tmp_path: Path):
    write(tmp_path / RESULTS, [line(0), "{not json\n", line(1)])
    index = RunIndex(tmp_path / RESULTS)
    assert index.page({})["total"] == 2
    assert len(index.problems) == 1
    assert index.problems[0].startswith(f"{tmp_path / RESULTS}:2: unreadable record")
    assert index.record(1)["transcript"]["case_id"] == "case-001"


def test_results_say_correct_wrong_or_why_not():
    assert result_of({"outcome": "error"}) == "failed"
    assert result_of({"outcome": "ended", "differential": []}) == "no diagnosis"
    scored = {"outcome": "diagnosed", "differential": ["x"]}
    assert (
        result_of({**scored, "score": {"components": [{"name": "top1", "value": 0.0}]}}) == "wrong"
    )
    assert result_of({**scored, "score": {"components": [{"name": "top1", "value": None}]}}) == (
        "unscored"
    )


def test_the_catalogue_lists_batch_and_played_runs_and_stays_inside_its_root(runs_root: Path):
    catalogue = RunCatalog(runs_root)
    runs = {run.name: run.describe() for run in catalogue.folders()}
    assert runs["small"]["kind"] == "batch" and runs["small"]["experiment"] == "small"
    assert runs["played"]["kind"] == "played"
    assert catalogue.index("small").page({})["total"] == 24
    assert "accuracy.png" in catalogue.report_images("small")
    for outside in ("..", "../..", "/etc", "small/../.."):
        with pytest.raises(UnknownNameError):
            catalogue.folder(outside)
    with pytest.raises(UnknownNameError, match="no report image"):
        catalogue.report_image("small", "../manifest.json")


def test_a_page_comes_before_indexing_ends_and_the_totals_catch_up(tmp_path: Path, monkeypatch):
    write(tmp_path / RESULTS, [line(i) for i in range(5)])
    release = threading.Event()
    real_row_of = runs.row_of

    def slow_row_of(record, index, number, offset):
        if index == 2:
            release.wait(10)  # the worker stalls on the third line until the test lets it go
        return real_row_of(record, index, number, offset)

    monkeypatch.setattr(runs, "row_of", slow_row_of)
    index = RunIndex(tmp_path / RESULTS)
    early = index.page({}, wait_s=0.2)
    assert early["total"] == 2 and not early["indexing"]["done"]
    assert [row["case_id"] for row in early["rows"]] == ["case-000", "case-001"]
    release.set()
    assert index.refresh() is True
    late = index.page({})
    assert late["total"] == 5 and late["indexing"]["done"]
    assert late["indexing"]["indexed_bytes"] == (tmp_path / RESULTS).stat().st_size


def test_odd_names_and_damaged_manifests_do_not_break_the_listing(tmp_path: Path):
    write(tmp_path / "broken" / RESULTS, [line(0)])
    (tmp_path / "broken" / "manifest.json").write_text('["not", "an", "object"]')
    write(tmp_path / "torn" / RESULTS, [line(1)])
    (tmp_path / "torn" / "manifest.json").write_text("{cut short")
    catalogue = RunCatalog(tmp_path)
    described = [run.describe() for run in catalogue.folders()]
    assert [(d["name"], d["experiment"]) for d in described] == [("broken", ""), ("torn", "")]
    with pytest.raises(UnknownNameError):
        catalogue.folder("bro\x00ken")


def test_each_menu_counts_what_the_other_filters_leave(tmp_path: Path):
    personas = ["plain", "anxious", "hostile"]
    write(tmp_path / RESULTS, [line(i, persona=personas[i % 3], top1=i % 2) for i in range(30)])
    index = RunIndex(tmp_path / RESULTS)
    counts = index.facet_counts({"persona": "anxious", "result": "correct"})
    assert counts["result"] == {"correct": 5, "wrong": 5}  # within anxious
    assert counts["persona"] == {"anxious": 5, "hostile": 5, "plain": 5}  # within correct
    assert counts["doctor"] == {"systematic": 5}  # within both
    with pytest.raises(UserError, match="unknown filter 'colour'"):
        index.facet_counts({"colour": "red"})
