"""Run folders: a manifest and results appended one JSON line per consultation.

A run folder holds ``manifest.json`` (the experiment, its hash, versions, the grid's size and
fingerprint, and the settings of each session that wrote it) and ``results.jsonl`` (one
:class:`RunRecord` per finished consultation, failures included with their errors, each
flushed to disk as it ends). Opening a folder again resumes it: a line cut short by a killed
process is dropped, completed cells are skipped, and failed cells can be retried, their old
records removed in one atomic rewrite so that every cell keeps exactly one record. Resuming
reads each line's cell and outcome only (see :func:`cell_statuses`), not whole records, so
a folder of 200,000 consultations resumes in seconds.

One process writes a folder at a time: :class:`RunStore` holds an exclusive lock on
``.lock`` (``flock``, released by the kernel when the process dies, so it is never stale)
and a second writer is refused with a line naming the holder. A results file that holds
several records of one cell anyway (written before the lock existed) keeps one per cell
(the first that did not fail, else the first) with a :class:`DuplicateRecordsWarning`, and
the writer rewrites it so. Every URL's ``user:password@`` is removed from what is written, and
text that cannot be written as UTF-8 is made valid; a record that still cannot be written
fails its own cell, never the run.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import os
import platform
import re
import socket
import sys
import time
import warnings
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Self, TypeVar

from pydantic import BaseModel, ValidationError
from pydantic_core import PydanticSerializationError, from_json

from clinic_env.content import decode_utf8, validate_json_line
from clinic_env.errors import (
    ClinicEnvError,
    ConfigError,
    RecordWriteError,
    RunFolderError,
    RunLockedError,
    StoreWriteError,
)
from clinic_env.runner.batch import Cell, failure_transcript
from clinic_env.runner.experiment import Experiment
from clinic_env.runner.syncer import BackgroundSync
from clinic_env.schema.base import Frozen, strip_url_credentials, valid_texts
from clinic_env.schema.transcript import Transcript

MANIFEST = "manifest.json"
RESULTS = "results.jsonl"
TRANSCRIPTS = "transcripts.jsonl"
LOCK = ".lock"
ModelT = TypeVar("ModelT", bound=BaseModel)


class DuplicateRecordsWarning(UserWarning):
    """A results file holds more than one record of some cells; one of each was kept."""


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


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


def disk_error(path: Path, exc: OSError) -> ClinicEnvError:
    """A failed write as one line: a folder that cannot be written is the user's to fix
    (another --out); a full or failing disk stops the run with everything before it kept."""
    reason = exc.strerror or str(exc)
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return RunFolderError(f"{path}: cannot be written ({reason}); choose a writable --out")
    return StoreWriteError(
        f"{path}: cannot be written ({reason}); every consultation saved before is kept: "
        "make room and run the same command again to resume"
    )


def encode(model: BaseModel) -> str:
    """One JSON line, with credentials removed from any URL in it. Text that is not valid
    (a lone surrogate that got this far) is made valid here rather than lost.

    Raises:
        RecordWriteError: the model holds something else JSON cannot carry (a non-finite
            number that skipped validation, which would otherwise be written as null).
    """
    try:
        line = model.model_dump_json()
        if ("Infinity" in line or "NaN" in line) and not _finite(line):
            raise RecordWriteError("the record holds a number that is not finite (inf or nan)")
    except PydanticSerializationError:
        try:
            data = valid_texts(model.model_dump(mode="json"))
            line = json.dumps(data, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
        except (PydanticSerializationError, ValueError, TypeError) as exc:
            raise RecordWriteError(f"the record could not be written as JSON ({exc})") from None
    return strip_url_credentials(line)


def _finite(line: str) -> bool:
    try:
        from_json(line, allow_inf_nan=False)
    except ValueError:
        return False
    return True


def write_atomically(path: Path, text: str | Iterable[str]) -> None:
    """Replace ``path`` with ``text`` (a string, or lines written as they come) so that a
    reader sees the old file or the new one."""
    temporary = path.with_name(path.name + ".tmp")
    try:
        with temporary.open("w", encoding="utf-8") as out:
            if isinstance(text, str):
                out.write(text)
            else:
                out.writelines(text)
            out.flush()
            os.fsync(out.fileno())
        temporary.replace(path)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise disk_error(path, exc) from None
    except BaseException:  # the lines could not be made: the old file stays as it was
        temporary.unlink(missing_ok=True)
        raise


class JsonlAppender:
    """Appends lines to a file, each one written and flushed before ``append`` returns (a
    killed process loses nothing) and synced to the disk by a thread behind it (see
    :class:`~clinic_env.runner.syncer.BackgroundSync`), so the event loop never waits on
    the disk. A failed sync stops the next ``append``, or the close, with the disk's error;
    closing waits for the last sync."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: IO[str] | None = None
        self._sync: BackgroundSync | None = None

    def __enter__(self) -> Self:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = self.path.open("a", encoding="utf-8")
        except OSError as exc:
            raise disk_error(self.path, exc) from None
        self._sync = BackgroundSync(self._file.fileno())
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self._file is None or self._sync is None:
            return
        try:
            self._sync.close()
        finally:
            self._file.close()
            self._file = None
        failed, self._sync = self._sync.error, None
        if failed is not None and kind is None:  # never in place of the error that ended it
            raise disk_error(self.path, failed) from None

    def append(self, line: str) -> None:
        if self._file is None or self._sync is None:
            raise ConfigError(f"{self.path}: append() outside the writer's `with` block")
        if self._sync.error is not None:
            raise disk_error(self.path, self._sync.error) from None
        try:
            self._file.write(line + "\n")
            self._file.flush()
        except OSError as exc:
            raise disk_error(self.path, exc) from None
        self._sync.mark()


class FolderLock:
    """An exclusive ``flock`` on a folder's lock file, naming its holder for whoever waits."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / LOCK
        self._fd: int | None = None

    def acquire(self) -> None:
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise disk_error(self.path, exc) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 4096).decode("utf-8", "replace")
            os.close(fd)
            raise RunLockedError(
                f"{self.path.parent} is being written by another run ({_holder(holder)}); "
                "wait for it to end, or choose another --out"
            ) from None
        self._fd = fd
        who = {"pid": os.getpid(), "host": socket.gethostname(), "since": _now()}
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, json.dumps(who).encode(), 0)
        except OSError:
            pass  # who holds it is a courtesy to the next writer; the lock itself is held

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor releases the lock
            self._fd = None


def _holder(text: str) -> str:
    try:
        who = json.loads(text)
        return f"pid {who['pid']} on {who['host']}, since {who['since']}"
    except (ValueError, KeyError, TypeError):
        return "a process that has not said who it is yet"


def read_manifest(folder: Path) -> dict[str, Any]:
    """The folder's manifest; an empty, damaged or unreadable one is a one-line error."""
    path = folder / MANIFEST
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise RunFolderError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    advice = "restore it, or move the folder aside and run again"
    if not raw.strip():
        raise RunFolderError(f"{path} is empty, so this run cannot be resumed; {advice}")
    try:
        manifest = json.loads(decode_utf8(raw, path, RunFolderError))
    except ValueError as exc:
        raise RunFolderError(f"{path} is damaged ({exc}); {advice}") from None
    if not isinstance(manifest, dict) or "config_hash" not in manifest:
        raise RunFolderError(f"{path} is not a clinic-env manifest; {advice}")
    return manifest


class RunStore(JsonlAppender):
    """One run folder, locked while it is open; use it as a context manager while appending.

    ``cells`` (the grid's cell ids, in order) lets the store check the folder against the
    grid: its manifest must describe the same grid and its records name only its cells.
    """

    def __init__(
        self, folder: Path, experiment: Experiment, cells: Collection[str] | None = None
    ) -> None:
        super().__init__(folder / RESULTS)
        self.folder = folder
        self.experiment = experiment
        self.cells = cells
        self.results = self.path
        self.dropped_partial_line = False
        self._lock = FolderLock(folder)
        self._known: list[RunRecord] | None = None
        """The file's records as last read or rewritten (reading a large run takes a while)."""
        self._status: dict[str, bool] | None = None
        """Whether each recorded cell failed, one entry per cell (see :meth:`cell_status`)."""

    def __enter__(self) -> Self:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise disk_error(self.folder, exc) from None
        self._lock.acquire()
        try:
            self._check_manifest()
            self.dropped_partial_line = _drop_partial_last_line(self.results)
            self._check_records()
            return super().__enter__()
        except BaseException:
            self._lock.release()
            raise

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        try:
            super().__exit__(kind, error, trace)
        finally:
            self._lock.release()

    def _check_manifest(self) -> None:
        path = self.folder / MANIFEST
        digest = self.experiment.config_hash()
        grid = None
        if self.cells is not None:
            grid = {"cells": len(self.cells), "digest": _grid_digest(self.cells)}
        if path.exists():
            manifest = read_manifest(self.folder)
            held = manifest.get("config_hash")
            if held not in (digest, self.experiment.legacy_config_hash()):
                raise RunFolderError(
                    f"{self.folder} holds a run of another experiment (config hash {held}, "
                    f"this one {digest}); choose another --out"
                )
            then = manifest.get("grid", grid)
            if grid is not None and then != grid:
                cells = then.get("cells") if isinstance(then, dict) else "?"
                raise RunFolderError(
                    f"{self.folder}: the grid changed since this run began ({cells} cells "
                    f"then, {grid['cells']} now: was a dataset or content file edited?); "
                    "choose another --out"
                )
        else:
            manifest = {
                "experiment": self.experiment.model_dump(mode="json"),
                "created": _now(),
                "versions": _versions(),
            }
        manifest["config_hash"] = digest
        if grid is not None:
            manifest["grid"] = grid
        session = {"started": _now(), "host": socket.gethostname(), "pid": os.getpid()}
        session["settings"] = self.experiment.run_settings()
        manifest["sessions"] = [*manifest.get("sessions", ()), session]
        write_atomically(path, strip_url_credentials(json.dumps(manifest, indent=2)) + "\n")

    def _check_records(self) -> None:
        """Keep one record per cell on disk, and refuse records of cells outside the grid."""
        if not self.results.exists():
            return
        status, extra = _scan(self.results)
        self._status = status
        if extra:
            kept: set[str] = set()

            def first_kept(cell: str, failed: bool) -> bool:
                if cell in kept or failed != status[cell]:
                    return False
                kept.add(cell)
                return True

            self._keep_lines(first_kept)
            warnings.warn(
                f"{self.results}: {extra} extra record(s) of cells already recorded were "
                "removed; one record per cell is kept",
                DuplicateRecordsWarning,
                stacklevel=3,
            )
        if self.cells is None:
            return
        grid = set(self.cells) if isinstance(self.cells, Sequence) else self.cells
        strangers = [cell for cell in status if cell not in grid]
        if strangers:
            raise RunFolderError(
                f"{self.results} holds {len(strangers)} record(s) of cells outside this "
                f"experiment's grid (first: {strangers[0]}); choose another --out"
            )

    def cell_status(self) -> Mapping[str, bool]:
        """Each recorded cell -> whether it failed (true only when every record of it did);
        what resuming needs, read without validating whole records."""
        return self._statuses()

    def _statuses(self) -> dict[str, bool]:
        if self._status is None:
            self._status = _scan(self.results)[0] if self.results.exists() else {}
        return self._status

    def records(self) -> list[RunRecord]:
        if self._known is None:
            self._known = read_records(self.results) if self.results.exists() else []
        return list(self._known)

    def add(self, record: RunRecord) -> RunRecord:
        """Write one record and push it to disk before returning; a record that cannot be
        written as JSON is replaced by its cell's failure, so one bad reply fails one cell."""
        try:
            line = encode(record)
        except RecordWriteError as exc:
            failure = failure_transcript(record.cell, f"RecordWriteError: {exc}")
            record = RunRecord(cell=record.cell, transcript=failure)
            line = encode(record)
        self.append(line)
        self._known = None
        if self._status is not None:  # failed only while every record of the cell failed
            self._status[record.cell.id] = record.failed and self._status.get(record.cell.id, True)
        return record

    def forget(self, cell_ids: Iterable[str]) -> int:
        """Remove the records of these cells (to retry them), rewriting the file atomically;
        safe while the store is open, since no other process can write the folder. Returns
        how many cells were forgotten."""
        status = self._statuses()
        doomed = {cell for cell in cell_ids if cell in status}
        if doomed:
            self._keep_lines(lambda cell, _: cell not in doomed)
            for cell in doomed:
                del status[cell]
        return len(doomed)

    def _keep_lines(self, keep: Callable[[str, bool], bool]) -> None:
        """Rewrite the results file with the lines whose (cell id, failed) ``keep`` accepts,
        each copied as it was, streamed so that a large file is never held in memory."""
        reopen = self._file is not None
        if self._file is not None:
            self._file.close()
            self._file = None
        lines = (
            line for _, cell, failed, line in cell_statuses(self.results) if keep(cell, failed)
        )
        write_atomically(self.results, lines)
        self._known = None
        if reopen:
            super().__enter__()


def _grid_digest(cells: Collection[str]) -> str:
    """The fingerprint of the grid's cell ids, one at a time (of their lines joined)."""
    digest = hashlib.sha256()
    for number, cell in enumerate(cells):
        digest.update(f"\n{cell}".encode() if number else cell.encode())
    return digest.hexdigest()[:16]


def _drop_partial_last_line(path: Path) -> bool:
    """Cut a last line that a killed process left without its newline; say if one was."""
    if not path.exists() or path.stat().st_size == 0:
        return False
    try:
        with path.open("rb+") as file:
            end = file.seek(0, os.SEEK_END)
            file.seek(end - 1)
            if file.read(1) == b"\n":
                return False
            cut = end
            while cut > 0:
                start = max(0, cut - 65536)
                file.seek(start)
                newline = file.read(cut - start).rfind(b"\n")
                if newline >= 0:
                    cut = start + newline + 1
                    break
                cut = start
            file.truncate(cut)
    except OSError as exc:
        raise disk_error(path, exc) from None
    return True


def iter_lines(path: Path) -> Iterator[tuple[int, str]]:
    """(line number, text) of each non-empty line; bytes that are not UTF-8 are an error
    naming the file and the byte offset."""
    try:
        file = path.open("rb")
    except OSError as exc:
        raise RunFolderError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    with file:
        offset = 0
        for number, raw in enumerate(file, start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise RunFolderError(
                    f"{path}:{number}: not UTF-8 text (byte offset {offset + exc.start})"
                ) from None
            offset += len(raw)
            if line.strip():
                yield number, line


def _read(path: Path, model: type[ModelT]) -> Iterator[ModelT]:
    for number, line in iter_lines(path):
        yield validate_json_line(line, model, path, number, RunFolderError)


_CELL_FIRST = re.compile(r'\s*\{\s*"cell"\s*:\s*')
_OUTCOME = re.compile(r'"outcome"\s*:\s*"([a-z_]*)"')
_DECODER = json.JSONDecoder()


def cell_statuses(path: Path) -> Iterator[tuple[int, str, bool, str]]:
    """(line number, cell id, failed, line) of each record, reading only the cell and the
    outcome of a line as this module writes it: the cell object that opens it, and its
    ``"outcome"`` key (a quote inside a JSON string is escaped, so text cannot pass for the
    key; a line where the pattern matches more than once is read whole). A line of any other
    shape is validated whole, so a bad one is named as :func:`read_records` names it; a
    damaged transcript behind a readable cell and outcome is left for whoever reads it."""
    for number, line in iter_lines(path):
        found = _cell_and_failure(line)
        if found is None:
            record = validate_json_line(line, RunRecord, path, number, RunFolderError)
            found = record.cell.id, record.failed
        yield number, *found, line


def _cell_and_failure(line: str) -> tuple[str, bool] | None:
    """The cell id of a record line and whether it failed, or None when the line is not in
    the shape this module writes."""
    opening, outcomes = _CELL_FIRST.match(line), _OUTCOME.findall(line)
    if opening is None or len(outcomes) != 1:
        return None
    try:
        cell, _ = _DECODER.raw_decode(line, opening.end())
        return Cell.model_validate(cell).id, outcomes[0] == "error"
    except (ValueError, ValidationError):
        return None


def _scan(path: Path) -> tuple[dict[str, bool], int]:
    """Each cell of a results file -> whether every record of it failed, and how many
    records beyond one per cell the file holds."""
    status: dict[str, bool] = {}
    extra = 0
    for _, cell, failed, _ in cell_statuses(path):
        held = status.get(cell)
        if held is None:
            status[cell] = failed
        else:
            extra += 1
            status[cell] = held and failed
    return status, extra


def one_per_cell(records: Iterable[RunRecord]) -> tuple[list[RunRecord], int]:
    """One record per cell, in order of first appearance (the first that did not fail, else
    the first), and how many were left out."""
    chosen: dict[str, RunRecord] = {}
    extra = 0
    for record in records:
        kept = chosen.setdefault(record.cell.id, record)
        if kept is not record:
            extra += 1
            if kept.failed and not record.failed:
                chosen[record.cell.id] = record
    return list(chosen.values()), extra


def read_records(path: Path) -> list[RunRecord]:
    """One record per cell of a results file, in file order; a bad line is an error naming
    the file and line. Extra records of a cell are left out with a warning (see the module)."""
    records, extra = one_per_cell(_read(path, RunRecord))
    if extra:
        warnings.warn(
            f"{path}: {extra} extra record(s) of cells already recorded were left out "
            "(two runs wrote this folder at once?); one record per cell is kept",
            DuplicateRecordsWarning,
            stacklevel=2,
        )
    return records


class TranscriptWriter(JsonlAppender):
    """Appends bare transcripts to ``folder/transcripts.jsonl`` (consultations played by hand)."""

    def __init__(self, folder: Path) -> None:
        super().__init__(folder / TRANSCRIPTS)

    def write(self, transcript: Transcript) -> None:
        self.append(encode(transcript))


def read_transcripts(path: Path) -> list[Transcript]:
    """Every transcript of a JSONL file; a bad line is an error naming the file and line."""
    return list(_read(path, Transcript))
