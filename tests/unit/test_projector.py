"""The one projector (``tongxiu.streams.projector``), fed as the distributed backend feeds it:
by each stream's seq, whatever the order across streams, with redeliveries, gaps, a write that
reached only some documents, and documents in the older ``_seen`` layout. Each case must end
equal to the in-process result of the embedded backend (the demo's read models)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tongxiu.events.envelope import Envelope
from tongxiu.events.models import REGISTRY_STREAM
from tongxiu.infra.bootstrap import open_embedded
from tongxiu.infra.embedded import LocalInbox, LocalTransport
from tongxiu.infra.sqlite import Database, SqliteProjectionStore
from tongxiu.projections.documents import split
from tongxiu.projections.keys import PROJECTION, SEEN, enterprise_key, supervision_key
from tongxiu.services.app import Tongxiu
from tongxiu.services.config import Settings
from tongxiu.services.demo import START, run_demo
from tongxiu.services.ports import ManualClock, PartChanges
from tongxiu.streams.processor import rebuild
from tongxiu.streams.projector import OLD_SEEN, Projector


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tongxiu]:
    clock = ManualClock(START)
    app = open_embedded(Settings(data_dir=tmp_path_factory.mktemp("demo")), clock=clock)
    run_demo(app, clock, transport=LocalTransport(app), inbox=LocalInbox(app), say=lambda _: None)
    app.process()
    yield app
    app.close()


def docs(store: Any, *, positions: bool = True) -> dict[str, Any]:
    out = {k: store.load(PROJECTION, k) for k in store.keys(PROJECTION)}
    if not positions:  # an inbox entry's position is the count of events applied when delivered
        for doc in out.values():
            for entry in doc.get("pending", {}).values():
                entry.pop("position")
    return out


def projector_for(app: Tongxiu, tmp: Path) -> Projector:
    return Projector(SqliteProjectionStore(Database(tmp / "p.sqlite3")), app.log, app.rules)


def by_stream(app: Tongxiu) -> dict[str, list[Envelope]]:
    return {s: [e.envelope for e in app.log.read_stream(s)] for s in app.log.streams()}


def test_the_demo_has_what_the_cases_need(demo: Tongxiu) -> None:
    keys = demo.projections.keys(PROJECTION)
    assert any(k.startswith("inbox:") for k in keys) and any(k.startswith("supervision:") for k in keys)
    assert demo.read_models.position() == sum(demo.log.last_seq(s) for s in demo.log.streams())


def test_interleaved_redelivered_and_gapped_feed_equals_the_in_process_result(demo: Tongxiu, tmp_path: Path) -> None:
    streams = by_stream(demo)
    rng = random.Random(7)
    cursors = {s: 0 for s in streams}
    feed: list[Envelope] = list(streams.pop(REGISTRY_STREAM))  # a registration precedes its use
    while any(cursors[s] < len(streams[s]) for s in streams):
        s = rng.choice([s for s in streams if cursors[s] < len(streams[s])])
        step = rng.choice([1, 1, 1, 3])  # 3: skip two (a gap read back from the log)
        cursors[s] = min(cursors[s] + step, len(streams[s]))
        feed.append(streams[s][cursors[s] - 1])
        if rng.random() < 0.3:  # a redelivery of something already applied
            feed.append(streams[s][rng.randrange(cursors[s])])
    projector = projector_for(demo, tmp_path)
    applied = sum(projector.apply(feed[i:i + 5]) for i in range(0, len(feed), 5))
    assert applied == demo.read_models.position()
    assert projector.position() == demo.read_models.position()
    assert docs(projector.store, positions=False) == docs(demo.projections, positions=False)


def before_last(demo: Tongxiu, k: int) -> tuple[str, Projector]:
    """The demo enterprise's stream, and a projector that has applied everything but its last
    ``k`` events, chosen so that they change a department's supervision figures."""
    code = next(s for s in demo.log.streams() if s != REGISTRY_STREAM and not s.startswith("dept:"))
    streams = by_stream(demo)
    projector = Projector(SqliteProjectionStore(Database(":memory:")), demo.log, demo.rules)
    projector.apply([e for s, envs in streams.items() for e in (envs[:-k] if s == code else envs)])
    return code, projector


def sup_changed_by_last(demo: Tongxiu) -> tuple[str, str, Projector]:
    for k in range(1, 40):
        code, earlier = before_last(demo, k)
        for key in demo.projections.keys(PROJECTION):
            if key.startswith(supervision_key("")) and earlier.store.load(PROJECTION, key) != demo.projections.load(
                    PROJECTION, key):
                return code, key, earlier
    raise AssertionError("no supervision figure changes in the demo's last events")


def put(projector: Projector, key: str, doc: dict[str, Any]) -> None:
    projector.store.write(PROJECTION, {key: PartChanges(split(key, doc), whole=True)}, projector.position())
    projector.forget()


def test_a_write_that_reached_only_the_watermarked_documents_is_not_applied_twice(demo: Tongxiu, tmp_path: Path) -> None:
    """Cassandra writes documents in several batches: supervision and inboxes first, the
    enterprise state (the seq guard) last. A writer cut off between them leaves the
    supervision figures ahead of the enterprise; the redelivered events must not count twice."""
    code, sup_key, earlier = sup_changed_by_last(demo)
    projector = projector_for(demo, tmp_path)
    rebuild(projector, demo.log)
    old = earlier.store.load(PROJECTION, enterprise_key(code))
    assert old is not None
    put(projector, enterprise_key(code), old)  # every document written but the enterprise
    redelivered = by_stream(demo)[code][old["seq"]:]
    assert projector.apply(redelivered) == len(redelivered)
    assert docs(projector.store, positions=False) == docs(demo.projections, positions=False)


def test_documents_in_the_older_layout_are_read_and_rewritten(demo: Tongxiu, tmp_path: Path) -> None:
    """The distributed projector kept its watermarks inline in the head as ``_seen``: they
    are honoured, and a document in that layout is rewritten whole in the split layout."""
    code, sup_key, earlier = sup_changed_by_last(demo)
    projector = projector_for(demo, tmp_path)
    rebuild(projector, demo.log)
    done = projector.store.load(PROJECTION, sup_key)
    assert done is not None and done[SEEN]
    old = earlier.store.load(PROJECTION, enterprise_key(code))
    assert old is not None
    redelivered = by_stream(demo)[code][old["seq"]:]

    # figures already counted, watermarks inline: the redelivered events do not count again
    put(projector, sup_key, {**{k: v for k, v in done.items() if k != SEEN}, OLD_SEEN: done[SEEN]})
    put(projector, enterprise_key(code), old)
    assert projector.apply(redelivered) == len(redelivered)
    now, want = docs(projector.store, positions=False), docs(demo.projections, positions=False)
    assert now[sup_key]["months"] == want[sup_key]["months"]  # (untouched: still in the old layout)
    assert {k: v for k, v in now.items() if k != sup_key} == {k: v for k, v in want.items() if k != sup_key}

    # figures before them, watermarks inline: they count once, and the document is rewritten
    before = earlier.store.load(PROJECTION, sup_key)
    assert before is not None
    put(projector, sup_key, {**{k: v for k, v in before.items() if k != SEEN}, OLD_SEEN: before[SEEN]})
    put(projector, enterprise_key(code), old)
    assert projector.apply(redelivered) == len(redelivered)
    assert docs(projector.store, positions=False) == docs(demo.projections, positions=False)
    db = projector.store.db  # type: ignore[attr-defined]
    parts = {p for (p,) in db.conn.execute("SELECT part FROM projection_parts WHERE key = ?", (sup_key,))}
    assert f"{SEEN}/{code}" in parts
    head = projector.store.load_head(PROJECTION, sup_key)
    assert head is not None and OLD_SEEN not in head and head[SEEN] == {}


def test_a_ledger_written_before_the_one_projector_keeps_working(tmp_path: Path) -> None:
    """An embedded ledger from before: its saved position is the log position (the same
    number as the count of events applied), its supervision documents and inboxes carry no
    watermarks. Opened again, it goes on from there and ends equal to a rebuild."""
    from bench.long_history import cycles_for
    from bench.write_replay import enterprise_codes
    from tests.unit.test_incremental_storage import CLOCK_AT, fresh
    from tongxiu.services.ports import ManualClock

    app = fresh(tmp_path / "l")
    codes = enterprise_codes(2)
    for i, code in enumerate(codes):
        for sub in cycles_for(code, 1, first=10 * i)[0]:
            assert app.submit(sub).accepted
    db = app.log.db  # type: ignore[attr-defined]
    with db.transaction() as conn:  # the layout before: no watermark parts
        conn.execute("DELETE FROM projection_parts WHERE part LIKE ?", (f"{SEEN}/%",))
    app.close()
    again = open_embedded(Settings(data_dir=tmp_path / "l"), clock=ManualClock(CLOCK_AT))
    try:
        for i, code in enumerate(codes):
            for sub in cycles_for(code, 1, first=100 + 10 * i)[0]:
                assert again.submit(sub).accepted
        live = docs(again.projections)
        assert again.read_models.position() == sum(again.log.last_seq(s) for s in again.log.streams())
        again.rebuild()
        rebuilt = docs(again.projections)
        sup = supervision_key("samr-deqing")
        assert live[sup]["months"] == rebuilt[sup]["months"]
        assert {k: v for k, v in live.items() if k != sup} == {k: v for k, v in rebuilt.items() if k != sup}
    finally:
        again.close()
