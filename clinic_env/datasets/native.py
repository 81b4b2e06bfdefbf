"""Cases written in clinic-env's own schema: one YAML file per case, folders of them, or
JSONL with one case per line. Strict: the first invalid case stops the load with an error
naming its file, line and field, since these files are the user's to fix."""

from __future__ import annotations

from pathlib import Path

from clinic_env.content import content_files, decode_utf8, load_yaml_model, validate_json_line
from clinic_env.errors import CaseDataError
from clinic_env.schema.case import Case

CASE_SUFFIXES = (".yaml", ".yml", ".jsonl")


def load_case_folder(folder: Path) -> tuple[Case, ...]:
    files = content_files(folder, CASE_SUFFIXES)
    if not files:
        raise CaseDataError(f"{folder}: no case files (.yaml, .yml or .jsonl) found")
    cases: list[Case] = []
    for path in files:
        cases.extend(load_case_file(path))
    return unique(cases, folder)


def load_case_file(path: Path) -> tuple[Case, ...]:
    if path.suffix == ".jsonl":
        return load_jsonl_cases(path)
    if path.suffix in (".yaml", ".yml"):
        return (load_yaml_model(path, Case, CaseDataError),)
    raise CaseDataError(f"{path}: unsupported case file type {path.suffix!r} (use .yaml or .jsonl)")


def load_jsonl_cases(path: Path) -> tuple[Case, ...]:
    """One case per line, whatever the file's suffix."""
    cases: list[Case] = []
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise CaseDataError(f"{path}: cannot be read ({exc.strerror or exc})") from exc
    text = decode_utf8(raw, path, CaseDataError).removeprefix("\ufeff")
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            cases.append(validate_json_line(line, Case, path, number, CaseDataError))
    return unique(cases, path)


def unique(cases: list[Case], where: Path) -> tuple[Case, ...]:
    seen: set[str] = set()
    for case in cases:
        if case.id in seen:
            raise CaseDataError(f"{where}: case id {case.id!r} appears more than once")
        seen.add(case.id)
    return tuple(cases)
