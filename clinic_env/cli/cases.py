"""``clinic-env cases list|show|validate|coverage``: browse, check and count case files."""

from __future__ import annotations

import argparse

from clinic_env.datasets import find_case, find_leaks, load_cases
from clinic_env.validation import coverage_table, validate_cases


def add_parser(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = commands.add_parser("cases", help="list, show, validate or count cases")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="one line per case")
    listing.add_argument("dataset", nargs="?", default="starter", help="dataset name or path")
    listing.set_defaults(handler=list_cases)
    show = actions.add_parser("show", help="print one case as JSON (ground truth included)")
    show.add_argument("case_id")
    show.add_argument("--dataset", default="starter", help="dataset name or path")
    show.set_defaults(handler=show_case)
    validate = actions.add_parser(
        "validate", help="check case files, look for leaks, check content against the knowledge"
    )
    validate.add_argument("dataset", nargs="?", default="starter", help="dataset name or path")
    validate.add_argument("--strict", action="store_true", help="fail on warnings too")
    validate.set_defaults(handler=validate_cases_command)
    coverage = actions.add_parser(
        "coverage", help="count cases by specialty, age band, setting and presentation"
    )
    coverage.add_argument("dataset", nargs="?", default="starter", help="dataset name or path")
    coverage.set_defaults(handler=coverage_command)


def list_cases(args: argparse.Namespace) -> int:
    for case in load_cases(args.dataset):
        d = case.demographics
        counts = f"{len(case.facts):>3} facts {len(case.tests):>3} tests"
        print(f"{case.id:<14} {case.specialty:<28} {d.description:<24} {counts}")
    return 0


def show_case(args: argparse.Namespace) -> int:
    print(find_case(args.dataset, args.case_id).model_dump_json(indent=2))
    return 0


def validate_cases_command(args: argparse.Namespace) -> int:
    """Schema errors stop at the first bad file; leaks and content issues are all listed."""
    cases = load_cases(args.dataset)
    leaks = [(case.id, leak) for case in cases for leak in find_leaks(case)]
    for case_id, leak in leaks:
        print(f"{case_id}: {leak.where} names the diagnosis ({leak.name!r}) to the {leak.role}")
    issues = validate_cases(cases)
    for issue in issues:
        print(issue)
    errors = sum(issue.severity == "error" for issue in issues)
    warnings = len(issues) - errors
    print(
        f"{len(cases)} cases checked; {len(leaks)} ground-truth leak(s) found; "
        f"{errors} content error(s), {warnings} warning(s)"
    )
    return 1 if leaks or errors or (args.strict and warnings) else 0


def coverage_command(args: argparse.Namespace) -> int:
    print("\n".join(coverage_table(load_cases(args.dataset)).lines()))
    return 0
