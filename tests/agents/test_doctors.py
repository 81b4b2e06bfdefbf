"""Scripted doctors on the bundled cases: the ordering the issue demands must hold."""

import asyncio

from clinic_env.agents.doctors import ReplayDoctor
from clinic_env.datasets import load_cases
from clinic_env.runner.batch import Batch, plan_jobs
from clinic_env.schema import ActionKind
from clinic_env.session import create_session, run_consultation


def run(doctor: str, seeds=(0,)) -> list:
    jobs = plan_jobs(load_cases("starter"), ["plain"], list(seeds))
    return asyncio.run(Batch(dataset="starter", doctor=doctor).run(jobs))


def mean(transcripts, name: str) -> float:
    return sum(t.score.value(name) for t in transcripts) / len(transcripts)


def test_oracle_scores_top1_on_every_case():
    transcripts = run("oracle")
    assert all(t.score.value("top1") == 1.0 for t in transcripts)


def test_systematic_beats_random_on_top3():
    systematic = run("systematic")
    random_doctor = run("random", seeds=(0, 1, 2))
    assert mean(systematic, "top3") > mean(random_doctor, "top3") + 0.3
    assert all(t.outcome == "diagnosed" for t in systematic)


def test_systematic_doctor_takes_a_history_before_testing():
    transcript = run("systematic")[0]
    kinds = [turn.action.kind for turn in transcript.turns]
    first_test = kinds.index(ActionKind.ORDER_TEST)
    assert kinds[:first_test].count(ActionKind.ASK) >= 8
    assert ActionKind.EXAMINE in kinds[:first_test]


def test_replay_doctor_reproduces_a_transcript():
    original = run("systematic")[0]
    case = next(c for c in load_cases("starter") if c.id == original.case_id)
    session = create_session(case, dataset="starter", persona="plain", seed=0, doctor="systematic")
    replayed = asyncio.run(run_consultation(session, ReplayDoctor(original)))
    assert replayed.model_dump_json() == original.model_dump_json()
