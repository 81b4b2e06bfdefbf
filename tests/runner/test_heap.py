"""The run's garbage-collector settings are undone afterwards, whatever happens inside."""

import gc

import pytest

from clinic_env.runner.heap import YOUNG_THRESHOLD, run_heap


def test_the_heap_is_frozen_during_a_run_and_restored_after():
    before = gc.get_threshold()
    with run_heap():
        assert gc.get_freeze_count() > 0
        assert gc.get_threshold()[0] >= YOUNG_THRESHOLD
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0


def test_settings_are_restored_when_the_run_is_interrupted():
    before = gc.get_threshold()
    with pytest.raises(KeyboardInterrupt), run_heap():
        raise KeyboardInterrupt
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0


def test_a_heap_the_caller_froze_stays_frozen():
    gc.freeze()
    try:
        with run_heap():
            pass
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
