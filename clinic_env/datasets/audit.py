"""The dataset audit: every defect of every case, grouped by case, and a summary line.

It reports where a case's answer would reach the patient, the room or the doctor, labels
that disagree with their options, and empty, duplicated or malformed records, as found while
loading (see :mod:`clinic_env.datasets.loading`); nothing is fixed silently.
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

from clinic_env.datasets.defects import Defect, LoadedDataset
from clinic_env.datasets.loading import load_dataset


def audit_dataset(
    dataset: str | Path, *, format: str | None = None, progress: bool = True
) -> LoadedDataset:
    """The dataset as loaded without redaction, so every leak is reported where it is."""
    return load_dataset(dataset, format=format, progress=progress)


def audit_report(loaded: LoadedDataset, kinds: Collection[str] = ()) -> list[str]:
    """Lines of the report: per case its defects (of ``kinds``, or all), then the summary."""
    chosen = [d for d in loaded.defects if not kinds or d.kind in kinds]
    lines: list[str] = []
    grouped: dict[str | None, list[Defect]] = {}
    for defect in chosen:
        grouped.setdefault(defect.case_id, []).append(defect)
    for case_id, defects in grouped.items():
        first = defects[0]
        where = f"{loaded.name}:{first.line}" if first.line is not None else loaded.name
        skipped = " (skipped)" if any(d.skipped for d in defects) else ""
        lines.append(f"{case_id or '-'}{skipped}  [{where}]")
        for defect in defects:
            place = f" [{defect.where}]" if defect.where else ""
            lines.append(f"  {defect.kind}{place}: {defect.detail}")
    lines.append(loaded.summary())
    return lines
