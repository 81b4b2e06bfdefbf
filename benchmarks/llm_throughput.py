"""Model-call throughput: many consultations at once against the stub model server.

Run: ``python benchmarks/llm_throughput.py [--consultations 1000] [--slots 256]
[--latency 0.1] [--transport direct|litellm]``. The stub (in its own process) serves at most
``slots`` requests at once, each taking ``latency`` seconds, so no client can exceed
``slots / latency`` calls per second. Patient and doctor are model roles; the measurement
agent is offline. Prints the calls/s reached against that bound, the peak RSS, and the
memory per in-flight consultation. The goal: 0.9 of the bound and under 100 KB each.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from pathlib import Path

from clinic_env.datasets import load_cases
from clinic_env.llm import ModelClient, ModelConfig
from clinic_env.runner.batch import Batch, plan_jobs
from clinic_env.testing.stub_server import ReplyScript, StubConfig, start_in_subprocess

DOCTOR_SCRIPT = (
    "What brings you in today?",
    "When did it start?",
    "Where exactly is it, and does it spread anywhere?",
    "Does anything make it better or worse?",
    "Have you had a fever, a cough or vomiting?",
    "Do you take any medications?",
    "Does anything run in your family?",
    "REQUEST TEST: Complete blood count",
    "DIAGNOSIS READY: Viral syndrome; Gastroenteritis",
)


def memory_kb(field: str) -> int:
    """VmRSS (now) or VmHWM (peak) of this process, in KB, from /proc."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not found in /proc/self/status")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--consultations", type=int, default=1000)
    parser.add_argument("--slots", type=int, default=256)
    parser.add_argument("--latency", type=float, default=0.1)
    parser.add_argument("--transport", choices=("direct", "litellm"), default="direct")
    args = parser.parse_args()

    cases = load_cases("starter")
    jobs = plan_jobs(cases, ["plain"], list(range(args.consultations // len(cases) + 1)))
    jobs = jobs[: args.consultations]
    replies = ReplyScript(
        by_role={
            "doctor": DOCTOR_SCRIPT,
            "patient": ("It began two days ago and is getting worse.",),
        }
    )
    stub = StubConfig(latency_s=args.latency, slots=args.slots)
    with start_in_subprocess(stub, replies) as server:
        model = ModelConfig(
            model="openai/stub",
            api_base=server.base_url,
            concurrency=args.slots,
            transport=args.transport,
            timeout_s=120,
        )
        batch = Batch(
            dataset="starter",
            doctor=model,
            session_options={"patient": model, "max_turns": 20},
            client=ModelClient(),
        )
        baseline_kb = memory_kb("VmRSS")
        started = time.perf_counter()
        transcripts = asyncio.run(batch.run(jobs, concurrency=len(jobs)))
        elapsed = time.perf_counter() - started
        peak_kb = memory_kb("VmHWM")
        stats = server.stats

    calls = sum(len(t.model_calls) for t in transcripts)
    failed = sum(t.outcome == "error" for t in transcripts)
    bound = args.slots / args.latency
    print(f"consultations: {len(transcripts)} ({failed} failed), model calls: {calls}")
    print(f"transport: {args.transport}; stub: {args.slots} slots x {args.latency * 1000:.0f} ms")
    print(f"elapsed: {elapsed:.2f} s")
    rate = calls / elapsed
    print(f"model calls/s: {rate:,.0f} of a bound of {bound:,.0f} ({rate / bound:.2f})")
    print(f"stub: most requests in service at once: {stats.max_in_service}")
    print(f"peak RSS: {peak_kb / 1024:.0f} MB; before the batch: {baseline_kb / 1024:.0f} MB")
    print(
        f"memory per in-flight consultation: {(peak_kb - baseline_kb) / len(transcripts):.0f} KB "
        "(goal < 100 KB)"
    )


if __name__ == "__main__":
    main()
