"""Blood gases whose pH, PaCO2 and bicarbonate disagree (Henderson–Hasselbalch).

pH = 6.1 + log10(HCO3 / (0.03 x PaCO2)), with PaCO2 in mmHg (kPa x 7.5). A recorded gas more
than ``TOLERANCE`` from the computed pH could not have come from a real analyser.
"""

from __future__ import annotations

import math
import re

from clinic_env.schema.case import Case
from clinic_env.validation.issues import Issue

TOLERANCE = 0.03
KPA_TO_MMHG = 7.5

_PH = re.compile(r"\bpH\s*(?:of\s*)?(\d\.\d+)")
_PCO2 = re.compile(r"\b(?:Pa|p|P)CO2\s*(?:of\s*)?(\d+(?:\.\d+)?)\s*(kPa|mmHg)", re.IGNORECASE)
_HCO3 = re.compile(r"\b(?:bicarbonate|HCO3-?)\s*(?:of\s*)?(\d+(?:\.\d+)?)", re.IGNORECASE)


def expected_ph(pco2_mmhg: float, bicarbonate: float) -> float:
    """The pH a PaCO2 (mmHg) and a bicarbonate (mmol/L) imply."""
    return 6.1 + math.log10(bicarbonate / (0.03 * pco2_mmhg))


def blood_gas_issues(case: Case) -> list[Issue]:
    """Every result stating pH, PaCO2 and bicarbonate that breaks the equation."""
    issues: list[Issue] = []
    for i, test in enumerate(case.tests):
        ph, pco2, hco3 = (p.search(test.result) for p in (_PH, _PCO2, _HCO3))
        if not (ph and pco2 and hco3):
            continue
        mmhg = float(pco2[1]) * (KPA_TO_MMHG if pco2[2].lower() == "kpa" else 1.0)
        computed = expected_ph(mmhg, float(hco3[1]))
        if abs(computed - float(ph[1])) > TOLERANCE:
            message = (
                f"pH {ph[1]} but PaCO2 {pco2[1]} {pco2[2]} and bicarbonate {hco3[1]} "
                f"give pH {computed:.2f} (Henderson-Hasselbalch, tolerance {TOLERANCE})"
            )
            issues.append(Issue(case.id, "blood-gas", f"tests[{i}] ({test.name})", message))
    return issues
