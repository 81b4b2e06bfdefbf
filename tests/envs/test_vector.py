"""Vector envs in sync and async modes; async must not use shared memory for text."""

import gymnasium
import pytest

import clinic_env
from clinic_env.envs.vector import make_vec_env

SCRIPT = ("What brings you in today?", "REQUEST EXAM: abdomen", "DIAGNOSIS READY: Gout")


def play(envs: gymnasium.vector.VectorEnv) -> list[tuple]:
    observations, infos = envs.reset(seed=5)
    record = [observations, tuple(infos["case_id"])]
    for message in SCRIPT:
        observations, rewards, terminated, _, infos = envs.step((message,) * envs.num_envs)
        record += [observations, tuple(rewards), tuple(terminated)]
    assert all(terminated)
    assert len(infos["reward_breakdown"]["end.top1"]) == envs.num_envs
    envs.close()
    return record


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_make_vec_steps_text_in_both_modes(mode):
    envs = gymnasium.make_vec(
        clinic_env.ENV_ID,
        num_envs=3,
        vectorization_mode=mode,
        vector_kwargs={"shared_memory": False} if mode == "async" else {},
        dataset="starter",
        persona="plain",
    )
    record = play(envs)
    observations = record[0]
    assert isinstance(observations, tuple) and all(isinstance(o, str) for o in observations)
    assert all(o.startswith("A ") for o in observations)  # the doctor's brief, intact


def test_async_and_sync_agree_and_the_helper_refuses_shared_memory():
    sync = play(make_vec_env(2, vectorization_mode="sync", dataset="starter", persona="plain"))
    async_ = play(make_vec_env(2, vectorization_mode="async", dataset="starter", persona="plain"))
    assert sync == async_
    with pytest.raises(ValueError, match="shared_memory"):
        make_vec_env(2, vectorization_mode="async", vector_kwargs={"shared_memory": True})
