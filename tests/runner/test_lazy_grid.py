"""The lazy grid: the same cells, ids and order as building every job, without building them;
and resume reading cell ids only."""

from __future__ import annotations

import gc
import json
import pickle
from pathlib import Path

import pytest

from clinic_env.errors import ConfigError, RunFolderError
from clinic_env.runner.batch import Cell
from clinic_env.runner.experiment import Experiment
from clinic_env.runner.grid import PendingJobs
from clinic_env.runner.runner import run_experiment
from clinic_env.runner.store import RESULTS, RunRecord, RunStore, cell_statuses, read_records

MIXED = {
    "name": "mixed",
    "datasets": [
        {"name": "starter", "cases": {"ids": ["resp-001", "derm-001"]}},
        {"name": "starter", "cases": {"ids": ["gastro-001"]}},
    ],
    "personas": ["plain", "anxious"],
    "bias_sets": [[], ["self_diagnosis"]],
    "roles": {"doctors": {"systematic": "systematic", "random": "random"}},
    "seeds": [7, 0],
    "repeats": 2,
}


def experiment(**changes: object) -> Experiment:
    return Experiment.model_validate({**MIXED, **changes})


def expected_ids() -> list[str]:
    """The grid's ids as nested loops write them, in the documented order (cases in their
    dataset's order)."""
    return [
        Cell(
            dataset="starter",
            case_id=case,
            persona=persona,
            biases=tuple(biases),
            doctor=doctor,
            seed=seed,
            repeat=repeat,
        ).id
        for case in ("derm-001", "resp-001", "gastro-001")
        for persona in ("plain", "anxious")
        for biases in ((), ("self_diagnosis",))
        for doctor in ("systematic", "random")
        for seed in (7, 0)
        for repeat in (0, 1)
    ]


def test_the_grid_iterates_indexes_and_names_its_cells_in_one_fixed_order():
    grid = experiment().jobs()
    ids = expected_ids()
    assert len(grid) == len(ids) == 3 * 2 * 2 * 2 * 2 * 2
    assert [job.id for job in grid] == ids
    assert list(grid.ids()) == ids
    assert [grid[i].id for i in range(len(grid))] == ids
    assert grid[-1].id == ids[-1] and [job.id for job in grid[3:6]] == ids[3:6]
    assert grid[40].case.id == grid[40].cell.case_id == "resp-001"
    assert [grid.position(cell) for cell in ids] == list(range(len(ids)))
    with pytest.raises(IndexError):
        grid[len(ids)]


def test_a_cell_outside_the_grid_has_no_position():
    grid = experiment().jobs()
    inside = grid[9].cell
    outside = [
        inside.model_copy(update={"seed": 3}).id,
        inside.model_copy(update={"persona": "hostile"}).id,
        inside.model_copy(update={"repeat": 2}).id,
        inside.id.rsplit(".", 1)[0] + ".01",  # repeat 1 written another way
        inside.model_copy(update={"case_id": "cardio-001"}).id,
        "starter/resp-001",
        "",
    ]
    assert [grid.position(cell) for cell in outside] == [None] * len(outside)
    assert inside.id in grid.cell_ids and outside[0] not in grid.cell_ids
    assert grid[9] in grid


def test_a_huge_grid_has_its_size_ends_and_positions_without_being_built():
    seeds = list(range(100_000))
    grid = experiment(seeds=seeds, repeats=3).jobs()  # 7.2 million cells
    assert len(grid) == 3 * 2 * 2 * 2 * len(seeds) * 3
    last = grid[-1]
    assert (last.cell.case_id, last.cell.doctor, last.cell.seed, last.cell.repeat) == (
        "gastro-001",
        "random",
        99_999,
        2,
    )
    assert grid.position(last.id) == len(grid) - 1
    assert next(iter(grid)).id == "starter/derm-001/plain/none/systematic/0.0"


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"seeds": [0, 1, 0]}, "seed '0'"),
        ({"personas": ["plain", "plain"]}, "persona 'plain'"),
        ({"bias_sets": [["self_diagnosis"], ["self_diagnosis"]]}, "bias set 'self_diagnosis'"),
        (
            {"datasets": [{"name": "starter", "cases": {"ids": ["resp-001"]}}, "starter"]},
            "dataset and case 'starter/resp-001'",
        ),
    ],
)
def test_a_grid_naming_a_cell_twice_is_refused_naming_what_repeats(changes, named):
    with pytest.raises(ConfigError, match=f"same consultation twice .{named} is listed"):
        experiment(**changes).jobs()


def test_a_name_with_a_slash_cannot_name_a_cell():
    with pytest.raises(ConfigError, match="persona 'a/b'"):
        experiment(personas=["a/b"]).jobs()


def test_pending_jobs_build_each_job_when_asked_and_give_the_one_in_play_again():
    grid = experiment().jobs()
    pending = PendingJobs(grid, [4, 1, 30])
    assert [job.id for job in pending] == [grid[4].id, grid[1].id, grid[30].id]
    playing = pending[1]
    assert pending[1] is playing, "the job being played, not a copy"
    del playing
    gc.collect()
    assert len(pending._live) == 0, "no job is kept once nobody plays it"
    travelled = pickle.loads(pickle.dumps(pending))
    assert [job.id for job in travelled] == [job.id for job in pending]
    assert len(PendingJobs(grid)) == len(grid)


# ------------------------------------------------------------------ resume reads ids only


def finished_run(folder: Path) -> Experiment:
    small = experiment(personas=["plain"], bias_sets=[[]], repeats=1, seeds=[0])
    run_experiment(small, folder, progress=False)
    return small


def test_the_fast_pass_reads_each_lines_cell_and_outcome_as_a_full_read_does(tmp_path: Path):
    finished_run(tmp_path)
    results = tmp_path / RESULTS
    records = read_records(results)
    failed = records[1].transcript.model_copy(update={"outcome": "error", "error": "x"})
    records[1] = RunRecord(cell=records[1].cell, transcript=failed)
    lines = [record.model_dump_json() for record in records]
    # written another way: with spaces (read fast), transcript first (read whole)
    lines[1] = json.dumps(records[1].model_dump(mode="json"))
    data = records[2].model_dump(mode="json")
    lines[2] = json.dumps({"transcript": data["transcript"], "cell": data["cell"]})
    results.write_text("".join(line + "\n" for line in lines))
    scanned = [(cell, failed) for _, cell, failed, _ in cell_statuses(results)]
    assert scanned == [(r.cell.id, r.failed) for r in read_records(results)]
    assert [failed for _, failed in scanned].count(True) == 1


def test_a_line_whose_cell_cannot_be_read_is_named_when_resuming(tmp_path: Path):
    small = finished_run(tmp_path)
    results = tmp_path / RESULTS
    kept = results.read_text().splitlines(keepends=True)[:2]
    results.write_text("".join(kept) + '{"cell": {"dataset": "starter", "seed": "x"}}\n')
    with pytest.raises(RunFolderError) as error:
        run_experiment(small, tmp_path, progress=False)
    assert str(error.value).startswith(f"{results}:3")


def test_the_store_keeps_each_cells_status_as_records_are_added(tmp_path: Path):
    small = finished_run(tmp_path)
    with RunStore(tmp_path, small, small.jobs().cell_ids) as store:
        status = dict(store.cell_status())
        assert len(status) == 6 and not any(status.values())
        cell = read_records(tmp_path / RESULTS)[0].cell
        failed = read_records(tmp_path / RESULTS)[0].transcript.model_copy(
            update={"outcome": "error", "error": "late"}
        )
        store.add(RunRecord(cell=cell, transcript=failed))
        assert store.cell_status()[cell.id] is False, "a cell that once succeeded is done"
        assert store.forget([cell.id, "not/a/cell"]) == 1
        assert cell.id not in store.cell_status()
    assert cell.id not in {r.cell.id for r in read_records(tmp_path / RESULTS)}
