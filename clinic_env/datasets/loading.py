"""Loading cases by dataset name or from a local file or folder: the one public entry.

A registered name is fetched (or read from the bundle), converted and checked for leaks; a
local path may be clinic-env's own schema (a YAML case, a folder of them, a JSONL file) or a
file in any supported foreign format, recognised by its first record. Foreign records never
stop a load: each problem becomes a :class:`~clinic_env.datasets.defects.Defect`, and the
dataset warns once with the counts. Registered datasets are loaded once per process.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from clinic_env.content import content_path
from clinic_env.datasets.convert import CONVERTERS, convert_records, read_records
from clinic_env.datasets.defects import Defect, LoadedDataset, warn_defects
from clinic_env.datasets.download import fetch, is_cached, sha256_of
from clinic_env.datasets.leaks import find_leaks, redact
from clinic_env.datasets.native import load_case_file, load_case_folder, load_jsonl_cases
from clinic_env.datasets.registry import FORMATS, dataset_names, dataset_spec
from clinic_env.errors import CaseDataError, UnknownNameError
from clinic_env.schema.case import Case

NATIVE = "clinic-env"
VERSION_CHARS = 12
"""Characters of a local file's sha256 kept as its version."""

_LOADED: dict[tuple[object, ...], LoadedDataset] = {}
_WARNED: set[tuple[object, ...]] = set()


def load_cases(
    dataset: str | Path, *, format: str | None = None, redact_leaks: bool = False
) -> tuple[Case, ...]:
    """All cases of a registered dataset (by name) or of a local file or folder (by path).

    Args:
        dataset: a name from :func:`dataset_names` or a path.
        format: the format of a local file, when its first record does not make it clear.
        redact_leaks: withhold every mention of a case's answer from its patient, room and
            doctor texts (the audit lists them); otherwise they stay, and the session's leak
            guard withholds them at run time, marking the turn as redacted.
    """
    loaded = load_dataset(dataset, format=format, redact_leaks=redact_leaks)
    key = (loaded.name, loaded.version, str(loaded.path), redact_leaks)
    if key not in _WARNED:
        _WARNED.add(key)
        warn_defects(loaded, str(dataset))
    return loaded.cases


def at_hand(dataset: str | Path) -> bool:
    """Whether a dataset can be read now, without a download."""
    if isinstance(dataset, str) and dataset in dataset_names():
        spec = dataset_spec(dataset)
        return spec.entry.bundled is not None or is_cached(spec)
    return Path(dataset).exists()


def find_case(dataset: str | Path, case_id: str) -> Case:
    """One case of a dataset by id (loaded datasets are cached, so this is cheap per call)."""
    for case in load_cases(dataset):
        if case.id == case_id:
            return case
    raise UnknownNameError(f"no case {case_id!r} in dataset {str(dataset)!r}")


def load_dataset(
    dataset: str | Path,
    *,
    format: str | None = None,
    redact_leaks: bool = False,
    progress: bool = True,
) -> LoadedDataset:
    """The cases of a dataset together with everything found wrong with its records."""
    if format is not None and format not in FORMATS:
        raise UnknownNameError(f"unknown format {format!r} (known: {', '.join(FORMATS)})")
    if isinstance(dataset, str) and dataset in dataset_names():
        return _load_registered(dataset, redact_leaks, progress)
    path = Path(dataset)
    if not path.exists():
        raise UnknownNameError(
            f"unknown dataset {str(dataset)!r}: neither a registered dataset "
            f"({', '.join(dataset_names())}) nor an existing path"
        )
    return _load_path(path, format, redact_leaks)


def _load_registered(name: str, redact_leaks: bool, progress: bool) -> LoadedDataset:
    spec = dataset_spec(name)
    if spec.entry.bundled is not None:
        key: tuple[object, ...] = (name, redact_leaks)
        if key not in _LOADED:
            cases = load_case_folder(content_path("cases", spec.entry.bundled))
            _LOADED[key] = _checked(
                name, spec.version, NATIVE, None, cases, redact_leaks=redact_leaks
            )
        return _LOADED[key]
    path = fetch(spec, progress=progress)
    stat = path.stat()
    key = (name, redact_leaks, str(path), stat.st_mtime_ns, stat.st_size)
    if key not in _LOADED:
        records, converted, defects = convert_records(path, spec.format, name, spec.version)
        loaded = _checked(
            name,
            spec.version,
            spec.format,
            path,
            converted,
            defects=defects,
            redact_leaks=redact_leaks,
        )
        _LOADED[key] = replace(loaded, records=records, expected_rows=spec.entry.rows)
    return _LOADED[key]


def _load_path(path: Path, format: str | None, redact_leaks: bool) -> LoadedDataset:
    name = path.stem or path.name
    if path.is_dir():
        cases = load_case_folder(path)
        return _checked(name, "local", NATIVE, path, cases, redact_leaks=redact_leaks)
    if path.suffix in (".yaml", ".yml"):
        cases = load_case_file(path)
        return _checked(name, "local", NATIVE, path, cases, redact_leaks=redact_leaks)
    chosen = format or _detect(path)
    version = sha256_of(path)[:VERSION_CHARS]
    if chosen == NATIVE:
        native = load_jsonl_cases(path)
        return _checked(name, version, NATIVE, path, native, redact_leaks=redact_leaks)
    records, converted, defects = convert_records(path, chosen, name, version)
    loaded = _checked(
        name, version, chosen, path, converted, defects=defects, redact_leaks=redact_leaks
    )
    return replace(loaded, records=records)


def _detect(path: Path) -> str:
    """The format of a local JSONL file, from its first JSON object; a file whose lines are
    none of them JSON objects is an error naming the first line that failed, and why."""
    first_error: tuple[int, ValueError] | None = None
    for line, record in read_records(path):
        if isinstance(record, ValueError) and first_error is None:
            first_error = (line, record)
        if not isinstance(record, dict):
            continue
        if "ground_truth" in record and "facts" in record:
            return NATIVE
        for name, converter in CONVERTERS.items():
            if converter.looks_like(record):
                return name
        keys = ", ".join(sorted(map(str, record))[:12])
        raise CaseDataError(
            f"{path}:{line}: cannot tell the format of this file (keys: {keys}); expected "
            f"clinic-env cases or one of {', '.join(CONVERTERS)}; pass format=... to say which"
        )
    if first_error is not None:
        line, error = first_error
        raise CaseDataError(f"{path}:{line}: {error}")
    raise CaseDataError(f"{path}: no JSON object found; is it a JSONL case file?")


def _checked(
    name: str,
    version: str,
    format_name: str,
    path: Path | None,
    cases: tuple[Case, ...] | list[Case],
    *,
    defects: Sequence[Defect] = (),
    redact_leaks: bool,
) -> LoadedDataset:
    """Cases with their leaks found (and withheld, when asked) and recorded as defects."""
    checked: list[Case] = []
    found = list(defects)
    for case in cases:
        for leak in find_leaks(case):
            found.append(
                Defect(
                    dataset=name,
                    line=case.source.line,
                    case_id=case.id,
                    kind="leak",
                    where=f"{leak.role}: {leak.where}",
                    detail=f"names {leak.name!r}"
                    + (" (withheld: redact_leaks)" if redact_leaks else "")
                    + f": {leak.text}",
                )
            )
        checked.append(redact(case) if redact_leaks else case)
    found.sort(key=lambda d: (d.line or 0, d.kind))
    return LoadedDataset(
        name=name,
        version=version,
        format=format_name,
        path=path,
        records=len(cases),
        cases=tuple(checked),
        defects=tuple(found),
    )
