"""``clinic-env judge calibrate``: figures for the offline matcher and a scripted model judge."""

import json
from pathlib import Path

from clinic_env.cli import judge as judge_command
from clinic_env.cli.main import main
from clinic_env.llm import ModelClient
from clinic_env.testing.scripted import ScriptedTransport


def test_calibrate_prints_the_offline_matchers_figures(capsys):
    assert main(["judge", "calibrate"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("offline matcher: ")
    for figure in ("accuracy", "precision", "recall", "by kind:", "near_miss 100.0%"):
        assert figure in out


def test_calibrate_a_user_file_with_a_model_judge(tmp_path: Path, capsys, monkeypatch):
    pairs = tmp_path / "pairs.jsonl"
    rows = [
        {"gold": "Gout", "pred": "Podagra", "match": True},
        {"gold": "Gout", "pred": "Pseudogout", "match": False},
    ]
    pairs.write_text("".join(json.dumps(row) + "\n" for row in rows))
    transport = ScriptedTransport({"judge": ["Yes.", "No"]})
    monkeypatch.setattr(judge_command, "make_client", lambda args: ModelClient(transport=transport))
    arguments = ["judge", "calibrate", "--pairs", str(pairs), "--judge", "openai/stub", "--json"]
    assert main(arguments) == 0
    matcher, model = json.loads(capsys.readouterr().out)
    assert model["judge"] == "openai/stub" and model["accuracy"] == 1.0
    assert matcher["pairs"] == 2
    assert len(transport.requests) == 2
    assert "Pseudogout" in transport.requests[1]["messages"][0]["content"]


def test_a_bad_pairs_file_is_a_one_line_error(tmp_path: Path, capsys):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"gold": "x"}\n')
    assert main(["judge", "calibrate", "--pairs", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("clinic-env: error:") and "bad.jsonl:1" in err
