"""The ``clinic-env`` console script: one sub-command per module of this package."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from importlib import metadata

from clinic_env.cli import biases as biases_command
from clinic_env.cli import cases as cases_command
from clinic_env.cli import compare as compare_command
from clinic_env.cli import datasets as datasets_command
from clinic_env.cli import eval as eval_command
from clinic_env.cli import judge as judge_command
from clinic_env.cli import personas as personas_command
from clinic_env.cli import play as play_command
from clinic_env.cli import redteam as redteam_command
from clinic_env.cli import report as report_command
from clinic_env.cli import run as run_command
from clinic_env.cli import serve as serve_command
from clinic_env.cli import web as web_command
from clinic_env.errors import ClinicEnvError, UserError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="clinic-env", description="Simulated clinical consultations for doctor agents."
    )
    parser.add_argument(
        "--version", action="version", version=f"clinic-env {metadata.version('clinic-env')}"
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in (
        eval_command,
        report_command,
        run_command,
        compare_command,
        play_command,
        cases_command,
        datasets_command,
        personas_command,
        biases_command,
        judge_command,
        redteam_command,
        serve_command,
        web_command,
    ):
        module.add_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; a user error prints one line (no traceback) and exits with 2."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except UserError as exc:
        print(f"clinic-env: error: {exc}", file=sys.stderr)
        return 2
    except ClinicEnvError as exc:
        print(f"clinic-env: failed: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("clinic-env: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
