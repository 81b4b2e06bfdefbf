"""Bootstrap intervals, pass^k and paired effects on data whose answer is known."""

import math
import random

import pytest

from clinic_env.evaluators.stats import (
    bootstrap_ci,
    paired_effect,
    pass_hat_k,
    proportion_difference_ci,
    score_by_pair,
    wilson_interval,
)
from clinic_env.schema.transcript import Score, ScoreComponent, Transcript


def test_bootstrap_interval_holds_the_mean_and_narrows_with_more_data():
    rng = random.Random(1)
    small = [rng.gauss(0.6, 0.2) for _ in range(20)]
    large = [rng.gauss(0.6, 0.2) for _ in range(2000)]
    mean, low, high = bootstrap_ci(small, seed=3)
    assert mean == pytest.approx(sum(small) / len(small))
    assert low < mean < high
    _, low_l, high_l = bootstrap_ci(large, seed=3)
    assert high_l - low_l < high - low
    assert low_l < 0.6 < high_l
    assert bootstrap_ci(small, seed=3) == (mean, low, high)  # seeded: the same every time


def test_bootstrap_edge_cases():
    assert bootstrap_ci([0.5]) == (0.5, 0.5, 0.5)
    assert bootstrap_ci([1.0, 1.0, 1.0]) == (1.0, 1.0, 1.0)
    with pytest.raises(ValueError, match="at least one"):
        bootstrap_ci([])
    with pytest.raises(ValueError, match="confidence"):
        bootstrap_ci([1.0, 2.0], confidence=1.5)


def test_bootstrap_coverage_of_a_known_mean():
    """About 95% of 95% intervals hold the true mean (a loose check over 200 samples)."""
    rng = random.Random(7)
    hits = 0
    for trial in range(200):
        sample = [float(rng.random() < 0.3) for _ in range(60)]
        _, low, high = bootstrap_ci(sample, resamples=400, seed=trial)
        hits += low <= 0.3 <= high
    assert 0.88 <= hits / 200 <= 0.99


def test_pass_hat_k_is_the_tau_bench_estimator():
    outcomes = {"a": [True] * 4, "b": [True, True, False, False], "c": [False] * 4}
    assert pass_hat_k(outcomes, 1) == pytest.approx((1 + 0.5 + 0) / 3)
    expected_b = math.comb(2, 2) / math.comb(4, 2)
    assert pass_hat_k(outcomes, 2) == pytest.approx((1 + expected_b + 0) / 3)
    assert pass_hat_k(outcomes, 3) == pytest.approx(1 / 3)
    assert pass_hat_k(outcomes, 2) <= pass_hat_k(outcomes, 1)
    with pytest.raises(ValueError, match="fewer than k"):
        pass_hat_k({"a": [True]}, 2)


def test_paired_effect_recovers_a_known_effect_over_case_difficulty():
    """Cases differ wildly in difficulty; the treatment adds 0.2 to every one of them."""
    rng = random.Random(11)
    control, treated = {}, {}
    for case in range(300):
        difficulty = rng.uniform(0, 5)
        key = (f"case-{case}", 0)
        control[key] = difficulty + rng.gauss(0, 0.05)
        treated[key] = difficulty + 0.2 + rng.gauss(0, 0.05)
    effect = paired_effect(treated, control, seed=2)
    assert effect.effect == pytest.approx(0.2, abs=0.02)
    assert effect.low < 0.2 < effect.high
    assert effect.high - effect.low < 0.05  # pairing removes the difficulty spread
    assert effect.p_value < 0.01 and effect.n == 300 and effect.unpaired == 0
    assert effect.treated_mean - effect.control_mean == pytest.approx(effect.effect)


def test_paired_effect_of_nothing_is_not_significant():
    rng = random.Random(5)
    control = {i: rng.random() for i in range(200)}
    treated = {i: value + rng.gauss(0, 0.1) for i, value in control.items()}
    effect = paired_effect(treated, control)
    assert effect.low < 0 < effect.high
    assert effect.p_value > 0.05


def test_paired_effect_exact_sign_flip_and_unpaired_keys():
    treated = {k: 1.0 for k in "abcde"} | {"only-treated": 0.0}
    control = {k: 0.0 for k in "abcde"} | {"only-control": 1.0}
    effect = paired_effect(treated, control)
    assert effect.n == 5 and effect.unpaired == 2
    assert effect.effect == 1.0
    assert effect.p_value == pytest.approx(2 / 32)  # all + or all - out of 2**5 flips
    with pytest.raises(ValueError, match="no key"):
        paired_effect({"a": 1.0}, {"b": 1.0})


def _transcript(case: str, seed: int, top1: float | None, biases=()) -> Transcript:
    component = ScoreComponent(
        name="top1", value=top1, evaluator="m", error=None if top1 is not None else "boom"
    )
    return Transcript(
        id=f"{case}/{seed}",
        case_id=case,
        dataset="d",
        seed=seed,
        persona="plain",
        biases=tuple(biases),
        agents={},
        max_turns=5,
        opening_observation="",
        outcome="diagnosed",
        score=Score(components=(component,)),
    )


def test_score_by_pair_feeds_paired_effect_and_leaves_failures_out():
    runs = [
        _transcript("a", 0, 1.0),
        _transcript("a", 0, 0.0, ["recency"]),
        _transcript("b", 0, 1.0),
        _transcript("b", 0, None, ["recency"]),
    ]
    control = score_by_pair(runs, "top1", where=lambda t: not t.biases)
    treated = score_by_pair(runs, "top1", where=lambda t: bool(t.biases))
    assert control == {("d", "a", 0): 1.0, ("d", "b", 0): 1.0}
    assert treated == {("d", "a", 0): 0.0}
    effect = paired_effect(treated, control)
    assert effect.n == 1 and effect.unpaired == 1 and effect.effect == -1.0
    with pytest.raises(ValueError, match="two transcripts"):
        score_by_pair(runs, "top1")


def test_wilson_intervals_never_collapse_at_zero_or_one():
    share, low, high = wilson_interval(0, 41)
    assert share == 0.0 and low == 0.0 and high == pytest.approx(0.0857, abs=1e-3)
    share, low, high = wilson_interval(1, 1)
    assert share == 1.0 and high == 1.0 and low == pytest.approx(0.2065, abs=1e-3)
    share, low, high = wilson_interval(20, 40)
    assert low < 0.5 < high and high - low == pytest.approx(2 * (0.5 - low))
    with pytest.raises(ValueError):
        wilson_interval(2, 1)


def test_paired_proportions_keep_a_width_when_every_pair_agrees():
    """Bonett-Price: 41 concordant pairs give +-z*sqrt((2/43)/43), about 6.4 points, whether
    they all succeeded, all failed or were mixed (the old bootstrap gave +0 [+0, +0])."""
    for pairs in ([(0.0, 0.0)] * 41, [(1.0, 1.0)] * 41, [(1.0, 1.0)] * 20 + [(0.0, 0.0)] * 21):
        effect, low, high = proportion_difference_ci(pairs)
        assert effect == 0.0 and low == pytest.approx(-0.0645, abs=1e-3) and high == -low
    effect, low, high = proportion_difference_ci([(1.0, 0.0)] * 10 + [(0.0, 0.0)] * 30)
    assert effect == 0.25 and 0 < low < 0.25 < high < 1
    effect, low, high = proportion_difference_ci([(0.0, 1.0)] + [(1.0, 1.0)] * 86)
    assert effect == pytest.approx(-1 / 87) and low < -0.04 and high > 0.02


def test_paired_effect_of_0_1_scores_uses_the_paired_proportion_interval():
    treated = {k: 1.0 for k in range(5)}
    control = {k: 1.0 for k in range(5)}
    effect = paired_effect(treated, control)
    assert effect.effect == 0.0 and effect.low < 0 < effect.high
