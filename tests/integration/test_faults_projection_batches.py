"""A projection writer killed between two Cassandra batches (the defect the 3-node fault test
found: a supervision read model with 46 penalties where a rebuild gives 60), on the real
Cassandra: the worker's projector saves through a store whose batch execution fails after
``k`` batches, the events are delivered again (by a restarted worker: a new store; or by the
same one retrying), and every read model must equal a fresh rebuild from the log, for every
``k``. With the old splitting (one save cut at arbitrary statement boundaries, enterprise
heads first) a head's seq or seen-watermarks became durable without the tallies they guard
and the redelivered events were skipped. Also: the batch sizes counted by
``infra/cassandra_batches.py`` are an upper bound of what the server counts, and a document
above the batch threshold is written whole."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.integration.pipeline import decision_no, enterprise_codes, rebuild, register, strip
from tongxiu.events.envelope import Envelope
from tongxiu.events.models import REGISTRY_STREAM
from tongxiu.infra.bootstrap import open_embedded
from tongxiu.infra.cassandra_batches import MAX_BATCH_BYTES, row_cost
from tongxiu.infra.cassandra_store import CassandraProjectionStore
from tongxiu.infra.embedded import LocalTransport
from tongxiu.infra.verify_projections import differences
from tongxiu.projections.keys import PROJECTION, supervision_key
from tongxiu.services.app import Tongxiu
from tongxiu.services.config import Settings
from tongxiu.services.demo import demo_key
from tongxiu.services.ports import ManualClock
from tongxiu.services.sdk import Producer
from tongxiu.streams.projector import Projector

pytestmark = pytest.mark.integration

SMALL_BATCH = 1_500
"""A batch budget that cuts one save of a few documents into many batches."""


class Killed(Exception):
    """The writer "dies" here: the remaining batches are never sent."""


class DyingStore(CassandraProjectionStore):
    """Executes ``allowed`` batches, then fails every later one."""

    def __init__(self, *args: Any, allowed: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.allowed = allowed
        self.executed = 0

    def _execute_batch(self, batch: Any, cost: int) -> Any:
        if self.executed >= self.allowed:
            raise Killed(f"killed after {self.executed} batches")
        self.executed += 1
        return super()._execute_batch(batch, cost)


class MeasuringStore(CassandraProjectionStore):
    """Records, per batch, the size counted here and the size the server reports (in its
    batch-size warning, sent above 5 KiB; None below)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sizes: list[tuple[int, int | None]] = []

    def _execute_batch(self, batch: Any, cost: int) -> Any:
        result = super()._execute_batch(batch, cost)
        warnings = result.response_future.warnings or []
        server = [int(m.group(1)) for w in warnings if (m := re.search(r"is of size (\d+)", w))]
        self.sizes.append((cost, server[0] if server else None))
        return result


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Tongxiu]:
    """An embedded ledger that makes the events (its clock at the present: the SDK signs now)."""
    ledger = open_embedded(Settings(data_dir=tmp_path / "ledger"), clock=ManualClock(datetime.now(UTC)))
    yield ledger
    ledger.close()


@pytest.fixture(scope="module")
def keyspace(cassandra_session: Any, fresh_keyspace: Callable[..., Settings]) -> Iterator[Settings]:
    """One keyspace for the module (the shared node's heap is the limit when several suites
    run at once); each test writes its own projection, or resets the projector's first."""
    yield fresh_keyspace("tongxiu_test_batches")


def ledger_events(app: Tongxiu, n: int) -> tuple[list[Envelope], list[Envelope]]:
    """The registry's events, then ``n`` penalty submissions (decision + notice) over 4
    enterprises, split in two halves by submission."""
    transport = LocalTransport(app)
    register(app, transport)
    samr = Producer(transport, "samr-deqing", demo_key("samr-deqing"), rules=app.rules)
    codes = enterprise_codes(4, tag="BT")
    for i in range(n):
        d = decision_no(i)
        r = samr.publish(codes[i % 4], [d, samr.notice_for(codes[i % 4], d, f"{d.decision_no}-告知")],
                         submission_id=f"bt-{i}")
        assert r.accepted, r
    events = [s.envelope for s in app.log.read_stream(REGISTRY_STREAM)]
    per_code = {c: [s.envelope for s in app.log.read_stream(c)] for c in codes}
    first, second = list(events), []
    for envs in per_code.values():  # each enterprise: its first half, then the rest
        half = len(envs) // 2
        first += envs[:half]
        second += envs[half:]
    return first, second


def assert_equals_rebuild(store: CassandraProjectionStore, app: Tongxiu, tmp: Path, what: str) -> None:
    fresh = rebuild(app.log, app.rules, tmp)
    keys = sorted(fresh.keys(PROJECTION))
    assert sorted(store.keys(PROJECTION)) == keys, what
    for key in keys:
        live, again = strip(store.load(PROJECTION, key)), strip(fresh.load(PROJECTION, key))
        assert live == again, (what, key, differences(live, again))


@pytest.mark.parametrize("redelivery", ["restarted worker", "same writer retries"])
def test_a_writer_killed_between_batches_loses_nothing_on_redelivery(
    app: Tongxiu, keyspace: Settings, cassandra_session: Any, tmp_path: Path, redelivery: str
) -> None:
    CassandraProjectionStore(cassandra_session, keyspace.keyspace).reset(PROJECTION)
    first, second = ledger_events(app, 12)
    penalties = app.supervision("samr-deqing").penalties
    assert penalties == 12
    # how many batches the second save takes (a clean run)
    probe = DyingStore(cassandra_session, keyspace.keyspace, allowed=10_000, max_batch_bytes=SMALL_BATCH)
    Projector(probe, app.log, app.rules).apply(first)
    before = probe.executed
    Projector(probe, app.log, app.rules).apply(second)
    batches = probe.executed - before
    assert batches >= 4, f"the second save should span several batches, took {batches}"
    assert_equals_rebuild(probe, app, tmp_path, "clean run")
    for allowed in range(1, batches):
        probe.reset(PROJECTION)
        store = DyingStore(cassandra_session, keyspace.keyspace, allowed=10_000, max_batch_bytes=SMALL_BATCH)
        Projector(store, app.log, app.rules).apply(first)
        store.allowed = store.executed + allowed
        with pytest.raises(Killed):
            Projector(store, app.log, app.rules).apply(second)
        if redelivery == "restarted worker":
            again = CassandraProjectionStore(cassandra_session, keyspace.keyspace, max_batch_bytes=SMALL_BATCH)
        else:
            store.allowed = 10_000
            again = store
        Projector(again, app.log, app.rules).apply(second)
        what = f"killed after {allowed} of {batches} batches, then {redelivery}"
        sup = again.load(PROJECTION, supervision_key("samr-deqing"))
        assert sup is not None, what
        assert_equals_rebuild(again, app, tmp_path, what)


def test_batch_sizes_counted_are_an_upper_bound_of_the_servers(
    keyspace: Settings, cassandra_session: Any
) -> None:
    """Saves packed up to the budget, of documents with many parts and of one-row documents
    (where the per-partition overhead weighs most): the server accepts every batch, and the
    size it reports is at most what was counted, and not far below it (measured: 1.04 for
    documents of many parts, 1.44 for one-row documents)."""
    store = MeasuringStore(cassandra_session, keyspace.keyspace)
    many_parts = {f"enterprise:E{i:03d}": {"enterprise": f"E{i:03d}", "seq": i, "credit": {"records": {
        f"德市监处罚〔2026〕{i}-{j}号": {"status": "active", "fine": "5000", "note": "责令改正" * 8}
        for j in range(6)}}} for i in range(60)}
    one_row = {f"registry-{i:03d}": {"seq": i, "name": "德清县市场监督管理局"} for i in range(400)}
    store.save("sizes", many_parts, 60)
    store.save("sizes", one_row, 460)
    measured = [(cost, server) for cost, server in store.sizes if server is not None]
    assert len(measured) >= 4, store.sizes
    for cost, server in measured:
        assert server <= cost <= MAX_BATCH_BYTES, (cost, server)
    full = [(cost, server) for cost, server in measured if cost > MAX_BATCH_BYTES * 0.9]
    assert full, store.sizes
    assert all(cost <= server * 1.5 for cost, server in full), full
    worst = max(cost / server for cost, server in measured)
    print(f"FAULT-FIGURE batch_sizes batches={len(store.sizes)} counted/server max={worst:.3f} "
          f"full={full[:3]}")
    again = CassandraProjectionStore(cassandra_session, keyspace.keyspace)
    assert again.load("sizes", "enterprise:E007") == many_parts["enterprise:E007"]
    assert again.load("sizes", "registry-399") == one_row["registry-399"]


def test_a_document_above_the_batch_threshold_is_written_whole(
    keyspace: Settings, cassandra_session: Any
) -> None:
    """A head far above Cassandra's 50 KiB batch threshold (a department's stream read model
    reached 240 KB in the seed fixture) saved with other documents: written in its own
    single-partition batch, which the server does not size-check."""
    store = CassandraProjectionStore(cassandra_session, keyspace.keyspace)
    big = {"enterprise": "dept:x", "seq": 1, "notes": ["处罚决定" * 40] * 400}
    assert row_cost("", str(big)) > 3 * MAX_BATCH_BYTES
    small = {f"registry-{i}": {"seq": i, "name": "德清县市场监督管理局"} for i in range(30)}
    store.save("big", {**small, "enterprise:dept:x": big}, 31)
    again = CassandraProjectionStore(cassandra_session, keyspace.keyspace)
    assert again.load("big", "enterprise:dept:x") == big
    assert all(again.load("big", k) == v for k, v in small.items())
    assert again.position("big") == 31


def test_a_failed_write_is_not_remembered_as_written(keyspace: Settings, cassandra_session: Any) -> None:
    """The store remembers the parts it wrote to write only the changes next time: a write
    that failed must not be remembered, or a retry of the same save (a part changed, the head
    not) would find nothing to write and the change would be lost."""
    store = DyingStore(cassandra_session, keyspace.keyspace, allowed=10_000)
    v1 = {"department": "samr-deqing", "months": {"2026-01": {"penalties": 1}, "2026-02": {"penalties": 4}}}
    v2 = {"department": "samr-deqing", "months": {"2026-01": {"penalties": 2}, "2026-02": {"penalties": 4}}}
    store.save("remembered", {"supervision:samr-deqing": v1}, 1)
    store.allowed = store.executed  # the next batch fails
    with pytest.raises(Killed):
        store.save("remembered", {"supervision:samr-deqing": v2}, 2)
    assert store.load("remembered", "supervision:samr-deqing") == v1
    store.allowed = 10_000
    store.save("remembered", {"supervision:samr-deqing": v2}, 2)  # the retry
    assert store.load("remembered", "supervision:samr-deqing") == v2
    assert CassandraProjectionStore(cassandra_session, keyspace.keyspace).load(
        "remembered", "supervision:samr-deqing") == v2
