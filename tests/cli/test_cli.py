import json
import subprocess
import sys
from pathlib import Path

from clinic_env.cli.main import main


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


def play(arguments: list[str], answers: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "clinic_env.cli.main", "play", *arguments],
        input=answers,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_play_as_doctor_in_the_terminal(tmp_path: Path):
    answers = (
        "What brings you in today?\nREQUEST TEST: D-dimer\nDIAGNOSIS READY: Pulmonary embolism\n"
    )
    result = play(["--as", "doctor", "--case", "resp-001", "--out", str(tmp_path)], answers)
    assert result.returncode == 0, result.stderr
    assert "2,450 ng/mL" in result.stdout
    assert "top1 1" in result.stdout
    saved = json.loads((tmp_path / "transcripts.jsonl").read_text())
    assert saved["agents"]["doctor"] == "human" and len(saved["turns"]) == 3


def test_play_as_patient_interviewed_by_the_systematic_doctor(tmp_path: Path):
    answers = "My chest hurts when I breathe.\n" * 3
    result = play(
        ["--as", "patient", "--case", "resp-001", "--max-turns", "3", "--out", str(tmp_path)],
        answers,
    )
    assert result.returncode == 0, result.stderr
    assert "Answer the doctor from these notes only" in result.stdout
    assert "Doctor: What brings you in today?" in result.stdout
    saved = json.loads((tmp_path / "transcripts.jsonl").read_text())
    assert saved["agents"]["patient"] == "human"
    assert saved["turns"][0]["observation"].startswith("Patient: My chest hurts")
