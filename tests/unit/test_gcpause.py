"""services/gcpause.py: jobs that raise the collector's thresholds (an audit, the projector's
``bulk``) may nest or overlap, in one thread or several, and the process's thresholds end as
they were found, also when a job fails; a change made by someone else meanwhile is kept."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from tests.unit.test_audit_one_pass import fixture_app
from tongxiu.services.audit import verify_and_replay
from tongxiu.services.gcpause import AUDIT_YOUNG, thresholds_at_least
from tongxiu.streams.projector import BULK_FULL_EVERY, bulk

FOUND = (700, 17, 23)


@pytest.fixture(autouse=True)
def _thresholds() -> Iterator[None]:
    saved = gc.get_threshold()
    gc.set_threshold(*FOUND)
    try:
        yield
    finally:
        gc.set_threshold(*saved)


def test_raised_while_held_then_what_was_found() -> None:
    with thresholds_at_least(young=5000) as now:
        assert now == gc.get_threshold() == (5000, 17, 23)
    assert gc.get_threshold() == FOUND
    with thresholds_at_least(middle=5, old=50):  # never lowered
        assert gc.get_threshold() == (700, 17, 50)
    assert gc.get_threshold() == FOUND


def test_restored_when_the_job_fails() -> None:
    with pytest.raises(RuntimeError), thresholds_at_least(young=5000, old=100):
        assert gc.get_threshold() == (5000, 17, 100)
        raise RuntimeError("the job failed")
    assert gc.get_threshold() == FOUND


def test_nested_and_overlapping_jobs_end_with_what_was_found() -> None:
    with thresholds_at_least(young=5000):
        with thresholds_at_least(young=9000, old=40):
            assert gc.get_threshold() == (9000, 17, 40)
        assert gc.get_threshold() == (5000, 17, 23)
        with thresholds_at_least(young=1000):  # less than held: the larger stays
            assert gc.get_threshold() == (5000, 17, 23)
    assert gc.get_threshold() == FOUND
    # overlapping, not nested: the first to start ends first
    first, second = ExitStack(), ExitStack()
    first.enter_context(thresholds_at_least(young=5000))
    second.enter_context(thresholds_at_least(old=100))
    assert gc.get_threshold() == (5000, 17, 100)
    first.close()
    assert gc.get_threshold() == (700, 17, 100)
    second.close()
    assert gc.get_threshold() == FOUND


def test_with_the_projectors_bulk_in_any_order() -> None:
    audit = (AUDIT_YOUNG, 17, max(23, BULK_FULL_EVERY))
    with thresholds_at_least(young=AUDIT_YOUNG):
        with bulk():
            assert gc.get_threshold() == audit
        assert gc.get_threshold() == (AUDIT_YOUNG, 17, 23)
    assert gc.get_threshold() == FOUND
    with bulk():
        with thresholds_at_least(young=AUDIT_YOUNG):
            assert gc.get_threshold() == audit
        assert gc.get_threshold() == (700, 17, max(23, BULK_FULL_EVERY))
    assert gc.get_threshold() == FOUND
    # the bulk ends while the audit still runs, then the audit ends (the case a blind restore broke)
    audit_job, bulk_job = ExitStack(), ExitStack()
    audit_job.enter_context(thresholds_at_least(young=AUDIT_YOUNG))
    bulk_job.enter_context(bulk())
    audit_job.close()
    assert gc.get_threshold() == (700, 17, max(23, BULK_FULL_EVERY))
    bulk_job.close()
    assert gc.get_threshold() == FOUND and gc.get_freeze_count() == 0
    bulk_job.enter_context(bulk())
    audit_job.enter_context(thresholds_at_least(young=AUDIT_YOUNG))
    bulk_job.close()
    assert gc.get_threshold() == (AUDIT_YOUNG, 17, 23)
    audit_job.close()
    assert gc.get_threshold() == FOUND


def test_collection_left_off_and_changes_by_others_kept() -> None:
    gc.set_threshold(0, 17, 23)  # automatic collection off: not turned on by a raise
    with thresholds_at_least(young=5000, old=50):
        assert gc.get_threshold() == (0, 17, 50)
    assert gc.get_threshold() == (0, 17, 23)
    gc.set_threshold(*FOUND)
    with thresholds_at_least(young=5000):
        gc.set_threshold(5000, 11, 23)  # someone else's (e.g. the worker's tune_gc) middle threshold
        with thresholds_at_least(old=40):
            assert gc.get_threshold() == (5000, 11, 40)
        gc.set_threshold(8000, 11, 23)  # and young, set by them
    assert gc.get_threshold() == (8000, 11, 23)


def test_threads_holding_at_once_end_with_what_was_found() -> None:
    start = threading.Barrier(4)
    seen: list[tuple[int, int, int]] = []

    def job(young: int | None, old: int | None) -> None:
        start.wait()
        for _ in range(300):
            with thresholds_at_least(young=young, old=old):
                seen.append(gc.get_threshold())

    threads = [threading.Thread(target=job, args=args)
               for args in ((5000, None), (9000, None), (None, 100), (AUDIT_YOUNG, 50))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert gc.get_threshold() == FOUND
    assert all(s[0] >= 5000 or s[2] >= 50 for s in seen)


def test_an_audit_holds_the_young_threshold_while_it_runs(tmp_path: Path) -> None:
    app = fixture_app(tmp_path)
    try:
        seen: list[tuple[int, int, int]] = []
        result = verify_and_replay(app.log, app.rules, each=lambda r: seen.append(gc.get_threshold()))
        assert result.ok and len(seen) >= 6 and set(seen) == {(AUDIT_YOUNG, 17, 23)}
        assert gc.get_threshold() == FOUND
        assert verify_and_replay(app.log, app.rules) == result  # the same result, held or not
        assert gc.get_threshold() == FOUND

        def failing(_: object) -> None:
            raise RuntimeError("the consumer failed")

        with pytest.raises(RuntimeError):
            verify_and_replay(app.log, app.rules, each=failing)
        assert gc.get_threshold() == FOUND
        with thresholds_at_least(young=AUDIT_YOUNG * 2):  # a larger hold meanwhile stays in force
            verify_and_replay(app.log, app.rules, each=lambda r: seen.append(gc.get_threshold()))
            assert seen[-1] == (AUDIT_YOUNG * 2, 17, 23)
        assert gc.get_threshold() == FOUND
    finally:
        app.close()


def test_a_job_started_by_a_finaliser_while_the_lock_is_held_does_not_wait() -> None:
    """A collection may run a finaliser (in the same thread) while a job holds the module's
    lock: a job it starts must not wait for that lock (a plain Lock would deadlock here)."""
    from tongxiu.services import gcpause

    seen: list[tuple[int, int, int]] = []

    def finaliser_like() -> None:
        with gcpause._lock, thresholds_at_least(young=5000):
            seen.append(gc.get_threshold())

    worker = threading.Thread(target=finaliser_like, daemon=True)
    worker.start()
    worker.join(timeout=10)
    assert not worker.is_alive() and seen == [(5000, 17, 23)]
    assert gc.get_threshold() == FOUND
