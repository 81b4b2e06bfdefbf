"""Loading cases by dataset name or from a local file or folder, validated on load.

A bundled set is a folder of YAML files, one case per file. A local path may be one YAML
case, a folder of them, or a JSONL file with one case per line. Every error names the file,
the line and the field; ids must be unique within a dataset.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

from pydantic import ValidationError

from clinic_env.content import content_files, content_path, load_yaml_model, validation_message
from clinic_env.errors import CaseDataError, UnknownNameError
from clinic_env.schema.case import Case

DATASETS: dict[str, tuple[str, ...]] = {"starter": ("cases", "starter")}
"""Bundled datasets: name -> content folder."""


def dataset_names() -> list[str]:
    return sorted(DATASETS)


@functools.cache
def _load_bundled(name: str) -> tuple[Case, ...]:
    return load_case_folder(content_path(*DATASETS[name]))


def load_cases(dataset: str | Path) -> tuple[Case, ...]:
    """All cases of a bundled dataset (by name) or of a local file or folder (by path)."""
    if isinstance(dataset, str) and dataset in DATASETS:
        return _load_bundled(dataset)
    path = Path(dataset)
    if not path.exists():
        known = ", ".join(dataset_names())
        raise UnknownNameError(
            f"unknown dataset {str(dataset)!r}: "
            f"neither a bundled dataset ({known}) nor an existing path"
        )
    if path.is_dir():
        return load_case_folder(path)
    return load_case_file(path)


def load_case_folder(folder: Path) -> tuple[Case, ...]:
    files = content_files(folder, (".yaml", ".yml", ".jsonl"))
    if not files:
        raise CaseDataError(f"{folder}: no case files (.yaml, .yml or .jsonl) found")
    cases: list[Case] = []
    for path in files:
        cases.extend(load_case_file(path))
    return _unique(cases, folder)


def load_case_file(path: Path) -> tuple[Case, ...]:
    if path.suffix == ".jsonl":
        return _unique(_load_jsonl(path), path)
    if path.suffix in (".yaml", ".yml"):
        return (load_yaml_model(path, Case, CaseDataError),)
    raise CaseDataError(f"{path}: unsupported case file type {path.suffix!r} (use .yaml or .jsonl)")


def _load_jsonl(path: Path) -> list[Case]:
    cases: list[Case] = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise CaseDataError(f"{path}: cannot be read ({exc.strerror or exc})") from exc
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            raise CaseDataError(f"{path}:{number}: invalid JSON: {exc.msg}") from None
        try:
            cases.append(Case.model_validate(data))
        except ValidationError as exc:
            raise CaseDataError(validation_message(exc, path, base_line=number)) from None
    return cases


def _unique(cases: list[Case], where: Path) -> tuple[Case, ...]:
    seen: set[str] = set()
    for case in cases:
        if case.id in seen:
            raise CaseDataError(f"{where}: case id {case.id!r} appears more than once")
        seen.add(case.id)
    return tuple(cases)
