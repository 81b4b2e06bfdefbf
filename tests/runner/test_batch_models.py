"""Batches with model-backed roles: faults are retried or recorded, runs replay exactly."""

import asyncio
import random
from pathlib import Path

from clinic_env.datasets import load_cases
from clinic_env.llm import CacheMode, ModelClient, ModelConfig, ReplyCache
from clinic_env.llm.errors import RetryableCallError
from clinic_env.runner.batch import Batch, plan_jobs
from clinic_env.testing.scripted import ScriptedTransport

MODEL = {
    "model": "openai/stub",
    "api_base": "http://127.0.0.1:9/v1",
    "backoff_s": 0.0,
    "timeout_s": 0.2,
}
DOCTOR_SCRIPT = [
    "What brings you in today?",
    "When did it start?",
    "REQUEST TEST: CBC",
    "REQUEST EXAM: abdomen",
    "DIAGNOSIS READY: Pulmonary embolism; Gout",
]


class FaultyTransport(ScriptedTransport):
    """Like a busy, faulty server: some calls fail, some hang until the client gives up."""

    def __init__(self, seed: int) -> None:
        super().__init__({"patient": ["It started two days ago."], "measurement": ["NONE"]})
        self.random = random.Random(seed)

    async def __call__(self, request, api_key, timeout):
        draw = self.random.random()
        if draw < 0.10:
            raise RetryableCallError("HTTP 500")
        if draw < 0.15:
            raise RetryableCallError("HTTP 429")
        if draw < 0.17:
            return {"text": "", "tool_calls": []}  # malformed: neither text nor tool call
        if draw < 0.18:
            await asyncio.sleep(5)  # hangs
        if request["role"] == "doctor":
            turn = sum(1 for m in request["messages"] if m["role"] == "assistant")
            return {"text": DOCTOR_SCRIPT[min(turn, len(DOCTOR_SCRIPT) - 1)]}
        return await super().__call__(request, api_key, timeout)


def model_batch(client: ModelClient, retries: int) -> Batch:
    config = ModelConfig(**MODEL, max_retries=retries)
    return Batch(
        dataset="starter",
        doctor=config,
        session_options={"patient": config, "measurement": config, "max_turns": 8},
        client=client,
    )


def test_faulty_server_loses_and_duplicates_nothing():
    jobs = plan_jobs(load_cases("starter")[:20], ["plain", "anxious"], [0, 1, 2, 3, 4])
    assert len(jobs) == 200
    done = []
    batch = model_batch(ModelClient(transport=FaultyTransport(seed=5)), retries=1)
    transcripts = asyncio.run(batch.run(jobs, concurrency=100, on_done=lambda _, t: done.append(t)))
    assert len(transcripts) == len(done) == 200
    assert len({t.id for t in transcripts}) == 200
    failed = [t for t in transcripts if t.outcome == "error"]
    completed = [t for t in transcripts if t.outcome != "error"]
    assert failed and completed  # with one retry, some consultations run out of luck
    for transcript in failed:
        assert transcript.error and "attempt 2 failed" in transcript.error
    for transcript in completed:
        assert transcript.outcome == "diagnosed" and transcript.model_calls


def test_recorded_run_replays_byte_identically_without_a_server(tmp_path: Path):
    jobs = plan_jobs(load_cases("starter")[:5], ["plain", "hostile"], [0, 1])
    path = tmp_path / "record.sqlite"
    recording = ModelClient(
        ReplyCache(path, CacheMode.READ_WRITE), transport=FaultyTransport(seed=1)
    )
    recorded = asyncio.run(model_batch(recording, retries=6).run(jobs))
    assert all(t.outcome == "diagnosed" for t in recorded)

    no_server = ScriptedTransport({}, default=RuntimeError("there is no server"))
    replaying = ModelClient(ReplyCache(path, CacheMode.REPLAY), transport=no_server)
    replayed = asyncio.run(model_batch(replaying, retries=6).run(jobs))
    assert [t.model_dump_json() for t in replayed] == [t.model_dump_json() for t in recorded]
    assert not no_server.requests
    usage = recorded[0].usage()
    assert {"patient", "doctor"} <= set(usage)
    assert usage["doctor"]["calls"] == len(
        [c for c in recorded[0].model_calls if c.role == "doctor"]
    )
