"""What a set of cases covers: counts by specialty, age band, setting and presentation."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from clinic_env.schema.case import Case

AGE_BANDS = ("<18", "18-64", "65+")
UNLABELLED = "(unlabelled)"


def age_band(age_years: float) -> str:
    if age_years < 18:
        return AGE_BANDS[0]
    return AGE_BANDS[1] if age_years < 65 else AGE_BANDS[2]


@dataclass(frozen=True, slots=True)
class CoverageTable:
    """Case counts per value of each dimension, and the total."""

    total: int
    dimensions: dict[str, Counter[str]]

    def lines(self) -> list[str]:
        """The table as text: one block per dimension, values by count then name."""
        out = [f"{self.total} cases"]
        for dimension, counts in self.dimensions.items():
            out.append(f"\n{dimension}")
            for value, count in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
                share = 100 * count / self.total if self.total else 0.0
                out.append(f"  {value:<28} {count:>4}  {share:5.1f}%")
        return out


def coverage_table(cases: Sequence[Case]) -> CoverageTable:
    """Counts of ``cases`` by specialty, age band, setting and typical vs atypical."""
    dimensions: dict[str, Counter[str]] = {
        "specialty": Counter(case.specialty for case in cases),
        "age band": Counter({band: 0 for band in AGE_BANDS}),
        "setting": Counter(case.setting or UNLABELLED for case in cases),
        "presentation": Counter(case.presentation or UNLABELLED for case in cases),
    }
    dimensions["age band"].update(age_band(case.demographics.age_years) for case in cases)
    return CoverageTable(len(cases), dimensions)
