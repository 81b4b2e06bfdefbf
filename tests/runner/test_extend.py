"""Extending a run folder: added cells run, old ones are kept; any other change is refused,
saying what changed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from clinic_env.cli.main import main
from clinic_env.errors import RunFolderError
from clinic_env.runner.experiment import Experiment, config_changes
from clinic_env.runner.runner import run_experiment
from clinic_env.runner.store import MANIFEST, RESULTS

GRID = {
    "name": "extend",
    "datasets": [{"name": "starter", "cases": {"ids": ["resp-001", "derm-001"]}}],
    "seeds": [0],
}


def experiment(**changes: object) -> Experiment:
    return Experiment.model_validate({**GRID, **changes})


def lines(folder: Path) -> list[str]:
    return (folder / RESULTS).read_text().splitlines()


def test_added_seeds_personas_bias_sets_and_cases_run_only_the_new_cells(tmp_path: Path):
    run_experiment(experiment(), tmp_path, progress=False)
    before = lines(tmp_path)
    wider = experiment(
        seeds=[0, 1],
        personas=["plain", "anxious"],
        bias_sets=[[], ["self_diagnosis"]],
        datasets=[{"name": "starter", "cases": {"ids": ["resp-001", "derm-001", "gastro-001"]}}],
    )
    outcome = run_experiment(wider, tmp_path, progress=False)
    assert outcome.cells == 3 * 2 * 2 * 2 and (outcome.skipped, outcome.ran) == (2, 22)
    assert lines(tmp_path)[:2] == before, "the old records are kept as they were"
    assert any(change.startswith("seeds: added 1") for change in outcome.extended)
    manifest = json.loads((tmp_path / MANIFEST).read_text())
    assert manifest["config_hash"] == wider.config_hash()
    assert manifest["grid"]["cells"] == 24
    assert manifest["extensions"][0]["from_config_hash"] == experiment().config_hash()
    again = run_experiment(wider, tmp_path, progress=False)
    assert (again.ran, again.extended) == (0, ()), "the extended run resumes as itself"


def test_a_changed_setting_is_refused_naming_every_change(tmp_path: Path):
    run_experiment(experiment(), tmp_path, progress=False)
    before = (tmp_path / MANIFEST).read_text()
    changed = experiment(seeds=[0, 1], max_turns=5, roles={"doctors": {"random": "random"}})
    with pytest.raises(RunFolderError) as refused:
        run_experiment(changed, tmp_path, progress=False)
    message = str(refused.value)
    assert "holds a run of another experiment" in message
    assert "seeds: added 1" in message and "max_turns: 20 -> 5" in message
    assert 'roles.doctors.random: (not set) -> "random"' in message
    assert "extended only by adding" in message
    assert (tmp_path / MANIFEST).read_text() == before


def test_a_dropped_seed_or_case_is_refused(tmp_path: Path):
    run_experiment(experiment(), tmp_path, progress=False)
    with pytest.raises(RunFolderError, match=r"seeds: added 5, removed 0.*left out"):
        run_experiment(experiment(seeds=[5]), tmp_path, progress=False)
    narrower = [{"name": "starter", "cases": {"ids": ["resp-001"]}}]
    with pytest.raises(RunFolderError, match='removed "derm-001"'):
        run_experiment(experiment(datasets=narrower), tmp_path, progress=False)


def test_changes_ignore_how_a_run_is_spread_or_reached():
    before = experiment(concurrency=4).model_dump(mode="json")
    after = experiment(concurrency=64, ray={"workers": 3}).model_dump(mode="json")
    assert config_changes(before, after) == []


def test_clinic_env_run_extends_its_folder_with_another_seed(tmp_path: Path, capsys):
    out = ["--cases", "resp-001", "--out", str(tmp_path)]
    assert main(["run", *out]) == 0
    assert main(["run", *out, "--seeds", "0,1"]) == 0
    printed = capsys.readouterr().out
    assert "Extended the run in" in printed and "seeds: added 1" in printed
    assert "(1 were already there, 1 run now)" in printed
