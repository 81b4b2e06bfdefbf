"""One transcript summary: what it derives, and that every face reads the same numbers."""

from __future__ import annotations

import asyncio

import pytest

from clinic_env.datasets import find_case
from clinic_env.envs.episode import EpisodeRewards
from clinic_env.runner.batch import Cell
from clinic_env.runner.report_frame import result_row
from clinic_env.runner.store import RunRecord
from clinic_env.schema.transcript import ModelCall, Transcript
from clinic_env.session import create_session
from clinic_env.summary import feedback, reward_totals, summarise

MESSAGES = (
    "What brings you in today?",
    "REQUEST TEST: D-dimer",
    "REQUEST EXAM: chest",
    "DIAGNOSIS READY: pneumonia; pulmonary embolism",
)


def play(messages=MESSAGES) -> tuple[Transcript, EpisodeRewards, object]:
    """A consultation on resp-001 (pulmonary embolism), stepped as a trainer face steps it."""
    case = find_case("starter", "resp-001")
    session = create_session(case, seed=0, max_turns=10)
    rewards = EpisodeRewards()

    async def steps() -> None:
        for message in messages:
            rewards.add(await session.step(message))

    asyncio.run(steps())
    return session.transcript(), rewards, case


def test_the_summary_of_a_played_consultation():
    transcript, _, case = play()
    summary = summarise(transcript, case)
    assert summary.outcome == "diagnosed" and summary.turns == 4 and not summary.failed
    assert summary.differential == ("pneumonia", "pulmonary embolism")
    found = summary.found
    assert found is not None and found.rank == 2 and found.rank_error is None
    assert found.diagnosis == "Pulmonary embolism"
    assert len(found.elicited) == len(summary.facts_told) > 0
    assert len(found.elicited) + len(found.missed) == len(case.facts)
    assert set(found.elicited).isdisjoint(found.missed)
    assert [test.name for test in summary.tests] == ["D-dimer"]
    assert summary.test_cost_usd == transcript.turns[1].cost_usd > 0
    assert summary.reward == pytest.approx(sum(turn.reward for turn in transcript.turns))
    assert summary.reward_parts["end.topk"] > 0 and "end.top1" in summary.reward_parts
    assert summary.usage.calls == 0 and summary.usage.cost_usd == 0.0


def test_trainer_totals_and_the_transcript_summary_are_one_sum():
    transcript, rewards, _ = play()
    summary = summarise(transcript)
    assert summary.found is None, "no case given: nothing that names the answer"
    assert rewards.total == summary.reward
    assert rewards.components == summary.reward_parts
    assert rewards.summary()["components"] == summary.reward_parts


def test_reward_totals_sum_each_part_over_turns_in_name_order():
    total, parts = reward_totals([0.1, 0.2, 0.7], [{"b": 0.1}, {"a": 0.2, "b": 0.1}, {"a": 0.5}])
    assert total == 1.0
    assert list(parts) == ["a", "b"] and parts == {"a": 0.7, "b": pytest.approx(0.2)}


def test_model_usage_is_summed_over_every_call():
    transcript, _, _ = play()
    calls = (
        ModelCall(role="patient", turn=1, key="a", prompt_tokens=10, completion_tokens=4,
                  cost_usd=0.1),
        ModelCall(role="doctor", turn=2, key="b", prompt_tokens=5, completion_tokens=1,
                  cost_usd=0.2),
    )  # fmt: skip
    usage = summarise(transcript.model_copy(update={"model_calls": calls})).usage
    assert (usage.calls, usage.prompt_tokens, usage.completion_tokens) == (2, 15, 5)
    assert usage.cost_usd == pytest.approx(0.3)


def test_the_report_row_reads_the_summary():
    transcript, _, _ = play()
    cell = Cell(dataset="starter", case_id="resp-001", persona="plain", doctor="x", seed=0)
    row = result_row(RunRecord(cell=cell, transcript=transcript))
    summary = summarise(transcript)
    assert row["reward"] == summary.reward and row["doctor_turns"] == summary.turns == 4
    assert row["outcome"] == "diagnosed" and row["model_calls"] == 0


def test_feedback_names_the_rank_facts_tests_and_must_not_miss():
    transcript, _, case = play()
    lines = feedback(summarise(transcript, case), "you")
    assert lines[0] == "The answer, Pulmonary embolism, was number 2 on your list."
    assert lines[1].startswith("You drew out ")
    assert "ordered 1 test(s)" in lines[2]
    assert any(line.startswith("Must-not-miss diagnoses") for line in lines)
    with pytest.raises(ValueError, match="with the case"):
        feedback(summarise(transcript), "you")


def test_no_diagnosis_and_a_failing_matcher_are_said_not_scored_as_misses():
    transcript, _, case = play(("What brings you in today?", "END"))
    summary = summarise(transcript, case)
    assert summary.found is not None and summary.found.rank is None
    assert feedback(summary, "the random doctor")[0].startswith("No diagnosis was given")

    class Broken:
        def rank(self, *args: object) -> int:
            raise RuntimeError("table missing")

    diagnosed, _, _ = play(("DIAGNOSIS READY: a condition nobody has named",))
    broken = summarise(diagnosed, case, Broken())  # type: ignore[arg-type]
    assert broken.found is not None and broken.found.rank is None
    assert broken.found.rank_error == "RuntimeError: table missing"
