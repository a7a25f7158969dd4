"""The Kafka transport of one department reads only its receipts' partition, and within it
skips the other departments' receipts by their key (the department) without parsing or
keeping them (pure logic: the consumer is a stand-in that returns the records of a poll)."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, datetime

from tongxiu.events.envelope import Receipt
from tongxiu.infra.kafka_transport import KafkaTransport


@dataclass
class Rec:
    key: bytes | None
    value: bytes


class Consumer:
    def __init__(self, records: list[Rec]) -> None:
        self.records = records

    def poll(self, timeout_ms: int, max_records: int) -> dict[str, list[Rec]]:
        out, self.records = self.records, []
        return {"receipts-0": out}


def transport(records: list[Rec], departments: list[str] | None) -> KafkaTransport:
    t = object.__new__(KafkaTransport)
    t.consumer = Consumer(records)
    t.departments = frozenset(departments) if departments is not None else None
    t._lock = threading.RLock()
    t._received = {}
    t._inflight = {("samr-deqing", "s-1"): object()}  # type: ignore[dict-item]
    t.dropped = 0
    return t


def receipt(department: str, sid: str) -> bytes:
    r = Receipt(accepted=True, department=department, submission_id=sid, stream="registry",
                recorded_at=datetime(2026, 1, 5, tzinfo=UTC))
    return r.model_dump_json().encode()


def test_other_departments_receipts_are_skipped_unparsed() -> None:
    records = [Rec(b"tax-deqing", b"not even JSON: never parsed"), Rec(b"samr-deqing", receipt("samr-deqing", "s-1")),
               Rec(b"samr-deqing", receipt("samr-deqing", "s-other"))]
    t = transport(records, ["samr-deqing"])
    assert t.pump() == 1
    assert list(t._received) == [("samr-deqing", "s-1")]
    assert t.dropped == 2  # the other department's, and one of its own not in flight


def test_a_transport_for_every_department_parses_every_receipt() -> None:
    t = transport([Rec(b"tax-deqing", receipt("tax-deqing", "t-1")),
                   Rec(b"samr-deqing", receipt("samr-deqing", "s-1"))], None)
    assert t.pump() == 1 and t.dropped == 1
