"""Recorded results requested by their own names: the share the offline measurement agent returns.

Run: ``python benchmarks/recorded_results.py [DATASET ...] [--failures N]``. A dataset is a
registered name or a path. By default: the real ``medqa`` and ``medqa-ext`` files when
``CLINIC_ENV_DATA_MIRROR`` names a mirror to fetch them from (or they are cached), else the
AgentClinic fixtures of the tests. Every recorded
result that is not plainly normal is ordered with ``REQUEST TEST: <its own name>`` through the
offline measurement agent, and counts as returned when the reply holds the recorded value.
Issue 14's bar: at least 95% on the full AgentClinic MedQA and MedQA-extended files. The
failing names are printed so a lookup problem can be told from a conversion problem.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import warnings
from pathlib import Path

from clinic_env.agents.base import MEASUREMENTS
from clinic_env.datasets import load_dataset
from clinic_env.datasets.convert.agentclinic import UNNAMED_TESTS
from clinic_env.datasets.registry import MIRROR_VARIABLE
from clinic_env.language.text import fold
from clinic_env.schema.action import Action, ActionKind
from clinic_env.schema.case import Case, TestResult

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "datasets" / "fixtures"
DEFAULT = (
    FIXTURES / "agentclinic_medqa.jsonl",
    FIXTURES / "agentclinic_medqa_extended.jsonl",
    FIXTURES / "agentclinic_osce.jsonl",
)
MIRRORED = ("medqa", "medqa-ext")
# A result says "nothing abnormal" when it holds one of the first words and none of the
# second; anything else (a number, a description, "Positive") is a finding worth ordering.
NORMAL = re.compile(
    r"\b(?:normal|negative|unremarkable|within normal limits|no abnormalit\w*|not detected|"
    r"no evidence|non-reactive|nonreactive|clear|absent|none)\b|^no\b",
    re.IGNORECASE,
)
ABNORMAL = re.compile(
    r"\b(?:elevated|high|low|raised|decreased|increased|positive|abnormal|present|reduced|"
    r"mild|moderate|severe|enlarged|prolonged|reactive|detected)\b|[↑↓]",
    re.IGNORECASE,
)


def abnormal(result: str) -> bool:
    return not NORMAL.search(result) or bool(ABNORMAL.search(result))


def returned(test: TestResult, reply: str) -> bool:
    """Whether the reply holds the recorded value (spaces and case aside)."""
    return " ".join(fold(test.result).split()) in " ".join(fold(reply).split())


def measure(cases: tuple[Case, ...]) -> tuple[int, list[tuple[str, str, str]]]:
    """(results ordered, failures as (case id, test name, recorded value))."""
    make = MEASUREMENTS.get("offline")
    ordered = 0
    failures = []
    for case in cases:
        agent = make(case.measurement_view(), random.Random(0))
        for test in case.tests:
            if test.name == UNNAMED_TESTS or not abnormal(test.result):
                continue  # a record's bare text under Test_Results has no name to order by
            ordered += 1
            reply = agent.lookup(Action(kind=ActionKind.ORDER_TEST, text=test.name)).text
            if not returned(test, reply):
                failures.append((case.id, test.name, test.result))
    return ordered, failures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("datasets", nargs="*", help="names or paths (default: the fixtures)")
    parser.add_argument("--failures", type=int, default=30, help="failing names to print")
    args = parser.parse_args()
    mirror = os.environ.get(MIRROR_VARIABLE, "").strip()
    datasets = args.datasets or (list(MIRRORED) if mirror else [str(p) for p in DEFAULT])
    total = failed = 0
    for dataset in datasets:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cases = load_dataset(dataset, progress=False).cases
        ordered, failures = measure(cases)
        total += ordered
        failed += len(failures)
        share = 1 - len(failures) / ordered if ordered else 1.0
        print(f"{dataset}: {ordered} abnormal results ordered by name, {share:.1%} returned")
        for case_id, name, result in failures[: args.failures]:
            print(f"  not returned: {case_id}: REQUEST TEST: {name} (recorded {result!r})")
    if len(datasets) > 1 and total:
        print(f"all: {total} ordered, {1 - failed / total:.1%} returned")


if __name__ == "__main__":
    main()
