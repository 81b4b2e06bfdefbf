"""``clinic-env eval [EXPERIMENT.yaml]``: run an experiment grid into a run folder, resumably.

With no file, the bundled default experiment runs (offline agents on the bundled cases).
Running the same command again resumes: finished consultations are skipped; failed ones are
retried with ``--retry-failed``. One process writes a run folder at a time (a second is
refused, naming the first). At the end the report is written and its summary printed; when
every consultation run failed with one and the same error, that error is the outcome instead
(exit status 1).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from clinic_env import agents as _agents  # noqa: F401 - registers the built-in agents
from clinic_env.cli.options import add_cache_options, make_client, report_common_failure
from clinic_env.errors import ConfigError
from clinic_env.runner.experiment import (
    Experiment,
    RayOptions,
    default_experiment_path,
    load_experiment,
)
from clinic_env.runner.ray_runner import RayRunner
from clinic_env.runner.report import write_report
from clinic_env.runner.runner import Runner, run_experiment, run_in_process

LOCAL_RAY = "local"
"""What a bare ``--ray`` means: start a local Ray instance for this run."""


def add_parser(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = commands.add_parser("eval", help="run an experiment grid (resumes if interrupted)")
    parser.add_argument(
        "experiment",
        nargs="?",
        type=Path,
        default=None,
        help="experiment YAML (default: the bundled starter experiment)",
    )
    parser.add_argument("--out", type=Path, default=None, help="run folder (default: runs/<name>)")
    parser.add_argument("--retry-failed", action="store_true", help="run failed cells again")
    parser.add_argument("--no-report", action="store_true", help="skip the report at the end")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument(
        "--ray",
        nargs="?",
        const=LOCAL_RAY,
        default=None,
        metavar="ADDRESS",
        help="split the grid across Ray workers: alone, on a local Ray instance started for the "
        "run; with an address ('auto', 'ray://HOST:10001'), on that cluster",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        metavar="N",
        help="Ray workers (default: the experiment's ray.workers, else 2)",
    )
    add_cache_options(parser)
    parser.set_defaults(handler=run_eval)


def choose_runner(args: argparse.Namespace, experiment: Experiment) -> Runner:
    """Ray when ``--ray`` or the experiment's ``ray:`` asks for it (the flags win), else
    this process."""
    if args.ray is None and experiment.ray is None:
        if args.workers is not None:
            raise ConfigError("--workers splits the grid across Ray workers: add --ray")
        return run_in_process
    options = experiment.ray or RayOptions()
    address = options.address if args.ray is None else args.ray
    try:
        workers = options.workers if args.workers is None else args.workers
        return RayRunner(None if address == LOCAL_RAY else address, workers)
    except ImportError as exc:
        raise ConfigError(str(exc)) from None


def run_eval(args: argparse.Namespace) -> int:
    experiment = load_experiment(args.experiment or default_experiment_path())
    folder = args.out or Path("runs") / experiment.name
    outcome = run_experiment(
        experiment,
        folder,
        retry_failed=args.retry_failed,
        client=make_client(args),
        runner=choose_runner(args, experiment),
        progress=not args.quiet,
    )
    if outcome.extended:
        print(f"Extended the run in {folder}: " + "; ".join(outcome.extended))
    print(
        f"{outcome.cells} consultations in the grid: {outcome.skipped} already done, "
        f"{outcome.ran} run now ({outcome.failed} failed); results in {folder / 'results.jsonl'}"
    )
    if outcome.interrupted:
        print("Interrupted: everything finished is saved. Run the same command to resume.")
        return 130
    if outcome.common_failure is not None:
        return report_common_failure(outcome)
    if not args.no_report:
        report = write_report(folder)
        print()
        print(report.summary_markdown)
        print(f"\nFull report: {report.path}")
    return 0
