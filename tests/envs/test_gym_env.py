import asyncio

import gymnasium
import pytest
from gymnasium.utils.env_checker import check_env

import clinic_env
from clinic_env.envs.gym_env import ClinicEnv
from clinic_env.errors import (
    AgentError,
    ConfigError,
    EpisodeStateError,
    ProtocolError,
    UnknownNameError,
)
from clinic_env.testing.scripted import ScriptedTransport

SCRIPT = (
    "What brings you in today?",
    "When did it start?",
    "Do you take any medications?",
    "REQUEST EXAM: vital signs",
    "REQUEST TEST: CBC",
    "DIAGNOSIS READY: Pulmonary embolism; pneumonia",
)


def play(env: ClinicEnv, seed: int) -> str:
    env.reset(seed=seed)
    for message in SCRIPT:
        _, _, terminated, truncated, _ = env.step(message)
        if terminated or truncated:
            break
    return env.transcript().model_dump_json()


def test_check_env_passes():
    check_env(ClinicEnv("starter", persona="anxious"), skip_render_check=True)
    check_env(ClinicEnv("starter", persona="anxious", render_mode="ansi"))


def test_same_seed_gives_byte_identical_transcripts():
    first = play(ClinicEnv("starter", persona=["anxious", "hostile", "verbose"]), seed=11)
    second = play(ClinicEnv("starter", persona=["anxious", "hostile", "verbose"]), seed=11)
    assert first == second
    others = {
        play(ClinicEnv("starter", persona=["anxious", "hostile", "verbose"]), seed=s)
        for s in range(12, 16)
    }
    assert first not in others


def test_gymnasium_make_and_options():
    env = gymnasium.make(clinic_env.ENV_ID, dataset="starter", persona="plain")
    obs, info = env.reset(seed=0, options={"case_id": "resp-001"})
    assert info["case_id"] == "resp-001"
    assert "34-year-old woman" in obs
    obs, _, _, _, info = env.step("Do you smoke?")
    assert "cigarette" in obs or "smoke" in obs
    assert set(info["reward_breakdown"]) >= {"new_facts", "invalid", "repeated"}
    env.close()


def test_works_inside_a_running_event_loop():
    async def notebook_cell() -> str:
        env = ClinicEnv("starter", seed=3)
        env.reset()
        obs, *_ = env.step("What brings you in today?")
        return obs

    assert asyncio.run(notebook_cell()).startswith(
        ("Patient:", "Mother:", "Father:", "Grandmother:")
    )


def test_render_is_a_readable_transcript():
    env = ClinicEnv("starter", render_mode="ansi")
    env.reset(seed=0)
    env.step("Any fever?")
    text = env.render()
    assert "[1] Doctor: Any fever?" in text


def test_named_errors():
    env = ClinicEnv("starter")
    with pytest.raises(EpisodeStateError, match="not started"):
        env.step("hello")
    with pytest.raises(UnknownNameError, match="persona"):
        ClinicEnv("starter", persona="grumpy-cat")
    with pytest.raises(UnknownNameError, match="reward"):
        ClinicEnv("starter", reward="nope")
    with pytest.raises(UnknownNameError, match="case"):
        ClinicEnv("starter", cases=["nope-001"])
    with pytest.raises(ConfigError, match="render_mode"):
        ClinicEnv("starter", render_mode="rgb_array")
    env.reset(seed=0)
    env.step("DIAGNOSIS READY: something")
    with pytest.raises(ProtocolError, match="over"):
        env.step("again")


def test_clinical_text_is_in_the_spaces():
    env = ClinicEnv("starter")
    assert env.action_space.contains("Temp 37.8 °C, BP 120/80 — any dyspnoea?")
    assert not env.action_space.contains(b"bytes")
    assert env.observation_space.contains(env.reset(seed=0)[0])


def test_a_missing_key_or_an_unreachable_server_is_reported_when_the_env_is_built(monkeypatch):
    monkeypatch.delenv("CLINIC_TEST_NO_SUCH_KEY", raising=False)
    keyed = {"model": "openai/gpt-4o-mini", "api_key_env": "CLINIC_TEST_NO_SUCH_KEY"}
    with pytest.raises(ConfigError, match="patient: the environment variable CLINIC_TEST_NO"):
        ClinicEnv("starter", patient=keyed)
    with pytest.raises(ConfigError, match="measurement: cannot reach the server"):
        ClinicEnv("starter", measurement={"model": "openai/x", "api_base": "http://127.0.0.1:9"})
    with pytest.raises(ConfigError, match="not an http"):
        ClinicEnv("starter", patient={"model": "openai/x", "api_base": "ftp://host/v1"})
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(ConfigError, match="set OPENAI_API_KEY"):
        ClinicEnv("starter", patient="openai/gpt-4o-mini")


def test_an_infrastructure_failure_raises_instead_of_ending_the_episode(monkeypatch):
    """A model server that fails is not an episode outcome: step() raises a named error and
    the transcript keeps the failure."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    transport = ScriptedTransport({"patient": [ConnectionError("server down")]})
    env = ClinicEnv("starter", patient={"model": "openai/stub", "max_retries": 0})
    env.reset(seed=0)
    monkeypatch.setattr(env.session.patient.model.client, "transport", transport)
    with pytest.raises(AgentError, match="server down"):
        env.step("When did it start?")
    assert env.transcript().outcome == "error"
