"""OpenEnv: the app from create_app on loopback, multi-turn through the typed client's
WebSocket session."""

import asyncio
import socket
import threading
import time

import pytest

pytest.importorskip("openenv")
uvicorn = pytest.importorskip("uvicorn")

from openenv.core.env_server import Environment  # noqa: E402

from clinic_env.adapters.openenv import (  # noqa: E402
    ConsultationAction,
    ConsultationClient,
    ConsultationEnvironment,
    create_clinic_app,
)


@pytest.fixture(scope="module")
def base_url():
    app = create_clinic_app(dataset="starter", persona="plain", max_turns=8)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", ws="websockets-sansio"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    server.should_exit = True
    thread.join(10)


def test_multi_turn_consultation_over_the_websocket_session(base_url):
    with ConsultationClient(base_url=base_url).sync() as env:
        result = env.reset(seed=0, case_id="surg-001")
        assert "22-year-old man" in result.observation.text and not result.done
        assert env.state().case_id == "surg-001"
        rewards = []
        for message in (
            "Where is the pain?",
            "REQUEST EXAM: abdomen",
            "DIAGNOSIS READY: appendicitis",
        ):
            result = env.step(ConsultationAction(message=message))
            rewards.append(result.reward)
        assert "McBurney" not in result.observation.text  # the closing turn
        assert result.done and result.observation.turn == 3
        episode = result.observation.episode
        assert episode["outcome"] == "diagnosed" and episode["score"]["top1"] == 1.0
        assert episode["turn_rewards"] == pytest.approx(rewards)
        assert "end.top1" in result.observation.reward_breakdown
        assert env.state().outcome == "diagnosed" and env.state().step_count == 3


def test_sessions_are_independent(base_url):
    async def one(case_id: str) -> str:
        async with ConsultationClient(base_url=base_url) as env:
            await env.reset(seed=1, case_id=case_id)
            result = await env.step(ConsultationAction(message="What brings you in today?"))
            return (await env.state()).case_id, result.observation.turn

    async def both():
        return await asyncio.gather(one("surg-001"), one("resp-001"))

    assert asyncio.run(both()) == [("surg-001", 1), ("resp-001", 1)]


def test_environment_is_an_openenv_environment():
    env = ConsultationEnvironment(dataset="starter")
    assert isinstance(env, Environment) and env.SUPPORTS_CONCURRENT_SESSIONS
    observation = env.reset(seed=2)
    step = env.step(ConsultationAction(message="END"))
    assert observation.text and step.done and env.state.outcome == "ended"
