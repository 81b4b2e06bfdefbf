"""The run report: a Markdown page and PNG plots that say at a glance how each doctor did.

:func:`write_report` reads a run folder and writes ``report/report.md`` with its figures
beside it, and returns the short summary ``clinic-env eval`` prints at its end. Every rate
carries its n and a 95% interval (Wilson for rates). Failed consultations are counted and
shown, never scored as 0; simulator faults are counted and, unless asked for, left out of the
accuracies; a score whose evaluator failed or did not run is left out and listed; a figure
the run has no data for is left out with a line saying why.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from clinic_env.errors import UserError
from clinic_env.runner.report_frame import CONTROL, Run, load_run
from clinic_env.runner.summary import (
    ALL,
    SummaryRow,
    format_table,
    is_simulator_fault,
    summary_row,
)

REPORT_FOLDER = "report"
REPORT_FILE = "report.md"
TABLE_COLUMNS = ("doctor", "persona", "bias set")


@dataclass(frozen=True)
class Report:
    """Where the report went, the figures drawn, and the summary the terminal shows."""

    path: Path
    summary_markdown: str
    plots: tuple[Path, ...]


def summary_rows(
    run: Run, include_faults: bool = False
) -> tuple[list[SummaryRow], dict[str, SummaryRow]]:
    """The table's rows: per doctor x persona x bias set, and an "all" row for each doctor
    with several; with each doctor's row over all its consultations."""
    grouped = run.grouped()
    rows: list[SummaryRow] = []
    overall: dict[str, SummaryRow] = {}
    for doctor in run.doctors:
        groups = {group: records for group, records in grouped.items() if group[0] == doctor}
        rows += [
            summary_row(g, [r.transcript for r in records], include_faults=include_faults)
            for g, records in groups.items()
        ]
        everything = [r.transcript for records in groups.values() for r in records]
        overall[doctor] = summary_row((doctor, ALL, ALL), everything, include_faults=include_faults)
        if len(groups) > 1:
            rows.append(overall[doctor])
    return rows, overall


def _table(run: Run, rows: list[SummaryRow]) -> str:
    """The summary table without the columns that hold one value throughout (the headline
    names it), keeping at least the doctor."""
    keep = [i for i, varies in enumerate(run.varies()) if varies] or [0]
    return format_table(
        [replace(row, group=tuple(row.group[i] for i in keep)) for row in rows],
        [TABLE_COLUMNS[i] for i in keep],
    )


def _headline(run: Run, include_faults: bool) -> str:
    failed = sum(record.failed for record in run.records)
    faults = sum(
        is_simulator_fault(record.transcript) and not record.failed for record in run.records
    )
    cases = len({(r.cell.dataset, r.cell.case_id) for r in run.records})
    seeds = len({(r.cell.seed, r.cell.repeat) for r in run.records})

    def count(n: int, word: str) -> str:
        return f"{n} {word}{'' if n == 1 else 's'}"

    grid = " × ".join(
        [
            count(len(run.doctors), "doctor"),
            count(len(run.personas), "persona"),
            count(len(run.bias_sets), "bias set"),
            count(cases, "case"),
            count(seeds, "seed"),
        ]
    )
    constant = [
        f"{name} {values[0]}" + (" (the control)" if values[0] == CONTROL else "")
        for name, values in zip(
            TABLE_COLUMNS, (run.doctors, run.personas, run.bias_sets), strict=True
        )
        if len(values) == 1
    ]
    throughout = f" Throughout: {', '.join(constant)}." if constant else ""
    handled = "counted in the accuracies" if include_faults else "left out of the accuracies"
    return (
        f"**{len(run.records)} consultations** ({grid}): {len(run.records) - failed} scored, "
        f"**{failed} failed** (counted, never scored as 0), **{faults} simulator faults** "
        f"({handled}).{throughout}"
    )


def _table_note(rows: list[SummaryRow]) -> str:
    note = (
        "Top-1 and top-3 are the share of scored consultations whose right diagnosis was first "
        "(within the first three) of the doctor's list, with 95% Wilson score intervals (they "
        "keep a width at 0% and 100%); `n=` follows a rate taken over fewer consultations than "
        "were scored (its evaluator failed on the rest). Consultations the fidelity checks "
        "label a simulator fault are counted under `sim. faults` and left out of the rates "
        "unless the report was written with `--include-simulator-faults`. Turns, coverage "
        "(share of case facts the patient told) and test cost (simulated USD) are means over "
        "scored consultations."
    )
    if any(row.model_cost_usd > 0 for row in rows):
        note += " Model cost is what the model calls cost, per consultation, failed ones included."
    return note


def _metadata(run: Run) -> str:
    versions = run.manifest.get("versions") or {}
    parts = [f"run folder `{run.folder}`"]
    if created := run.manifest.get("created"):
        parts.append(f"created {created}")
    if digest := run.manifest.get("config_hash"):
        parts.append(f"config `{digest}`")
    if version := versions.get("clinic_env"):
        parts.append(f"clinic-env {version}")
    return "; ".join(parts)


def write_report(folder: Path, *, include_faults: bool = False) -> Report:
    """Write ``folder/report/report.md`` and its figures; return where, and the summary.
    ``include_faults`` keeps simulator faults in the accuracies (they are always counted)."""
    # matplotlib takes seconds to import (and is an extra): only load it when a report is drawn.
    try:
        from clinic_env.runner import report_sections as sections  # noqa: PLC0415
    except ImportError as exc:
        raise UserError(
            f'the report draws its figures with matplotlib: pip install "clinic-env[report]" '
            f"({exc}); the results themselves are in {folder / 'results.jsonl'}"
        ) from None

    run = load_run(folder)
    if not run.records:
        raise UserError(f"{folder} holds no finished consultation yet: nothing to report")
    out = folder / REPORT_FOLDER
    out.mkdir(parents=True, exist_ok=True)
    for name in sections.PLOT_FILES:
        (out / name).unlink(missing_ok=True)
    rows, overall = summary_rows(run, include_faults)
    drawn = [
        sections.accuracy_section(run, rows, out),
        sections.datasets_section(run, out, include_faults),
        sections.effects_section(run, out, include_faults),
        sections.turns_section(run, out),
        sections.cost_section(overall, out),
        sections.inquiry_section(run, out),
        sections.faults_section(run, out),
        sections.failures_section(run, out),
    ]
    title = f"# Run report: {run.name}"
    table = _table(run, rows)
    page = [title]
    if description := run.experiment.get("description"):
        page.append(str(description))
    headline = _headline(run, include_faults)
    page += [_metadata(run), headline, "## Summary", table, _table_note(rows)]
    if gaps := sections.evaluator_gaps(run):
        page += [
            "Scores missing on some scored consultations, because their evaluator failed (its "
            "first error shown) or gave no value (some apply only to some cases):",
            gaps,
        ]
    for section in drawn:
        page.append(f"## {section.heading}")
        if section.plot is not None:
            page.append(f"![{section.caption}]({section.plot.name})")
        page.append(section.body)
    path = out / REPORT_FILE
    path.write_text("\n\n".join(page) + "\n", encoding="utf-8")
    plots = tuple(s.plot for s in drawn if s.plot is not None)
    listing = [
        f"- {s.plot.name}: {s.caption}" if s.plot else f"- {s.heading}: {s.body.splitlines()[0]}"
        for s in drawn
    ]
    summary = [title, headline, table, f"Figures in {out}:", "\n".join(listing)]
    return Report(path=path, summary_markdown="\n\n".join(summary), plots=plots)
