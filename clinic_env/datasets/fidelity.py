"""The fidelity audit: does every value of every raw record reach its converted case?

It walks the leaves of each raw JSON record and looks for each value, with only spaces,
markdown emphasis and list bullets normalised, in the texts of the case converted from it
(any field: the patient's facts, findings, tests with their groups, options, the answer).
A long text is looked for piece by piece (items and sentences; after a "Label:" its text).
Placeholders, refusals and role-play instructions are dropped by the converters through
:func:`~clinic_env.datasets.convert.tidy.tidy`; the audit calls the same function, counts
them by reason, and reports any that a case still holds. Record metadata and texts a case
holds in another form are named per format in ``cases/conversion.yaml`` (``fidelity``).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from clinic_env.datasets.convert import read_records
from clinic_env.datasets.convert.common import (
    LABEL,
    items_in,
    scalar_text,
    strip_numbering,
    value_tokens,
)
from clinic_env.datasets.convert.rules import FidelityFields, Rules, conversion_rules
from clinic_env.datasets.convert.tidy import DROP_REASONS, Tidied, clean, tidy
from clinic_env.datasets.defects import LoadedDataset
from clinic_env.datasets.loading import NATIVE, load_dataset
from clinic_env.errors import CaseDataError
from clinic_env.language.text import fold
from clinic_env.schema.case import Case

EXCERPT_CHARS = 120


@dataclass(frozen=True, slots=True)
class LostValue:
    """A raw value (or piece of one) that its case does not hold."""

    line: int
    case_id: str
    where: str
    """The raw field, keys joined by dots (list positions left out)."""
    text: str


@dataclass
class FidelityReport:
    """What reached the cases of one dataset, what did not, and what was dropped on purpose."""

    dataset: str
    format: str
    records: int = 0
    converted: int = 0
    values: int = 0
    lost: list[LostValue] = field(default_factory=list)
    still_held: list[LostValue] = field(default_factory=list)
    """Refusal or role-play text that a case holds although the converters drop it."""
    dropped: Counter[str] = field(default_factory=Counter)
    dropped_values: list[tuple[str, LostValue]] = field(default_factory=list)
    """Each text dropped (or trimmed) on purpose, with its reason, for ``--verbose``."""

    def summary(self) -> str:
        drops = ", ".join(f"{reason} {self.dropped[reason]}" for reason in DROP_REASONS)
        return (
            f"fidelity of {self.dataset} ({self.format}): {self.converted} of {self.records} "
            f"records converted; {self.values} values checked, {len(self.lost)} lost, "
            f"{len(self.still_held)} dropped text still held; dropped on purpose: {drops}"
        )

    def lines(self, *, dropped: bool = False) -> list[str]:
        """One line per lost value (and per dropped text, when asked), then the summary."""
        listed = [("lost", v) for v in self.lost] + [("still held", v) for v in self.still_held]
        if dropped:
            listed += self.dropped_values
        found = [
            f"  {label} {v.case_id} [line {v.line}] {v.where}: {_excerpt(v.text)}"
            for label, v in listed
        ]
        return [*found, self.summary()]

    def drop(self, tidied: Tidied, place: LostValue, text: str) -> None:
        self.dropped.update(tidied.dropped)
        how = "trimmed" if tidied.kept else "dropped"
        self.dropped_values += [
            (f"{how} ({reason})", replace(place, text=text)) for reason in set(tidied.dropped)
        ]


def audit_fidelity(dataset: str | Path, *, format: str | None = None) -> FidelityReport:
    """The fidelity report of a registered foreign dataset (by name) or a local file."""
    return fidelity_of(load_dataset(dataset, format=format))


def fidelity_of(loaded: LoadedDataset) -> FidelityReport:
    """The fidelity report of a dataset already loaded (its cases as converted, unredacted)."""
    if loaded.format == NATIVE or loaded.path is None or not loaded.path.is_file():
        raise CaseDataError(
            f"{loaded.name}: the fidelity audit compares a foreign file with its cases; "
            f"this dataset is in clinic-env's own format"
        )
    checker = _Checker(FidelityReport(loaded.name, loaded.format), loaded.format)
    by_line = {case.source.line: case for case in loaded.cases}
    for line, record in read_records(loaded.path):
        checker.report.records += 1
        case = by_line.get(line)
        if case is not None and isinstance(record, dict):
            checker.report.converted += 1
            checker.record(record, case, line)
    return checker.report


class _Checker:
    """Checks records against their cases, adding to one report."""

    def __init__(self, report: FidelityReport, format_name: str) -> None:
        self.report = report
        self.rules: Rules = conversion_rules()
        self.fields: FidelityFields = self.rules.fidelity_fields(format_name)

    def record(self, record: dict[str, Any], case: Case, line: int) -> None:
        held = _Held(case)
        fields = self.fields
        for keys, value in _leaves(record, ()):
            if _matches(keys, fields.skip):
                continue
            text = clean(value) if isinstance(value, str) else scalar_text(value)
            if not text:
                continue
            self.report.values += 1
            place = LostValue(line, case.id, ".".join(keys), text)
            if _matches(keys, fields.values_only):
                missing = [token for token in value_tokens(text) if not held.has_token(token)]
                if missing:
                    self.report.lost.append(replace(place, text=" ".join(missing)))
                continue
            if _matches(keys, fields.verbatim):
                if not held.has(text):
                    self.report.lost.append(place)
                continue
            role_play = _matches(keys, fields.role_play)
            if held.has(text) and not tidy(text, self.rules, role_play=role_play).dropped:
                continue
            for piece in items_in(strip_numbering(value) if isinstance(value, str) else text):
                self.piece(strip_numbering(piece), held, role_play, place)

    def piece(self, piece: str, held: _Held, role_play: bool, place: LostValue) -> None:
        """One item or sentence of a longer value: dropped on purpose, held, or lost."""
        tidied = tidy(piece, self.rules, role_play=role_play)
        self.report.drop(tidied, place, piece)
        if tidied.dropped and not tidied.kept and "placeholder" not in tidied.dropped:
            if held.has(clean(piece)):
                self.report.still_held.append(replace(place, text=piece))
            return
        for kept in tidied.kept:
            if kept.endswith(":") or held.has(kept):
                continue  # a header introduces the values after it
            labelled = LABEL.match(kept)
            if labelled and labelled["text"].strip():
                rest = tidy(labelled["text"], self.rules, role_play=role_play)
                self.report.drop(rest, place, kept)
                if all(held.has(text) for text in rest.kept):
                    continue
            self.report.lost.append(replace(place, text=kept))


class _Held:
    """Every text of a case, searchable for a value."""

    def __init__(self, case: Case) -> None:
        truth = case.ground_truth
        texts = [
            case.doctor_brief,
            case.opening_statement,
            case.demographics.description,
            case.specialty,
            case.caregiver or "",
            case.source.record_id or "",
            *(f"{f.text}\n{f.says or ''}" for f in case.facts),
            *(f"{e.system}\n{e.name}\n{e.finding}" for e in case.exam),
            *(f"{t.name}\n{t.group or ''}\n{t.result}" for t in case.tests),
            *(alias for t in case.tests for alias in t.aliases),
            *(f"{i.location}\n{i.kind}" for i in case.images),
            *(f"{letter}\n{text}" for letter, text in (case.options or {}).items()),
            truth.diagnosis,
            *truth.aliases,
            truth.answer_option or "",
        ]
        self.text = "\n".join(texts)

    def has(self, value: str) -> bool:
        """Verbatim, or with only its first letter's case changed ("you have" -> "You have")."""
        return value in self.text or value[:1].swapcase() + value[1:] in self.text

    def has_token(self, token: str) -> bool:
        """A number or symbol present as itself, not as part of a longer number."""
        pattern = rf"(?<![\w.]){re.escape(token)}(?![\w]|\.\d)"
        return re.search(pattern, self.text) is not None


def _leaves(value: Any, keys: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], Any]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, (*keys, str(key)))
    elif isinstance(value, list):
        for item in value:
            yield from _leaves(item, keys)
    else:
        yield keys, value


def _matches(keys: tuple[str, ...], patterns: tuple[str, ...]) -> bool:
    """Whether the path holds one of the dotted patterns as a run of keys (after folding):
    "options" covers ``options.D``, "Demographics.Age" covers
    ``OSCE_Examination.Patient_Actor.Demographics.Age``."""
    folded = [fold(key) for key in keys]
    for pattern in patterns:
        wanted = [fold(part) for part in pattern.split(".")]
        runs = range(len(folded) - len(wanted) + 1)
        if any(folded[start : start + len(wanted)] == wanted for start in runs):
            return True
    return False


def _excerpt(text: str) -> str:
    return repr(text if len(text) <= EXCERPT_CHARS else text[: EXCERPT_CHARS - 3] + "...")
