from clinic_env.validation import unit_issues, unit_system
from tests.helpers.cases import minimal_case


def case_with(case_id: str, result: str):
    test = {"name": "Arterial blood gas", "result": result, "cost_usd": 40, "turnaround_hours": 1}
    return minimal_case(id=case_id, tests=[test])


def test_the_bundled_cases_write_us_conventional_units_only(bundled):
    assert unit_system(bundled) == "US conventional"
    assert unit_issues(bundled) == []


def test_the_minority_system_is_flagged():
    cases = [
        case_with("a", "Creatinine 1.1 mg/dL."),
        case_with("b", "Albumin 3.1 g/dL."),
        case_with("c", "PaO2 8.1 kPa; urea 14 mg/dL."),
    ]
    issues = unit_issues(cases)
    assert {i.subject for i in issues} == {"c"}
    assert any("kPa" in i.message for i in issues)
    assert any("urea" in i.message for i in issues)


def test_bun_is_us_conventional_and_a_dataset_without_units_has_no_system():
    assert unit_issues([case_with("a", "BUN 14 mg/dL."), case_with("b", "Glucose 90 mg/dL.")]) == []
    assert unit_system([case_with("a", "Negative.")]) is None
