"""The figures of a run report, each with the numbers behind it and a line on how to read it.

Each ``*_section`` function takes the loaded run, draws one figure into the report folder with
:mod:`clinic_env.runner.report_plots`, and returns a :class:`Section`. When the run has no data
for a figure (no bias set besides the control, no validity verdicts, no inquiry evaluator, no
failure) the section has no plot and says why, so no figure goes missing without a word.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from clinic_env.evaluators.inquiry import INQUIRY_TYPES
from clinic_env.evaluators.stats import describe_effect, paired_effect
from clinic_env.runner import report_plots as plots
from clinic_env.runner.report_frame import CONTROL, Group, Run
from clinic_env.runner.store import RunRecord
from clinic_env.runner.summary import (
    ALL,
    CONFIDENCE,
    Estimate,
    SummaryRow,
    estimate,
    format_table,
    is_simulator_fault,
    summary_row,
)

PLOT_FILES = (
    "accuracy.png",
    "datasets.png",
    "bias_effects.png",
    "turns.png",
    "cost.png",
    "inquiry_mix.png",
    "simulator_faults.png",
    "failures.png",
)
"""Every figure a report may hold; writing a report removes the old ones first."""
INQUIRY_SOURCES = {"inquiry": "rules", "inquiry_llm": "judge"}
"""Score-name prefixes of the inquiry evaluators, and what labelled the questions."""
_ERROR_KIND = re.compile(r"\b([A-Z]\w*(?:Error|Exception|Timeout))\b")


@dataclass(frozen=True)
class Section:
    """One figure of the report, or (``plot`` None) the reason it was left out."""

    heading: str
    caption: str
    plot: Path | None
    body: str


def _value(record: RunRecord, name: str, include_faults: bool = False) -> float | None:
    """A score of a consultation; None when the consultation failed, has no such score, or
    (unless ``include_faults``) the simulator spoiled it."""
    if record.failed or (not include_faults and is_simulator_fault(record.transcript)):
        return None
    return record.transcript.score.as_dict().get(name)


class Labeller:
    """Names a group by the parts that vary in this run (with one doctor, no doctor)."""

    def __init__(self, run: Run) -> None:
        self.varies = run.varies()

    def __call__(self, group: Group) -> str:
        parts = [part for part, varies in zip(group, self.varies, strict=True) if varies]
        return " · ".join(parts) or group[0]


def _rate_bars(
    run: Run,
    rates: Mapping[Group, Estimate | None],
    path: Path,
    *,
    title: str,
    ylabel: str,
    full_scale: bool = True,
) -> Path:
    """Rates per doctor (panels) x persona (x axis) x bias set (bars; the control grey when
    there are others)."""
    treated = [bias for bias in run.bias_sets if bias != CONTROL]
    colours = {bias: plots.PALETTE[i % len(plots.PALETTE)] for i, bias in enumerate(treated)}
    colours[CONTROL] = plots.CONTROL_COLOUR if treated else plots.PALETTE[0]
    return plots.grouped_bars(
        path,
        title=title,
        ylabel=ylabel,
        panels={
            f"Doctor: {doctor}": {(g[1], g[2]): v for g, v in rates.items() if g[0] == doctor}
            for doctor in run.doctors
        },
        categories=run.personas,
        series=run.bias_sets,
        series_names={b: "none (control)" if b == CONTROL else b for b in run.bias_sets},
        colours=colours,
        full_scale=full_scale,
    )


def accuracy_section(run: Run, rows: Sequence[SummaryRow], folder: Path) -> Section:
    heading = "Accuracy by persona and bias set"
    caption = "top-1 accuracy per doctor, persona and bias set, with 95% CIs"
    rates = {cast(Group, row.group): row.accuracy for row in rows if ALL not in row.group}
    if not any(rates.values()):
        return Section(heading, caption, None, "Not drawn: no consultation has a top-1 score.")
    path = _rate_bars(
        run,
        rates,
        folder / "accuracy.png",
        title="Top-1 accuracy by persona and bias set (95% CI)",
        ylabel="Top-1 accuracy",
    )
    return Section(
        heading,
        caption,
        path,
        "Bars are top-1 accuracy over the consultations scored (n above each bar); "
        "whiskers are 95% Wilson intervals. Failed consultations and simulator faults are not "
        "in n.",
    )


def datasets_section(run: Run, folder: Path, include_faults: bool = False) -> Section:
    """Accuracy per dataset and doctor: datasets differ in difficulty, so a pooled figure
    over a mixed run says little on its own."""
    heading = "Accuracy by dataset"
    caption = "top-1 accuracy per dataset and doctor, with 95% CIs"
    datasets = sorted({record.cell.dataset for record in run.records})
    rows = [
        summary_row(
            (dataset, doctor),
            [r.transcript for r in run.records if (r.cell.dataset, r.cell.doctor) == key],
            include_faults=include_faults,
        )
        for dataset in datasets
        for doctor in run.doctors
        if any((r.cell.dataset, r.cell.doctor) == (key := (dataset, doctor)) for r in run.records)
    ]
    table = format_table(rows, ("dataset", "doctor"))
    if len(datasets) < 2:
        body = f"Not drawn: every consultation is from {datasets[0]}.\n\n{table}"
        return Section(heading, caption, None, body)
    path = plots.grouped_bars(
        folder / "datasets.png",
        title="Top-1 accuracy by dataset (95% CI)",
        ylabel="Top-1 accuracy",
        panels={
            f"Doctor: {doctor}": {
                (row.group[0], ALL): row.accuracy for row in rows if row.group[1] == doctor
            }
            for doctor in run.doctors
        },
        categories=datasets,
        series=[ALL],
        series_names={ALL: "all"},
        colours={ALL: plots.PALETTE[0]},
    )
    return Section(heading, caption, path, table)


def _top1_by_pair(
    records: Sequence[RunRecord], include_faults: bool = False
) -> dict[tuple[str, str, str, int, int], float]:
    """Top-1 per (dataset, case, persona, seed, repeat): what a biased consultation and its
    control share. Failed consultations, simulator faults and missing scores are left out,
    so unpaired."""
    table = {}
    for record in records:
        value = _value(record, "top1", include_faults)
        if value is not None:
            c = record.cell
            table[(c.dataset, c.case_id, c.persona, c.seed, c.repeat)] = value
    return table


def effects_section(run: Run, folder: Path, include_faults: bool = False) -> Section:
    heading = "Paired bias effects"
    caption = "change in top-1 accuracy under each bias set against the control, paired"
    treated_sets = [bias for bias in run.bias_sets if bias != CONTROL]
    if not treated_sets or CONTROL not in run.bias_sets:
        missing = "bias set besides the control" if not treated_sets else "control (empty bias set)"
        return Section(heading, caption, None, f"Not drawn: this run has no {missing}.")
    grouped = run.grouped()
    lines: list[plots.EffectLine] = []
    table = [
        "| doctor | bias set | persona | pairs | control | biased | difference [95% CI], p "
        "| unpaired |",
        "|---|---|---|---:|---:|---:|---:|---:|",
    ]
    by_persona = len(run.personas) > 1
    for doctor in run.doctors:
        for bias in treated_sets:
            subsets = [(ALL, run.personas)] + (
                [(p, [p]) for p in run.personas] if by_persona else []
            )
            for persona, personas in subsets:
                treated, control = (
                    _top1_by_pair(
                        [r for p in personas for r in grouped.get((doctor, p, b), [])],
                        include_faults,
                    )
                    for b in (bias, CONTROL)
                )
                if not treated.keys() & control.keys():
                    continue
                effect = paired_effect(treated, control, confidence=CONFIDENCE)
                pooled = persona == ALL
                name = f"{doctor} · {bias}" if len(run.doctors) > 1 else bias
                label = (f"{name} (all personas)" if by_persona else name) if pooled else persona
                lines.append(plots.EffectLine(label, effect, pooled))
                table.append(
                    f"| {doctor} | {bias} | {persona} | {effect.n} | {effect.control_mean:.1%} "
                    f"| {effect.treated_mean:.1%} | {describe_effect(effect)} "
                    f"| {effect.unpaired} |"
                )
    if not lines:
        return Section(
            heading,
            caption,
            None,
            "Not drawn: no biased consultation has a scored control to pair with.",
        )
    path = plots.forest(
        folder / "bias_effects.png",
        title="Effect of each bias set on top-1 accuracy (paired, 95% CI)",
        xlabel="Change in top-1 accuracy against the control (percentage points)",
        lines=lines,
    )
    body = (
        "Each biased consultation is paired with the control consultation of the same doctor, "
        "case, persona, seed and repeat; the effect is the mean difference in top-1 over the "
        "pairs, with the Bonett-Price 95% interval for paired proportions (it keeps a width when "
        "every pair agrees) and an exact sign-flip test. Red marks an interval that excludes "
        "zero. Pairs with a failed or simulator-spoiled side are left out and counted as "
        "unpaired.\n\n" + "\n".join(table)
    )
    return Section(heading, caption, path, body)


def turns_section(run: Run, folder: Path) -> Section:
    heading, caption = "Turns", "how many doctor turns consultations took, per doctor"
    turns = {
        doctor: [
            (len(r.transcript.turns), r.transcript.outcome)
            for r in run.records
            if r.cell.doctor == doctor and not r.failed
        ]
        for doctor in run.doctors
    }
    turns = {doctor: values for doctor, values in turns.items() if values}
    if not turns:
        return Section(heading, caption, None, "Not drawn: every consultation failed.")
    longest = max(t for values in turns.values() for t, _ in values)
    path = plots.turns_histograms(
        folder / "turns.png",
        title="Doctor turns per consultation",
        turns=turns,
        max_turns=max(int(run.experiment.get("max_turns") or 0), longest),
    )
    return Section(
        heading,
        caption,
        path,
        "Each bar counts the consultations that ended after that many doctor turns, split by "
        "how they ended (a diagnosis, the doctor ending, or running out of turns); the dashed "
        "line is the mean. Failed consultations are not counted.",
    )


def cost_section(overall: Mapping[str, SummaryRow], folder: Path) -> Section:
    heading, caption = "Accuracy against cost", "accuracy against mean cost per case, Pareto front"
    points = [
        plots.CostPoint(doctor, row.accuracy, row.test_cost_usd, row.model_cost_usd)
        for doctor, row in overall.items()
        if row.accuracy is not None and row.test_cost_usd is not None
    ]
    if not points:
        return Section(heading, caption, None, "Not drawn: no doctor has both scores.")
    path = plots.accuracy_against_cost(
        folder / "cost.png", title="Top-1 accuracy against cost per case", points=points
    )
    left_out = sorted(set(overall) - {point.doctor for point in points})
    note = f" Left out for lack of scores: {', '.join(left_out)}." if left_out else ""
    return Section(
        heading,
        caption,
        path,
        "One point per doctor over all its consultations: top-1 accuracy (95% CI) against the "
        "mean simulated price of the tests it ordered per case (and, when a paid model played, "
        "the mean model spend). Filled points are on the Pareto front: no other doctor is both "
        f"cheaper and more accurate.{note}",
    )


def inquiry_section(run: Run, folder: Path) -> Section:
    heading, caption = "Inquiry-type mix", "what kinds of questions each doctor asked"
    labeller = Labeller(run)
    by_source: dict[str, dict[str, dict[str, float]]] = {}
    for prefix, source in INQUIRY_SOURCES.items():
        for group, records in run.grouped().items():
            means = {}
            for kind in INQUIRY_TYPES:
                values = [v for r in records if (v := _value(r, f"{prefix}_{kind}")) is not None]
                if values:
                    means[kind] = sum(values) / len(values)
            total = sum(means.values())
            if total > 0:
                label = f"{labeller(group)} ({total:.1f} questions/case)"
                by_source.setdefault(source, {})[label] = {k: v / total for k, v in means.items()}
    rows = {
        f"{source} · {label}" if len(by_source) > 1 else label: shares
        for source, source_rows in by_source.items()
        for label, shares in source_rows.items()
    }
    if not rows:
        return Section(
            heading,
            caption,
            None,
            "Not drawn: no inquiry evaluator scored this run (no `inquiry_*` scores).",
        )
    path = plots.stacked_shares(
        folder / "inquiry_mix.png",
        title="Inquiry-type mix of the doctor's questions",
        xlabel="Share of clinical questions",
        rows=rows,
        parts=INQUIRY_TYPES,
    )
    return Section(
        heading,
        caption,
        path,
        "Each bar splits the clinical questions of a group by inquiry type, labelled by the "
        "rules or by a judge model; the label gives the mean number of such questions per "
        "consultation. Questions of no clinical type are not counted.",
    )


def faults_section(run: Run, folder: Path) -> Section:
    heading, caption = "Simulator faults", "share of consultations the simulator spoiled"
    checked = [r for r in run.records if r.transcript.validity is not None]
    if not checked:
        return Section(
            heading,
            caption,
            None,
            "Not drawn: no consultation carries a validity verdict (the fidelity checks did "
            "not run).",
        )
    rates = {
        group: estimate(
            [r.transcript.validity == "simulator_fault" for r in records if r.transcript.validity]
        )
        for group, records in run.grouped().items()
    }
    path = _rate_bars(
        run,
        rates,
        folder / "simulator_faults.png",
        title="Consultations spoiled by the simulator (95% CI)",
        ylabel="Simulator-fault rate",
        full_scale=False,
    )
    counts = Counter(r.transcript.validity for r in checked)
    tally = ", ".join(f"{name} {count}" for name, count in sorted(counts.items()))
    return Section(
        heading,
        caption,
        path,
        f"Of {len(checked)} consultations checked: {tally}. A simulator fault is a patient or "
        "measurement turn that revealed the diagnosis, contradicted the case, broke persona or "
        "crashed, on a turn the doctor did not tamper with; failed consultations count here. "
        "Faulty consultations stay in the accuracy above; read it with this rate in mind.",
    )


def error_kind(error: str | None) -> str:
    """The exception class named in an error message, or "other"."""
    match = _ERROR_KIND.search(error or "")
    return match.group(1) if match else "other"


def failures_section(run: Run, folder: Path) -> Section:
    heading, caption = "Failures", "failed consultations per group, by kind of error"
    failed = [r for r in run.records if r.failed]
    if not failed:
        return Section(heading, caption, None, "No consultation failed.")
    labeller = Labeller(run)
    grouped = run.grouped()
    counts = {
        labeller(g): Counter(error_kind(r.transcript.error) for r in records if r.failed)
        for g, records in grouped.items()
    }
    path = plots.failure_bars(
        folder / "failures.png",
        title="Failed consultations (counted, never scored)",
        counts=counts,
        totals={labeller(g): len(records) for g, records in grouped.items()},
    )
    messages = Counter((r.transcript.error or "no message")[:160] for r in failed)
    table = ["| failures | error |", "|---:|---|"]
    table += [
        f"| {count} | {message.replace('|', '/')} |" for message, count in messages.most_common(10)
    ]
    more = len(messages) - 10
    return Section(
        heading,
        caption,
        path,
        f"{len(failed)} of {len(run.records)} consultations failed. They are counted here and "
        "in the table's `failed` column and left out of every score. Rerun them with "
        "`clinic-env eval --retry-failed`. The commonest errors:\n\n"
        + "\n".join(table)
        + (f"\n\n... and {more} other messages." if more > 0 else ""),
    )


def evaluator_gaps(run: Run) -> str | None:
    """A table of scores that failed or are missing on some scored consultations, or None."""
    scored = [r for r in run.records if not r.failed]
    present: Counter[str] = Counter()
    failures: Counter[str] = Counter()
    first_error: dict[str, str] = {}
    for record in scored:
        for component in record.transcript.score.components:
            present[component.name] += 1
            if component.value is None:
                failures[component.name] += 1
                first_error.setdefault(component.name, component.error or "")
    lines = [
        f"| {name} | {failures[name]} | {len(scored) - count} "
        f"| {first_error.get(name, '')[:120].replace('|', '/')} |"
        for name, count in present.items()
        if failures[name] or count < len(scored)
    ]
    if not lines:
        return None
    header = ["| score | evaluator failed | not produced | first error |", "|---|---:|---:|---|"]
    return "\n".join(header + lines)
