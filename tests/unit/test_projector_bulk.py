"""streams/projector.py: ``bulk`` leaves the objects the process held out of the collector's
scans for a bulk job, spaces its full collections, and puts both back after, even when the
job fails."""

from __future__ import annotations

import gc

import pytest

from tongxiu.streams.projector import BULK_EVENTS, BULK_FULL_EVERY, _bulk, bulk


def test_bulk_freezes_the_heap_for_the_job_and_gives_it_back() -> None:
    assert gc.get_freeze_count() == 0
    thresholds = gc.get_threshold()
    held = [[i] for i in range(10)]  # noqa: F841 - something the collector tracks
    with bulk():
        assert gc.get_freeze_count() > 0
        assert gc.get_threshold()[:2] == thresholds[:2] and gc.get_threshold()[2] >= BULK_FULL_EVERY
        with bulk():  # nested: left to the outer one
            assert gc.get_freeze_count() > 0
        assert gc.get_freeze_count() > 0
    assert gc.get_freeze_count() == 0 and gc.get_threshold() == thresholds
    with pytest.raises(RuntimeError), bulk():
        raise RuntimeError("the job failed")
    assert gc.get_freeze_count() == 0 and gc.get_threshold() == thresholds


def test_small_batches_and_a_disabled_collector_are_left_alone() -> None:
    with _bulk(BULK_EVENTS - 1):
        assert gc.get_freeze_count() == 0
    with _bulk(BULK_EVENTS):
        assert gc.get_freeze_count() > 0
    gc.disable()
    try:
        with bulk():
            assert gc.get_freeze_count() == 0
    finally:
        gc.enable()
    gc.freeze()  # someone else froze objects: theirs to unfreeze
    try:
        with bulk():
            pass
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
