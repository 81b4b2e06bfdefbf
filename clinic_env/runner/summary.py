"""The summary table of a batch: accuracy, top-3, turns, coverage and cost, per persona."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from clinic_env.schema.transcript import Transcript


@dataclass(frozen=True, slots=True)
class SummaryRow:
    group: str
    consultations: int
    failed: int
    accuracy: float
    top3: float
    turns: float
    coverage: float
    cost_usd: float


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else float("nan")


def _score(transcript: Transcript, name: str) -> float | None:
    try:
        return transcript.score.value(name)
    except KeyError:
        return None


def summarise(transcripts: Iterable[Transcript]) -> list[SummaryRow]:
    """One row per persona, then one for all; failed consultations are counted, not scored."""
    by_group: dict[str, list[Transcript]] = {}
    everything: list[Transcript] = []
    for transcript in transcripts:
        by_group.setdefault(transcript.persona or "-", []).append(transcript)
        everything.append(transcript)
    rows = [_row(group, items) for group, items in sorted(by_group.items())]
    if len(by_group) != 1:
        rows.append(_row("all", everything))
    return rows


def _row(group: str, transcripts: list[Transcript]) -> SummaryRow:
    scored = [t for t in transcripts if t.outcome != "error"]

    def column(name: str) -> float:
        return _mean([v for t in scored if (v := _score(t, name)) is not None])

    return SummaryRow(
        group=group,
        consultations=len(transcripts),
        failed=len(transcripts) - len(scored),
        accuracy=column("top1"),
        top3=column("top3"),
        turns=column("turns"),
        coverage=column("coverage"),
        cost_usd=column("test_cost_usd"),
    )


def format_table(rows: Sequence[SummaryRow]) -> str:
    """A Markdown table, readable as plain text too."""
    header = "| persona | n | failed | accuracy | top-3 | turns | coverage | cost/case (USD) |"
    lines = [header, "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(
            f"| {r.group} | {r.consultations} | {r.failed} | {r.accuracy:.1%} | {r.top3:.1%} "
            f"| {r.turns:.1f} | {r.coverage:.1%} | {r.cost_usd:,.0f} |"
        )
    return "\n".join(lines)
