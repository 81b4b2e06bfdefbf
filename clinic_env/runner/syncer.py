"""Syncing an append-only file to the disk behind its writer, one ``fsync`` per batch.

A run's results are written and flushed line by line, so a killed process loses nothing; the
``fsync`` that guards them against a crash of the machine takes milliseconds (about 3 ms on
this project's CI disk), and done on the event loop after every consultation it stood the
whole batch still that long each time. :class:`BackgroundSync` does it on a thread instead:
each ``fsync`` covers every line flushed before it, however many, and a failure (a full
disk) is kept and raised to the writer at its next call.
"""

from __future__ import annotations

import os
import threading


class BackgroundSync:
    """Syncs one file descriptor whenever :meth:`mark` says it has new data."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._wake = threading.Condition()
        self._dirty = False
        self._closing = False
        self.error: OSError | None = None
        """Why the last sync failed, if it did: the writer raises it."""
        self._thread = threading.Thread(target=self._run, name="clinic-env-fsync", daemon=True)
        self._thread.start()

    def mark(self) -> None:
        """New data was flushed: sync it soon."""
        with self._wake:
            self._dirty = True
            self._wake.notify()

    def close(self) -> None:
        """Sync what is left and stop; :attr:`error` then says whether every sync held."""
        with self._wake:
            self._closing = True
            self._wake.notify()
        self._thread.join()

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._dirty and not self._closing:
                    self._wake.wait()
                dirty, self._dirty = self._dirty, False
                closing = self._closing
            if dirty and self.error is None:
                try:
                    os.fsync(self._fd)
                except OSError as exc:
                    self.error = exc
            if closing:
                with self._wake:
                    if not self._dirty:
                        return
