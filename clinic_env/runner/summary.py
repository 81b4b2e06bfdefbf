"""The summary table of a batch: accuracy and top-3 with 95% intervals, turns, coverage, cost.

One implementation serves ``clinic-env run`` (a row per persona) and the run report (a row per
doctor x persona x bias set). A failed consultation is counted in ``failed`` and left out of
every mean, never scored as 0; a score whose evaluator failed (or did not run) is left out of
that score's mean, and the table says over how many consultations it was taken when that is
fewer than were scored. A consultation the fidelity checks label a simulator fault (the
patient or room spoiled it) is counted in ``simulator_faults`` and, by default, left out of
the accuracy too: it measured the simulator, not the doctor. Accuracies are proportions and
get Wilson intervals, which never collapse to a point at 0% or 100%.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from clinic_env.evaluators.stats import bootstrap_ci, is_binary, wilson_interval
from clinic_env.schema.transcript import Transcript

CONFIDENCE = 0.95
ALL = "all"
"""The group label of a row over every consultation of a wider group."""


@dataclass(frozen=True, slots=True)
class Estimate:
    """A mean over ``n`` consultations and its percentile-bootstrap interval."""

    mean: float
    low: float
    high: float
    n: int


@dataclass(frozen=True, slots=True)
class SummaryRow:
    """One group of consultations; ``None`` where no consultation has that score."""

    group: tuple[str, ...]
    consultations: int
    failed: int
    simulator_faults: int
    accuracy: Estimate | None
    top3: Estimate | None
    turns: float | None
    coverage: float | None
    test_cost_usd: float | None
    model_cost_usd: float

    simulator_faults_included: bool = False

    @property
    def scored(self) -> int:
        """Consultations the accuracy is taken over."""
        faults = 0 if self.simulator_faults_included else self.simulator_faults
        return self.consultations - self.failed - faults


def score_values(transcripts: Iterable[Transcript], name: str) -> list[float]:
    """The values of one score over the consultations that did not fail and have it."""
    values = []
    for transcript in transcripts:
        if transcript.outcome == "error":
            continue
        value = transcript.score.as_dict().get(name)
        if value is not None:
            values.append(value)
    return values


def model_cost(transcript: Transcript) -> float:
    """What the model calls of one consultation cost, in USD."""
    return math.fsum(call.cost_usd for call in transcript.model_calls)


def estimate(values: Sequence[float]) -> Estimate | None:
    """The mean of ``values`` and its interval (Wilson for 0/1 scores, else a bootstrap);
    None for no values (not a 0)."""
    if not values:
        return None
    if is_binary(values):
        mean, low, high = wilson_interval(sum(values), len(values), confidence=CONFIDENCE)
    else:
        mean, low, high = bootstrap_ci(values, confidence=CONFIDENCE)
    return Estimate(mean, low, high, len(values))


def is_simulator_fault(transcript: Transcript) -> bool:
    return transcript.validity == "simulator_fault"


def _mean(values: Sequence[float]) -> float | None:
    return math.fsum(values) / len(values) if values else None


def summary_row(
    group: tuple[str, ...], transcripts: Sequence[Transcript], *, include_faults: bool = False
) -> SummaryRow:
    """One group's row; model spend counts failed consultations too, since it was spent.
    Simulator faults are left out of the accuracies unless ``include_faults``."""
    failed = sum(t.outcome == "error" for t in transcripts)
    faults = sum(is_simulator_fault(t) and t.outcome != "error" for t in transcripts)
    judged = [t for t in transcripts if include_faults or not is_simulator_fault(t)]
    return SummaryRow(
        group=group,
        consultations=len(transcripts),
        failed=failed,
        simulator_faults=faults,
        simulator_faults_included=include_faults,
        accuracy=estimate(score_values(judged, "top1")),
        top3=estimate(score_values(judged, "top3")),
        turns=_mean(score_values(transcripts, "turns")),
        coverage=_mean(score_values(transcripts, "coverage")),
        test_cost_usd=_mean(score_values(transcripts, "test_cost_usd")),
        model_cost_usd=_mean([model_cost(t) for t in transcripts]) or 0.0,
    )


def summarise(
    transcripts: Iterable[Transcript], *, include_faults: bool = False
) -> list[SummaryRow]:
    """One row per persona, then one for all when there are several."""
    by_persona: dict[tuple[str, ...], list[Transcript]] = {}
    everything: list[Transcript] = []
    for transcript in transcripts:
        by_persona.setdefault((transcript.persona or "-",), []).append(transcript)
        everything.append(transcript)
    groups = dict(sorted(by_persona.items()))
    if len(groups) != 1:
        groups[(ALL,)] = everything
    return [
        summary_row(group, items, include_faults=include_faults) for group, items in groups.items()
    ]


def format_estimate(value: Estimate | None, scored: int) -> str:
    """``62.5% [48.1–75.0]``, with ``n=`` when fewer consultations than were scored had it."""
    if value is None:
        return "-"
    text = f"{value.mean:.1%} [{value.low * 100:.1f}–{value.high * 100:.1f}]"
    return text + (f" n={value.n}" if value.n != scored else "")


def _number(value: float | None, template: str) -> str:
    return "-" if value is None else template.format(value)


def format_table(rows: Sequence[SummaryRow], columns: Sequence[str] = ("persona",)) -> str:
    """A Markdown table, readable as plain text too; ``columns`` name the parts of a group.

    The model-cost column appears only when some consultation called a paid model.
    """
    with_models = any(row.model_cost_usd > 0 for row in rows)
    header = [
        *columns,
        "n",
        "failed",
        "sim. faults",
        "top-1 accuracy (95% CI)",
        "top-3 accuracy (95% CI)",
        "turns",
        "coverage",
        "test cost/case",
    ]
    header += ["model cost/case"] if with_models else []
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(columns) + "---:|" * (len(header) - len(columns)),
    ]
    for row in rows:
        cells = [
            *row.group,
            str(row.consultations),
            str(row.failed),
            str(row.simulator_faults) + (" (in)" if row.simulator_faults_included else ""),
            format_estimate(row.accuracy, row.scored),
            format_estimate(row.top3, row.scored),
            _number(row.turns, "{:.1f}"),
            _number(row.coverage, "{:.1%}"),
            _number(row.test_cost_usd, "${:,.0f}"),
        ]
        cells += [f"${row.model_cost_usd:,.4f}"] if with_models else []
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
