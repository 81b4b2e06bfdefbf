"""Batches against the stub model server over real HTTP: faults, replay, secrets."""

import asyncio
import logging
from pathlib import Path

from clinic_env.datasets import load_cases
from clinic_env.llm import CacheMode, ModelClient, ModelConfig, ReplyCache
from clinic_env.runner.batch import Batch, plan_jobs
from clinic_env.runner.store import TranscriptWriter
from clinic_env.testing.stub_server import FaultRates, ReplyScript, StubConfig, StubModelServer

DOCTOR = (
    "What brings you in today?",
    "REQUEST TEST: Complete blood count",
    "When did it start?",
    "DIAGNOSIS READY: Pulmonary embolism; Gout",
)


def reply(role: str | None, request: dict) -> str:
    """Each consultation's doctor follows the script by its own turn count (a server-wide
    rotation would let concurrent consultations keep drawing the same line)."""
    if role == "doctor":
        turn = sum(message["role"] == "assistant" for message in request["messages"])
        return DOCTOR[min(turn, len(DOCTOR) - 1)]
    return "NONE" if role == "measurement" else "It started two days ago."


REPLIES = ReplyScript(responder=reply)
FAULTS = FaultRates(error_500=0.10, rate_limit_429=0.05, hang=0.01, malformed=0.02)


def batch(base_url: str, client: ModelClient, **config) -> Batch:
    model = ModelConfig(
        model="openai/stub",
        api_base=base_url,
        backoff_s=0.01,
        backoff_max_s=0.05,
        **{"timeout_s": 30.0, **config},
    )
    return Batch(
        dataset="starter",
        doctor=model,
        session_options={"patient": model, "measurement": model, "max_turns": 10},
        client=client,
    )


def test_faulty_stub_every_consultation_completed_or_recorded(tmp_path: Path):
    jobs = plan_jobs(load_cases("starter")[:25], ["plain", "anxious"], [0, 1, 2, 3])
    assert len(jobs) == 200
    stub = StubConfig(latency_s=0.01, slots=32, faults=FAULTS, seed=3)
    with StubModelServer(stub, REPLIES) as server, TranscriptWriter(tmp_path) as writer:
        run = batch(server.base_url, ModelClient(), max_retries=3, timeout_s=1.0)  # hangs end fast
        transcripts = asyncio.run(
            run.run(jobs, concurrency=200, on_done=lambda _, t: writer.write(t))
        )
        outcomes = server.stats.outcomes
    assert {"500", "429", "hang", "malformed"} <= set(outcomes)  # every fault was injected
    lines = (tmp_path / "transcripts.jsonl").read_text().splitlines()
    assert len(transcripts) == len(lines) == 200
    assert len({t.id for t in transcripts}) == 200
    for transcript in transcripts:
        if transcript.outcome == "error":
            assert transcript.error and "failed" in transcript.error
        else:
            assert transcript.outcome in ("diagnosed", "out_of_turns")
    assert sum(t.outcome != "error" for t in transcripts) > 150


def test_stub_run_replays_byte_identically_after_the_server_is_gone(tmp_path: Path):
    jobs = plan_jobs(load_cases("starter")[:6], ["plain", "hostile"], [0])
    path = tmp_path / "record.sqlite"
    with StubModelServer(StubConfig(slots=8), REPLIES) as server:
        base_url = server.base_url
        recorded = asyncio.run(
            batch(base_url, ModelClient(ReplyCache(path))).run(jobs, concurrency=4)
        )
    replay = ModelClient(ReplyCache(path, CacheMode.REPLAY))
    replayed = asyncio.run(batch(base_url, replay).run(jobs, concurrency=4))
    assert [t.model_dump_json() for t in replayed] == [t.model_dump_json() for t in recorded]
    assert all(t.outcome == "diagnosed" for t in replayed)


def test_api_key_is_in_no_transcript_cache_row_or_log(tmp_path: Path, monkeypatch, caplog, capsys):
    secret = "sk-clinic-env-test-0123456789-SECRET"
    monkeypatch.setenv("STUB_API_KEY", secret)
    caplog.set_level(logging.DEBUG)
    jobs = plan_jobs(load_cases("starter")[:3], ["plain"], [0])
    cache = tmp_path / "calls.sqlite"
    faults = FaultRates(error_500=0.3)
    with (
        StubModelServer(StubConfig(faults=faults), REPLIES) as server,
        TranscriptWriter(tmp_path) as out,
    ):
        client = ModelClient(ReplyCache(cache))
        run = batch(server.base_url, client, api_key_env="STUB_API_KEY", max_retries=5)
        transcripts = asyncio.run(run.run(jobs, on_done=lambda _, t: out.write(t)))
        stats = server.stats.model_dump_json()
    assert all(t.outcome == "diagnosed" for t in transcripts)
    captured = capsys.readouterr()
    for place, text in {
        "transcripts": (tmp_path / "transcripts.jsonl").read_text(),
        "cache": cache.read_bytes().decode("utf-8", "replace"),
        "logs": caplog.text,
        "stdout": captured.out + captured.err,
        "stub stats": stats,
    }.items():
        assert secret not in text, place
