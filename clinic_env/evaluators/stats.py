"""Statistics over many consultations: intervals, pass^k and paired effects.

A study with clinic-env asks how a doctor fares under a condition (a persona, a bias) against
the same doctor on the same case and seed without it. Because each pair shares its case and
seed, the difference within a pair removes case difficulty, and :func:`paired_effect` reads
the condition's effect off those differences. Everything here is seeded and returns the same
numbers for the same inputs.

Proportions (top-1, top-3, any 0/1 score) get Wilson score intervals and paired differences of
proportions the Bonett-Price adjusted Wald interval: unlike a bootstrap, neither collapses to
a point when every consultation scored 0 or 1 (0 of 41 is not "0% [0-0]"). Other means get a
percentile bootstrap.
"""

from __future__ import annotations

import itertools
import math
import random
import statistics
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from typing import TypeVar

import numpy as np
from pydantic import Field

from clinic_env.schema.base import Frozen
from clinic_env.schema.transcript import Transcript

K = TypeVar("K", bound=Hashable)

# Up to this many pairs the sign-flip test enumerates every flip (2**16 = 65,536 means);
# above it, it samples ``resamples`` random flips.
_EXACT_SIGN_FLIP_PAIRS = 16


def _mean(values: Sequence[float]) -> float:
    return math.fsum(values) / len(values)


def _percentile(ordered: Sequence[float], fraction: float) -> float:
    """Linear interpolation between the closest ranks of an ordered sample."""
    position = fraction * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    weight = position - low
    return ordered[low] * (1 - weight) + ordered[high] * weight


def _z(confidence: float) -> float:
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must lie between 0 and 1, not {confidence}")
    return statistics.NormalDist().inv_cdf(1 - (1 - confidence) / 2)


def wilson_interval(
    successes: float, n: int, *, confidence: float = 0.95
) -> tuple[float, float, float]:
    """The share ``successes / n`` and its Wilson score interval (Wilson, 1927).

    It stays inside [0, 1] and never has zero width: 0 of 41 gives about [0%, 8.6%], 1 of 1
    about [21%, 100%]. ``successes`` may be fractional (a mean of 0/1 scores times n).
    """
    if n < 1:
        raise ValueError("wilson_interval needs at least one trial")
    if not 0 <= successes <= n:
        raise ValueError(f"successes must lie between 0 and n={n}, not {successes}")
    z = _z(confidence)
    share = successes / n
    denominator = 1 + z * z / n
    centre = (share + z * z / (2 * n)) / denominator
    half = z / denominator * math.sqrt(share * (1 - share) / n + z * z / (4 * n * n))
    # Rounding must never put the share outside its own interval (0 of n: low is exactly 0).
    return share, min(share, max(0.0, centre - half)), max(share, min(1.0, centre + half))


def is_binary(values: Iterable[float]) -> bool:
    """Whether every value is 0 or 1 (a proportion's interval then applies)."""
    return all(value in (0.0, 1.0) for value in values)


def proportion_difference_ci(
    pairs: Sequence[tuple[float, float]], *, confidence: float = 0.95
) -> tuple[float, float, float]:
    """Treated minus control share over paired 0/1 outcomes, with the Bonett-Price adjusted
    Wald interval for paired proportions (Bonett & Price, 2012).

    Only discordant pairs move the difference; adding one pseudo-observation to each kind
    keeps the interval's width when there are none: 87 pairs that all agree give about
    +-3 points, never +0 [+0, +0], and a single discordant pair is not read as certainty.
    """
    n = len(pairs)
    if not n:
        raise ValueError("proportion_difference_ci needs at least one pair")
    treated_only = sum(1 for t, c in pairs if t and not c)
    control_only = sum(1 for t, c in pairs if c and not t)
    difference = (treated_only - control_only) / n
    up, down = (treated_only + 1) / (n + 2), (control_only + 1) / (n + 2)
    spread = _z(confidence) * math.sqrt((up + down - (up - down) ** 2) / (n + 2))
    centre = up - down
    return difference, max(-1.0, centre - spread), min(1.0, centre + spread)


def bootstrap_ci(
    values: Sequence[float], *, confidence: float = 0.95, resamples: int = 2000, seed: int = 0
) -> tuple[float, float, float]:
    """The mean of ``values`` and a percentile-bootstrap interval around it.

    Returns ``(mean, low, high)``. One value gives a zero-width interval; none is an error,
    since a mean of nothing would otherwise read as a result.
    """
    if not values:
        raise ValueError("bootstrap_ci needs at least one value")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must lie between 0 and 1, not {confidence}")
    if resamples < 1:
        raise ValueError(f"resamples must be at least 1, not {resamples}")
    data = [float(value) for value in values]
    centre = _mean(data)
    if len(data) == 1 or len(set(data)) == 1:
        return centre, centre, centre
    means = sorted(_resampled_means(data, resamples, seed))
    tail = (1 - confidence) / 2
    return centre, _percentile(means, tail), _percentile(means, 1 - tail)


_BLOCK = 4_000_000
"""Values drawn per numpy block: bounds memory whatever the sample size."""


def _resampled_means(data: list[float], resamples: int, seed: int) -> list[float]:
    """Means of ``resamples`` bootstrap samples, drawn with numpy in memory-bounded blocks
    (a report over tens of thousands of consultations must not take minutes)."""
    rng = np.random.default_rng(seed)
    array = np.asarray(data)
    per_block = max(1, _BLOCK // array.size)
    means: list[float] = []
    while len(means) < resamples:
        count = min(per_block, resamples - len(means))
        picks = rng.integers(0, array.size, size=(count, array.size))
        means.extend(array[picks].mean(axis=1).tolist())
    return means


def pass_hat_k(successes_per_case: Mapping[str, Sequence[bool]], k: int) -> float:
    """tau-bench's pass^k: the chance that all of k fresh tries at a case succeed, averaged.

    For a case tried n times with c successes the unbiased estimate is C(c, k) / C(n, k).
    Every case must have at least k tries, or its estimate would be undefined.
    """
    if k < 1:
        raise ValueError(f"k must be at least 1, not {k}")
    if not successes_per_case:
        raise ValueError("pass_hat_k needs at least one case")
    estimates = []
    for case_id, outcomes in successes_per_case.items():
        tries = len(outcomes)
        if tries < k:
            raise ValueError(f"case {case_id!r} has {tries} tries, fewer than k={k}")
        estimates.append(math.comb(sum(map(bool, outcomes)), k) / math.comb(tries, k))
    return _mean(estimates)


class PairedEffect(Frozen):
    """The effect of a condition against its control, over pairs sharing case and seed."""

    effect: float = Field(description="mean of treated - control over the pairs")
    low: float = Field(description="lower end of the effect's interval (Bonett-Price for 0/1)")
    high: float = Field(description="upper end of the effect's interval (Bonett-Price for 0/1)")
    confidence: float
    n: int = Field(ge=1, description="pairs present on both sides")
    p_value: float = Field(ge=0, le=1, description="two-sided sign-flip test of no effect")
    treated_mean: float
    control_mean: float
    unpaired: int = Field(ge=0, description="keys present on one side only (left out)")


def describe_effect(effect: PairedEffect) -> str:
    """``-12.2 pp [-20.0, -4.9], p=0.003``: the effect in percentage points."""
    p_value = "p<0.001" if effect.p_value < 0.001 else f"p={effect.p_value:.3f}"
    points = f"{effect.effect * 100:+.1f} pp [{effect.low * 100:+.1f}, {effect.high * 100:+.1f}]"
    return f"{points}, {p_value}"


def _sign_flip_p_value(differences: Sequence[float], resamples: int, seed: int) -> float:
    """Two-sided p-value of a zero mean difference: how often random signs do as well.

    Under no effect each difference is as likely to carry either sign. Small samples are
    enumerated exactly; larger ones are sampled, with the (count + 1) / (draws + 1) rule so
    a p-value is never zero.
    """
    observed = abs(math.fsum(differences))
    tolerance = 1e-12 * max(1.0, observed)
    magnitudes = [abs(value) for value in differences]
    if len(magnitudes) <= _EXACT_SIGN_FLIP_PAIRS:
        flips = itertools.product((1.0, -1.0), repeat=len(magnitudes))
        sums = [
            abs(math.fsum(s * m for s, m in zip(signs, magnitudes, strict=True))) for signs in flips
        ]
        return sum(total >= observed - tolerance for total in sums) / len(sums)
    rng = random.Random(seed)
    hits = 0
    for _ in range(resamples):
        total = abs(math.fsum(m if rng.random() < 0.5 else -m for m in magnitudes))
        hits += total >= observed - tolerance
    return (hits + 1) / (resamples + 1)


def paired_effect(
    treated: Mapping[K, float],
    control: Mapping[K, float],
    *,
    confidence: float = 0.95,
    resamples: int = 2000,
    seed: int = 0,
) -> PairedEffect:
    """Mean treated - control over the keys both sides hold, with a CI and a p-value.

    Keys are whatever identifies a pair, usually ``(case_id, seed)``. Keys on one side only
    are left out and counted in ``unpaired``, never imputed.
    """
    keys = [key for key in treated if key in control]
    if not keys:
        raise ValueError("paired_effect found no key present in both treated and control")
    differences = [float(treated[key]) - float(control[key]) for key in keys]
    pairs = [(float(treated[key]), float(control[key])) for key in keys]
    if is_binary(value for pair in pairs for value in pair):
        effect, low, high = proportion_difference_ci(pairs, confidence=confidence)
    else:
        effect, low, high = bootstrap_ci(
            differences, confidence=confidence, resamples=resamples, seed=seed
        )
    return PairedEffect(
        effect=effect,
        low=low,
        high=high,
        confidence=confidence,
        n=len(keys),
        p_value=_sign_flip_p_value(differences, resamples, seed),
        treated_mean=_mean([float(treated[key]) for key in keys]),
        control_mean=_mean([float(control[key]) for key in keys]),
        unpaired=len(set(treated) ^ set(control)),
    )


def score_by_pair(
    transcripts: Iterable[Transcript],
    score: str,
    *,
    where: Callable[[Transcript], bool] = lambda _: True,
) -> dict[tuple[str, str, int], float]:
    """One score per ``(dataset, case_id, seed)`` from the transcripts ``where`` selects.

    This is the shape :func:`paired_effect` takes: select the biased runs for ``treated`` and
    the unbiased ones for ``control``. Scores that failed (``None``) or are missing are left
    out, so they show up as unpaired rather than as zeros.
    """
    table: dict[tuple[str, str, int], float] = {}
    for transcript in transcripts:
        if not where(transcript):
            continue
        value = transcript.score.as_dict().get(score)
        if value is None:
            continue
        key = (transcript.dataset, transcript.case_id, transcript.seed)
        if key in table:
            raise ValueError(f"two transcripts selected for {key}: narrow the selection")
        table[key] = value
    return table
