"""The garbage collector during a batch run.

A run keeps a large, long-lived heap (cases, indexes, knowledge, the lexicon) and makes many
short-lived objects per model call and per turn. With default settings the collector walks
the long-lived heap again and again and frees almost nothing: measured with the stub server
at 256 calls in flight, a third of the client's CPU. While the consultations run, the heap
built before them is frozen (``gc.freeze()``) and young objects are collected less often;
both are undone afterwards, so the caller's process is left as it was (a caller that had
frozen its own heap keeps it frozen, with the run's heap added: the collector cannot thaw a
part).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

YOUNG_THRESHOLD = 50_000
"""Allocations between young collections while a run goes on (Python's default is 700)."""


@contextmanager
def run_heap() -> Iterator[None]:
    """Freeze what exists now and collect the young generation less often, until exit."""
    thresholds = gc.get_threshold()
    frozen_by_caller = gc.get_freeze_count() > 0
    gc.freeze()
    gc.set_threshold(max(thresholds[0], YOUNG_THRESHOLD), *thresholds[1:])
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        if not frozen_by_caller:
            gc.unfreeze()
