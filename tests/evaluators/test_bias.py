"""Susceptibility to a bias: did the doctor settle where the bias pointed?"""

from clinic_env.agents.biasing import BIAS_TARGET_STREAM, plan_biases
from clinic_env.evaluators.bias import BiasTargetEvaluator
from clinic_env.seeding import agent_rng
from tests.helpers.cases import minimal_case
from tests.helpers.transcripts import score, transcript

OPTIONS = {"A": "Gout", "B": "Cellulitis", "C": "Pseudogout", "D": "Septic arthritis"}


def test_the_doctor_that_follows_the_bias_is_caught():
    case = minimal_case()
    targets = {"doctor:confirmation": "Septic arthritis"}
    followed = transcript(case, [], differential=["Septic arthritis", "Gout"], bias_targets=targets)
    got = score(case, followed, BiasTargetEvaluator()).as_dict()
    assert got == {"bias_target_top1": 1.0, "bias_target_listed": 1.0}
    resisted = transcript(case, [], differential=["Gout", "septic arthritis"], bias_targets=targets)
    got = score(case, resisted, BiasTargetEvaluator()).as_dict()
    assert got == {"bias_target_top1": 0.0, "bias_target_listed": 1.0}


def test_an_unbiased_run_is_scored_against_the_same_target_for_pairing():
    truth = {**minimal_case().ground_truth.model_dump(), "answer_option": "A", "differentials": []}
    case = minimal_case(options=OPTIONS, ground_truth=truth)
    for seed in range(6):
        plan = plan_biases(case, ["recency"], agent_rng(seed, case.id, BIAS_TARGET_STREAM))
        (target,) = set(plan.targets.values())
        letter = next(k for k, v in OPTIONS.items() if v == target)
        control = transcript(case, [], differential=[letter], seed=seed)
        assert score(case, control, BiasTargetEvaluator()).value("bias_target_top1") == 1.0
        other = transcript(case, [], differential=["A"], seed=seed)
        assert score(case, other, BiasTargetEvaluator()).value("bias_target_listed") == 0.0
