"""On the real Cassandra: projection workers that share the events topic's partitions (each a
shard, ``Projector.apply(shard=...)``) leave the read models a rebuild gives; and an enterprise
read model above Cassandra's 16 MiB mutation limit does not stop the projector (its changes
are written as the rows they touch; a rewrite of the whole document spans batches, head last).
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.integration.pipeline import decision_no, enterprise_codes, rebuild, register
from tests.unit.test_projector_shards import normalised
from tongxiu.events.models import REGISTRY_STREAM
from tongxiu.infra.bootstrap import open_embedded
from tongxiu.infra.cassandra_batches import MAX_DOCUMENT_BYTES
from tongxiu.infra.cassandra_store import CassandraProjectionStore
from tongxiu.infra.embedded import LocalTransport
from tongxiu.projections.documents import HEAD
from tongxiu.projections.keys import PROJECTION, enterprise_key
from tongxiu.services.app import Tongxiu
from tongxiu.services.config import Settings
from tongxiu.services.demo import demo_key
from tongxiu.services.ports import ManualClock, PartChanges
from tongxiu.services.sdk import Producer
from tongxiu.streams.projector import Projector

pytestmark = pytest.mark.integration

MUTATION_LIMIT = 16 * 1024 * 1024


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Tongxiu]:
    ledger = open_embedded(Settings(data_dir=tmp_path / "ledger"), clock=ManualClock(datetime.now(UTC)))
    transport = LocalTransport(ledger)
    register(ledger, transport)
    samr = Producer(transport, "samr-deqing", demo_key("samr-deqing"), rules=ledger.rules)
    codes = enterprise_codes(6, tag="MC")
    for i in range(24):
        d = decision_no(i)
        r = samr.publish(codes[i % 6], [d, samr.notice_for(codes[i % 6], d, f"{d.decision_no}-告知")],
                         submission_id=f"cs-{i}")
        assert r.accepted, r
    yield ledger
    ledger.close()


@pytest.fixture(scope="module")
def keyspace(cassandra_session: Any, fresh_keyspace: Callable[..., Settings]) -> Iterator[Settings]:
    yield fresh_keyspace("tongxiu_test_shards")


def test_two_sharded_writers_equal_a_rebuild(app: Tongxiu, keyspace: Settings, cassandra_session: Any,
                                             tmp_path: Path) -> None:
    CassandraProjectionStore(cassandra_session, keyspace.keyspace).reset(PROJECTION)
    writers = [Projector(CassandraProjectionStore(cassandra_session, keyspace.keyspace), app.log, app.rules)
               for _ in range(2)]
    streams = {s: [e.envelope for e in app.log.read_stream(s)] for s in app.log.streams()}
    shard = {s: str(i % 4) for i, s in enumerate(sorted(streams))}
    writers[0].apply(streams.pop(REGISTRY_STREAM), shard=shard[REGISTRY_STREAM])
    rng = random.Random(5)
    cursors = {s: 0 for s in streams}
    while any(cursors[s] < len(streams[s]) for s in streams):
        s = rng.choice([s for s in streams if cursors[s] < len(streams[s])])
        n = rng.choice([1, 3])
        writers[int(shard[s]) % 2].apply(streams[s][cursors[s]:cursors[s] + n], shard=shard[s])
        cursors[s] += n
    store = CassandraProjectionStore(cassandra_session, keyspace.keyspace)
    fresh = rebuild(app.log, app.rules, tmp_path)
    assert store.position(PROJECTION) == fresh.position(PROJECTION)
    assert normalised(store) == normalised(fresh)
    sup = store.load(PROJECTION, "supervision:samr-deqing")
    assert sup is not None and len({m.split("@")[1] for m in sup["months"]}) == 4  # every shard tallied
    assert app.supervision("samr-deqing").penalties == 24
    # tongxiu verify --projections agrees (the shards' tallies added up, their inbox positions left out)
    from types import SimpleNamespace

    from tongxiu.infra.verify_projections import verify_projections

    check = verify_projections(SimpleNamespace(log=app.log, rules=app.rules, projections=store))
    assert check.ok and check.documents > 8, check.differences[:3]


SCALE = int(os.environ.get("TONGXIU_BIG_VIEW_SCALE", "8"))
"""The view is 17 MiB / SCALE and the store's per-batch document budget 8 MiB / SCALE, so the
document spans batches as a 17 MiB one does at the defaults. The shared test Cassandra has a
1 GiB heap: at SCALE=1 (the real 17 MiB) this test passed alone (2026-12-01 19:20) but, run
beside other suites, the node died of OutOfMemoryError (19:53); run SCALE=1 on a server of its own."""


def test_a_view_above_the_mutation_limit_does_not_stop_the_projector(
    app: Tongxiu, keyspace: Settings, cassandra_session: Any, tmp_path: Path
) -> None:
    """One enterprise whose read model is above Cassandra's 16 MiB mutation limit (at
    ``SCALE``, that limit and the store's budget divided alike): the next event is applied (the
    write is the rows it changed), and a rewrite of the whole document also goes through, in
    batches under the budget, head last."""
    store = CassandraProjectionStore(cassandra_session, keyspace.keyspace,
                                     max_document_bytes=MAX_DOCUMENT_BYTES // SCALE)
    store.reset(PROJECTION)
    code = enterprise_codes(6, tag="MC")[0]
    events = {s: [e.envelope for e in app.log.read_stream(s)] for s in app.log.streams()}
    last = events[code][-2:]  # its last submission: decision + notice
    Projector(store, app.log, app.rules).apply(
        [e for s, envs in events.items() for e in (envs[:-2] if s == code else envs)])
    doc = store.load(PROJECTION, enterprise_key(code))
    assert doc is not None
    template = next(iter(doc["credit"]["records"].values()))
    filler = "违法事实：" + "当事人未按规定公示年度报告，责令限期改正。" * 320  # ~7.4 KB of text
    count = 2_400 // SCALE
    parts = {f"credit.records/假{i:05d}号": {**template, "decision_no": f"假{i:05d}号", "basis": filler}
             for i in range(count)}
    size = sum(len(str(v).encode()) for v in parts.values())
    assert size > MUTATION_LIMIT // SCALE, size
    store.write(PROJECTION, {enterprise_key(code): PartChanges(parts)}, store.position(PROJECTION))

    def fresh_store() -> CassandraProjectionStore:
        return CassandraProjectionStore(cassandra_session, keyspace.keyspace, max_document_bytes=MAX_DOCUMENT_BYTES // SCALE)

    projector = Projector(fresh_store(), app.log, app.rules)
    assert projector.apply(last) == 2
    after = store.load(PROJECTION, enterprise_key(code))
    assert after is not None and after["seq"] == events[code][-1].seq
    assert len(after["credit"]["records"]) == count + len(doc["credit"]["records"]) + 1
    assert store.load(PROJECTION, "supervision:samr-deqing") is not None

    # the same document as written before its collections were rows (an inspection in its
    # head): the next write rewrites all ~17 MiB of it, in batches under the limit, head last
    head = store.load_head(PROJECTION, enterprise_key(code))
    assert head is not None
    head["inspections"] = {"I-old": {"inspection_id": "I-old", "departments": ["samr-deqing"], "officers": ["甲"],
                                     "code_shown": True, "joint": False, "started_at": "2026-01-05T01:00:00Z",
                                     "started_by": "samr-deqing"}}
    store.write(PROJECTION, {enterprise_key(code): PartChanges({HEAD: head})}, store.position(PROJECTION))
    samr = Producer(LocalTransport(app), "samr-deqing", demo_key("samr-deqing"), rules=app.rules)
    d = decision_no(100)
    assert samr.publish(code, [d], submission_id="cs-100").accepted
    newer = [e.envelope for e in app.log.read_stream(code, from_seq=events[code][-1].seq + 1)]
    again = Projector(fresh_store(), app.log, app.rules)
    assert again.apply(newer) == len(newer) == 1
    final = store.load(PROJECTION, enterprise_key(code))
    assert final is not None and final["seq"] == newer[-1].seq
    assert "I-old" in final["inspections"] and len(final["credit"]["records"]) == len(after["credit"]["records"]) + 1
    stored_head = store.load_head(PROJECTION, enterprise_key(code))
    assert stored_head is not None and stored_head["inspections"] == {}
    assert size > 2 * MAX_DOCUMENT_BYTES // SCALE  # so that rewrite took several single-partition batches
    store.reset(PROJECTION)


class Killed(Exception):
    pass


class DyingStore(CassandraProjectionStore):
    """Executes ``allowed`` batches, then fails every later one (the process "dies")."""

    def __init__(self, *args: Any, allowed: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.allowed = allowed

    def _execute_batch(self, batch: Any, cost: int) -> Any:
        if self.allowed <= 0:
            raise Killed()
        self.allowed -= 1
        return super()._execute_batch(batch, cost)


def test_a_rebuild_in_two_parts_side_by_side_equals_a_full_one_and_a_killed_part_resumes(
    app: Tongxiu, keyspace: Settings, cassandra_session: Any, tmp_path: Path
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from tongxiu.streams.rebuild_parts import checkpoint, rebuild_part, reset

    ks = keyspace.keyspace
    reset(CassandraProjectionStore(cassandra_session, ks))
    dying = DyingStore(cassandra_session, ks, allowed=4)
    with pytest.raises(Killed):  # part 1 dies after a few batches
        rebuild_part(Projector(dying, app.log, app.rules), app.log, 1, 2, page=6)
    stopped = checkpoint(CassandraProjectionStore(cassandra_session, ks), 1, 2)
    assert stopped["after"]  # it got through some streams

    def run(part: int) -> int:  # part 0 from the start, part 1 resumed: at once, in two threads
        store = CassandraProjectionStore(cassandra_session, ks)
        return rebuild_part(Projector(store, app.log, app.rules), app.log, part, 2, page=6)

    with ThreadPoolExecutor(2) as pool:
        totals = list(pool.map(run, [0, 1]))
    store = CassandraProjectionStore(cassandra_session, ks)
    fresh = rebuild(app.log, app.rules, tmp_path)
    # (the killed part's batches that reached Cassandra without its position row are applied
    # but not counted: the applied-count can stay below the log's size, as after any kill)
    assert store.position(PROJECTION) == sum(totals) <= fresh.position(PROJECTION)
    assert normalised(store) == normalised(fresh)
    reset(store)
