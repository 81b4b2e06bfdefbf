"""SkyRL-gym: made through skyrl_gym.make and driven as its generator drives text envs."""

import pytest

skyrl_gym = pytest.importorskip("skyrl_gym")

from skyrl_gym.envs.base_text_env import BaseTextEnv  # noqa: E402

from clinic_env.adapters.skyrl import ENV_ID  # noqa: E402

DOCTOR = ("What brings you in today?", "REQUEST TEST: CBC", "DIAGNOSIS READY: Acute appendicitis")


def test_generator_style_episode():
    env = skyrl_gym.make(
        ENV_ID,
        env_config={"dataset": "starter", "max_turns": 8},
        extras={"reward_spec": {}, "extra_info": {"case_id": "surg-001", "seed": 3}},
    )
    assert isinstance(env, BaseTextEnv) and env.max_turns == 8
    prompt = [{"role": "system", "content": "You are a doctor."}]
    chat, _ = env.init(prompt)
    assert chat[0] == prompt[0] and "22-year-old man" in chat[-1]["content"]
    rewards = []
    for message in DOCTOR:
        output = env.step(message)
        rewards.append(output["reward"])
        assert "new_facts" in output["metadata"]["reward_breakdown"]
        if output["done"]:
            break
        assert output["observations"][0]["role"] == "user"
    assert output["done"] and output["observations"] == []
    episode = output["metadata"]["episode"]
    assert episode["outcome"] == "diagnosed" and episode["turn_rewards"] == rewards
    metrics = env.get_metrics()
    assert metrics["score/top1"] == 1.0 and metrics["reward/end.top1"] == 1.0
    assert metrics["return"] == pytest.approx(sum(rewards))
    assert BaseTextEnv.aggregate_metrics([metrics, metrics])["return"] == metrics["return"]
    env.close()
