"""``clinic-env run DATASET --doctor MODEL --limit N``: a quick batch with no YAML.

The flags make a one-off experiment over a dataset x personas x bias sets x seeds, any agent
or model in any role, run like ``clinic-env eval`` into a run folder (``results.jsonl``,
flushed per consultation); the summary table is printed and kept in ``summary.md``. The
default folder is named after the experiment and its config hash, so the same command
resumes where it stopped; ``--retry-failed`` runs the failed cells again. Given the folder of
an earlier run (``--out``), a command that only adds cases, personas, bias sets or seeds
extends it: the new cells run and the old ones are kept.
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
from clinic_env.runner.report_frame import bias_label
from clinic_env.runner.runner import run_experiment
from clinic_env.runner.store import RESULTS, read_records
from clinic_env.runner.summary import ALL, format_table, summarise, summary_row
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


def _positive(text: str) -> int:
    try:
        number = int(text)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1: {text!r}")
    return number


def _bias_sets(text: str) -> list[tuple[str, ...]]:
    """``none,recency,recency+self_diagnosis``: comma-separated conditions, each a set of
    biases joined by ``+``; ``none`` is the control (no bias)."""
    sets = [tuple(b for b in item.split("+") if b and b != "none") for item in _csv(text)]
    if not sets:
        raise argparse.ArgumentTypeError("--biases needs at least one bias set (or 'none')")
    return sets


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
        "--biases",
        type=_bias_sets,
        default=[()],
        help="comma-separated bias sets, each compared with the others: biases in one set are "
        "joined by '+', 'none' is the control (default: none; see clinic-env biases list)",
    )
    parser.add_argument(
        "--cases", type=_csv, default=None, help="comma-separated case ids (default: all)"
    )
    parser.add_argument(
        "--limit", type=_positive, default=None, metavar="N", help="only the first N cases chosen"
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


def summary_table(transcripts: list[Transcript], *, several_bias_sets: bool) -> str:
    """A row per persona (and all); per persona x bias set when several bias sets ran."""
    if not several_bias_sets:
        return format_table(summarise(transcripts))
    groups: dict[tuple[str, ...], list[Transcript]] = {}
    for transcript in transcripts:
        group = (transcript.persona or "-", bias_label(transcript.biases))
        groups.setdefault(group, []).append(transcript)
    rows = [summary_row(group, items) for group, items in sorted(groups.items())]
    rows.append(summary_row((ALL, ALL), transcripts))
    return format_table(rows, ("persona", "bias set"))


def run(args: argparse.Namespace) -> int:
    roles = resolve_roles(args)
    doctor = role_label(roles.doctor).replace("/", "_")
    dataset_name = Path(str(args.dataset)).stem
    experiment = Experiment(
        name=f"{dataset_name}-{doctor}",
        datasets=(
            DatasetEntry(
                name=str(args.dataset), cases=CaseFilter(ids=args.cases, limit=args.limit)
            ),
        ),
        personas=tuple(args.personas),
        bias_sets=tuple(args.biases),
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
    if outcome.extended:
        print(f"Extended the run in {folder}: " + "; ".join(outcome.extended))
    transcripts = [record.transcript for record in read_records(folder / RESULTS)]
    table = summary_table(transcripts, several_bias_sets=len(experiment.bias_sets) > 1)
    (folder / "summary.md").write_text(f"# {experiment.name}\n\n{table}\n", encoding="utf-8")
    print(table)
    print(
        f"\n{len(transcripts)} consultations in {folder / RESULTS} "
        f"({outcome.skipped} were already there, {outcome.ran} run now)"
    )
    return 130 if outcome.interrupted else 0
