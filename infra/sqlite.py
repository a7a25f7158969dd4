"""The embedded backend: every port on one SQLite file (WAL mode), no servers.

One connection guarded by a lock, so the CLI, the in-process processors and the HTTP
service's worker threads can share it. Appends, projection saves and their positions are
single SQLite transactions.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from events.envelope import Envelope, Receipt
from services.ports import (
    ConcurrencyError,
    EventLog,
    OffsetStore,
    ProjectionStore,
    RejectionLog,
    RejectionRecord,
    StoredEvent,
)

SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    position      INTEGER PRIMARY KEY AUTOINCREMENT,
    stream        TEXT NOT NULL,
    seq           INTEGER NOT NULL,
    event_id      TEXT NOT NULL UNIQUE,
    type          TEXT NOT NULL,
    department    TEXT NOT NULL,
    submission_id TEXT NOT NULL,
    occurred_at   TEXT NOT NULL,
    recorded_at   TEXT NOT NULL,
    raw           TEXT NOT NULL,
    UNIQUE (stream, seq)
);
CREATE INDEX IF NOT EXISTS events_by_submission ON events (department, submission_id);
CREATE TABLE IF NOT EXISTS rejections (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    department    TEXT NOT NULL,
    submission_id TEXT NOT NULL,
    stream        TEXT NOT NULL,
    authenticated INTEGER NOT NULL,
    recorded_at   TEXT NOT NULL,
    codes         TEXT NOT NULL,
    receipt       TEXT NOT NULL,
    submission    TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS rejections_by_submission ON rejections (department, submission_id);
CREATE TABLE IF NOT EXISTS projections (
    projection TEXT NOT NULL,
    key        TEXT NOT NULL,
    state      TEXT NOT NULL,
    PRIMARY KEY (projection, key)
);
CREATE TABLE IF NOT EXISTS positions (
    projection TEXT PRIMARY KEY,
    position   INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS offsets (
    consumer TEXT PRIMARY KEY,
    position INTEGER NOT NULL
);
"""


class Database:
    """One SQLite file shared by the adapters below."""

    def __init__(self, path: Path | str) -> None:
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.path = str(path)
        self.conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.executescript(SCHEMA)
        self.lock = threading.RLock()

    def close(self) -> None:
        with self.lock:
            self.conn.close()


def _stored(row: tuple[int, str]) -> StoredEvent:
    position, raw = row
    return StoredEvent(envelope=Envelope.from_json(raw), raw=raw, position=position)


class SqliteEventLog(EventLog):
    def __init__(self, db: Database) -> None:
        self.db = db

    def append(self, stream: str, expected_seq: int, envelopes: Sequence[Envelope]) -> None:
        rows = [
            (
                e.stream,
                e.seq,
                e.event_id,
                e.type,
                e.department,
                e.submission_id,
                e.occurred_at.isoformat(),
                e.recorded_at.isoformat(),
                e.to_json(),
            )
            for e in envelopes
        ]
        for n, e in enumerate(envelopes):
            if e.stream != stream or e.seq != expected_seq + 1 + n:
                raise ValueError(f"envelope {e.event_id} is not seq {expected_seq + 1 + n} of {stream}")
        with self.db.lock:
            conn = self.db.conn
            conn.execute("BEGIN IMMEDIATE")
            try:
                (last,) = conn.execute(
                    "SELECT COALESCE(MAX(seq), 0) FROM events WHERE stream = ?", (stream,)
                ).fetchone()
                if last != expected_seq:
                    raise ConcurrencyError(f"{stream}: expected seq {expected_seq}, found {last}")
                conn.executemany(
                    "INSERT INTO events (stream, seq, event_id, type, department, submission_id,"
                    " occurred_at, recorded_at, raw) VALUES (?,?,?,?,?,?,?,?,?)",
                    rows,
                )
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

    def read_stream(self, stream: str, *, from_seq: int = 1) -> list[StoredEvent]:
        with self.db.lock:
            rows = self.db.conn.execute(
                "SELECT position, raw FROM events WHERE stream = ? AND seq >= ? ORDER BY seq", (stream, from_seq)
            ).fetchall()
        return [_stored(r) for r in rows]

    def last_seq(self, stream: str) -> int:
        with self.db.lock:
            (last,) = self.db.conn.execute(
                "SELECT COALESCE(MAX(seq), 0) FROM events WHERE stream = ?", (stream,)
            ).fetchone()
        return int(last)

    def streams(self) -> list[str]:
        with self.db.lock:
            rows = self.db.conn.execute("SELECT DISTINCT stream FROM events ORDER BY stream").fetchall()
        return [r[0] for r in rows]

    def read_all(self, *, after: int = 0, limit: int = 1000) -> list[StoredEvent]:
        with self.db.lock:
            rows = self.db.conn.execute(
                "SELECT position, raw FROM events WHERE position > ? ORDER BY position LIMIT ?", (after, limit)
            ).fetchall()
        return [_stored(r) for r in rows]

    def find_submission(self, department: str, submission_id: str) -> list[StoredEvent]:
        with self.db.lock:
            rows = self.db.conn.execute(
                "SELECT position, raw FROM events WHERE department = ? AND submission_id = ? ORDER BY position",
                (department, submission_id),
            ).fetchall()
        return [_stored(r) for r in rows]

    def tamper_for_test(self, stream: str, seq: int, raw: str) -> None:
        with self.db.lock:
            self.db.conn.execute("UPDATE events SET raw = ? WHERE stream = ? AND seq = ?", (raw, stream, seq))


class SqliteRejectionLog(RejectionLog):
    def __init__(self, db: Database) -> None:
        self.db = db

    def record(self, rejection: RejectionRecord) -> None:
        r = rejection.receipt
        with self.db.lock:
            self.db.conn.execute(
                "INSERT INTO rejections (department, submission_id, stream, authenticated, recorded_at, codes,"
                " receipt, submission) VALUES (?,?,?,?,?,?,?,?)",
                (
                    r.department,
                    r.submission_id,
                    r.stream,
                    int(rejection.authenticated),
                    r.recorded_at.isoformat(),
                    ",".join(r.codes),
                    r.model_dump_json(),
                    json.dumps(rejection.submission, ensure_ascii=False),
                ),
            )

    def get(self, department: str, submission_id: str) -> RejectionRecord | None:
        with self.db.lock:
            row = self.db.conn.execute(
                "SELECT receipt, submission, authenticated FROM rejections WHERE department = ? AND"
                " submission_id = ? AND authenticated = 1 ORDER BY id LIMIT 1",
                (department, submission_id),
            ).fetchone()
        return None if row is None else _rejection(row)

    def list(
        self, *, department: str | None = None, stream: str | None = None, limit: int = 100, offset: int = 0
    ) -> list[RejectionRecord]:
        sql = "SELECT receipt, submission, authenticated FROM rejections WHERE 1=1"
        args: list[Any] = []
        if department:
            sql += " AND department = ?"
            args.append(department)
        if stream:
            sql += " AND stream = ?"
            args.append(stream)
        sql += " ORDER BY id LIMIT ? OFFSET ?"
        args += [limit, offset]
        with self.db.lock:
            rows = self.db.conn.execute(sql, args).fetchall()
        return [_rejection(r) for r in rows]


def _rejection(row: tuple[str, str, int]) -> RejectionRecord:
    return RejectionRecord(
        receipt=Receipt.model_validate_json(row[0]), submission=json.loads(row[1]), authenticated=bool(row[2])
    )


class SqliteProjectionStore(ProjectionStore):
    def __init__(self, db: Database) -> None:
        self.db = db

    def load(self, projection: str, key: str) -> dict[str, Any] | None:
        with self.db.lock:
            row = self.db.conn.execute(
                "SELECT state FROM projections WHERE projection = ? AND key = ?", (projection, key)
            ).fetchone()
        return None if row is None else dict(json.loads(row[0]))

    def save(self, projection: str, updates: dict[str, dict[str, Any]], position: int) -> None:
        with self.db.lock:
            conn = self.db.conn
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.executemany(
                    "INSERT OR REPLACE INTO projections (projection, key, state) VALUES (?,?,?)",
                    [(projection, k, json.dumps(v, ensure_ascii=False, default=str)) for k, v in updates.items()],
                )
                conn.execute(
                    "INSERT OR REPLACE INTO positions (projection, position) VALUES (?, ?)", (projection, position)
                )
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

    def position(self, projection: str) -> int:
        with self.db.lock:
            row = self.db.conn.execute("SELECT position FROM positions WHERE projection = ?", (projection,)).fetchone()
        return 0 if row is None else int(row[0])

    def keys(self, projection: str) -> list[str]:
        with self.db.lock:
            rows = self.db.conn.execute(
                "SELECT key FROM projections WHERE projection = ? ORDER BY key", (projection,)
            ).fetchall()
        return [r[0] for r in rows]

    def reset(self, projection: str) -> None:
        with self.db.lock:
            conn = self.db.conn
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("DELETE FROM projections WHERE projection = ?", (projection,))
            conn.execute("DELETE FROM positions WHERE projection = ?", (projection,))
            conn.execute("COMMIT")


class SqliteOffsetStore(OffsetStore):
    def __init__(self, db: Database) -> None:
        self.db = db

    def get(self, consumer: str) -> int:
        with self.db.lock:
            row = self.db.conn.execute("SELECT position FROM offsets WHERE consumer = ?", (consumer,)).fetchone()
        return 0 if row is None else int(row[0])

    def put(self, consumer: str, position: int) -> None:
        with self.db.lock:
            self.db.conn.execute(
                "INSERT OR REPLACE INTO offsets (consumer, position) VALUES (?, ?)", (consumer, position)
            )
