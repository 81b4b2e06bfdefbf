"""Scripted doctors' own cost: milliseconds of doctor time per consultation.

Run: ``python benchmarks/scripted_doctors.py [--seeds N] [--bias doctor:confirmation]``.
Plays every bundled case with the offline patient and measurement agents, and times only the
doctor's decisions (the engine's steps are left out), per consultation, for the systematic and
random doctors. Issue 13's goal for the systematic doctor is at most 3 ms per consultation.
The first pass over the cases builds the caches (knowledge base, indexes) and is not counted.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time

from clinic_env.datasets import load_cases
from clinic_env.schema.case import Case
from clinic_env.session import create_doctor, create_session

DOCTORS = ("systematic", "random")


async def doctor_seconds(case: Case, doctor_name: str, seed: int, biases: tuple[str, ...]) -> float:
    """Seconds the doctor spent deciding over one whole consultation."""
    session = create_session(case, dataset="starter", seed=seed, biases=biases, doctor=doctor_name)
    doctor = create_doctor(doctor_name, session)
    observation = session.opening
    spent = 0.0
    while not session.done:
        seen = session.observation_for_doctor(observation)
        started = time.perf_counter()
        action = await doctor.act(seen)
        spent += time.perf_counter() - started
        observation = (await session.step(action)).observation
    return spent


async def measure(doctor_name: str, seeds: int, biases: tuple[str, ...]) -> list[float]:
    cases = load_cases("starter")
    for case in cases:  # warm-up: caches and indexes
        await doctor_seconds(case, doctor_name, 0, biases)
    return [
        await doctor_seconds(case, doctor_name, seed, biases)
        for seed in range(seeds)
        for case in cases
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3, help="seeds per case")
    parser.add_argument("--bias", action="append", default=[], help="a bias spec, repeatable")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core
    for name in DOCTORS:
        times = sorted(t * 1000 for t in asyncio.run(measure(name, args.seeds, tuple(args.bias))))
        p95 = times[min(len(times) - 1, int(0.95 * len(times)))]
        print(
            f"{name:>10}: {statistics.fmean(times):7.3f} ms per consultation "
            f"(median {statistics.median(times):.3f}, p95 {p95:.3f}, n {len(times)})"
        )


if __name__ == "__main__":
    main()
