"""Converters from foreign record formats to clinic-env's :class:`~clinic_env.schema.case.Case`.

Each format has a module with ``looks_like`` (does a record look like this format),
``fingerprint`` (what makes two records duplicates) and ``convert`` (one record to one case,
or None with the reason reported as a defect). :func:`convert_records` runs one over a file.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from clinic_env.content import decode_utf8, parse_json_line
from clinic_env.datasets.convert import agentclinic, mediq, nejm
from clinic_env.datasets.convert.common import RecordContext, case_id
from clinic_env.datasets.convert.rules import conversion_rules
from clinic_env.datasets.defects import Defect
from clinic_env.errors import CaseDataError
from clinic_env.schema.case import Case


@dataclass(frozen=True, slots=True)
class Converter:
    looks_like: Callable[[dict[str, Any]], bool]
    fingerprint: Callable[[dict[str, Any]], str | None]
    convert: Callable[[dict[str, Any], RecordContext], Case | None]
    record_id: Callable[[dict[str, Any]], str | None] = lambda record: None


CONVERTERS: dict[str, Converter] = {
    "agentclinic": Converter(agentclinic.looks_like, agentclinic.fingerprint, agentclinic.convert),
    "agentclinic-nejm": Converter(nejm.looks_like, nejm.fingerprint, nejm.convert),
    "mediq": Converter(mediq.looks_like, mediq.fingerprint, mediq.convert, mediq.record_id),
}
"""Foreign formats by the name the registry uses."""


def read_records(path: Path) -> Iterator[tuple[int, Any]]:
    """(line number, parsed value or the :class:`ValueError` that stopped it) per non-empty
    line; a missing final newline, a byte-order mark and CRLF endings are all fine."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise CaseDataError(f"{path}: cannot be read ({exc.strerror or exc})") from exc
    text = decode_utf8(raw, path, CaseDataError).removeprefix("\ufeff")
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            yield number, parse_json_line(line, path, number, CaseDataError)
        except CaseDataError as exc:  # one bad record is a defect to count, not a crash
            yield number, ValueError(str(exc).removeprefix(f"{path}:{number}: "))


def detect_format(path: Path) -> str | None:
    """The foreign format of a JSONL file, judged by its first object; None if unknown."""
    for _, record in read_records(path):
        if isinstance(record, dict):
            return next((name for name, c in CONVERTERS.items() if c.looks_like(record)), None)
    return None


def convert_records(
    path: Path, format_name: str, dataset: str, version: str
) -> tuple[int, list[Case], list[Defect]]:
    """Every record of a file as a case; (records read, cases, defects). Never raises on a
    bad record: it is reported and skipped."""
    converter = CONVERTERS[format_name]
    rules = conversion_rules()
    cases: list[Case] = []
    defects: list[Defect] = []
    seen_ids: set[str] = set()
    seen_content: dict[str, str] = {}
    records = 0
    for line, record in read_records(path):
        records += 1
        key = converter.record_id(record) if isinstance(record, dict) else None
        ctx = RecordContext(dataset, version, line, case_id(dataset, key or line), rules)
        ctx.record_id = key
        if ctx.case_id in seen_ids:
            ctx.case_id = case_id(dataset, f"{key}-line{line}")
            ctx.report("duplicate_case", f"id {key!r} was used before; the line number is added")
        if isinstance(record, ValueError) or not isinstance(record, dict):
            detail = str(record) if isinstance(record, ValueError) else "not a JSON object"
            ctx.report("invalid_record", detail, skipped=True)
        else:
            fingerprint = converter.fingerprint(record)
            if fingerprint is not None and fingerprint in seen_content:
                ctx.report("duplicate_case", f"same content as {seen_content[fingerprint]}")
            case = _convert_one(converter, record, ctx)
            if case is not None:
                cases.append(case)
                seen_ids.add(case.id)
                if fingerprint is not None:
                    seen_content.setdefault(fingerprint, case.id)
        defects.extend(ctx.defects)
    return records, cases, defects


def _convert_one(converter: Converter, record: dict[str, Any], ctx: RecordContext) -> Case | None:
    """A converter's result; a value shaped like nothing it expects is reported, not raised."""
    try:
        return converter.convert(record, ctx)
    except Exception as exc:  # noqa: BLE001 - one odd record must not stop a whole dataset
        detail = f"cannot be converted ({type(exc).__name__}: {exc})"
        ctx.report("invalid_record", detail, skipped=True)
        return None
