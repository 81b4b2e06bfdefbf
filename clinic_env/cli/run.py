"""``clinic-env run``: a batch over a dataset x personas with offline agents.

Writes a run folder with ``transcripts.jsonl`` (one line per consultation, flushed as each
ends) and ``summary.md``, and prints the summary table.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from pathlib import Path

from tqdm import tqdm

from clinic_env import agents as _agents  # noqa: F401 - registers the built-in agents
from clinic_env.agents.base import DOCTORS, MEASUREMENTS, PATIENTS
from clinic_env.agents.personas import load_persona, personas
from clinic_env.datasets import load_cases
from clinic_env.errors import ConfigError
from clinic_env.evaluators.rewards import load_reward_spec
from clinic_env.protocol.consultation import DEFAULT_MAX_TURNS, Limits
from clinic_env.runner.batch import Batch, plan_jobs
from clinic_env.runner.store import TranscriptWriter
from clinic_env.runner.summary import format_table, summarise
from clinic_env.schema.transcript import Transcript


def _csv(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


def _seeds(text: str) -> list[int]:
    try:
        return [int(item) for item in _csv(text)]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"seeds must be integers separated by commas: {text!r}"
        ) from None


def add_parser(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = commands.add_parser("run", help="run a batch of consultations with offline agents")
    parser.add_argument(
        "dataset", nargs="?", default="starter", help="dataset name or path (default: starter)"
    )
    parser.add_argument(
        "--personas", type=_csv, default=["plain"], help="comma-separated persona ids, or 'all'"
    )
    parser.add_argument(
        "--doctor", default="systematic", help="doctor agent (systematic, random, oracle)"
    )
    parser.add_argument("--patient", default="offline", help="patient agent")
    parser.add_argument("--measurement", default="offline", help="measurement agent")
    parser.add_argument("--reward", default="default", help="reward spec name")
    parser.add_argument(
        "--seeds", type=_seeds, default=[0], help="comma-separated seeds (default: 0)"
    )
    parser.add_argument(
        "--cases", type=_csv, default=None, help="comma-separated case ids (default: all)"
    )
    parser.add_argument("--max-turns", type=int, default=DEFAULT_MAX_TURNS)
    parser.add_argument(
        "--concurrency", type=int, default=64, help="consultations in flight at once"
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="run folder (default: runs/<dataset>-<doctor>-<time>)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    cases = load_cases(args.dataset)
    if args.cases is not None:
        wanted = set(args.cases)
        unknown = wanted - {case.id for case in cases}
        if unknown:
            raise ConfigError(f"no such case ids in {args.dataset}: {', '.join(sorted(unknown))}")
        cases = tuple(case for case in cases if case.id in wanted)
    persona_ids = list(personas()) if args.personas == ["all"] else args.personas
    for persona in persona_ids:
        load_persona(persona)
    DOCTORS.get(args.doctor)
    PATIENTS.get(args.patient)
    MEASUREMENTS.get(args.measurement)
    load_reward_spec(args.reward)
    Limits(max_turns=args.max_turns)
    if args.concurrency < 1:
        raise ConfigError(f"--concurrency must be at least 1, got {args.concurrency}")
    dataset_name = Path(str(args.dataset)).stem
    folder = (
        args.out or Path("runs") / f"{dataset_name}-{args.doctor}-{time.strftime('%Y%m%d-%H%M%S')}"
    )
    if (folder / "transcripts.jsonl").exists():
        raise ConfigError(f"{folder} already holds transcripts.jsonl; choose another --out")
    jobs = plan_jobs(cases, persona_ids, args.seeds)
    batch = Batch(
        dataset=str(args.dataset),
        doctor=args.doctor,
        session_options={
            "patient": args.patient,
            "measurement": args.measurement,
            "reward": args.reward,
            "max_turns": args.max_turns,
        },
    )
    correct = 0
    with TranscriptWriter(folder) as writer, tqdm(total=len(jobs), unit="consultation") as bar:

        def done(transcript: Transcript) -> None:
            nonlocal correct
            writer.write(transcript)
            correct += int(transcript.score.as_dict().get("top1") == 1.0)
            bar.update(1)
            bar.set_postfix(accuracy=f"{correct / bar.n:.1%}")

        transcripts = asyncio.run(batch.run(jobs, concurrency=args.concurrency, on_done=done))
    table = format_table(summarise(transcripts))
    (folder / "summary.md").write_text(
        f"# {dataset_name}: doctor {args.doctor}\n\n{table}\n", encoding="utf-8"
    )
    print(table)
    print(f"\n{len(transcripts)} consultations written to {folder / 'transcripts.jsonl'}")
    return 0
