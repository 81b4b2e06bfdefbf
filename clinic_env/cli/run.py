"""``clinic-env run``: a batch over a dataset x personas x seeds, any agent in any role.

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
from clinic_env.agents.personas import load_persona, personas
from clinic_env.cli.options import add_role_options, make_client, resolve_roles
from clinic_env.datasets import load_cases
from clinic_env.errors import ConfigError
from clinic_env.evaluators.rewards import load_reward_spec
from clinic_env.protocol.consultation import DEFAULT_MAX_TURNS, Limits
from clinic_env.roles import role_label
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
    parser = commands.add_parser(
        "run", help="run a batch of consultations (offline agents, or models per role)"
    )
    parser.add_argument(
        "dataset", nargs="?", default="starter", help="dataset name or path (default: starter)"
    )
    parser.add_argument(
        "--personas", type=_csv, default=["plain"], help="comma-separated persona ids, or 'all'"
    )
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
    add_role_options(parser)
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
    roles = resolve_roles(args)
    load_reward_spec(args.reward)
    Limits(max_turns=args.max_turns)
    if args.concurrency < 1:
        raise ConfigError(f"--concurrency must be at least 1, got {args.concurrency}")
    dataset_name = Path(str(args.dataset)).stem
    doctor_name = role_label(roles.doctor).replace("/", "_")
    stamp = time.strftime("%Y%m%d-%H%M%S")
    folder = args.out or Path("runs") / f"{dataset_name}-{doctor_name}-{stamp}"
    if (folder / "transcripts.jsonl").exists():
        raise ConfigError(f"{folder} already holds transcripts.jsonl; choose another --out")
    jobs = plan_jobs(cases, persona_ids, args.seeds)
    batch = Batch(
        dataset=str(args.dataset),
        doctor=roles.doctor,
        session_options={
            "patient": roles.patient,
            "measurement": roles.measurement,
            "judge": roles.judge,
            "reward": args.reward,
            "max_turns": args.max_turns,
        },
        client=make_client(args),
    )
    correct = 0
    failed = 0
    with TranscriptWriter(folder) as writer, tqdm(total=len(jobs), unit="consultation") as bar:

        def done(transcript: Transcript) -> None:
            nonlocal correct, failed
            writer.write(transcript)
            correct += int(transcript.score.as_dict().get("top1") == 1.0)
            failed += int(transcript.outcome == "error")
            bar.update(1)
            bar.set_postfix(accuracy=f"{correct / bar.n:.1%}", failed=failed)

        transcripts = asyncio.run(batch.run(jobs, concurrency=args.concurrency, on_done=done))
    table = format_table(summarise(transcripts))
    title = f"# {dataset_name}: doctor {role_label(roles.doctor)}"
    (folder / "summary.md").write_text(f"{title}\n\n{table}\n", encoding="utf-8")
    print(table)
    print(f"\n{len(transcripts)} consultations written to {folder / 'transcripts.jsonl'}")
    return 0
