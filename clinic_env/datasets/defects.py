"""What is wrong with a dataset's records, kept as data instead of raised.

Foreign datasets carry empty cases, labels that disagree with their options, duplicated
records and ground truth visible in test results. Loading records each problem as a
:class:`Defect`, keeps going, and warns once per dataset with the counts; the audit prints
them one per line.
"""

from __future__ import annotations

import warnings
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from clinic_env.schema.base import Frozen
from clinic_env.schema.case import Case

DefectKind = Literal[
    "leak",
    "label_mismatch",
    "answer_text",
    "empty_case",
    "duplicate_case",
    "missing_field",
    "count_mismatch",
    "invalid_record",
]
DEFECT_KINDS: tuple[DefectKind, ...] = DefectKind.__args__  # type: ignore[attr-defined]


class DatasetWarning(UserWarning):
    """A dataset loaded with defects; ``clinic-env datasets audit NAME`` lists them."""


class Defect(Frozen):
    """One problem with one record (or with the file, when ``line`` is None)."""

    dataset: str
    line: int | None
    case_id: str | None
    kind: DefectKind
    detail: str
    where: str | None = None
    skipped: bool = False
    """Whether the record was left out of the loaded cases because of it."""


@dataclass(frozen=True, slots=True)
class LoadedDataset:
    """The cases of one dataset and everything found wrong while loading them."""

    name: str
    version: str
    format: str
    path: Path | None
    records: int
    cases: tuple[Case, ...]
    defects: tuple[Defect, ...]
    expected_rows: int | None = None

    def counts(self) -> Counter[str]:
        """Defects per kind."""
        return Counter(defect.kind for defect in self.defects)

    def summary(self) -> str:
        """One line per dataset: records, cases loaded, and the defects by kind."""
        rows = f"{self.records} records"
        if self.expected_rows is not None and self.expected_rows != self.records:
            rows += f" (registry says {self.expected_rows})"
        counts = self.counts()
        leaking = len({d.case_id for d in self.defects if d.kind == "leak"})
        where = f" (in {leaking} case{'s' * (leaking != 1)})"
        kinds = ", ".join(
            f"{kind} {counts[kind]}{where if kind == 'leak' else ''}"
            for kind in DEFECT_KINDS
            if counts[kind]
        )
        return f"{self.name}: {rows}, {len(self.cases)} cases loaded; " + (
            f"defects: {kinds}" if kinds else "no defects"
        )


def warn_defects(loaded: LoadedDataset, asked_for: str, stacklevel: int = 3) -> None:
    """One warning for a dataset that loaded with defects (never one per record)."""
    if loaded.defects:
        warnings.warn(
            f"{loaded.summary()}; run `clinic-env datasets audit {asked_for}` for details",
            DatasetWarning,
            stacklevel=stacklevel,
        )
