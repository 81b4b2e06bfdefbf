"""AgentClinic's OSCE records (MedQA, MedQA-extended, MIMIC-IV) as clinic-env cases.

A record is ``{"OSCE_Examination": {Objective_for_Doctor, Patient_Actor,
Physical_Examination_Findings, Test_Results, Correct_Diagnosis}}`` with free nesting below:
any value may be a string, a number, a list or a dict, to any depth. The patient's record
becomes categorised atomic facts, the examination becomes findings under the body systems
of ``agents/knowledge/exams.yaml``, and the results become named, priced tests.
"""

from __future__ import annotations

import json
from typing import Any

from clinic_env.datasets.convert.common import (
    RecordContext,
    answer_texts,
    diagnosis_aliases,
    first_as_complaint,
    lower_first,
    make_test,
    readable,
    render,
    sentences,
)
from clinic_env.datasets.convert.people import caregiver, demographics
from clinic_env.datasets.convert.rules import Rules
from clinic_env.language.knowledge import exam_systems_in
from clinic_env.language.text import fold
from clinic_env.schema.case import Case, ExamFinding, Fact, FactCategory, TestResult

SHORT_FACT_WORDS = 5
"""A value this short ("Engineer") is told with its label ("Occupation: Engineer")."""
_STORY: frozenset[str] = frozenset({"presenting_complaint", "history_of_present_illness"})
_AGE_KEYS = frozenset({"age"})
_SEX_KEYS = frozenset({"sex", "gender"})


def looks_like(record: dict[str, Any]) -> bool:
    return "OSCE_Examination" in record or "Patient_Actor" in record


def fingerprint(record: dict[str, Any]) -> str | None:
    """Same patient, same answer: a duplicated case."""
    osce = record.get("OSCE_Examination", record)
    if not isinstance(osce, dict):
        return None
    content = (osce.get("Patient_Actor"), osce.get("Correct_Diagnosis"))
    return json.dumps(content, sort_keys=True, default=str) if any(content) else None


def convert(record: dict[str, Any], ctx: RecordContext) -> Case | None:
    rules = ctx.rules
    osce = record.get("OSCE_Examination", record)
    if not isinstance(osce, dict):
        ctx.report("invalid_record", "OSCE_Examination is not an object", skipped=True)
        return None
    answer = osce.get("Correct_Diagnosis")
    names = answer_texts(answer)
    if not names:
        ctx.report("missing_field", "no diagnosis", "Correct_Diagnosis", skipped=True)
        return None
    patient = osce.get("Patient_Actor")
    facts, complaint, demo = _patient(patient, rules)
    if not facts:
        ctx.report("empty_case", "the patient record holds no history", skipped=True)
        return None
    demo_text = render(demo, rules) if not isinstance(demo, dict) else ""
    demo_fields = demo if isinstance(demo, dict) else {}
    objective = render(osce.get("Objective_for_Doctor"), rules)
    person = demographics(
        ctx,
        age=_field(demo_fields, _AGE_KEYS),
        sex=_field(demo_fields, _SEX_KEYS),
        texts=[demo_text, objective, *(f.text for f in facts[:3])],
        description=demo_text or None,
    )
    if not objective:
        ctx.report("missing_field", "no objective; a brief is written", "Objective_for_Doctor")
    texts = rules.texts
    brief = objective or (
        texts.brief_with_complaint.format(description=person.description, complaint=complaint)
        if complaint
        else texts.brief_without_complaint.format(description=person.description)
    )
    opening = (
        texts.opening_with_complaint.format(complaint=lower_first(complaint).rstrip(". "))
        if complaint
        else texts.opening_without_complaint
    )
    speaker = caregiver(person.age_years, [f.text for f in facts], rules)
    diagnosis = names[0]
    return ctx.build(
        specialty="unspecified",
        demographics=person,
        informant="caregiver" if speaker else "self",
        caregiver=speaker,
        doctor_brief=brief,
        opening_statement=opening,
        facts=first_as_complaint(facts),
        exam=exam_findings(osce.get("Physical_Examination_Findings"), rules),
        tests=test_results(osce.get("Test_Results"), rules),
        ground_truth={
            "diagnosis": diagnosis,
            "aliases": (*names[1:], *diagnosis_aliases(diagnosis)),
        },
    )


def _field(fields: dict[str, Any], keys: frozenset[str]) -> Any:
    return next((value for key, value in fields.items() if fold(str(key)) in keys), None)


# ----------------------------------------------------------------------------- the patient
def _patient(value: Any, rules: Rules) -> tuple[list[Fact], str, Any]:
    """Facts, the chief complaint (for the opening statement) and the demographics value."""
    facts: list[Fact] = []
    demo: Any = None
    if not isinstance(value, dict):
        value = {"History": value}
    for key, item in value.items():
        if fold(str(key)) == "demographics":
            demo = item
            if isinstance(item, dict):
                rest = {k: v for k, v in item.items() if fold(str(k)) not in _AGE_KEYS | _SEX_KEYS}
                facts += _facts(rest, "social", None, rules)
            continue
        facts += _facts({key: item}, None, None, rules)
    return facts, _complaint(value, rules), demo


def _complaint(value: dict[str, Any], rules: Rules) -> str:
    """The first short value under a chief-complaint key, searched through nested dicts."""
    for key, item in value.items():
        found = ""
        if isinstance(item, dict):
            found = _complaint(item, rules)
        elif rules.fact_keys.best(readable(str(key))) == "presenting_complaint":
            found = render(item, rules).split("; ")[0]
        if found:
            return found
    return ""


def _facts(
    value: Any, category: FactCategory | None, label: str | None, rules: Rules
) -> list[Fact]:
    """Atomic facts of a nested value. A key names the category of everything below it, and
    a short statement keeps the key that says what it is ("Occupation: Engineer")."""
    if isinstance(value, dict):
        found: list[Fact] = []
        for key, item in value.items():
            name = readable(str(key))
            matched: Any = rules.fact_keys.best(name)
            keep = not rules.is_generic(name) and matched not in _STORY
            found += _facts(item, matched or category, name if keep else label, rules)
        return found
    if isinstance(value, list):
        return [f for item in value for f in _facts(item, category, label, rules)]
    text = render(value, rules)
    if len(text.split()) <= SHORT_FACT_WORDS:
        sort = category or rules.sentence_category(text) or "history_of_present_illness"
        return [Fact(category=sort, text=f"{label}: {text}" if label else text)] if text else []
    return [
        Fact(
            category=category or rules.sentence_category(s) or "history_of_present_illness",
            text=s,
        )
        for s in sentences(text)
    ]


# --------------------------------------------------------------------------- the examination
def _systems(key: str, rules: Rules) -> list[str]:
    name = readable(key)
    return rules.exam_systems.labels(name) or list(exam_systems_in(name))


def exam_findings(value: Any, rules: Rules) -> list[ExamFinding]:
    """Findings filed under body systems; a key naming no single system lets its children
    find theirs (``General_Examination: {Skin: ..., Abdomen: ...}``)."""
    findings: list[ExamFinding] = []
    if isinstance(value, dict):
        for key, item in value.items():
            _exam(str(key), item, "general", findings, rules)
    else:
        text = render(value, rules)
        if text:
            findings.append(ExamFinding(system="general", name="examination", finding=text))
    return findings


def _exam(key: str, value: Any, fallback: str, out: list[ExamFinding], rules: Rules) -> None:
    systems = _systems(key, rules)
    if len(systems) == 1 and systems[0] != "general":
        _emit(systems[0], key, value, out, rules)
    elif isinstance(value, dict) and value:
        for child_key, child in value.items():
            _exam(str(child_key), child, systems[0] if systems else fallback, out, rules)
    else:
        _emit(systems[0] if systems else fallback, key, value, out, rules)


def _emit(system: str, key: str, value: Any, out: list[ExamFinding], rules: Rules) -> None:
    """One finding per entry directly under the key (the key itself for a plain value)."""
    entries = value.items() if isinstance(value, dict) else [(key, value)]
    for name, item in entries:
        text = render(item, rules)
        label = key if rules.is_generic(str(name)) else str(name)
        if text:
            out.append(ExamFinding(system=system, name=readable(label, lower=True), finding=text))


# ------------------------------------------------------------------------------- the tests
TestKey = tuple[str, str | None]
"""(test name, group): the two things a recorded result is found by."""
UNNAMED_TESTS = "Test results"


def test_results(value: Any, rules: Rules) -> list[TestResult]:
    """One test per recorded result, found by its own name and by its group.

    Every key that holds a value names a test, and the key above it is the test's group:
    ``Serum_Laboratory_Values: {Urea: "Elevated"}`` is the test "Urea" in the group "Serum
    laboratory values"; ``Imaging: {Chest_CT: {Findings: "..."}}`` is "Chest CT" in
    "Imaging", since a key that says nothing ("Findings") belongs to the test above it.
    Values are kept verbatim.
    """
    collected: dict[TestKey, list[str]] = {}
    _collect(value, UNNAMED_TESTS, None, collected, rules)
    return [
        make_test(name, "; ".join(parts), (), rules, group=group)
        for (name, group), parts in collected.items()
    ]


def _collect(
    value: Any, name: str, group: str | None, out: dict[TestKey, list[str]], rules: Rules
) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            if rules.is_generic(str(key)):
                _collect(item, name, group, out, rules)
            else:
                inner = None if name == UNNAMED_TESTS else name
                _collect(item, readable(str(key)), inner, out, rules)
    elif isinstance(value, list):
        for item in value:
            _collect(item, name, group, out, rules)
    else:
        text = render(value, rules)
        if text:
            out.setdefault((name, group), []).append(text)
