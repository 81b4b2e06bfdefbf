"""Checks of case content against the knowledge base, and what a case set covers.

``validate_cases(cases)`` returns every :class:`Issue` the checks find: aliases that name
another disease or a wider category (also in the knowledge base), missing or unsupported
results for the tests the diagnosis implies, differentials' main tests not recorded, blood
gases that break Henderson–Hasselbalch, units outside the dataset's system, exam findings
under a system the room does not know, and missing coverage labels. ``clinic-env cases
validate`` prints them; ``clinic-env cases coverage`` prints :func:`coverage_table`.
"""

from __future__ import annotations

from collections.abc import Sequence

from clinic_env.language.knowledge import exam_catalog
from clinic_env.language.text import fold
from clinic_env.schema.case import Case
from clinic_env.validation.aliases import case_alias_issues, knowledge_alias_issues
from clinic_env.validation.bloodgas import blood_gas_issues, expected_ph
from clinic_env.validation.coverage import CoverageTable, age_band, coverage_table
from clinic_env.validation.issues import Issue, validation_rules
from clinic_env.validation.results import result_issues
from clinic_env.validation.units import unit_issues, unit_system

__all__ = [
    "CoverageTable",
    "Issue",
    "age_band",
    "blood_gas_issues",
    "case_alias_issues",
    "coverage_table",
    "exam_issues",
    "expected_ph",
    "knowledge_alias_issues",
    "label_issues",
    "result_issues",
    "unit_issues",
    "unit_system",
    "validate_cases",
    "validation_rules",
]


def label_issues(case: Case) -> list[Issue]:
    """A case without the setting or presentation the coverage table counts."""
    return [
        Issue(case.id, "labels", field, "not set: the coverage table cannot count it", "warning")
        for field in ("setting", "presentation")
        if getattr(case, field) is None
    ]


def exam_issues(case: Case) -> list[Issue]:
    """Exam findings filed under a system the catalogue lacks: no exam request reaches them."""
    systems = {fold(system.name) for system in exam_catalog().systems}
    return [
        Issue(case.id, "exam", f"exam[{i}]", f"{finding.system!r} is not an exam system")
        for i, finding in enumerate(case.exam)
        if fold(finding.system) not in systems
    ]


def validate_cases(cases: Sequence[Case]) -> list[Issue]:
    """Every issue in ``cases`` and in the knowledge base they are checked against."""
    issues = knowledge_alias_issues()
    for case in cases:
        issues += case_alias_issues(case)
        issues += result_issues(case)
        issues += blood_gas_issues(case)
        issues += label_issues(case)
        issues += exam_issues(case)
    return issues + unit_issues(cases)
