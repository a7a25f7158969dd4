"""The worker sends the rejection log's idempotency look-up beside the event log's (issue 11:
two reads in one round trip; :class:`PrefetchedRejections`). What the ledger decides must not
change: a rejected id resubmitted gets the first rejection as a duplicate; a look-up sent
before a rejection was recorded is never answered with the stale result; a look-up for
another id reads the store. Pure logic: in-memory ports, with a rejection log that answers
``get_async`` as the Cassandra adapter does."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

from tests.unit.test_worker_registry import CODE, register, submission
from tongxiu.events.signing import KeyPair
from tongxiu.infra.common import load_rules
from tongxiu.infra.memory import MemoryEventLog, MemoryRejectionLog, MemoryStorage
from tongxiu.services.config import Settings
from tongxiu.services.demo import demo_key
from tongxiu.services.ledger import Ledger, sign_submission
from tongxiu.services.ports import RejectionRecord, SystemClock
from tongxiu.streams.worker import PrefetchedRejections, SubmissionHandler


def dated_in_the_future(n: int) -> Any:
    """Signed by a registered department, rejected by a rule (authenticated)."""
    key = demo_key("samr-deqing")
    events = [e.event for e in submission("samr-deqing", key, n).events]
    events[0] = events[0].model_copy(update={"decision_date": date(2030, 1, 1)})
    return sign_submission(key, department="samr-deqing", stream=CODE, submission_id=f"future-{n}",
                           occurred_at=datetime.now(UTC), events=events)


class AsyncRejections(MemoryRejectionLog):
    """``get_async`` reads when it is sent (as the driver's request does), answers later."""

    def __init__(self, storage: MemoryStorage) -> None:
        super().__init__(storage)
        self.sent = 0
        self.answered_from_store = 0

    def get_async(self, department: str, submission_id: str) -> Callable[[], RejectionRecord | None]:
        self.sent += 1
        found = super().get(department, submission_id)
        return lambda: found

    def get(self, department: str, submission_id: str) -> RejectionRecord | None:
        self.answered_from_store += 1
        return super().get(department, submission_id)


def make() -> tuple[SubmissionHandler, AsyncRejections]:
    storage = MemoryStorage()
    rejections = AsyncRejections(storage)
    ledger = Ledger(MemoryEventLog(storage), rejections, SystemClock(), load_rules(Settings()), KeyPair.generate())
    ledger.bootstrap()
    register(ledger, "samr-deqing")
    rejections.sent = rejections.answered_from_store = 0  # the set-up's own look-ups
    return SubmissionHandler(ledger), rejections


def test_the_rejection_look_up_is_sent_with_the_log_look_up_and_decides_the_same() -> None:
    handler, rejections = make()
    assert isinstance(handler.ledger.rejections, PrefetchedRejections)
    key = demo_key("samr-deqing")
    ok = submission("samr-deqing", key, 1)
    receipt, published = handler.handle(ok.model_dump_json().encode())
    assert receipt.accepted and not receipt.duplicate and published
    assert rejections.sent == 1 and rejections.answered_from_store == 0  # the ledger took the prefetched answer

    bad = dated_in_the_future(2)  # rejected by a rule, then resubmitted
    first, _ = handler.handle(bad.model_dump_json().encode())
    assert not first.accepted and not first.duplicate
    assert [r.code for r in first.reasons] == ["occurred_in_future"]
    again, _ = handler.handle(bad.model_dump_json().encode())
    # the look-up sent after the rejection was recorded sees it: the first rejection, as a duplicate
    assert not again.accepted and again.duplicate and again.reasons == first.reasons
    assert again.recorded_at == first.recorded_at
    assert rejections.sent == 3 and rejections.answered_from_store == 0


def test_a_held_look_up_is_dropped_by_a_record_and_not_used_for_another_id() -> None:
    storage = MemoryStorage()
    inner = AsyncRejections(storage)
    pre = PrefetchedRejections(inner)
    handler, _ = make()
    rejected, _ = handler.handle(dated_in_the_future(3).model_dump_json().encode())
    record = handler.ledger.rejections.get(rejected.department, rejected.submission_id)

    pre.prefetch("samr-deqing", "x-1")  # sent while nothing is recorded
    assert record is not None
    pre.record(dataclasses.replace(record, receipt=record.receipt.model_copy(update={"submission_id": "x-1"})))
    assert pre.get("samr-deqing", "x-1") is not None  # not the stale "none" held before the record
    assert inner.answered_from_store == 1

    pre.prefetch("samr-deqing", "x-2")
    assert pre.get("samr-deqing", "x-1") is not None  # another id: read from the store
    assert inner.answered_from_store == 2
    assert pre.get("samr-deqing", "x-2") is None  # the held look-up was dropped by the other get
    assert inner.answered_from_store == 3
