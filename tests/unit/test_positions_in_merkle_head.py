"""Issue 11, session 15: a new embedded ledger keeps the read models' positions in the
transparency log's head row (``merkle_state.positions``, read through a ``positions`` view), so
a submission's commit writes that one row's page instead of two single-row tables' pages. A
ledger created before keeps its ``positions`` table. Either way the position moves in the same
transaction as the events, the leaves and the parts: a rollback or a SIGKILL leaves the
position, the tree's head and the read models consistent."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
from collections import Counter
from datetime import UTC, timedelta
from pathlib import Path
from typing import Any

import pytest

from bench.write_replay import build_workload
from tests.fixture_ledger import LEDGER_KEY, continue_ledger
from tongxiu.infra.bootstrap import open_embedded
from tongxiu.infra.sqlite import POSITIONS_TABLE
from tongxiu.infra.sqlite_merkle import SqliteTransparencyLog
from tongxiu.projections.keys import PROJECTION
from tongxiu.services.app import Tongxiu
from tongxiu.services.config import Settings
from tongxiu.services.demo import START, register_only
from tongxiu.services.ports import ManualClock
from tongxiu.services.transparency import verify_log
from tongxiu.streams.processor import FORMAT_KEY, READ_MODEL_FORMAT

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "ledger-2026-12-01" / "ledger.sqlite3"
ROOT = Path(__file__).resolve().parents[2]


def _clock() -> ManualClock:
    return ManualClock((START + timedelta(days=20, hours=1)).astimezone(UTC))


def _open(data: Path, *, positions_table: bool = False, clock: ManualClock | None = None) -> Tongxiu:
    """A fresh ledger; ``positions_table``: created with the table (as before this change)."""
    if positions_table:
        data.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(data / "ledger.sqlite3")
        conn.execute(POSITIONS_TABLE)
        conn.commit()
        conn.close()
    app = open_embedded(Settings(data_dir=data), clock=clock or _clock())
    register_only(app)
    app.process()
    return app


def _conn(app: Tongxiu) -> sqlite3.Connection:
    return app.log.db.conn  # type: ignore[attr-defined, no-any-return]


def _kind(conn: sqlite3.Connection, name: str) -> str | None:
    row = conn.execute("SELECT type FROM sqlite_master WHERE name = ?", (name,)).fetchone()
    return None if row is None else str(row[0])


def _columns(conn: sqlite3.Connection, table: str) -> list[str]:
    return [r[1] for r in conn.execute(f"PRAGMA table_info({table})")]


def _positions(conn: sqlite3.Connection) -> dict[str, int]:
    return dict(conn.execute("SELECT projection, position FROM positions ORDER BY projection").fetchall())


def _last_position(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT COALESCE(MAX(position), 0) FROM events").fetchone()[0])


def _parts(conn: sqlite3.Connection) -> list[tuple[str, str, Any]]:
    return [(k, p, json.loads(s)) for k, p, s in conn.execute(
        "SELECT key, part, state FROM projection_parts ORDER BY key, part").fetchall()]


def _wal_pages_by_btree(conn: sqlite3.Connection, wal: Path) -> tuple[Counter[str], int]:
    """The b-tree each WAL frame's page belongs to, and the number of commits in the WAL."""
    from bench.write_path import wal_frames

    pages, commits = wal_frames(str(wal))
    owner = {int(n): name for name, n in conn.execute("SELECT name, pageno FROM dbstat")}
    return Counter(owner.get(n, "?") for n in pages), commits


@pytest.mark.parametrize("positions_table", [False, True], ids=["new", "positions-table"])
def test_where_the_positions_are_and_the_pages_a_commit_writes(tmp_path: Path, positions_table: bool) -> None:
    app = _open(tmp_path / "a", positions_table=positions_table)
    try:
        conn = _conn(app)
        assert _kind(conn, "positions") == ("table" if positions_table else "view")
        assert ("positions" in _columns(conn, "merkle_state")) is not positions_table
        work = build_workload(300)
        for sub in work.submissions[:30]:
            assert app.submit(sub).accepted
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.execute("PRAGMA wal_autocheckpoint=0")
        timed = work.submissions[30:90]
        for sub in timed:
            assert app.submit(sub).accepted
        by_btree, commits = _wal_pages_by_btree(conn, Path(app.log.db.path + "-wal"))  # type: ignore[attr-defined]
        assert commits == len(timed)
        # every commit rewrites the Merkle head; the positions' own page only in the old layout
        assert by_btree["merkle_state"] == commits
        assert by_btree["positions"] == (commits if positions_table else 0)
        # the projection is where the log is, read the same way in both layouts
        positions = _positions(conn)
        assert positions[PROJECTION] == _last_position(conn)
        assert positions[FORMAT_KEY] == READ_MODEL_FORMAT
        if not positions_table:  # one row carries the tree's head and the positions
            size, frontier, kept = conn.execute("SELECT size, frontier, positions FROM merkle_state").fetchone()
            assert json.loads(kept) == positions and size > 0 and json.loads(frontier)
        incremental = _parts(conn)
        app.rebuild()
        assert _parts(conn) == incremental
        assert _positions(conn)[PROJECTION] == _last_position(conn)
    finally:
        app.close()
    reopened = open_embedded(Settings(data_dir=tmp_path / "a"), clock=_clock())  # each keeps its layout
    try:
        assert _kind(_conn(reopened), "positions") == ("table" if positions_table else "view")
        assert reopened.submit(work.submissions[90]).accepted
        assert _positions(_conn(reopened))[PROJECTION] == _last_position(_conn(reopened))
    finally:
        reopened.close()


def test_a_ledger_written_before_keeps_its_positions_table(tmp_path: Path) -> None:
    (tmp_path / "old").mkdir()
    shutil.copy(FIXTURE, tmp_path / "old" / "ledger.sqlite3")
    clock = ManualClock((START + timedelta(days=200)).astimezone(UTC))
    app = open_embedded(Settings(data_dir=tmp_path / "old"), clock=clock, key=LEDGER_KEY)
    try:
        conn = _conn(app)
        assert _kind(conn, "positions") == "table"
        assert "positions" not in _columns(conn, "merkle_state")
        assert continue_ledger(app).accepted
        assert _positions(conn)[PROJECTION] == _last_position(conn)
        assert verify_log(SqliteTransparencyLog(app.log.db), app.log).ok  # type: ignore[attr-defined]
    finally:
        app.close()


def test_a_rolled_back_submission_moves_neither_the_head_nor_the_positions(tmp_path: Path) -> None:
    app = _open(tmp_path / "a")
    try:
        conn = _conn(app)
        work = build_workload(200)
        for sub in work.submissions[:10]:
            assert app.submit(sub).accepted
        before = conn.execute("SELECT size, frontier, positions FROM merkle_state").fetchone()
        parts = _parts(conn)
        transparency = app.ledger.transparency
        assert transparency is not None
        real = transparency.receipt_logs

        def fail(*_a: Any, **_k: Any) -> Any:  # after the append and the projector's write
            raise RuntimeError("died before COMMIT")

        transparency.receipt_logs = fail  # type: ignore[method-assign]
        with pytest.raises(RuntimeError):
            app.submit(work.submissions[10])
        transparency.receipt_logs = real  # type: ignore[method-assign]
        assert conn.execute("SELECT size, frontier, positions FROM merkle_state").fetchone() == before
        assert _parts(conn) == parts
        for sub in work.submissions[10:20]:
            assert app.submit(sub).accepted
        assert _positions(conn)[PROJECTION] == _last_position(conn)
        assert verify_log(SqliteTransparencyLog(app.log.db), app.log).ok  # type: ignore[attr-defined]
        incremental = _parts(conn)
        app.rebuild()
        assert _parts(conn) == incremental
    finally:
        app.close()


WRITER = textwrap.dedent(
    """
    import sys
    from datetime import UTC, timedelta
    from pathlib import Path
    from bench.write_replay import build_workload
    from tongxiu.infra.bootstrap import open_embedded
    from tongxiu.services.config import Settings
    from tongxiu.services.demo import START
    from tongxiu.services.ports import ManualClock

    clock = ManualClock((START + timedelta(days=20, hours=1)).astimezone(UTC))
    app = open_embedded(Settings(data_dir=Path(sys.argv[1])), clock=clock)
    for n, sub in enumerate(build_workload(400).submissions[10:]):
        assert app.submit(sub).accepted
        print(n, flush=True)
    print("done", flush=True)
    """
)


def test_killed_mid_write_the_position_the_head_and_the_read_models_agree(tmp_path: Path) -> None:
    app = _open(tmp_path / "a")
    try:
        for sub in build_workload(400).submissions[:10]:
            assert app.submit(sub).accepted
    finally:
        app.close()
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path / "a")], cwd=ROOT,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    for line in proc.stdout:  # killed once it is well into its submissions, mid-way through one
        if line.strip() == "done" or int(line) >= 40:
            break
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    reopened = open_embedded(Settings(data_dir=tmp_path / "a"), clock=_clock())
    try:
        conn = _conn(reopened)
        last = _last_position(conn)
        assert last > 50  # the killed writer's commits are there
        assert _positions(conn)[PROJECTION] == last
        (size,) = conn.execute("SELECT size FROM merkle_state").fetchone()
        (leaves,) = conn.execute("SELECT COUNT(*) FROM merkle_leaves").fetchone()
        assert size == leaves
        assert verify_log(SqliteTransparencyLog(reopened.log.db), reopened.log).ok  # type: ignore[attr-defined]
        incremental = _parts(conn)
        reopened.rebuild()
        assert _parts(conn) == incremental
    finally:
        reopened.close()


def test_the_tree_rebuilt_in_place_keeps_the_positions(tmp_path: Path) -> None:
    """``sqlite_merkle.rebuild`` (a ledger's tree built from its log) resets the head's row in
    place: the read models' positions in it stay."""
    from tongxiu.infra import sqlite_merkle

    app = _open(tmp_path / "a")
    try:
        conn = _conn(app)
        for sub in build_workload(200).submissions[:10]:
            assert app.submit(sub).accepted
        before = _positions(conn)
        head = conn.execute("SELECT size, frontier FROM merkle_state").fetchone()
        with app.log.db.transaction():  # type: ignore[attr-defined]
            sqlite_merkle.rebuild(conn)
        assert _positions(conn) == before and before[PROJECTION] == _last_position(conn)
        assert conn.execute("SELECT size, frontier FROM merkle_state").fetchone() == head
    finally:
        app.close()
