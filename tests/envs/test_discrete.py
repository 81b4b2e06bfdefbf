"""The discrete-action env: Gymnasium's checker, menus, masks, candidates and features."""

import numpy as np
from gymnasium.utils.env_checker import check_env

from clinic_env.datasets import load_cases
from clinic_env.envs.discrete import DiscreteClinicEnv, candidates_of, question_bank


def test_check_env_passes():
    check_env(DiscreteClinicEnv("starter", max_turns=8), skip_render_check=True)


def test_menu_actions_reach_the_session_and_evidence_grows():
    env = DiscreteClinicEnv("starter", max_turns=12)
    observation, info = env.reset(seed=0, options={"case_id": "surg-001"})
    case = next(c for c in load_cases("starter") if c.id == "surg-001")
    assert sorted(info["candidates"]) == sorted(candidates_of(case))
    assert info["action_mask"][: len(env.menu)].all()
    assert not info["action_mask"][len(env.menu) + len(env.candidates) :].any()
    exam = len(question_bank()) + env.menu[len(question_bank()) :].index(("exam", "abdomen"))
    before = observation.copy()
    observation, reward, terminated, _, info = env.step(exam)
    assert info["message"] == "REQUEST EXAM: abdomen" and not terminated
    assert info["action_mask"][exam] == 0 and observation[exam] == 1.0
    assert observation[len(env.menu)] > before[len(env.menu)]  # the turn moved on
    truth = env.candidates.index("Acute appendicitis")
    _, reward, terminated, _, info = env.step(len(env.menu) + truth)
    assert terminated and info["score"]["top1"] == 1.0 and reward >= 1.0


def test_candidates_are_shuffled_per_episode():
    env = DiscreteClinicEnv("starter")
    orders = {env.reset(seed=s, options={"case_id": "surg-001"})[1]["candidates"] for s in range(6)}
    assert len(orders) > 1
    assert all(np.isfinite(env.reset(seed=1)[0]).all() for _ in range(2))
