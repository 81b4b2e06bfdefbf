"""PettingZoo faces: the parallel env (doctor and patient agents) and its AEC conversion."""

import warnings

import pytest

pytest.importorskip("pettingzoo")

from pettingzoo.test import api_test, parallel_api_test

from clinic_env.envs.parallel import aec_env, parallel_env
from clinic_env.errors import ConfigError, ProtocolError


@pytest.mark.parametrize("dict_observations", [False, True])
def test_parallel_api_test_passes(dict_observations):
    env = parallel_env(dataset="starter", max_turns=6, dict_observations=dict_observations)
    parallel_api_test(env, num_cycles=100)


def test_aec_form_passes_api_test():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # PettingZoo's advice on Box spaces
        api_test(aec_env(dataset="starter", max_turns=6), num_cycles=100)


def test_doctor_and_patient_take_turns():
    told = []

    def patient_reward(question: str, reply: str, facts: tuple[int, ...]) -> float:
        told.append((question, reply, facts))
        return float(len(facts))

    env = parallel_env(dataset="starter", cases=["surg-001"], patient_reward=patient_reward)
    observations, infos = env.reset(seed=0)
    assert "22-year-old man" in observations["doctor"]
    assert "belly button" in observations["patient"]  # the patient's brief: its own history
    assert infos["doctor"]["acting"] and not infos["patient"]["acting"]

    observations, rewards, *_, infos = env.step({"doctor": "Where is the pain?", "patient": ""})
    assert observations == {"doctor": "", "patient": "Where is the pain?"}
    assert infos["patient"]["acting"] and rewards == {"doctor": 0.0, "patient": 0.0}

    reply = "At first it was a dull ache around my belly button; now it's sharp, lower right."
    observations, rewards, *_, infos = env.step({"doctor": "ignored", "patient": reply})
    assert reply in observations["doctor"] and observations["patient"] == ""
    assert told and told[0][0] == "Where is the pain?" and told[0][2]
    assert rewards["patient"] == len(told[0][2]) and rewards["doctor"] > 0
    assert infos["doctor"]["reward_breakdown"]["new_facts"] > 0

    observations, *_ = env.step({"doctor": "REQUEST EXAM: abdomen", "patient": ""})
    assert "McBurney" in observations["doctor"]  # the room answers at once
    observations, rewards, terminations, truncations, infos = env.step(
        {"doctor": "DIAGNOSIS READY: Acute appendicitis", "patient": ""}
    )
    assert all(terminations.values()) and not any(truncations.values())
    assert infos["doctor"]["outcome"] == "diagnosed" and rewards["doctor"] >= 1.0
    assert env.agents == []
    with pytest.raises(ProtocolError, match="over"):
        env.step({"doctor": "again", "patient": ""})


def test_measurement_must_be_offline():
    with pytest.raises(ConfigError, match="offline measurement"):
        parallel_env(measurement="openai/gpt-4o-mini")
