"""Offline throughput: Gym env steps per second and reset time, one process, one core.

Run: ``python benchmarks/offline_throughput.py [--steps N]``. Plays the bundled cases with a
fixed script of questions, exams and tests (the patient and measurement agents are the
offline ones, scored by the full default evaluator suite), and prints steps/s and the mean and
99th-percentile reset time. The same run steps Gymnasium's CartPole-v1 and prints the ratio,
which is what to compare on a noisy machine (goal: 20,000 steps/s on one quiet core, a ratio
of at least 0.16, resets under 1 ms). Each case's first episode builds what is then kept for
the case (indexes, guard patterns, the bias candidates): those are timed apart, as a
training run pays them once. After that warm-up it calls
``gc.freeze()``: the long-lived content (cases, indexes, knowledge) then never goes through
the garbage collector again, which is what keeps the reset's tail short; do the same in a
training loop.
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import time

import gymnasium

from clinic_env.envs.gym_env import ClinicEnv

SCRIPT = (
    "What brings you in today?",
    "When did it start and how has it changed?",
    "Any fever, cough or vomiting?",
    "Do you take any medications?",
    "Any allergies?",
    "Do you smoke or drink alcohol?",
    "Does anything run in your family?",
    "REQUEST EXAM: vital signs",
    "REQUEST EXAM: abdomen",
    "REQUEST TEST: CBC",
    "REQUEST TEST: C-reactive protein",
    "Anything else you have noticed?",
    "DIAGNOSIS READY: Pulmonary embolism; Gout; Acute appendicitis",
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100_000)
    parser.add_argument("--persona", default="anxious")
    parser.add_argument(
        "--evaluators",
        default=None,
        help="comma-separated evaluator names (default: the full offline suite)",
    )
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core, as the goal says

    evaluators = tuple(args.evaluators.split(",")) if args.evaluators else None
    env = ClinicEnv("starter", persona=args.persona, evaluators=evaluators)
    cold: list[float] = []
    cold_episodes: list[float] = []
    for case in env.cases:  # a case's first episode builds its indexes: timed apart
        started = time.perf_counter()
        env.reset(seed=0, options={"case_id": case.id})
        cold.append(time.perf_counter() - started)
        started = time.perf_counter()
        play(env)
        cold_episodes.append(time.perf_counter() - started)
    gc.freeze()
    resets: list[float] = []
    steps = 0
    step_time = 0.0
    episode = 0
    while steps < args.steps:
        started = time.perf_counter()
        env.reset(seed=episode)
        resets.append(time.perf_counter() - started)
        episode += 1
        started = time.perf_counter()
        steps += play(env)
        step_time += time.perf_counter() - started

    resets_ms = sorted(r * 1000 for r in resets)
    p99 = resets_ms[min(len(resets_ms) - 1, int(0.99 * len(resets_ms)))]
    rate = steps / step_time
    cartpole = cartpole_rate(args.steps)
    print(f"episodes: {episode}, steps: {steps}")
    print(f"env steps per second: {rate:,.0f} (goal 20,000)")
    print(f"CartPole-v1 steps per second, same run: {cartpole:,.0f}")
    print(f"ratio to CartPole: {rate / cartpole:.3f} (goal >= 0.16)")
    print(f"reset: mean {statistics.fmean(resets_ms):.3f} ms, p99 {p99:.3f} ms (goal < 1 ms)")
    print(
        "first episode of each case (builds its indexes, guard patterns, bias candidates): "
        f"reset mean {statistics.fmean(cold) * 1000:.3f} ms, "
        f"steps mean {statistics.fmean(cold_episodes) * 1000:.3f} ms"
    )


def play(env: ClinicEnv) -> int:
    """Step one episode through the script; the number of steps taken."""
    for taken, message in enumerate(SCRIPT, start=1):
        _, _, terminated, truncated, _ = env.step(message)
        if terminated or truncated:
            return taken
    return len(SCRIPT)


def cartpole_rate(steps: int) -> float:
    """Gymnasium's CartPole-v1 stepped with a fixed action, as a yardstick for this machine."""
    env = gymnasium.make("CartPole-v1")
    env.reset(seed=0)
    started = time.perf_counter()
    for _ in range(steps):
        _, _, terminated, truncated, _ = env.step(0)
        if terminated or truncated:
            env.reset()
    return steps / (time.perf_counter() - started)


if __name__ == "__main__":
    main()
