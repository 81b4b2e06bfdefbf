"""A model client's pools belong to the event loop they were made on and close with it."""

import asyncio
import gc
import time
import warnings

import pytest

from clinic_env.bridge import run_sync
from clinic_env.llm import ModelClient, ModelConfig
from clinic_env.llm.loopbound import LoopBound
from clinic_env.testing.stub_server import StubConfig, StubModelServer

MESSAGES = [{"role": "user", "content": "Any fever?"}]


def model(server: StubModelServer) -> ModelConfig:
    return ModelConfig(model="openai/stub", api_base=server.base_url, concurrency=4)


async def some_calls(client: ModelClient, config: ModelConfig, n: int = 6) -> list[str]:
    calls = (client.complete(config, MESSAGES, role="patient", seed=i) for i in range(n))
    return [c.text for c in await asyncio.gather(*calls)]


def wait_for_no_connections(server: StubModelServer) -> None:
    deadline = time.monotonic() + 5
    while server.stats.connections:
        assert time.monotonic() < deadline, "the client left connections open"
        time.sleep(0.01)


def test_six_event_loops_leave_no_connection_and_no_unclosed_transport():
    with StubModelServer(StubConfig(latency_s=0.01)) as server, warnings.catch_warnings():
        warnings.simplefilter("error", ResourceWarning)
        client = ModelClient()
        for _ in range(6):
            assert len(asyncio.run(some_calls(client, model(server)))) == 6
            wait_for_no_connections(server)
        assert server.stats.requests == 36
        del client
        gc.collect()


def test_async_with_closes_the_pools_and_the_client():
    async def run(server):
        async with ModelClient() as client:
            await some_calls(client, model(server))
            assert server.stats.connections > 0, "connections are kept alive between calls"
        assert client.closed
        with pytest.raises(RuntimeError, match="closed"):
            await client.complete(model(server), MESSAGES, role="patient")

    with StubModelServer() as server:
        asyncio.run(run(server))
        wait_for_no_connections(server)


def test_one_client_serves_the_bridge_loop_and_asyncio_run_alike():
    with StubModelServer() as server:
        client = ModelClient()
        on_bridge = run_sync(some_calls(client, model(server), 3))
        on_main = asyncio.run(some_calls(client, model(server), 3))
        again_on_bridge = run_sync(some_calls(client, model(server), 3))
        run_sync(client.aclose())
    assert len(on_bridge) == len(on_main) == len(again_on_bridge) == 3


def test_a_loop_bound_value_is_made_once_per_loop_and_closed_with_it():
    closed = []

    async def close(value):
        closed.append(value)

    made = iter(range(100))
    bound = LoopBound(lambda: next(made), close)

    async def twice():
        return bound.get(), bound.get()

    assert asyncio.run(twice()) == (0, 0)
    assert closed == [0] and len(bound) == 0
    assert asyncio.run(twice()) == (1, 1)
    assert closed == [0, 1]

    async def closed_early():
        first = bound.get()
        await bound.aclose()
        return first, list(closed), bound.get()

    assert asyncio.run(closed_early()) == (2, [0, 1, 2], 3)
    assert closed == [0, 1, 2, 3]
