"""``clinic-env run``: a quick batch over a dataset x personas x seeds, any agent in any role.

The flags make a one-off experiment, run like ``clinic-env eval`` into a run folder
(``results.jsonl``, flushed per consultation), and the summary table is printed and kept in
``summary.md``. The default folder is named after the experiment and its config hash, so the
same command resumes where it stopped; ``--retry-failed`` runs the failed cells again.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from clinic_env import agents as _agents  # noqa: F401 - registers the built-in agents
from clinic_env.cli.options import (
    add_role_options,
    make_client,
    report_common_failure,
    resolve_roles,
)
from clinic_env.protocol.consultation import DEFAULT_MAX_TURNS
from clinic_env.roles import role_label
from clinic_env.runner.experiment import CaseFilter, DatasetEntry, Experiment, Roles
from clinic_env.runner.runner import run_experiment
from clinic_env.runner.store import RESULTS, read_records
from clinic_env.runner.summary import format_table, summarise


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
        help="run folder (default: runs/<dataset>-<doctor>-<config hash>, so a rerun resumes)",
    )
    parser.add_argument("--retry-failed", action="store_true", help="run failed cells again")
    add_role_options(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    roles = resolve_roles(args)
    doctor = role_label(roles.doctor).replace("/", "_")
    dataset_name = Path(str(args.dataset)).stem
    experiment = Experiment(
        name=f"{dataset_name}-{doctor}",
        datasets=(DatasetEntry(name=str(args.dataset), cases=CaseFilter(ids=args.cases)),),
        personas=tuple(args.personas),
        roles=Roles(
            patient=roles.patient,
            measurement=roles.measurement,
            doctors={doctor: roles.doctor},
            judge=roles.judge,
        ),
        reward=args.reward,
        seeds=tuple(args.seeds),
        max_turns=args.max_turns,
        concurrency=args.concurrency,
    )
    folder = args.out or Path("runs") / f"{experiment.name}-{experiment.config_hash()[:8]}"
    outcome = run_experiment(
        experiment, folder, retry_failed=args.retry_failed, client=make_client(args)
    )
    if outcome.common_failure is not None:
        return report_common_failure(outcome)
    transcripts = [record.transcript for record in read_records(folder / RESULTS)]
    table = format_table(summarise(transcripts))
    (folder / "summary.md").write_text(f"# {experiment.name}\n\n{table}\n", encoding="utf-8")
    print(table)
    print(
        f"\n{len(transcripts)} consultations in {folder / RESULTS} "
        f"({outcome.skipped} were already there, {outcome.ran} run now)"
    )
    return 130 if outcome.interrupted else 0
