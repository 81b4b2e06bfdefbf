"""The datasets the page may open: only those it was given, read once, off the event loop.

A registered dataset is opened only when it is at hand (bundled or already downloaded: the
page never starts a download). A path is opened only when the page was given it
(``--dataset``) or, for the Runs view, when it lies under ``--runs`` (a results file names
its dataset, and a results file may come from anyone). A path must be a regular file under
:data:`MAX_DATASET_BYTES` (a FIFO would hang a worker thread, ``/dev/zero`` fill memory) or
a folder given with ``--dataset``. Cases read from a path are kept until the file changes,
so a play does not read a 30 MB file again; :meth:`DatasetShelf.cases` blocks, so the play
room calls it in a worker thread.
"""

from __future__ import annotations

import stat
import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path

from clinic_env.datasets import at_hand, dataset_names, load_cases
from clinic_env.errors import ClinicEnvError, UnknownNameError, UserError
from clinic_env.schema.case import Case

MAX_DATASET_BYTES = 256 * 2**20
KEPT = 8
"""Datasets read from paths that are kept at once (the least recently used go first)."""


class DatasetShelf:
    """The registered datasets at hand, the given paths, and (for browsing) files under runs."""

    def __init__(
        self, local: Sequence[str], runs: Path, *, max_bytes: int = MAX_DATASET_BYTES
    ) -> None:
        self.local = tuple(local)
        self.runs = runs.resolve()
        self.max_bytes = max_bytes
        self._given = {Path(name).resolve() for name in local}
        self._kept: OrderedDict[Path, tuple[tuple[int, ...], tuple[Case, ...]]] = OrderedDict()
        self._lock = threading.Lock()

    def offered(self) -> list[str]:
        """What the play form offers: the registered datasets at hand and the given ones."""
        return [name for name in (*dataset_names(), *self.local) if at_hand(name)]

    def cases(self, dataset: str, *, browsing: bool = False) -> tuple[Case, ...]:
        """The cases of a dataset the page may open (``browsing``: files under runs too)."""
        if dataset in dataset_names():
            if not at_hand(dataset):
                raise UserError(f"dataset {dataset!r} is not downloaded; the page never fetches")
            return load_cases(dataset)
        path, signature = self._allowed(dataset, browsing)
        with self._lock:
            kept = self._kept.get(path)
            if kept is not None and kept[0] == signature:
                self._kept.move_to_end(path)
                return kept[1]
            cases = load_cases(path)
            self._kept[path] = (signature, cases)
            while len(self._kept) > KEPT:
                self._kept.popitem(last=False)
        return cases

    def case(self, dataset: str, case_id: str) -> Case | None:
        """One case for the Runs view, or None when its dataset may not be opened."""
        try:
            cases = self.cases(dataset, browsing=True)
        except ClinicEnvError:
            return None
        return next((case for case in cases if case.id == case_id), None)

    def _allowed(self, dataset: str, browsing: bool) -> tuple[Path, tuple[int, ...]]:
        """The resolved path and its signature (size, change time, inode), if it may be read."""
        refused = UserError(f"dataset {dataset!r} is not offered by this page")
        try:
            path = Path(dataset).resolve()
            info = path.stat()
        except (OSError, ValueError, RuntimeError):
            raise UnknownNameError(f"dataset {dataset!r} is not offered by this page") from None
        given = path in self._given
        if not given and not (browsing and path.is_relative_to(self.runs)):
            raise refused
        if stat.S_ISDIR(info.st_mode) and given:
            return path, (info.st_mtime_ns, info.st_ino)
        if not stat.S_ISREG(info.st_mode):
            raise UserError(f"dataset {dataset!r} is not a regular file")
        if info.st_size > self.max_bytes:
            raise UserError(f"dataset {dataset!r} is over {self.max_bytes // 2**20} MiB")
        return path, (info.st_size, info.st_mtime_ns, info.st_ino)
