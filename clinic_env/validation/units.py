"""One unit system per dataset: SI (kPa, µmol/L, g/L, urea) or US conventional (mg/dL, BUN).

The system most of a dataset's cases use is the dataset's; a result in the other system is
an issue, so that a value never has to be converted in the reader's head mid-dataset.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from clinic_env.schema.case import Case
from clinic_env.validation.issues import Issue, validation_rules


def _patterns() -> dict[str, tuple[re.Pattern[str], ...]]:
    units = validation_rules().units
    return {
        "SI": tuple(re.compile(p) for p in units.si),
        "US conventional": tuple(re.compile(p) for p in units.us),
    }


def _texts(case: Case) -> Iterable[tuple[str, str]]:
    for i, test in enumerate(case.tests):
        yield f"tests[{i}] ({test.name})", test.result
    for i, finding in enumerate(case.exam):
        yield f"exam[{i}] ({finding.system})", finding.finding


def unit_system(cases: Sequence[Case]) -> str | None:
    """The system most cases write in (US conventional on a tie), or None if no case shows one."""
    patterns = _patterns()
    counts = dict.fromkeys(patterns, 0)
    for case in cases:
        texts = [text for _, text in _texts(case)]
        for system, found in patterns.items():
            counts[system] += any(p.search(t) for p in found for t in texts)
    if not any(counts.values()):
        return None
    return max(reversed(counts), key=lambda system: counts[system])


def unit_issues(cases: Sequence[Case]) -> list[Issue]:
    """Every value written in the system the dataset does not use."""
    system = unit_system(cases)
    if system is None:
        return []
    issues: list[Issue] = []
    for other, found in _patterns().items():
        if other == system:
            continue
        for case in cases:
            for where, text in _texts(case):
                for pattern in found:
                    if match := pattern.search(text):
                        message = f"{match[0]!r} is {other}; this dataset writes {system} units"
                        issues.append(Issue(case.id, "units", where, message))
    return issues
