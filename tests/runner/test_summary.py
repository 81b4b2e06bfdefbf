"""The summary table: rows per persona, failures counted not scored, intervals, n markers."""

from __future__ import annotations

import pytest

from clinic_env.runner.summary import format_table, summarise
from clinic_env.schema.transcript import ModelCall, Transcript
from tests.helpers.transcripts import score_of


def transcript(persona: str, top1: float | None, *, failed: bool = False) -> Transcript:
    components = {"top1": top1, "top3": 1.0, "turns": 4.0, "coverage": 0.5, "test_cost_usd": 80.0}
    return Transcript(
        id="t",
        case_id="c",
        dataset="d",
        seed=0,
        persona=persona,
        agents={},
        max_turns=10,
        opening_observation="",
        outcome="error" if failed else "diagnosed",
        error="AgentError: boom" if failed else None,
        score=score_of(components),
    )


def test_rows_per_persona_then_all_with_failures_counted_not_scored():
    rows = summarise(
        [
            transcript("plain", 1.0),
            transcript("plain", 0.0),
            transcript("plain", 0.0, failed=True),
            transcript("anxious", 1.0),
        ]
    )
    assert [row.group for row in rows] == [("anxious",), ("plain",), ("all",)]
    plain = rows[1]
    assert (plain.consultations, plain.failed, plain.scored) == (3, 1, 2)
    assert plain.accuracy is not None and plain.accuracy.mean == pytest.approx(0.5)
    assert plain.accuracy.low <= 0.5 <= plain.accuracy.high
    assert rows[2].accuracy is not None and rows[2].accuracy.mean == pytest.approx(2 / 3)


def test_one_persona_has_no_all_row():
    assert [row.group for row in summarise([transcript("plain", 1.0)])] == [("plain",)]


def test_the_table_marks_a_rate_over_fewer_consultations_and_a_missing_one():
    rows = summarise(
        [transcript("plain", 1.0), transcript("plain", None), transcript("hostile", None)]
    )
    table = format_table(rows)
    assert table.splitlines()[0].startswith(
        "| persona | n | failed | sim. faults | top-1 accuracy (95% CI)"
    )
    assert "| plain | 2 | 0 | 0 | 100.0% [20.7–100.0] n=1 |" in table
    assert "| hostile | 1 | 0 | 0 | - |" in table
    assert "| all | 3 | 0 |" in table
    assert "model cost" not in table


def test_model_spend_gets_a_column_when_a_paid_model_played():
    call = ModelCall(
        role="doctor", turn=1, key="k", prompt_tokens=10, completion_tokens=5, cost_usd=0.02
    )
    paid = transcript("plain", 1.0).model_copy(update={"model_calls": (call,)})
    table = format_table(summarise([paid, transcript("plain", 0.0)]))
    assert table.splitlines()[0].endswith("| model cost/case |")
    assert table.splitlines()[2].endswith("| $0.0100 |")
