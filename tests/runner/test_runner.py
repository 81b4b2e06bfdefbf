"""Experiments into run folders: grid expansion, resume, partial lines, retries."""

import asyncio
import json
from pathlib import Path

import pytest

from clinic_env.cli.main import main
from clinic_env.errors import ConfigError, RunFolderError, UnknownNameError
from clinic_env.runner.experiment import Experiment, load_experiment
from clinic_env.runner.runner import run_experiment
from clinic_env.runner.store import RESULTS, RunRecord, read_records

GRID = {
    "name": "tiny",
    "datasets": [{"name": "starter", "cases": {"limit": 3}}],
    "personas": ["plain", "hostile"],
    "roles": {"doctors": {"systematic": "systematic", "random": "random"}},
    "seeds": [0, 1],
}


def experiment(**changes) -> Experiment:
    return Experiment.model_validate({**GRID, **changes})


def cells(folder: Path) -> list[str]:
    return [r.cell.id for r in read_records(folder / RESULTS)]


def test_grid_expands_deterministically_with_stable_ids():
    first = [job.id for job in experiment().jobs()]
    assert first == [job.id for job in experiment().jobs()]
    assert first == list(experiment().jobs().ids())
    assert len(first) == len(experiment().jobs()) == 3 * 2 * 2 * 2 == len(set(first))
    assert first[0] == "starter/" + experiment().jobs()[0].case.id + "/plain/none/systematic/0.0"


def test_run_then_resume_skips_everything_done(tmp_path: Path):
    first = run_experiment(experiment(), tmp_path, progress=False)
    assert (first.cells, first.skipped, first.ran) == (24, 0, 24)
    again = run_experiment(experiment(), tmp_path, progress=False)
    assert (again.skipped, again.ran) == (24, 0)
    assert sorted(cells(tmp_path)) == sorted(job.id for job in experiment().jobs())
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["config_hash"] == experiment().config_hash()


def test_a_line_cut_short_by_a_kill_is_dropped_and_rerun(tmp_path: Path):
    run_experiment(experiment(), tmp_path, progress=False)
    results = tmp_path / RESULTS
    lines = results.read_text().splitlines(keepends=True)
    results.write_text("".join(lines[:10]) + lines[10][: len(lines[10]) // 2])
    outcome = run_experiment(experiment(), tmp_path, progress=False)
    assert outcome.skipped == 10 and outcome.ran == 14
    ids = cells(tmp_path)
    assert len(ids) == len(set(ids)) == 24


def test_failed_cells_are_kept_then_retried_on_request(tmp_path: Path):
    run_experiment(experiment(), tmp_path, progress=False)
    results = tmp_path / RESULTS
    records = read_records(results)
    broken = records[3].transcript.model_copy(update={"outcome": "error", "error": "server down"})
    records[3] = RunRecord(cell=records[3].cell, transcript=broken)
    results.write_text("".join(r.model_dump_json() + "\n" for r in records))
    assert run_experiment(experiment(), tmp_path, progress=False).ran == 0
    before = results.read_text().splitlines()
    retried = run_experiment(experiment(), tmp_path, retry_failed=True, progress=False)
    assert retried.ran == 1
    final = read_records(results)
    assert len(final) == 24 and not any(r.failed for r in final)
    after = results.read_text().splitlines()
    assert after[:23] == before[:3] + before[4:], "the other records are kept as they were"
    assert final[23].cell == records[3].cell


def test_another_experiment_in_the_same_folder_is_refused(tmp_path: Path):
    run_experiment(experiment(), tmp_path, progress=False)
    with pytest.raises(RunFolderError, match="another experiment"):
        run_experiment(experiment(seeds=[5]), tmp_path, progress=False)


def test_bad_configs_name_file_line_and_field(tmp_path: Path):
    path = tmp_path / "bad.yaml"
    path.write_text("name: x\ndatasets: [starter]\nseeds: []\n")
    with pytest.raises(ConfigError, match=r"bad.yaml:3 \(field seeds\)"):
        load_experiment(path)
    path.write_text("name: x\ndatasets: [starter]\npersonas: [grumpy]\n")
    with pytest.raises(UnknownNameError, match="grumpy"):
        run_experiment(load_experiment(path), tmp_path / "run", progress=False)
    path.write_text("name: x\ndatasets: [starter]\nroles:\n  doctors: {}\n")
    with pytest.raises(ConfigError, match="at least one doctor"):
        load_experiment(path)


def test_runs_from_inside_a_running_event_loop(tmp_path: Path):
    """As in a Jupyter cell, where asyncio.run() cannot be called."""

    async def cell():
        return run_experiment(experiment(personas=["plain"]), tmp_path, progress=False)

    outcome = asyncio.run(cell())
    assert outcome.ran == 12 and not outcome.interrupted


def test_clinic_env_run_resumes_by_default_and_retries_failed_cells(
    tmp_path: Path, monkeypatch, capsys
):
    monkeypatch.chdir(tmp_path)
    argv = ["run", "starter", "--cases", "cardio-001,resp-001", "--seeds", "0,1"]
    assert main(argv) == 0
    (folder,) = (tmp_path / "runs").iterdir()
    assert main(argv) == 0, "the same command finds the same folder"
    assert "(4 were already there, 0 run now)" in capsys.readouterr().out
    records = read_records(folder / RESULTS)
    broken = records[0].transcript.model_copy(update={"outcome": "error", "error": "down"})
    records[0] = RunRecord(cell=records[0].cell, transcript=broken)
    (folder / RESULTS).write_text("".join(r.model_dump_json() + "\n" for r in records))
    assert main([*argv, "--retry-failed"]) == 0
    assert "(3 were already there, 1 run now)" in capsys.readouterr().out
    assert not any(r.failed for r in read_records(folder / RESULTS))


def test_an_experiment_file_gives_agents_with_factory_parameters(tmp_path: Path):
    path = tmp_path / "params.yaml"
    path.write_text(
        "name: params\n"
        "datasets: [{name: starter, cases: {limit: 2}}]\n"
        "roles:\n"
        "  patient: {agent: offline}\n"
        "  doctors:\n"
        "    brief: {agent: systematic, max_tests: 1}\n"
        "    model: {model: openai/gpt-4o-mini, temperature: 0.2}\n"
    )
    loaded = load_experiment(path)
    assert loaded.roles.doctors["brief"] == {"agent": "systematic", "max_tests": 1}
    assert loaded.roles.doctors["model"].model == "openai/gpt-4o-mini"  # a ModelConfig
    only_brief = experiment(roles={"doctors": {"brief": loaded.roles.doctors["brief"]}})
    run_experiment(only_brief, tmp_path / "run", progress=False)
    records = read_records(tmp_path / "run" / RESULTS)
    doctors = {r.transcript.agents["doctor"] for r in records if r.transcript is not None}
    assert doctors == {"systematic(max_tests=1)"}
    ordered = [
        sum(t.action is not None and t.action.kind.value == "order_test" for t in turns)
        for turns in (r.transcript.turns for r in records if r.transcript is not None)
    ]
    assert ordered and set(ordered) == {1}  # unbounded, it orders 4-5 tests on these cases


def test_a_misspelt_factory_parameter_in_an_experiment_is_one_line_naming_it(tmp_path: Path):
    bad = experiment(roles={"doctors": {"brief": {"agent": "systematic", "max_test": 1}}})
    with pytest.raises(ConfigError, match="has no parameter 'max_test'"):
        bad.check()
