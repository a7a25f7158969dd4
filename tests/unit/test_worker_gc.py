"""The distributed worker's garbage-collector setting (``Settings.worker_gc_young``, issue 11
session 12): the young generation's threshold is raised, the older generations' are kept, and 0
leaves Python's thresholds alone."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from tongxiu.services.config import Settings
from tongxiu.streams.worker import tune_gc


@pytest.fixture(autouse=True)
def _restore_thresholds() -> Iterator[None]:
    saved = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    try:
        yield
    finally:
        gc.set_threshold(*saved)


def test_the_young_threshold_is_raised_and_the_older_ones_kept() -> None:
    gc.set_threshold(700, 17, 23)
    assert tune_gc(50_000) == (50_000, 17, 23)
    assert gc.get_threshold() == (50_000, 17, 23)


def test_zero_leaves_the_thresholds_alone() -> None:
    assert tune_gc(0) == (700, 10, 10)
    assert gc.get_threshold() == (700, 10, 10)


def test_the_setting_defaults_to_50000_and_is_read_from_the_environment() -> None:
    assert Settings().worker_gc_young == 50_000
    assert Settings.load(env={"TONGXIU_WORKER_GC_YOUNG": "0"}).worker_gc_young == 0
    assert Settings.load(env={"TONGXIU_WORKER_GC_YOUNG": "8000"}).worker_gc_young == 8000
    with pytest.raises(ValueError, match="worker_gc_young"):
        Settings.load(env={"TONGXIU_WORKER_GC_YOUNG": "-1"})
