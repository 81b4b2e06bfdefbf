"""``clinic-env judge calibrate``: figures for the offline matcher, a scripted model judge and
the hybrid of the two."""

import json
from pathlib import Path

from clinic_env.cli import judge as judge_command
from clinic_env.cli.main import main
from clinic_env.llm import ModelClient
from clinic_env.testing.scripted import ScriptedTransport


def test_calibrate_prints_figures_per_split_and_kind_and_hides_held_back_misses(capsys):
    assert main(["judge", "calibrate"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("offline matcher: ")
    for figure in (
        "accuracy",
        "precision",
        "recall",
        "unsure",
        "split tuning:",
        "split held_back:",
        "by kind:",
        "near_miss:",
    ):
        assert figure in out
    assert "held-back disagreements not listed" in out
    assert main(["judge", "calibrate", "--split", "held_back", "--show-held-back"]) == 0
    shown = capsys.readouterr().out
    assert "split tuning:" not in shown and "not listed" not in shown


def test_calibrate_a_user_file_with_a_model_judge(tmp_path: Path, capsys, monkeypatch):
    pairs = tmp_path / "pairs.jsonl"
    rows = [
        {"gold": "Gout", "pred": "Podagra", "match": True},
        {"gold": "Gout", "pred": "Pseudogout", "match": False},
        {"gold": "Pneumonia", "pred": "Zorblax pneumonia", "match": True},
    ]
    pairs.write_text("".join(json.dumps(row) + "\n" for row in rows))
    transport = ScriptedTransport({"judge": ["Yes.", "No", "Yes"]})
    monkeypatch.setattr(judge_command, "make_client", lambda args: ModelClient(transport=transport))
    arguments = ["judge", "calibrate", "--pairs", str(pairs), "--judge", "openai/stub", "--json"]
    assert main(arguments) == 0
    matcher, model, hybrid = json.loads(capsys.readouterr().out)
    assert model["judge"] == "openai/stub" and model["accuracy"] == 1.0
    assert matcher["pairs"] == 3 and matcher["unsure"] == 1
    assert hybrid["judge"] == "hybrid (matcher + openai/stub)"
    assert hybrid["accuracy"] == matcher["accuracy"] + 1 / 3
    assert len(transport.requests) == 3
    assert "Pseudogout" in transport.requests[1]["messages"][0]["content"]


def test_the_hybrid_alone_asks_only_the_unsure_pairs(tmp_path: Path, capsys, monkeypatch):
    pairs = tmp_path / "pairs.jsonl"
    rows = [
        {"gold": "Gout", "pred": "Gout", "match": True},
        {"gold": "Pneumonia", "pred": "Zorblax pneumonia", "match": True},
    ]
    pairs.write_text("".join(json.dumps(row) + "\n" for row in rows))
    transport = ScriptedTransport({"judge": ["Yes"]})
    monkeypatch.setattr(judge_command, "make_client", lambda args: ModelClient(transport=transport))
    arguments = ["judge", "calibrate", "--pairs", str(pairs), "--judge", "openai/stub"]
    assert main([*arguments, "--unsure-only", "--json"]) == 0
    matcher, hybrid = json.loads(capsys.readouterr().out)
    assert matcher["accuracy"] == 0.5 and hybrid["accuracy"] == 1.0
    assert len(transport.requests) == 1


def test_a_bad_pairs_file_is_a_one_line_error(tmp_path: Path, capsys):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"gold": "x"}\n')
    assert main(["judge", "calibrate", "--pairs", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("clinic-env: error:") and "bad.jsonl:1" in err
