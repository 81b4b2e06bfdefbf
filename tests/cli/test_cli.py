import json
import subprocess
import sys
from pathlib import Path

import pytest

from clinic_env.cli.main import main
from clinic_env.datasets import load_cases


def test_run_writes_a_run_folder_and_prints_the_summary(tmp_path: Path, capsys):
    out = tmp_path / "run"
    arguments = ["run", "starter", "--personas", "plain,anxious", "--cases", "resp-001,derm-001"]
    assert main([*arguments, "--out", str(out)]) == 0
    lines = (out / "results.jsonl").read_text().splitlines()
    assert len(lines) == 4
    assert {json.loads(line)["cell"]["persona"] for line in lines} == {"plain", "anxious"}
    printed = capsys.readouterr().out
    assert "| all | 4 |" in printed
    assert "accuracy" in (out / "summary.md").read_text()


def test_run_resumes_and_refuses_another_grid_in_the_same_folder(tmp_path: Path, capsys):
    out = tmp_path / "run"
    assert main(["run", "--cases", "resp-001", "--out", str(out)]) == 0
    before = (out / "results.jsonl").read_text()
    assert main(["run", "--cases", "resp-001", "--out", str(out)]) == 0
    assert "1 were already there, 0 run now" in capsys.readouterr().out
    assert main(["run", "--cases", "derm-001", "--out", str(out)]) == 2
    assert "another experiment" in capsys.readouterr().err
    assert (out / "results.jsonl").read_text() == before


def test_run_a_dataset_with_a_limit_and_bias_sets_without_yaml(tmp_path: Path, capsys):
    out = tmp_path / "run"
    arguments = ["run", "starter", "--doctor", "random", "--limit", "2"]
    assert main([*arguments, "--biases", "none,self_diagnosis", "--out", str(out)]) == 0
    records = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert len(records) == 4 and len({r["cell"]["case_id"] for r in records}) == 2
    assert {tuple(r["cell"]["biases"]) for r in records} == {(), ("self_diagnosis",)}
    assert {r["cell"]["doctor"] for r in records} == {"random"}
    printed = capsys.readouterr().out
    assert "| plain | self_diagnosis | 2 |" in printed and "| all | all | 4 |" in printed
    with pytest.raises(SystemExit):
        main([*arguments, "--limit", "0"])
    assert "at least 1" in capsys.readouterr().err


def test_a_roles_file_gives_an_agent_with_factory_parameters(tmp_path: Path, capsys):
    roles = tmp_path / "roles.yaml"
    roles.write_text("doctor: {agent: systematic, max_tests: 1}\n")
    out = tmp_path / "run"
    assert main(["run", "--cases", "resp-001", "--roles", str(roles), "--out", str(out)]) == 0
    record = json.loads((out / "results.jsonl").read_text())
    assert record["transcript"]["agents"]["doctor"] == "systematic(max_tests=1)"
    roles.write_text("doctor: {agent: systematic, max_test: 1}\n")
    assert main(["run", "--cases", "resp-001", "--roles", str(roles), "--out", str(out)]) == 2
    assert "has no parameter 'max_test'" in capsys.readouterr().err


def test_datasets_list_counts_the_bundled_cases(capsys):
    assert main(["datasets", "list"]) == 0
    (starter,) = [
        line for line in capsys.readouterr().out.splitlines() if line.startswith("starter")
    ]
    assert f" {len(load_cases('starter'))} " in starter and " - " not in starter


def test_user_errors_are_one_line_without_traceback():
    result = subprocess.run(
        [sys.executable, "-m", "clinic_env.cli.main", "run", "--personas", "grumpy"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "unknown persona 'grumpy'" in result.stderr
    assert "Traceback" not in result.stderr


def test_cases_and_personas_commands(capsys):
    assert main(["cases", "list"]) == 0
    assert "resp-001" in capsys.readouterr().out
    assert main(["cases", "show", "resp-001"]) == 0
    assert json.loads(capsys.readouterr().out)["id"] == "resp-001"
    assert main(["personas", "list"]) == 0
    assert "anxious" in capsys.readouterr().out
    assert main(["cases", "show", "nope"]) == 2


def test_cases_validate_reports_a_bad_file(tmp_path: Path, capsys):
    (tmp_path / "bad.yaml").write_text("id: x\nspecialty: y\n")
    assert main(["cases", "validate", str(tmp_path)]) == 2
    assert "bad.yaml" in capsys.readouterr().err
