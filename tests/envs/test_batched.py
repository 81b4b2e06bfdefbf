"""The batched API: one call per batch of doctor messages, patient calls in flight together."""

import asyncio

import pytest

from clinic_env.datasets import load_cases
from clinic_env.envs.batched import ConsultationBatch
from clinic_env.errors import ProtocolError
from clinic_env.llm import ModelClient, ModelConfig
from clinic_env.testing.stub_server import ReplyScript, StubConfig, StubModelServer

DOCTOR = (
    "What brings you in today?",
    "When did it start?",
    "REQUEST TEST: Complete blood count",
    "DIAGNOSIS READY: Acute appendicitis; Pneumonia",
)


def test_64_consultations_overlap_their_patient_calls():
    starter = load_cases("starter")
    cases = [starter[i % len(starter)] for i in range(64)]
    replies = ReplyScript(by_role={"patient": ("It started two days ago, with a fever.",)})
    with StubModelServer(StubConfig(latency_s=0.05, slots=128), replies) as server:
        patient = ModelConfig(model="openai/stub", api_base=server.base_url, concurrency=128)
        batch = ConsultationBatch.create(cases, patient=patient, client=ModelClient())

        async def doctor(observations: list[str | None]) -> list[str | None]:
            turn = max(len(r.turn_rewards) for r in batch.rewards)
            return [DOCTOR[turn] if obs is not None else None for obs in observations]

        transcripts = asyncio.run(batch.rollout(doctor))
        stats = server.stats
    assert stats.by_role["patient"] == 64 * 2
    assert stats.max_in_service >= 32, stats  # one sequential loop would never exceed 1
    assert all(t.outcome == "diagnosed" for t in transcripts)
    assert {t.id for t in transcripts} == {s.id for s in batch.sessions}
    for rewards in batch.rewards:
        assert len(rewards.turn_rewards) == 4 and rewards.done
        assert "end.top1" in rewards.components


def test_offline_batch_steps_from_sync_code_and_skips_finished_consultations():
    batch = ConsultationBatch.create(load_cases("starter")[:3], persona="plain")
    results = batch.step_sync(["DIAGNOSIS READY: Gout", "Any fever?", None])
    assert results[0] is not None and results[0].terminated
    assert results[1] is not None and not results[1].terminated
    assert results[2] is None
    assert batch.done == [True, False, False]
    assert batch.observations[0] is None and batch.observations[1]
    with pytest.raises(ProtocolError, match="over"):
        batch.step_sync(["Any fever?", None, None])
    with pytest.raises(ProtocolError, match="2 messages"):
        batch.step_sync(["a", "b"])
