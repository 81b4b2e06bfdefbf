"""``clinic-env datasets list|fetch|audit|convert``."""

from pathlib import Path

import pytest

from clinic_env.cli.main import main
from clinic_env.datasets import (
    DatasetWarning,
    dataset_spec,
    find_leaks,
    load_cases,
    load_dataset,
)
from tests.helpers.datasets import OSCE, mirror_layout, place_in_cache, serve, use_fixture_registry


def test_list_shows_every_dataset_and_its_state(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
):
    use_fixture_registry(monkeypatch)
    place_in_cache("nejm")
    assert main(["datasets", "list", "--verbose"]) == 0
    out = capsys.readouterr().out
    rows = {line.split()[0]: line for line in out.splitlines() if line and line[0] != " "}
    assert "bundled" in rows["starter"]
    assert "cached" in rows["nejm"] and "not cached" not in rows["nejm"]
    assert "not cached" in rows["medqa"] and "MIT" in rows["medqa"]
    assert "credentialed" in rows["mimiciv"]
    assert "CC BY 4.0" in rows["craftmd"]
    assert "cite: Li SS" in out and "arXiv:2405.07960" in out


def test_fetch_through_a_mirror(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    use_fixture_registry(monkeypatch)
    mirror_layout(tmp_path / "mirror", dataset_spec("medqa"), OSCE)
    with serve(tmp_path) as base:
        monkeypatch.setenv("CLINIC_ENV_DATA_MIRROR", f"{base}/mirror")
        assert main(["datasets", "fetch", "medqa", "starter", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "agentclinic_medqa.jsonl" in out and "starter: bundled" in out


def test_fetch_failure_is_one_line(capsys: pytest.CaptureFixture[str]):
    assert main(["datasets", "fetch", "nejm", "--quiet"]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "place it at" in error


def test_audit_lists_defects_per_case_and_a_summary(capsys: pytest.CaptureFixture[str]):
    assert main(["datasets", "audit", str(OSCE)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "agentclinic_osce-1  [agentclinic_osce:1]"
    assert lines[1].startswith(
        "  leak [measurement: tests[5] (Joint aspiration)]: names 'Acute gout'"
    )
    assert "agentclinic_osce-4 (skipped)  [agentclinic_osce:4]" in lines
    assert lines[-1].startswith("agentclinic_osce: 9 records, 5 cases loaded; defects: leak 3")
    assert main(["datasets", "audit", str(OSCE), "--kind", "leak", "--strict"]) == 1
    leaks = capsys.readouterr().out.splitlines()
    assert sum(line.startswith("  leak") for line in leaks) == 3
    assert not any("empty_case" in line for line in leaks[:-1])


def test_convert_writes_cases_that_load_back(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    out = tmp_path / "out" / "osce.jsonl"
    assert main(["datasets", "convert", str(OSCE), "--out", str(out)]) == 0
    assert "wrote 5 cases" in capsys.readouterr().out
    with pytest.warns(DatasetWarning, match="leak 3"):
        assert load_cases(out) == load_dataset(OSCE).cases
    redacted = tmp_path / "redacted.jsonl"
    assert main(["datasets", "convert", str(OSCE), "--out", str(redacted), "--redact-leaks"]) == 0
    assert all(find_leaks(case) == [] for case in load_cases(redacted))
    assert main(["datasets", "convert", str(OSCE), "--out", str(tmp_path / "x.yaml")]) == 2
    assert list(tmp_path.glob("**/*.part")) == []


def test_audit_of_an_uncached_dataset_offline(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    monkeypatch.setenv("CLINIC_ENV_OFFLINE", "1")
    assert main(["datasets", "audit", "craftmd"]) == 2
    assert "not cached" in capsys.readouterr().err
