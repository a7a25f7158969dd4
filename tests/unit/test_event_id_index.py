"""Issue 11, session 10: a new embedded ledger indexes its event ids once.

Before, ``events.event_id UNIQUE`` and ``merkle_leaves_by_ref`` each indexed the same random
UUIDs (about two pages each written per commit). A new ledger keeps the event ids in one UNIQUE
partial index of the transparency log's event leaves (written in the append's transaction, so a
repeated event id still refuses the whole append) and the rejection digests in another; a
ledger created before keeps both of its indexes, and both layouts are read and written."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import CODE, OTHER, decision
from tongxiu.infra.bootstrap import open_embedded
from tongxiu.infra.sqlite_merkle import SqliteTransparencyLog
from tongxiu.services.app import Tongxiu
from tongxiu.services.audit import verify_streams
from tongxiu.services.config import Settings
from tongxiu.services.demo import demo_key, register_only
from tongxiu.services.ports import ManualClock
from tongxiu.services.submission import sign_submission
from tongxiu.services.transparency import verify_log

FIRST_LAYOUT = [  # what a ledger created before this change holds (only what differs matters)
    "CREATE TABLE events (position INTEGER PRIMARY KEY, stream TEXT NOT NULL, seq INTEGER NOT NULL,"
    " event_id TEXT NOT NULL UNIQUE, type TEXT NOT NULL, department TEXT NOT NULL, submission_id TEXT NOT NULL,"
    " occurred_at TEXT NOT NULL, recorded_at TEXT NOT NULL, raw TEXT NOT NULL, UNIQUE (stream, seq))",
    "CREATE TABLE merkle_leaves (idx INTEGER PRIMARY KEY, hash BLOB NOT NULL, kind TEXT NOT NULL, ref TEXT NOT NULL)",
    "CREATE INDEX merkle_leaves_by_ref ON merkle_leaves (ref)",
]


def _open(data: Path, clock: ManualClock, *, first_layout: bool) -> Tongxiu:
    if first_layout and not (data / "ledger.sqlite3").exists():
        data.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(data / "ledger.sqlite3")
        for statement in FIRST_LAYOUT:
            conn.execute(statement)
        conn.commit()
        conn.close()
    return open_embedded(Settings(data_dir=data), clock=clock)


@pytest.fixture(params=[False, True], ids=["new", "first-layout"])
def app(request: pytest.FixtureRequest, tmp_path: Path, clock: ManualClock) -> Iterator[Tongxiu]:
    app = _open(tmp_path / "ledger", clock, first_layout=request.param)
    register_only(app)
    app.process()
    yield app
    app.close()


def _submit(app: Tongxiu, clock: ManualClock, stream: str, sid: str, no: str) -> None:
    sub = sign_submission(demo_key("samr-deqing"), department="samr-deqing", stream=stream, submission_id=sid,
                          occurred_at=clock.now(), events=[decision(no)])
    receipt = app.submit(sub)
    assert receipt.accepted, receipt.reasons


def _indexes(conn: sqlite3.Connection) -> dict[str, list[str]]:
    """Index name -> indexed columns, of the events and merkle_leaves tables."""
    out = {}
    for table in ("events", "merkle_leaves"):
        for row in conn.execute(f"PRAGMA index_list({table})").fetchall():
            out[row[1]] = [r[2] for r in conn.execute(f"PRAGMA index_info('{row[1]}')").fetchall()]
    return out


def test_a_new_ledger_indexes_event_ids_once_and_an_old_one_keeps_its_indexes(
    app: Tongxiu, request: pytest.FixtureRequest
) -> None:
    first = request.node.callspec.params["app"]
    indexes = _indexes(app.log.db.conn)
    on_event_id = sorted(name for name, cols in indexes.items() if cols in (["event_id"], ["ref"]))
    if first:
        assert on_event_id == ["merkle_leaves_by_ref", "sqlite_autoindex_events_1"]
    else:
        assert on_event_id == ["merkle_event_refs", "merkle_rejection_refs"]


def test_leaves_are_located_by_event_id_and_rejection_digest(app: Tongxiu, clock: ManualClock) -> None:
    _submit(app, clock, CODE, "s1", "D1")
    bad = sign_submission(demo_key("samr-deqing"), department="samr-deqing", stream=CODE, submission_id="s2",
                          occurred_at=clock.now(), events=[decision("D1")])  # the same decision again
    assert not app.submit(bad).accepted
    _submit(app, clock, OTHER, "s3", "D2")
    app.close()
    reopened = open_embedded(Settings(data_dir=Path(app.log.db.path).parent), clock=clock)
    try:
        tlog = SqliteTransparencyLog(reopened.log.db)
        entries = tlog.entries(limit=10_000)
        assert {e.kind for e in entries} == {"event", "rejection"}
        for e in entries:  # outside a transaction: read from the file, not from what the append left
            assert tlog.locate(e.ref) == e.index
        assert tlog.locate("no-such-ref") is None
        conn = reopened.log.db.conn
        if "merkle_event_refs" in _indexes(conn):  # each look-up reads its index, not the table
            for sql in ("SELECT idx FROM merkle_leaves WHERE ref = ? AND kind = 'event'",
                        "SELECT MIN(idx) FROM merkle_leaves WHERE ref = ? AND kind = 'rejection'"):
                plan = " ".join(str(r[-1]) for r in conn.execute("EXPLAIN QUERY PLAN " + sql, ("x",)))
                assert "USING INDEX merkle_" in plan or "USING COVERING INDEX merkle_" in plan, plan
        assert verify_streams(reopened.log).ok
        assert verify_log(tlog, reopened.log).ok
    finally:
        reopened.close()


def test_an_event_id_appended_twice_is_refused_whole(app: Tongxiu, clock: ManualClock) -> None:
    _submit(app, clock, CODE, "s1", "D1")
    stored = app.log.read_stream(CODE)[-1].envelope
    again = stored.model_copy(update={"stream": OTHER, "seq": 1})  # the same event id, in another stream
    tlog = SqliteTransparencyLog(app.log.db)
    before = (app.log.last_position(), tlog.head())
    with pytest.raises(sqlite3.IntegrityError):
        app.log.append(OTHER, 0, [again])
    assert (app.log.last_position(), tlog.head()) == before
    assert app.log.read_stream(OTHER) == []
    _submit(app, clock, OTHER, "s2", "D2")  # the ledger goes on
    assert verify_log(tlog, app.log).ok
