"""A run folder read back for analysis: its records grouped, and one flat row per consultation.

:func:`load_run` reads the manifest and every record; the report groups them by doctor x
persona x bias set in the order the experiment named them. :func:`results_frame` gives the
same records as a pandas DataFrame (the ``report`` extra) for analyses of one's own, and
:func:`result_rows` the plain rows under it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from clinic_env.errors import UserError
from clinic_env.runner.batch import Cell
from clinic_env.runner.store import (
    MANIFEST,
    RESULTS,
    TRANSCRIPTS,
    RunRecord,
    read_manifest,
    read_records,
    read_transcripts,
)
from clinic_env.summary import summarise

if TYPE_CHECKING:
    import pandas

CONTROL = "none"
"""The label of the empty bias set, the control every bias set is compared with."""

INSTALL_HINT = 'pip install "clinic-env[report]"'

Group = tuple[str, str, str]
"""doctor, persona, bias set label"""


def bias_label(biases: Sequence[str]) -> str:
    """The bias set as a cell id spells it: ``a+b``, or ``none`` for the control."""
    return "+".join(biases) or CONTROL


def _in_order(seen: Iterable[str], preferred: Iterable[str]) -> list[str]:
    """The values seen, those the experiment named first in its order, then the rest sorted."""
    present = set(seen)
    named = [value for value in dict.fromkeys(preferred) if value in present]
    return named + sorted(present - set(named))


@dataclass(frozen=True)
class Run:
    """A run folder: its manifest (empty when missing) and every record in it."""

    folder: Path
    manifest: dict[str, Any]
    records: tuple[RunRecord, ...]

    @property
    def experiment(self) -> dict[str, Any]:
        return self.manifest.get("experiment") or {}

    @property
    def name(self) -> str:
        return str(self.experiment.get("name") or self.folder.name)

    @property
    def doctors(self) -> list[str]:
        named = (self.experiment.get("roles") or {}).get("doctors") or {}
        return _in_order((r.cell.doctor for r in self.records), named)

    @property
    def personas(self) -> list[str]:
        return _in_order(
            (r.cell.persona for r in self.records), self.experiment.get("personas", ())
        )

    @property
    def bias_sets(self) -> list[str]:
        """Bias set labels, the control first."""
        named = [bias_label(b) for b in self.experiment.get("bias_sets", ())]
        return _in_order((bias_label(r.cell.biases) for r in self.records), [CONTROL, *named])

    def varies(self) -> tuple[bool, bool, bool]:
        """Whether doctor, persona and bias set each take more than one value in this run."""
        return len(self.doctors) > 1, len(self.personas) > 1, len(self.bias_sets) > 1

    def grouped(self) -> dict[Group, list[RunRecord]]:
        """Records per doctor x persona x bias set, in the experiment's order; no empty group."""
        groups: dict[Group, list[RunRecord]] = {
            (d, p, b): [] for d in self.doctors for p in self.personas for b in self.bias_sets
        }
        for record in self.records:
            cell = record.cell
            groups[(cell.doctor, cell.persona, bias_label(cell.biases))].append(record)
        return {group: records for group, records in groups.items() if records}


def played_records(path: Path) -> tuple[RunRecord, ...]:
    """Consultations played by hand (``clinic-env play``, the web page) as run records, each
    its own grid cell; the same case played again with the same seed counts as a repeat."""
    records = []
    seen: Counter[str] = Counter()
    for transcript in read_transcripts(path):
        cell = Cell(
            dataset=transcript.dataset,
            case_id=transcript.case_id,
            persona=transcript.persona or "plain",
            biases=transcript.biases,
            doctor=transcript.agents.get("doctor", "doctor"),
            seed=transcript.seed,
        )
        repeat = seen[cell.id]
        seen[cell.id] += 1
        records.append(
            RunRecord(cell=cell.model_copy(update={"repeat": repeat}), transcript=transcript)
        )
    return tuple(records)


def load_run(folder: Path) -> Run:
    """Read a run folder (a batch run, or consultations played by hand); a folder with
    neither is a user error."""
    results, played = folder / RESULTS, folder / TRANSCRIPTS
    records: Sequence[RunRecord]
    if results.exists():
        records = read_records(results)
    elif played.exists():
        records = played_records(played)
    else:
        raise UserError(f"{folder} is not a run folder: it has no {RESULTS} or {TRANSCRIPTS}")
    manifest = read_manifest(folder) if (folder / MANIFEST).exists() else {}
    return Run(folder=folder, manifest=manifest, records=tuple(records))


def result_row(record: RunRecord) -> dict[str, Any]:
    """One consultation as flat columns: cell, outcome, return, tokens, model cost, then every
    score (the consultation's :func:`~clinic_env.summary.summarise`, flattened).

    A failed consultation keeps its error but no score, so a mean over a score column never
    counts it as 0; a score whose evaluator failed is missing (its error in ``score_errors``).
    """
    cell, transcript = record.cell, record.transcript
    summary = summarise(transcript)
    components = () if summary.failed else transcript.score.components
    row: dict[str, Any] = {
        "cell_id": cell.id,
        "dataset": cell.dataset,
        "case_id": cell.case_id,
        "persona": cell.persona,
        "bias_set": bias_label(cell.biases),
        "doctor": cell.doctor,
        "seed": cell.seed,
        "repeat": cell.repeat,
        "outcome": summary.outcome,
        "failed": summary.failed,
        "error": summary.error,
        "validity": summary.validity,
        "doctor_turns": summary.turns,
        "reward": summary.reward,
        "model_calls": summary.usage.calls,
        "prompt_tokens": summary.usage.prompt_tokens,
        "completion_tokens": summary.usage.completion_tokens,
        "model_cost_usd": summary.usage.cost_usd,
        "score_errors": "; ".join(f"{c.name}: {c.error}" for c in components if c.error) or None,
    }
    row.update({component.name: component.value for component in components})
    return row


def result_rows(run: Run) -> list[dict[str, Any]]:
    """Rows in record order; score columns follow the fixed ones, in the order first seen."""
    return [result_row(record) for record in run.records]


def results_frame(folder: Path) -> pandas.DataFrame:
    """Every consultation of a run folder as a DataFrame, one row each (needs pandas)."""
    try:
        import pandas  # noqa: PLC0415 - an optional extra, and slow to import
    except ImportError as exc:
        raise ImportError(f"results_frame needs pandas: {INSTALL_HINT}") from exc
    return pandas.DataFrame.from_records(result_rows(load_run(folder)))
