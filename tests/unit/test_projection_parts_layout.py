"""Issue 11, session 14: fewer rows and pages per submission in the embedded read models.

* The projector leaves out a document's head when it equals the head this cache last wrote
  (a due-date day's and a department's supervision head never change: only their rows move).
* A new database keeps ``projection_parts`` in a rowid table (a part of up to ~4 KB stays in its
  row's page; ``WITHOUT ROWID`` spilled rows over ~1,000 bytes into overflow pages) and rewrites
  a part in place; a database created before keeps its ``WITHOUT ROWID`` table, and both
  layouts are read and written the same."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, timedelta
from pathlib import Path
from typing import Any

import pytest

from bench.write_replay import build_workload
from tongxiu.infra.bootstrap import open_embedded
from tongxiu.projections.documents import HEAD
from tongxiu.services.app import Tongxiu
from tongxiu.services.config import Settings
from tongxiu.services.demo import START, register_only
from tongxiu.services.ports import ManualClock

FIRST_LAYOUT = (  # the read models' table of a database created before this change
    "CREATE TABLE projection_parts (projection TEXT NOT NULL, key TEXT NOT NULL, part TEXT NOT NULL,"
    " state TEXT NOT NULL, PRIMARY KEY (projection, key, part)) WITHOUT ROWID"
)


def _open(data: Path, *, first_layout: bool) -> Tongxiu:
    if first_layout:
        data.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(data / "ledger.sqlite3")
        conn.execute(FIRST_LAYOUT)
        conn.commit()
        conn.close()
    clock = ManualClock((START + timedelta(days=20, hours=1)).astimezone(UTC))
    app = open_embedded(Settings(data_dir=data), clock=clock)
    register_only(app)
    app.process()
    return app


def _parts(app: Tongxiu) -> list[tuple[str, str, Any]]:
    conn = app.log.db.conn  # type: ignore[attr-defined]
    return [(k, p, json.loads(s)) for k, p, s in conn.execute(
        "SELECT key, part, state FROM projection_parts ORDER BY key, part").fetchall()]


def _unkeyed(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _unkeyed(v) for k, v in value.items() if k not in ("last_hash", "hash")}
    if isinstance(value, list):
        return [_unkeyed(v) for v in value]
    return value


def _table_sql(app: Tongxiu) -> str:
    (sql,) = app.log.db.conn.execute(  # type: ignore[attr-defined]
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'projection_parts'").fetchone()
    return str(sql)


@pytest.mark.parametrize("first_layout", [False, True], ids=["new", "first-layout"])
def test_layouts_and_unchanged_heads(tmp_path: Path, first_layout: bool) -> None:
    app = _open(tmp_path / "a", first_layout=first_layout)
    try:
        assert ("WITHOUT ROWID" in _table_sql(app)) is first_layout
        work = build_workload(400)
        for sub in work.submissions[:40]:  # warm: every document written once from this cache
            assert app.submit(sub).accepted
        conn = app.log.db.conn  # type: ignore[attr-defined]
        before = {k for (k,) in conn.execute("SELECT DISTINCT key FROM projection_parts")}
        rowids = dict(conn.execute("SELECT key || '|' || part, rowid FROM projection_parts").fetchall()) \
            if not first_layout else {}
        rows: list[tuple[str, str]] = []
        real = conn.executemany

        class Spy:  # sqlite3.Connection's methods are read-only: wrap the one the store calls
            def __getattr__(self, name: str) -> Any:
                return getattr(conn, name)

            def executemany(self, sql: str, params: Any) -> Any:
                params = list(params)
                if sql.lstrip().startswith("INSERT INTO projection_parts"):
                    rows.extend((p[1], p[2]) for p in params)
                return real(sql, params)

        db = app.log.db  # type: ignore[attr-defined]
        db.conn = Spy()
        try:
            for sub in work.submissions[40:]:
                assert app.submit(sub).accepted
        finally:
            db.conn = conn
        written_heads = {k for k, p in rows if p == HEAD}
        shared_rows = [(k, p) for k, p in rows if k.startswith(("supervision:", "due:")) and p != HEAD]
        # rows of shared documents this cache wrote before (its heads already stored) moved ...
        assert any(k.startswith("supervision:") and k in before for k, _ in shared_rows)
        assert any(k.startswith("due:") and k in before for k, _ in shared_rows)
        # ... and their heads, unchanged, were not written again: only a new document's was
        assert {k for k in written_heads if k.startswith(("supervision:", "due:"))} <= {
            k for k, _ in shared_rows if k not in before}
        # while every enterprise head (its seq moves with each event) was
        assert {k for k, _ in rows if k.startswith("enterprise:")} <= written_heads
        if not first_layout:  # rewritten in place: a part kept its row
            again = dict(conn.execute("SELECT key || '|' || part, rowid FROM projection_parts").fetchall())
            rewritten = {f"{k}|{p}" for k, p in rows if not k.startswith("due:")} & set(rowids)
            assert any(r.startswith("supervision:") for r in rewritten)
            assert any(r.startswith("enterprise:") for r in rewritten)
            assert {r: again[r] for r in rewritten} == {r: rowids[r] for r in rewritten}
        # the read models are exactly what a rebuild from the log gives
        incremental = _parts(app)
        app.rebuild()
        assert _parts(app) == incremental
    finally:
        app.close()


def test_both_layouts_hold_the_same_read_models(tmp_path: Path) -> None:
    work = build_workload(300)
    apps = [_open(tmp_path / "new", first_layout=False), _open(tmp_path / "old", first_layout=True)]
    try:
        for sub in work.submissions:
            assert all(a.submit(sub).accepted for a in apps)
        # the same read models (each ledger signs with its own key: the registry's and the
        # hashes its own facts chain into differ, not the layout's doing)
        new, old = ([(k, p, _unkeyed(v)) for k, p, v in _parts(a) if k != "registry"] for a in apps)
        assert new == old
        assert any(len(json.dumps(v, ensure_ascii=False).encode()) > 1200 for _, _, v in new)  # rows that overflowed
    finally:
        for a in apps:
            a.close()
    reopened = open_embedded(Settings(data_dir=tmp_path / "old"))  # an old database stays in its layout
    try:
        assert "WITHOUT ROWID" in _table_sql(reopened)
    finally:
        reopened.close()
