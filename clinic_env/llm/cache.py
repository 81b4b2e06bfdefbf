"""A small sqlite cache of model replies that doubles as the record of a run.

Keyed by everything that decides a reply (model, base URL, messages, tools, sampling settings,
seed) and never by the API key. Modes: ``off``; ``read_write`` (answer from the cache when it
can, store what the model says); ``replay`` (answer only from the cache and fail loudly on a
miss, so a recorded run re-runs with no server and gives byte-identical transcripts). Safe
with many writers: WAL journal, a busy timeout, and insert-or-ignore (the first answer stays).

A recorded reply that cannot be used (corrupt JSON, not a reply) never stops a run: with
``read_write`` it is a miss, and the model's new answer replaces it; in ``replay`` that one
call fails with :class:`UnusableRecordError` (its consultation is recorded failed). Lone
surrogates in recorded text (written before transports repaired them) are repaired on read,
as the transport now repairs a server's reply.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from enum import StrEnum
from pathlib import Path
from typing import Any

from clinic_env.errors import UserError
from clinic_env.llm.encoding import request_key
from clinic_env.llm.errors import UnusableRecordError
from clinic_env.schema.base import valid_texts

__all__ = ["CacheMode", "ReplayMissError", "ReplyCache", "request_key"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS replies (
    key TEXT PRIMARY KEY,
    request TEXT NOT NULL,
    reply TEXT NOT NULL
)
"""
_INSERT = "INSERT OR IGNORE INTO replies (key, request, reply) VALUES (?, ?, ?)"
_REPLACE = "INSERT OR REPLACE INTO replies (key, request, reply) VALUES (?, ?, ?)"


class CacheMode(StrEnum):
    OFF = "off"
    READ_WRITE = "read_write"
    REPLAY = "replay"


class ReplayMissError(UserError):
    """Replay mode met a call that was never recorded."""


class ReplyCache:
    """One sqlite file; one connection per thread (sqlite connections are not shared)."""

    def __init__(self, path: Path | str, mode: CacheMode | str = CacheMode.READ_WRITE) -> None:
        self.path = Path(path)
        self.mode = CacheMode(mode)
        if self.mode is CacheMode.REPLAY and not self.path.exists():
            raise ReplayMissError(f"{self.path}: no recorded cache to replay from")
        self._local = threading.local()
        self._rejected: set[str] = set()  # keys whose recorded reply the next put replaces
        if self.mode is not CacheMode.OFF:
            self._connection()

    def _connection(self) -> sqlite3.Connection:
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            connection = sqlite3.connect(self.path, timeout=60, isolation_level=None)
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA busy_timeout=60000")
            connection.execute(_SCHEMA)
            self._local.connection = connection
        return connection

    def get(self, key: str) -> dict[str, Any] | None:
        """The recorded reply, or None; in replay mode a miss is an error."""
        if self.mode is CacheMode.OFF:
            return None
        row = (
            self._connection().execute("SELECT reply FROM replies WHERE key = ?", (key,)).fetchone()
        )
        if row is None:
            if self.mode is CacheMode.REPLAY:
                raise ReplayMissError(
                    f"{self.path}: no recorded reply for request {key[:16]}...; "
                    "the run differs from the recorded one (model, prompts, settings or seed)"
                )
            return None
        try:
            reply = json.loads(row[0])
        except (ValueError, TypeError):
            reply = None
        if not isinstance(reply, dict):
            self.reject(key, "it is not a JSON object")
            return None
        return valid_texts(reply)  # type: ignore[no-any-return]

    def reject(self, key: str, why: str) -> None:
        """The recorded reply for ``key`` cannot be used: a miss that the next :meth:`put`
        overwrites, or in replay mode an :class:`UnusableRecordError` for this call."""
        if self.mode is CacheMode.REPLAY:
            raise UnusableRecordError(
                f"{self.path}: the recorded reply for request {key[:16]}... cannot be used ({why})"
            )
        self._rejected.add(key)

    def put(self, key: str, request: dict[str, Any], reply: dict[str, Any]) -> None:
        if self.mode is not CacheMode.READ_WRITE:
            return
        self._connection().execute(
            _REPLACE if key in self._rejected else _INSERT,
            (key, json.dumps(request, sort_keys=True), json.dumps(reply, sort_keys=True)),
        )
        self._rejected.discard(key)

    def __len__(self) -> int:
        if self.mode is CacheMode.OFF:
            return 0
        return int(self._connection().execute("SELECT COUNT(*) FROM replies").fetchone()[0])

    def close(self) -> None:
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
            self._local.connection = None
