import pytest

from clinic_env.validation import blood_gas_issues, expected_ph
from tests.helpers.cases import minimal_case


def gas(result: str):
    test = {"name": "Arterial blood gas", "result": result, "cost_usd": 40, "turnaround_hours": 1}
    return minimal_case(tests=[test])


def test_expected_ph_follows_henderson_hasselbalch():
    assert expected_ph(40, 24) == pytest.approx(7.40, abs=0.005)
    assert expected_ph(18, 5) == pytest.approx(7.07, abs=0.01)


@pytest.mark.parametrize(
    "result",
    [
        "pH 7.40, PaCO2 40 mmHg, bicarbonate 24 mmol/L.",
        "pH 7.40, PaCO2 5.3 kPa, HCO3 24 mmol/L.",
        "pH 7.49, pCO2 46 mmHg, bicarbonate 34 mmol/L, chloride 88 mmol/L.",
        "pH 7.47, PaO2 61 mmHg on room air.",
    ],
)
def test_consistent_or_incomplete_gases_pass(result):
    assert blood_gas_issues(gas(result)) == []


@pytest.mark.parametrize(
    "result",
    [
        "pH 7.08, PaCO2 18 mmHg, bicarbonate 6 mmol/L.",
        "pH 7.53, pCO2 46 mmHg, bicarbonate 34 mmol/L.",
        "pH 7.40, PaCO2 40 kPa, bicarbonate 24 mmol/L.",
    ],
)
def test_the_reviewed_defects_and_a_unit_slip_are_flagged(result):
    (issue,) = blood_gas_issues(gas(result))
    assert issue.check == "blood-gas" and issue.where == "tests[0] (Arterial blood gas)"


def test_every_bundled_gas_is_consistent(bundled):
    assert [issue for case in bundled for issue in blood_gas_issues(case)] == []
