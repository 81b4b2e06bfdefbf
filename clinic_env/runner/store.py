"""Run folders: a manifest and results appended one JSON line per consultation.

A run folder holds ``manifest.json`` (the experiment, its hash, versions, the grid size) and
``results.jsonl`` (one :class:`RunRecord` per finished consultation, failures included with
their errors, each flushed to disk as it ends). Opening a folder again resumes it: a line cut
short by a killed process is dropped, completed cells are skipped, and failed cells can be
retried, their old records removed in one atomic rewrite so that every cell keeps exactly
one record.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from types import TracebackType
from typing import IO, Self

from pydantic import ValidationError

from clinic_env.content import validation_message
from clinic_env.errors import ConfigError, UserError
from clinic_env.runner.batch import Cell
from clinic_env.runner.experiment import Experiment
from clinic_env.schema.base import Frozen
from clinic_env.schema.transcript import Transcript

MANIFEST = "manifest.json"
RESULTS = "results.jsonl"
TRANSCRIPTS = "transcripts.jsonl"


class RunRecord(Frozen):
    """One finished consultation: its grid cell and its transcript."""

    cell: Cell
    transcript: Transcript

    @property
    def failed(self) -> bool:
        return self.transcript.outcome == "error"


def _versions() -> dict[str, str]:
    from clinic_env import __version__  # noqa: PLC0415 - the package root imports this module's users

    return {
        "clinic_env": __version__,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
    }


class JsonlAppender:
    """Appends lines to a file, each one flushed and synced before ``append`` returns."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: IO[str] | None = None

    def __enter__(self) -> Self:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = self.path.open("a", encoding="utf-8")
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def append(self, line: str) -> None:
        if self._file is None:
            raise ConfigError(f"{self.path}: append() outside the writer's `with` block")
        self._file.write(line + "\n")
        self._file.flush()
        os.fsync(self._file.fileno())


class RunStore(JsonlAppender):
    """One run folder; use it as a context manager while appending."""

    def __init__(self, folder: Path, experiment: Experiment) -> None:
        super().__init__(folder / RESULTS)
        self.folder = folder
        self.experiment = experiment
        self.results = self.path
        self.dropped_partial_line = False

    def __enter__(self) -> Self:
        self.folder.mkdir(parents=True, exist_ok=True)
        self._check_manifest()
        self.dropped_partial_line = _drop_partial_last_line(self.results)
        return super().__enter__()

    def _check_manifest(self) -> None:
        path = self.folder / MANIFEST
        digest = self.experiment.config_hash()
        if path.exists():
            manifest = json.loads(path.read_text(encoding="utf-8"))
            if manifest.get("config_hash") != digest:
                raise ConfigError(
                    f"{self.folder} holds a run of another experiment (config hash "
                    f"{manifest.get('config_hash')}, this one {digest}); choose another --out"
                )
            return
        manifest = {
            "experiment": self.experiment.model_dump(mode="json"),
            "config_hash": digest,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "versions": _versions(),
        }
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        temporary.replace(path)

    def records(self) -> list[RunRecord]:
        return read_records(self.results) if self.results.exists() else []

    def add(self, record: RunRecord) -> None:
        """Write one record and push it to disk before returning."""
        self.append(record.model_dump_json())

    def forget(self, cell_ids: Iterable[str]) -> int:
        """Remove the records of these cells (to retry them), rewriting the file atomically."""
        doomed = set(cell_ids)
        if not doomed or not self.results.exists():
            return 0
        records = self.records()
        kept = [r for r in records if r.cell.id not in doomed]
        temporary = self.results.with_suffix(".tmp")
        with temporary.open("w", encoding="utf-8") as out:
            for record in kept:
                out.write(record.model_dump_json() + "\n")
            out.flush()
            os.fsync(out.fileno())
        reopen = self._file is not None
        if self._file is not None:
            self._file.close()
        temporary.replace(self.results)
        if reopen:
            self._file = self.results.open("a", encoding="utf-8")
        return len(records) - len(kept)


def _drop_partial_last_line(path: Path) -> bool:
    """Cut a last line that a killed process left without its newline; say if one was."""
    if not path.exists() or path.stat().st_size == 0:
        return False
    with path.open("rb+") as file:
        file.seek(-1, os.SEEK_END)
        if file.read(1) == b"\n":
            return False
        file.seek(0)
        content = file.read()
        cut = content.rfind(b"\n") + 1
        file.truncate(cut)
    return True


def iter_lines(path: Path) -> Iterator[tuple[int, str]]:
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if line.strip():
                yield number, line


def read_records(path: Path) -> list[RunRecord]:
    """Every record of a results file; a bad line is an error naming the file and line."""
    records = []
    for number, line in iter_lines(path):
        try:
            records.append(RunRecord.model_validate_json(line))
        except ValidationError as exc:
            raise UserError(validation_message(exc, path, base_line=number)) from None
    return records


class TranscriptWriter(JsonlAppender):
    """Appends bare transcripts to ``folder/transcripts.jsonl`` (consultations played by hand)."""

    def __init__(self, folder: Path) -> None:
        super().__init__(folder / TRANSCRIPTS)

    def write(self, transcript: Transcript) -> None:
        self.append(transcript.model_dump_json())


def read_transcripts(path: Path) -> list[Transcript]:
    """Every transcript of a JSONL file; a bad line is an error naming the file and line."""
    transcripts = []
    for number, line in iter_lines(path):
        try:
            transcripts.append(Transcript.model_validate(json.loads(line)))
        except json.JSONDecodeError as exc:
            raise UserError(f"{path}:{number}: invalid JSON: {exc.msg}") from None
        except ValidationError as exc:
            raise UserError(validation_message(exc, path, base_line=number)) from None
    return transcripts
