import asyncio
from collections import defaultdict

from clinic_env.datasets import load_cases
from clinic_env.llm import ModelClient, ModelConfig
from clinic_env.runner.batch import Batch, plan_jobs
from clinic_env.testing.scripted import ScriptedTransport
from clinic_env.testing.stub_server import ReplyScript, StubConfig, StubModelServer

DOCTOR = ("Any fever?", "When did it start?", "DIAGNOSIS READY: Gout")


def test_each_conversation_stays_on_one_replica():
    seen: dict[tuple[str, int], set[str]] = defaultdict(set)

    class Recording(ScriptedTransport):
        async def __call__(self, request, api_key, timeout):
            seen[(request["role"], request["seed"])].add(request["api_base"])
            return await super().__call__(request, api_key, timeout)

    transport = Recording(
        {"doctor": [lambda r: DOCTOR[sum(m["role"] == "assistant" for m in r["messages"])]]}
    )
    replicas = ("http://127.0.0.1:1/v1", "http://127.0.0.1:2/v1", "http://127.0.0.1:3/v1")
    model = ModelConfig(model="openai/stub", replicas=replicas)
    batch = Batch(
        dataset="starter",
        doctor=model,
        session_options={"patient": model},
        client=ModelClient(transport=transport),
    )
    jobs = plan_jobs(load_cases("starter")[:12], ["plain", "anxious"], [0, 1])
    transcripts = asyncio.run(batch.run(jobs))
    assert all(t.outcome == "diagnosed" for t in transcripts)
    assert all(len(servers) == 1 for servers in seen.values())
    used = set().union(*seen.values())
    assert used == set(replicas)


def test_replicas_over_http_share_the_load():
    replies = ReplyScript(by_role={"doctor": DOCTOR})
    with (
        StubModelServer(StubConfig(), replies) as first,
        StubModelServer(StubConfig(), replies) as second,
    ):
        model = ModelConfig(model="openai/stub", replicas=(first.base_url, second.base_url))
        batch = Batch(
            dataset="starter",
            doctor=model,
            session_options={"patient": model},
            client=ModelClient(),
        )
        transcripts = asyncio.run(
            batch.run(plan_jobs(load_cases("starter")[:10], ["plain"], [0, 1]))
        )
        counts = (first.stats.requests, second.stats.requests)
    assert all(t.outcome == "diagnosed" for t in transcripts)
    assert min(counts) > 0 and sum(counts) == sum(len(t.model_calls) for t in transcripts)
