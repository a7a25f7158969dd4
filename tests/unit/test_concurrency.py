"""Two ledgers (two processes, say the CLI and the HTTP service) on one embedded database:
optimistic concurrency keeps each stream gap-free and chained, and neither works from a
stale registry."""

from __future__ import annotations

import threading
from pathlib import Path

from tests.support import CODE, T0, decision
from tongxiu.events.models import PenaltyFulfilled
from tongxiu.infra.bootstrap import open_embedded
from tongxiu.infra.embedded import LocalTransport
from tongxiu.services.audit import verify_streams
from tongxiu.services.config import Settings
from tongxiu.services.demo import demo_key, register_departments
from tongxiu.services.ports import ManualClock
from tongxiu.services.sdk import Producer


def test_two_ledgers_one_database(tmp_path: Path) -> None:
    clock = ManualClock(T0)
    settings = Settings(data_dir=tmp_path)
    a = open_embedded(settings, clock=clock)
    b = open_embedded(settings, clock=clock)
    try:
        a.ledger.registry()  # A caches the registry before B registers anyone
        register_departments(b, LocalTransport(b), clock)
        pa = Producer(LocalTransport(a), "samr-deqing", demo_key("samr-deqing"))
        pb = Producer(LocalTransport(b), "samr-deqing", demo_key("samr-deqing"))
        assert pa.publish(CODE, [decision()], occurred_at=clock.now()).accepted
        results = []

        errors: list[BaseException] = []

        def pay(producer: Producer, n: int) -> None:
            try:
                for i in range(n):
                    r = producer.publish(CODE, [PenaltyFulfilled(decision_no="D1", amount_paid_yuan=50000,
                                                                  fulfilled_on=T0.date())],
                                         submission_id=f"{id(producer)}-{i}", occurred_at=clock.now())
                    results.append(r)
            except BaseException as exc:  # surfaced below: a thread's exception is otherwise lost
                errors.append(exc)

        threads = [threading.Thread(target=pay, args=(p, 15)) for p in (pa, pb)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        assert all(r.accepted for r in results)
        seqs = sorted(r.events[0].seq for r in results)
        assert seqs == list(range(2, 32))
        assert verify_streams(a.log).ok
        a.process()
        assert a.enterprise_state(CODE).seq == 31
    finally:
        a.close()
        b.close()
