import argparse
import shutil

import pytest

from clinic_env.cli.cases import coverage_command, validate_cases_command
from clinic_env.content import content_path
from clinic_env.validation import age_band, coverage_table, exam_issues, label_issues
from tests.helpers.cases import MINIMAL_CASE, minimal_case, write_yaml


@pytest.mark.parametrize(
    ("age", "band"), [(0.1, "<18"), (17.9, "<18"), (18, "18-64"), (64.9, "18-64"), (65, "65+")]
)
def test_age_bands(age, band):
    assert age_band(age) == band


def test_the_table_counts_each_dimension():
    demographics = {"age_years": 70, "sex": "female", "description": "70-year-old woman"}
    cases = [
        minimal_case(id="a", setting="emergency", presentation="atypical"),
        minimal_case(id="b", demographics=demographics, setting="emergency"),
    ]
    table = coverage_table(cases)
    assert table.total == 2
    assert table.dimensions["age band"] == {"<18": 0, "18-64": 1, "65+": 1}
    assert table.dimensions["setting"] == {"emergency": 2}
    assert table.dimensions["presentation"] == {"atypical": 1, "(unlabelled)": 1}
    assert "  testing" in "\n".join(table.lines())


def test_every_bundled_case_is_labelled_and_older_adults_are_covered(bundled):
    assert [issue for case in bundled for issue in label_issues(case)] == []
    table = coverage_table(bundled)
    assert table.dimensions["age band"]["65+"] >= 20
    assert table.dimensions["presentation"]["atypical"] >= 5


def test_the_coverage_command_prints_the_table(capsys):
    assert coverage_command(argparse.Namespace(dataset="starter")) == 0
    out = capsys.readouterr().out
    assert "age band" in out and "65+" in out and "primary_care" in out


def test_validate_passes_a_good_case_and_fails_a_bad_one(tmp_path, capsys):
    good = tmp_path / "good"
    good.mkdir()
    shutil.copy(content_path("cases", "starter", "resp-001.yaml"), good)
    assert validate_cases_command(argparse.Namespace(dataset=str(good), strict=True)) == 0
    assert "0 ground-truth leak(s) found; 0 content error(s), 0 warning(s)" in (
        capsys.readouterr().out
    )
    gas = {**MINIMAL_CASE["tests"][0], "result": "pH 7.50, PaCO2 40 mmHg, bicarbonate 24 mmol/L."}
    bad = write_yaml(tmp_path / "bad.yaml", {**MINIMAL_CASE, "tests": [gas]})
    assert validate_cases_command(argparse.Namespace(dataset=str(bad), strict=False)) == 1
    out = capsys.readouterr().out
    assert "[blood-gas]" in out and "[diagnosis-tests]" in out


def test_an_exam_finding_under_an_unknown_system_is_reported():
    exam = [{"system": "mental state", "name": "mood", "finding": "Low mood."}]
    (issue,) = exam_issues(minimal_case(exam=exam))
    assert issue.check == "exam" and issue.where == "exam[0]"
