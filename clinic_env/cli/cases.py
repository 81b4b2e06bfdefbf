"""``clinic-env cases list|show|validate``: browse and check case files."""

from __future__ import annotations

import argparse

from clinic_env.datasets import find_case, load_cases
from clinic_env.language.text import contains_phrase


def add_parser(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = commands.add_parser("cases", help="list, show or validate cases")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="one line per case")
    listing.add_argument("dataset", nargs="?", default="starter", help="dataset name or path")
    listing.set_defaults(handler=list_cases)
    show = actions.add_parser("show", help="print one case as JSON (ground truth included)")
    show.add_argument("case_id")
    show.add_argument("--dataset", default="starter", help="dataset name or path")
    show.set_defaults(handler=show_case)
    validate = actions.add_parser("validate", help="check case files and look for leaks")
    validate.add_argument("dataset", nargs="?", default="starter", help="dataset name or path")
    validate.set_defaults(handler=validate_cases)


def list_cases(args: argparse.Namespace) -> int:
    for case in load_cases(args.dataset):
        d = case.demographics
        counts = f"{len(case.facts):>3} facts {len(case.tests):>3} tests"
        print(f"{case.id:<14} {case.specialty:<28} {d.description:<24} {counts}")
    return 0


def show_case(args: argparse.Namespace) -> int:
    print(find_case(args.dataset, args.case_id).model_dump_json(indent=2))
    return 0


def validate_cases(args: argparse.Namespace) -> int:
    """Schema errors stop at the first bad file; leaks are listed for every case."""
    cases = load_cases(args.dataset)
    leaks = 0
    for case in cases:
        names = (case.ground_truth.diagnosis, *case.ground_truth.aliases)
        places = {"doctor_brief": case.doctor_brief, "opening_statement": case.opening_statement}
        for i, fact in enumerate(case.facts):
            places[f"facts.{i}"] = f"{fact.text} {fact.says or ''}"
        for i, finding in enumerate(case.exam):
            places[f"exam.{i}"] = finding.finding
        for i, test in enumerate(case.tests):
            places[f"tests.{i}"] = " ".join((test.name, test.result, *test.aliases))
        for where, text in places.items():
            for name in names:
                if contains_phrase(text, name):
                    leaks += 1
                    print(f"{case.id}: {where} names the diagnosis ({name!r})")
    print(f"{len(cases)} cases valid; {leaks} ground-truth leak(s) found")
    return 1 if leaks else 0
