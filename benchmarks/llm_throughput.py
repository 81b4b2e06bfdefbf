"""Model-call throughput of the batch runner: many consultations at once against a server.

Run: ``python benchmarks/llm_throughput.py [--consultations 1000] [--slots 256]
[--latency 0.1] [--transport direct|litellm]``. The stub model server (in its own process)
serves at most ``slots`` requests at once, each taking ``latency`` seconds, so no client can
exceed ``slots / latency`` calls per second. Patient and doctor are model roles; the
measurement agent is offline. The consultations go through the runner (``run_experiment``
into a temporary run folder, every record flushed to disk as it ends), as ``clinic-env
eval`` runs them. Prints the calls/s reached against that bound, the peak RSS and the
memory per in-flight consultation. The goal: 0.9 of the bound and under 100 KB each.

``--base-url URL --model NAME`` targets a running OpenAI-compatible server (vLLM) instead
of the stub, ``--concurrency`` consultations at a time; ``--json FILE`` saves the figures
(``benchmarks/gpu_vllm.sh`` reads them to run vLLM's own benchmark at the same shape).

``--baseline DIR [--rounds N]`` compares this checkout with another one (an older commit,
e.g. ``git archive COMMIT | tar -x -C DIR``): the two run the same benchmark in fresh
processes, alternately, N times each; each run's calls/s and CPU per call (client and stub
together) are printed, then the medians and the ratios this/baseline. Where both checkouts
print it (this version does), the client's CPU during the run alone, without its start-up
and imports, is compared too: in a CPU-bound run (short ``--latency``) that is what bounds
the calls/s.

``--stub own`` (the default) lets each checkout start its own stub, so a comparison covers
client and stub together. ``--stub this`` or ``--stub baseline`` starts one stub, from that
checkout, before the rounds, and points both checkouts' clients at it (as ``--base-url URL
--model stub --concurrency C``, with ``C`` the ``--concurrency`` given or else all the
consultations, as many in flight as with their own stub; the stub queues what its slots
cannot take). The stub's CPU is then read from ``/proc`` per run and printed apart from the
client's: the fair measure of the client alone. The stubs themselves compare by their CPU
per call in two such comparisons, one with ``--stub this`` and one with ``--stub baseline``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from clinic_env.datasets import load_cases
from clinic_env.llm import ModelConfig
from clinic_env.runner.experiment import Experiment
from clinic_env.runner.runner import run_experiment
from clinic_env.runner.store import RESULTS, read_records
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
REPLIES = ReplyScript(
    by_role={"doctor": DOCTOR_SCRIPT, "patient": ("It began two days ago and is getting worse.",)}
)


def memory_kb(field: str) -> int:
    """VmRSS (now) or VmHWM (peak) of this process, in KB, from /proc."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not found in /proc/self/status")


def grid(consultations: int, model: ModelConfig, concurrency: int, max_turns: int) -> Experiment:
    """Exactly ``consultations`` cells: as many bundled cases as divide it, times seeds."""
    cases = len(load_cases("starter"))
    per_seed = next(n for n in range(min(cases, consultations), 0, -1) if consultations % n == 0)
    return Experiment.model_validate(
        {
            "name": "llm-throughput",
            "datasets": [{"name": "starter", "cases": {"limit": per_seed}}],
            "seeds": list(range(consultations // per_seed)),
            "roles": {"patient": model, "doctors": {"model": model}},
            "max_turns": max_turns,
            "concurrency": concurrency,
        }
    )


def run(experiment: Experiment) -> dict[str, Any]:
    """Run the grid into a temporary folder; the figures of that run."""
    with tempfile.TemporaryDirectory(prefix="clinic-env-bench-") as folder:
        baseline_kb = memory_kb("VmRSS")
        started, cpu = time.perf_counter(), time.process_time()
        run_experiment(experiment, Path(folder), progress=False)
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        peak_kb = memory_kb("VmHWM")
        records = read_records(Path(folder) / RESULTS)
    calls = [call for r in records for call in r.transcript.model_calls]
    return {
        "consultations": len(records),
        "failed": sum(r.failed for r in records),
        "calls": len(calls),
        "elapsed_s": elapsed,
        "calls_per_s": len(calls) / elapsed,
        "run_cpu_ms_per_call": 1000 * cpu / max(len(calls), 1),
        "consultations_per_s": len(records) / elapsed,
        "mean_prompt_tokens": sum(c.prompt_tokens for c in calls) / max(len(calls), 1),
        "mean_completion_tokens": sum(c.completion_tokens for c in calls) / max(len(calls), 1),
        "peak_rss_mb": peak_kb / 1024,
        "baseline_rss_mb": baseline_kb / 1024,
        "kb_per_consultation": (peak_kb - baseline_kb) / max(len(records), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--consultations", type=int, default=1000)
    parser.add_argument("--slots", type=int, default=256, help="stub: requests served at once")
    parser.add_argument("--latency", type=float, default=0.1, help="stub: seconds per request")
    parser.add_argument("--transport", choices=("direct", "litellm"), default="direct")
    parser.add_argument("--base-url", default=None, help="a running server, e.g. http://h:8000/v1")
    parser.add_argument("--model", default=None, help="the served model's name (with --base-url)")
    parser.add_argument(
        "--concurrency", type=int, default=None, help="consultations at once (stub: all)"
    )
    parser.add_argument("--max-turns", type=int, default=20)
    parser.add_argument("--max-tokens", type=int, default=128, help="per reply (with --base-url)")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    parser.add_argument("--baseline", type=Path, default=None, help="a checkout to compare with")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each with --baseline")
    parser.add_argument(
        "--stub",
        choices=("own", "this", "baseline"),
        default="own",
        help="with --baseline: each checkout's own stub, or one shared stub from this checkout "
        "or from the baseline",
    )
    args = parser.parse_args()
    if (args.base_url is None) != (args.model is None):
        parser.error("--base-url and --model go together")
    if args.baseline is not None:
        compare_checkouts(args, parser)
        return
    if args.stub != "own":
        parser.error("--stub goes with --baseline")

    if args.base_url is not None:
        concurrency = args.concurrency or 64
        model = ModelConfig(
            model=f"openai/{args.model}",
            api_base=args.base_url,
            concurrency=concurrency,
            max_tokens=args.max_tokens,
            transport=args.transport,
            timeout_s=300,
        )
        figures = run(grid(args.consultations, model, concurrency, args.max_turns))
        print(f"server: {args.base_url} ({args.model}); {concurrency} consultations at once")
    else:
        stub = StubConfig(latency_s=args.latency, slots=args.slots)
        with start_in_subprocess(stub, REPLIES) as server:
            model = ModelConfig(
                model="openai/stub",
                api_base=server.base_url,
                concurrency=args.slots,
                transport=args.transport,
                timeout_s=120,
            )
            concurrency = args.concurrency or args.consultations
            figures = run(grid(args.consultations, model, concurrency, args.max_turns))
            most_in_service = server.stats.max_in_service
        bound = args.slots / args.latency
        figures |= {"bound_calls_per_s": bound, "share_of_bound": figures["calls_per_s"] / bound}
        print(
            f"stub: {args.slots} slots x {args.latency * 1000:.0f} ms (most in service at once: "
            f"{most_in_service}); transport: {args.transport}"
        )

    print(
        f"consultations: {figures['consultations']} ({figures['failed']} failed), "
        f"model calls: {figures['calls']}, through the runner into a run folder"
    )
    print(f"elapsed: {figures['elapsed_s']:.2f} s")
    print(f"consultations/s: {figures['consultations_per_s']:,.1f}")
    rate = f"model calls/s: {figures['calls_per_s']:,.0f}"
    if "bound_calls_per_s" in figures:
        rate += f" of a bound of {figures['bound_calls_per_s']:,.0f} "
        rate += f"({figures['share_of_bound']:.2f})"
    print(rate)
    print(f"client CPU per call in the run: {figures['run_cpu_ms_per_call']:.3f} ms")
    print(
        f"tokens per call: {figures['mean_prompt_tokens']:.0f} prompt, "
        f"{figures['mean_completion_tokens']:.0f} completion (mean)"
    )
    print(
        f"peak RSS: {figures['peak_rss_mb']:.0f} MB; before the run: "
        f"{figures['baseline_rss_mb']:.0f} MB"
    )
    print(
        f"memory per in-flight consultation: {figures['kb_per_consultation']:.0f} KB "
        "(goal < 100 KB)"
    )
    if args.json is not None:
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")


def compare_checkouts(args: argparse.Namespace, parser: argparse.ArgumentParser) -> None:
    """``--baseline``: each checkout with its own stub, or both against one shared stub."""
    argv = forwarded(sys.argv[1:], drop=("--baseline", "--rounds", "--json", "--stub"))
    if args.stub == "own":
        compare(args.baseline.resolve(), argv, args.rounds)
        return
    if args.base_url is not None:
        parser.error("--stub this|baseline starts a stub: leave out --base-url")
    here = Path(__file__).resolve().parent.parent
    stub_root = here if args.stub == "this" else args.baseline.resolve()
    argv = forwarded(argv, drop=("--latency", "--slots", "--concurrency"))
    concurrency = args.concurrency or args.consultations
    with shared_stub(stub_root, args.latency, args.slots) as (url, pid):
        argv += ["--base-url", url, "--model", "stub", "--concurrency", str(concurrency)]
        print(
            f"one stub from {args.stub} ({stub_root}): {args.slots} slots x "
            f"{args.latency * 1000:g} ms; {concurrency} consultations at once"
        )
        compare(args.baseline.resolve(), argv, args.rounds, stub_pid=pid)


def forwarded(argv: list[str], drop: tuple[str, ...]) -> list[str]:
    """``argv`` without the options in ``drop`` (each with its value)."""
    kept: list[str] = []
    skip_value = False
    for part in argv:
        if skip_value:
            skip_value = False
        elif part.split("=", 1)[0] in drop:
            skip_value = "=" not in part
        else:
            kept.append(part)
    return kept


@contextmanager
def shared_stub(root: Path, latency: float, slots: int) -> Iterator[tuple[str, int]]:
    """The stub as ``root`` has it, in a child process: its base URL and process id."""
    command = [sys.executable, "-m", "clinic_env.testing.stub_server", "--port", "0"]
    command += ["--latency", str(latency), "--slots", str(slots)]
    command += ["--replies-json", REPLIES.model_dump_json(exclude={"responder"})]
    process = subprocess.Popen(
        command,
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
        stdout=subprocess.PIPE,
        text=True,
    )
    stdout, first = process.stdout, list[str]()
    assert stdout is not None
    try:
        reader = threading.Thread(target=lambda: first.append(stdout.readline()), daemon=True)
        reader.start()
        reader.join(30)
        if not first or not first[0].startswith("http://"):
            raise RuntimeError(f"the stub from {root} did not start")
        yield first[0].strip(), process.pid
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        stdout.close()


def process_cpu_s(pid: int) -> float:
    """User and system CPU seconds of a running process (all its threads), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_checkout(root: Path, argv: list[str], stub_pid: int | None = None) -> dict[str, Any]:
    """This benchmark as ``root`` has it, in a fresh process importing ``root``'s code; with
    ``stub_pid`` (a shared stub), the stub's CPU is measured apart from the client's."""
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "figures.json"
        stub_before = 0.0 if stub_pid is None else process_cpu_s(stub_pid)
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run(
            [sys.executable, "benchmarks/llm_throughput.py", *argv, "--json", str(out)],
            cwd=root,
            env={**os.environ, "PYTHONPATH": str(root)},
            check=True,
            stdout=subprocess.DEVNULL,
        )
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        stub_cpu = 0.0 if stub_pid is None else process_cpu_s(stub_pid) - stub_before
        figures: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    calls = max(figures["calls"], 1)
    figures |= {"cpu_s": cpu + stub_cpu, "cpu_ms_per_call": 1000 * (cpu + stub_cpu) / calls}
    if stub_pid is not None:
        figures |= {
            "client_ms_per_call": 1000 * cpu / calls,
            "stub_ms_per_call": 1000 * stub_cpu / calls,
        }
    return figures


def compare(baseline: Path, argv: list[str], rounds: int, stub_pid: int | None = None) -> None:
    """Alternate runs of ``baseline`` and this checkout; print each, the medians, the ratio.

    CPU per call is the client's process and the stub's together; with ``stub_pid`` (one
    stub shared by both) also apart. Where both checkouts report it (this benchmark does),
    the client's CPU during the run alone (start-up and imports left out) is given too.
    """
    here = Path(__file__).resolve().parent.parent
    runs: dict[str, list[dict[str, Any]]] = {"baseline": [], "this": []}
    for round_ in range(1, rounds + 1):
        for name, root in (("baseline", baseline), ("this", here)):
            figures = run_checkout(root, argv, stub_pid)
            runs[name].append(figures)
            print(
                f"round {round_} {name:>8}: {figures['calls_per_s']:7,.0f} model calls/s, "
                f"{figures['failed']} failed, {cpu_text(figures)}, "
                f"{figures['kb_per_consultation']:.0f} KB per consultation"
            )
    keys = [key for key in CPU_KEYS if all(key in f for f in runs["baseline"] + runs["this"])]
    keys.insert(0, "calls_per_s")
    medians = {
        name: {key: statistics.median(f[key] for f in figures) for key in keys}
        for name, figures in runs.items()
    }
    for name, median in medians.items():
        print(f"median {name:>8}: {median['calls_per_s']:7,.0f} model calls/s, {cpu_text(median)}")
    ratios = {key: medians["this"][key] / medians["baseline"][key] for key in keys}
    print(
        f"this/baseline: calls/s x{ratios['calls_per_s']:.3f}, CPU per call "
        + ", ".join(f"{CPU_KEYS[key]} x{ratios[key]:.3f}" for key in keys[1:])
    )


CPU_KEYS = {
    "cpu_ms_per_call": "client and stub",
    "client_ms_per_call": "client",
    "stub_ms_per_call": "stub",
    "run_cpu_ms_per_call": "client in the run",
}
"""CPU figures per call (ms), by what they cover."""


def cpu_text(figures: dict[str, Any]) -> str:
    """CPU per call: client and stub together, and each apart where measured apart."""
    parts = [f"{CPU_KEYS[key]} {figures[key]:.3f}" for key in CPU_KEYS if key in figures]
    return f"ms CPU per call: {'; '.join(parts)}"


if __name__ == "__main__":
    main()
