"""``clinic-env report RUN``: write a run folder's report, and export its results as a table.

The report (``RUN/report/report.md`` and its PNG figures) needs only the core install; the
``--parquet`` and ``--csv`` exports, one row per consultation, need the ``report`` extra.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from clinic_env.errors import UserError
from clinic_env.runner.report import write_report
from clinic_env.runner.report_frame import INSTALL_HINT, results_frame


def add_parser(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = commands.add_parser(
        "report", help="write a run folder's Markdown report and plots; export its results"
    )
    parser.add_argument("run", type=Path, help="the run folder (it holds results.jsonl)")
    parser.add_argument(
        "--parquet", type=Path, default=None, help="also write one row per consultation here"
    )
    parser.add_argument(
        "--csv", type=Path, default=None, help="also write one row per consultation here"
    )
    parser.add_argument(
        "--include-simulator-faults",
        action="store_true",
        help="keep consultations the simulator spoiled in the accuracies (always counted)",
    )
    parser.set_defaults(handler=run_report)


def run_report(args: argparse.Namespace) -> int:
    report = write_report(args.run, include_faults=args.include_simulator_faults)
    print(report.summary_markdown)
    print(f"\nFull report: {report.path}")
    if args.parquet is None and args.csv is None:
        return 0
    try:
        frame = results_frame(args.run)
        if args.parquet is not None:
            frame.to_parquet(args.parquet, index=False)
            print(f"{len(frame)} consultations written to {args.parquet}")
    except ImportError as exc:
        raise UserError(f"the export needs pandas and pyarrow: {INSTALL_HINT} ({exc})") from None
    if args.csv is not None:
        frame.to_csv(args.csv, index=False)
        print(f"{len(frame)} consultations written to {args.csv}")
    return 0
