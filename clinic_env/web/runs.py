"""Run folders read for the browser: an index per results file, filtered and paged.

A run of 100,000 consultations is far too large to send to a page, or to keep parsed in
memory: the index keeps, per line, its byte offset and the few fields the filters use, and
a page of rows or one consultation is read back by seeking. The index grows with the file,
so a run still being written can be browsed; a file rewritten in place (a retry) is indexed
anew. A line that cannot be read is listed as a problem with its line number, not fatal.
Credentials in URLs (``user:password@``) are removed from everything read before it is sent.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from clinic_env.content import parse_json_line
from clinic_env.errors import UnknownNameError, UserError
from clinic_env.runner.report_frame import bias_label
from clinic_env.runner.store import MANIFEST, RESULTS, TRANSCRIPTS
from clinic_env.schema.base import strip_url_credentials

RUN_FILES = (RESULTS, TRANSCRIPTS)
"""A batch run's records, or the bare transcripts of consultations played by hand."""
FILTERS = ("dataset", "persona", "bias", "doctor", "outcome", "validity", "result")
MAX_PAGE = 500
SELECTIONS_KEPT = 16
SEARCH_DEPTH = 3
"""How deep below the runs folder run folders are looked for."""


@dataclass(frozen=True, slots=True)
class Row:
    """One consultation as the run's table shows it, and where its line starts."""

    index: int
    line: int
    offset: int
    id: str
    case_id: str
    dataset: str
    persona: str
    bias: str
    doctor: str
    outcome: str
    validity: str
    result: str
    turns: int
    reward: float

    def summary(self) -> dict[str, Any]:
        row = asdict(self)
        del row["offset"]
        return row


def result_of(transcript: dict[str, Any]) -> str:
    """correct / wrong / no diagnosis / failed, from the outcome and the top-1 score."""
    if transcript.get("outcome") == "error":
        return "failed"
    if not transcript.get("differential"):
        return "no diagnosis"
    for component in (transcript.get("score") or {}).get("components", ()):
        if component.get("name") == "top1":
            value = component.get("value")
            return "unscored" if value is None else ("correct" if value >= 1 else "wrong")
    return "unscored"


def row_of(record: dict[str, Any], index: int, line: int, offset: int) -> Row:
    """The table row of one line: a run record (cell and transcript) or a bare transcript."""
    transcript = record.get("transcript", record)
    cell = record.get("cell") or {}
    turns = transcript.get("turns") or ()
    return Row(
        index=index,
        line=line,
        offset=offset,
        id=str(cell.get("id") or transcript["id"]),
        case_id=str(transcript["case_id"]),
        dataset=str(transcript["dataset"]),
        persona=str(cell.get("persona") or transcript.get("persona") or "plain"),
        bias=bias_label(cell.get("biases") or transcript.get("biases") or ()),
        doctor=str(cell.get("doctor") or (transcript.get("agents") or {}).get("doctor", "?")),
        outcome=str(transcript["outcome"]),
        validity=str(transcript.get("validity") or "unchecked"),
        result=result_of(transcript),
        turns=len(turns),
        reward=round(sum(float(turn.get("reward", 0.0)) for turn in turns), 6),
    )


def wanted_filters(filters: dict[str, str]) -> tuple[tuple[str, str], ...]:
    """The filters that are set, checked against the known fields, in a stable order."""
    unknown = set(filters) - set(FILTERS)
    if unknown:
        raise UserError(f"unknown filter {sorted(unknown)[0]!r} (known: {', '.join(FILTERS)})")
    return tuple(sorted((name, value) for name, value in filters.items() if value))


@dataclass
class RunIndex:
    """The rows of one run file, extended as the file grows.

    Indexing runs in a worker thread: a caller waits for it as long as it chooses and then
    works with the rows indexed so far (a page of a 100,000-line run shows at once, its
    totals growing while the rest is read). ``wait_s=None`` waits until the end of the file.
    """

    path: Path
    rows: list[Row] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    facets: dict[str, Counter[str]] = field(default_factory=dict)
    _end: int = 0
    _lines: int = 0
    _identity: int = -1
    _size: int = 0
    _worker: threading.Thread | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _selections: dict[tuple[object, ...], Any] = field(default_factory=dict)

    def refresh(self, wait_s: float | None = None) -> bool:
        """Index what was added since the last look; True once the index has caught up."""
        with self._lock:
            if self._worker is None or not self._worker.is_alive():
                stat = self.path.stat()
                self._size = stat.st_size
                if stat.st_ino != self._identity or stat.st_size < self._end:
                    self._reset(stat.st_ino)
                if stat.st_size > self._end:
                    self._worker = threading.Thread(target=self._catch_up, daemon=True)
                    self._worker.start()
            worker = self._worker
        if worker is not None:
            worker.join(wait_s)
            return not worker.is_alive()
        return True

    def progress(self) -> dict[str, Any]:
        done = self._worker is None or not self._worker.is_alive()
        return {"done": done, "indexed_bytes": self._end, "size": max(self._size, self._end)}

    def _catch_up(self) -> None:
        with self.path.open("rb") as file:
            file.seek(self._end)
            for raw in file:
                if not raw.endswith(b"\n"):
                    break  # a line still being written: read it next time
                self._add(raw)
                self._end += len(raw)

    def _reset(self, identity: int) -> None:
        self.rows, self.problems, self._end, self._lines = [], [], 0, 0
        self.facets = {name: Counter() for name in FILTERS}
        self._selections = {}
        self._identity = identity

    def _add(self, raw: bytes) -> None:
        self._lines += 1
        if not raw.strip():
            return
        try:
            record = parse_json_line(raw, self.path, self._lines, UserError)
            row = row_of(record, len(self.rows), self._lines, self._end)
        except (UserError, ValueError, KeyError, TypeError, AttributeError) as exc:
            where = f"{self.path}:{self._lines}"
            problem = strip_url_credentials(str(exc).removeprefix(f"{where}: "))
            self.problems.append(f"{where}: unreadable record ({problem})")
            return
        with self._lock:
            self.rows.append(row)
            for name in FILTERS:
                self.facets[name][getattr(row, name)] += 1

    def select(self, filters: dict[str, str]) -> list[Row]:
        """The rows indexed so far that pass every filter (the last few selections are kept,
        so paging through one costs a slice)."""
        wanted = wanted_filters(filters)
        rows = self.rows
        count = len(rows)
        if not wanted:
            return rows[:count]
        key = ("rows", wanted, id(rows), count)
        with self._lock:
            selected = self._selections.get(key)
        if selected is None:
            selected = [r for r in rows[:count] if all(getattr(r, n) == v for n, v in wanted)]
            self._remember(key, selected)
        return selected

    def _remember(self, key: tuple[object, ...], value: Any) -> None:
        """Keep the last few selections and menu counts, for paging and redrawing."""
        with self._lock:
            while len(self._selections) >= SELECTIONS_KEPT:
                self._selections.pop(next(iter(self._selections)))
            self._selections[key] = value

    def page(
        self,
        filters: dict[str, str],
        offset: int = 0,
        limit: int = 50,
        wait_s: float | None = None,
    ) -> dict[str, Any]:
        """One page of the rows that pass every filter, how many pass so far, and how far
        indexing has got."""
        if offset < 0 or not 1 <= limit <= MAX_PAGE:
            raise UserError(f"offset must be >= 0 and limit between 1 and {MAX_PAGE}")
        self.refresh(wait_s)
        selected = self.select(filters)
        return {
            "total": len(selected),
            "offset": offset,
            "rows": [row.summary() for row in selected[offset : offset + limit]],
            "indexing": self.progress(),
        }

    def facet_counts(
        self, filters: dict[str, str] | None = None, wait_s: float | None = None
    ) -> dict[str, dict[str, int]]:
        """How many consultations have each value of each filter field, among those that pass
        the other filters: each menu tells what choosing a value would leave."""
        self.refresh(wait_s)
        wanted = wanted_filters(filters or {})
        if not wanted:
            with self._lock:
                return {name: dict(sorted(c.items())) for name, c in self.facets.items()}
        rows = self.rows
        key = ("facets", wanted, id(rows), len(rows))
        with self._lock:
            cached = self._selections.get(key)
        if cached is not None:
            return cached
        counts: dict[str, Counter[str]] = {name: Counter() for name in FILTERS}
        for row in rows[: key[3]]:
            failed = [name for name, value in wanted if getattr(row, name) != value]
            if not failed:
                for name in FILTERS:
                    counts[name][getattr(row, name)] += 1
            elif len(failed) == 1:
                counts[failed[0]][getattr(row, failed[0])] += 1
        result = {name: dict(sorted(c.items())) for name, c in counts.items()}
        self._remember(key, result)
        return result

    def record(self, index: int) -> dict[str, Any]:
        """The whole line of one consultation, read back from its offset."""
        self.refresh(wait_s=0)  # notices a rewritten file before its old offsets are used
        rows = self.rows
        if not 0 <= index < len(rows):
            self.refresh()
            rows = self.rows
        if not 0 <= index < len(rows):
            raise UnknownNameError(f"{self.path}: no consultation number {index}")
        with self.path.open("rb") as file:
            file.seek(rows[index].offset)
            line = file.readline().decode("utf-8", "replace")
        record: dict[str, Any] = json.loads(strip_url_credentials(line))
        return record


@dataclass(frozen=True, slots=True)
class RunFolder:
    name: str
    folder: Path
    file: Path

    def describe(self) -> dict[str, Any]:
        """Name, kind, experiment and size; a damaged manifest leaves those fields empty."""
        manifest: Any = {}
        try:
            manifest = json.loads((self.folder / MANIFEST).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            manifest = {}
        manifest = manifest if isinstance(manifest, dict) else {}
        experiment = manifest.get("experiment")
        experiment = experiment if isinstance(experiment, dict) else {}
        try:
            size = self.file.stat().st_size
        except OSError:
            size = 0
        return {
            "name": self.name,
            "kind": "batch" if self.file.name == RESULTS else "played",
            "experiment": str(experiment.get("name") or ""),
            "created": str(manifest.get("created") or ""),
            "bytes": size,
            "has_report": (self.folder / "report").is_dir(),
        }


class RunCatalog:
    """The run folders under one root, each indexed on first use and kept."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self._indexes: dict[Path, RunIndex] = {}
        self._lock = threading.Lock()

    def folders(self) -> list[RunFolder]:
        found: list[RunFolder] = []
        if not self.root.is_dir():
            return found
        pending = [(self.root, 0)]
        while pending:
            folder, depth = pending.pop()
            for name in RUN_FILES:
                if (folder / name).is_file():
                    label = folder.relative_to(self.root).as_posix()
                    found.append(RunFolder(label, folder, folder / name))
                    break
            if depth < SEARCH_DEPTH:
                children = sorted(p for p in folder.iterdir() if p.is_dir())
                pending.extend((child, depth + 1) for child in children if child.name[0] != ".")
        return sorted(found, key=lambda run: run.name)

    def folder(self, name: str) -> RunFolder:
        """The run folder of that name, which must lie inside the root."""
        try:
            folder = (self.root / name).resolve()
        except (OSError, ValueError):  # a NUL byte, a loop of links
            raise UnknownNameError(f"no run {name!r} under {self.root}") from None
        if not folder.is_relative_to(self.root):
            raise UnknownNameError(f"no run {name!r} under {self.root}")
        for file in RUN_FILES:
            if (folder / file).is_file():
                return RunFolder(name, folder, folder / file)
        raise UnknownNameError(f"no run {name!r} under {self.root}")

    def index(self, name: str) -> RunIndex:
        run = self.folder(name)
        with self._lock:
            index = self._indexes.get(run.file)
            if index is None:
                index = self._indexes[run.file] = RunIndex(run.file)
        return index

    def report_images(self, name: str) -> list[str]:
        report = self.folder(name).folder / "report"
        return sorted(p.name for p in report.glob("*.png")) if report.is_dir() else []

    def report_image(self, name: str, image: str) -> Path:
        if image not in self.report_images(name):
            raise UnknownNameError(f"run {name!r} has no report image {image!r}")
        return self.folder(name).folder / "report" / image
