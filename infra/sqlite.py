"""The embedded backend: every port on one SQLite file (WAL mode), no servers.

One connection guarded by a lock, so the CLI, the in-process processors and the HTTP
service's worker threads can share it. Appends, projection saves and their positions are
single SQLite transactions. Several processes may open the same file: writers serialise on
SQLite's write lock, and the processor holds it across read-fold-write
(:meth:`SqliteProjectionStore.exclusive`), so two processes never apply the same events.
``Database(path, read_only=True)`` opens the file with ``mode=ro``: read-only commands never
write it (not even a WAL checkpoint on close).

Read models are stored as parts (``tongxiu.projections.documents``), one row per part in
``projection_parts``; an update writes the parts it changed.

Every page a commit writes costs CPU at ``synchronous=FULL`` (the write and the sync of the
WAL), so the write path's tables are laid out to touch few (issue 11): ``events.position`` is a
plain ``INTEGER PRIMARY KEY`` (events are never deleted, so positions are the same as with
``AUTOINCREMENT``, without a ``sqlite_sequence`` page per commit; ledgers created with
``AUTOINCREMENT`` keep it), the projection position is updated in place, the Merkle nodes an
append closes share a page (:mod:`tongxiu.infra.sqlite_merkle`), and a new ledger indexes its
random event ids once, in the transparency log's unique index of event leaves, not also in
``events`` (:data:`EVENTS`; about two pages fewer per commit).
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic_core import to_json

from tongxiu.events.envelope import Envelope, Receipt
from tongxiu.infra import sqlite_merkle  # issue 9: the transparency log's leaves, in the same transactions
from tongxiu.projections.documents import HEAD, assemble, split
from tongxiu.services.ports import (
    ConcurrencyError,
    EventLog,
    OffsetStore,
    PartChanges,
    ProjectionStore,
    RejectionLog,
    RejectionRecord,
    StoredEvent,
)

EVENTS = """
CREATE TABLE IF NOT EXISTS events (
    position      INTEGER PRIMARY KEY,
    stream        TEXT NOT NULL,
    seq           INTEGER NOT NULL,
    event_id      TEXT NOT NULL{event_id},
    type          TEXT NOT NULL,
    department    TEXT NOT NULL,
    submission_id TEXT NOT NULL,
    occurred_at   TEXT NOT NULL,
    recorded_at   TEXT NOT NULL,
    raw           TEXT NOT NULL,
    UNIQUE (stream, seq)
)
"""
"""The events table. A ledger created before issue 11's session 10 has ``event_id ... UNIQUE``
(an index of random UUIDs: about two pages written per commit); a new one leaves the event id's
uniqueness to the transparency log's unique index of event references, written in the same
transaction (:data:`tongxiu.infra.sqlite_merkle.REF_INDEXES`), which is also the one index by
event id that look-ups use."""

PARTS = """
CREATE TABLE IF NOT EXISTS projection_parts (
    projection TEXT NOT NULL,
    key        TEXT NOT NULL,
    part       TEXT NOT NULL,
    state      TEXT NOT NULL,
    PRIMARY KEY (projection, key, part)
){without_rowid}
"""
"""The read models' parts. A database created before issue 11's session 14 has them ``WITHOUT
ROWID`` (and keeps them so): there a row of more than about 1,000 bytes (a credit record, a
department's month of tallies: ~1.4-2 KB) spills into an overflow page, and rewriting it frees
one page and takes another (its overflow page, the free list and the file header written at
commit: ~1.4 of the ~16 pages a submission's commit wrote). A new database keeps them in a
rowid table (up to ~4,000 bytes in the row's page) with the unique index of their key beside it,
and a part is rewritten in place (:data:`PUT_PART`: the index is not touched); about one page
fewer per commit (issue 11, session 14)."""

PUT_PART = (
    "INSERT INTO projection_parts (projection, key, part, state) VALUES (?,?,?,?)"
    " ON CONFLICT (projection, key, part) DO UPDATE SET state = excluded.state"
)
"""A part written: the row updated in place when there (either layout of :data:`PARTS`)."""

SCHEMA = """
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
CREATE INDEX IF NOT EXISTS rejections_by_stream ON rejections (stream, id);
CREATE INDEX IF NOT EXISTS rejections_by_department ON rejections (department, id);
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

    def __init__(
        self,
        path: Path | str,
        *,
        read_only: bool = False,
        busy_timeout_s: float = 30.0,
        synchronous: Literal["FULL", "NORMAL"] = "FULL",
    ) -> None:
        self.path = str(path)
        self.read_only = read_only
        self.lock = threading.RLock()
        self._depth = 0
        self._version: int | None = None
        """``PRAGMA data_version`` at the start of our last transaction: it changes only when
        another connection commits, so while it stays, what this connection cached still holds."""
        self._changes = -1
        """``total_changes`` of the connection when our last transaction committed."""
        self._memo: dict[Any, Any] = {}
        self._transaction = _Transaction(self)
        if read_only:
            if not Path(path).exists():
                raise FileNotFoundError(f"no ledger at {path}")
            uri = Path(path).resolve().as_uri() + "?mode=ro"
            self.conn = sqlite3.connect(uri, uri=True, check_same_thread=False, isolation_level=None,
                                        timeout=busy_timeout_s)
            current = self.conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'projection_parts'"
            ).fetchone()
            if current is None:
                self.conn.close()
                raise ValueError(
                    f"{path} holds read models in an older layout; run a writing command once "
                    "(e.g. `tongxiu rebuild`) to rebuild them"
                )
            return
        if self.path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=busy_timeout_s)
        self.conn.execute("PRAGMA journal_mode=WAL")
        # FULL (default): WAL synced at every commit, so an accepted receipt is on disk.
        # NORMAL (setting `sqlite_synchronous`): faster, but the last commits can be lost on
        # power failure or an OS crash (not on a process crash).
        if synchronous not in ("FULL", "NORMAL"):
            raise ValueError(f"sqlite_synchronous: expected FULL or NORMAL, got {synchronous!r}")
        self.conn.execute(f"PRAGMA synchronous={synchronous}")
        with self.transaction():
            self._migrate()
            # a new ledger (neither table yet): the event ids indexed once, by the log's leaves
            fresh = not self.conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name IN ('events', 'merkle_leaves')"
            ).fetchone()
            self.conn.execute(EVENTS.format(event_id="" if fresh else " UNIQUE"))
            parts_there = self.conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'projection_parts'"
            ).fetchone()
            self.conn.execute(PARTS.format(without_rowid=" WITHOUT ROWID" if parts_there else ""))
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    self.conn.execute(statement)
            sqlite_merkle.ensure(self.conn)

    def _migrate(self) -> None:
        """Read models are derived: an older layout (one row per whole document) is dropped
        with its positions, and the next ``process()`` rebuilds them from the log."""
        old = self.conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'projections'"
        ).fetchone()
        if old:
            self.conn.execute("DROP TABLE projections")
            self.conn.execute("DROP TABLE IF EXISTS positions")

    def transaction(self) -> _Transaction:
        """BEGIN IMMEDIATE ... COMMIT (ROLLBACK on error); nested calls join the outer one."""
        return self._transaction

    def memo(self) -> dict[Any, Any] | None:
        """Values this connection read or wrote (stream heads, the log's last position, the
        projection position, the Merkle head), valid inside a transaction as long as no other
        connection has committed since they were cached (checked once per transaction with
        ``PRAGMA data_version``) and cleared on rollback. None outside a transaction: a bare
        read then goes to the file, which another process may have changed."""
        return self._memo if self._depth else None

    def close(self) -> None:
        with self.lock:
            self.conn.close()


class _Transaction:
    """:meth:`Database.transaction` as a plain context manager (entered about ten times per
    submission, mostly nested: a class costs less than a generator-based one). Its state is
    the database's (the lock, the depth), so one instance serves every call, nested or not."""

    __slots__ = ("db",)

    def __init__(self, db: Database) -> None:
        self.db = db

    def __enter__(self) -> sqlite3.Connection:
        db = self.db
        db.lock.acquire()
        if db._depth:
            db._depth += 1
            return db.conn
        try:
            db.conn.execute("BEGIN IMMEDIATE")
        except BaseException:
            db.lock.release()
            raise
        db._depth = 1
        try:
            (version,) = db.conn.execute("PRAGMA data_version").fetchone()
            # another connection committed, or this one wrote outside transaction(): nothing
            # cached holds
            if (version, db.conn.total_changes) != (db._version, db._changes):
                db._memo.clear()
                db._version = version
        except BaseException:
            self._rollback()
            raise
        return db.conn

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: Any) -> None:
        db = self.db
        if db._depth > 1:
            db._depth -= 1
            db.lock.release()
            return
        if kind is not None:
            self._rollback()  # what was cached in this transaction is rolled back with it
            return
        db._depth = 0
        try:
            db.conn.execute("COMMIT")
            db._changes = db.conn.total_changes
        except BaseException:
            db._memo.clear()
            with contextlib.suppress(sqlite3.Error):
                db.conn.execute("ROLLBACK")
            raise
        finally:
            db.lock.release()

    def _rollback(self) -> None:
        db = self.db
        db._depth = 0
        db._memo.clear()
        try:
            with contextlib.suppress(sqlite3.Error):
                db.conn.execute("ROLLBACK")
        finally:
            db.lock.release()


def _stored(row: tuple[int, str]) -> StoredEvent:
    position, raw = row
    return StoredEvent(envelope=Envelope.from_json(raw), raw=raw, position=position)


class SqliteEventLog(EventLog):
    cheap_heads = True

    def __init__(self, db: Database) -> None:
        self.db = db
        self._utf8: bool | None = None
        """Whether the database stores text as UTF-8 (``read_stream_bytes``; asked once)."""

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
        with self.db.transaction() as conn:
            memo = self.db.memo()
            assert memo is not None
            last = memo.get(("head", stream))
            if last is None:
                (last,) = conn.execute(
                    "SELECT COALESCE(MAX(seq), 0) FROM events WHERE stream = ?", (stream,)
                ).fetchone()
            if last != expected_seq:
                raise ConcurrencyError(f"{stream}: expected seq {expected_seq}, found {last}")
            position = self._last_position(conn, memo)
            conn.executemany(
                "INSERT INTO events (stream, seq, event_id, type, department, submission_id,"
                " occurred_at, recorded_at, raw) VALUES (?,?,?,?,?,?,?,?,?)",
                rows,
            )
            memo[("head", stream)] = expected_seq + len(rows)
            memo["position"] = position + len(rows)
            sqlite_merkle.add_leaves(conn, [sqlite_merkle.event_leaf(e) for e in envelopes], memo)  # issue 9

    @staticmethod
    def _last_position(conn: sqlite3.Connection, memo: dict[Any, Any]) -> int:
        position = memo.get("position")
        if position is None:
            (position,) = conn.execute("SELECT COALESCE(MAX(position), 0) FROM events").fetchone()
            memo["position"] = position
        return int(position)

    def last_position(self) -> int:
        with self.db.lock:
            memo = self.db.memo()
            if memo is not None:
                return self._last_position(self.db.conn, memo)
            (position,) = self.db.conn.execute("SELECT COALESCE(MAX(position), 0) FROM events").fetchone()
        return int(position)

    def read_stream(self, stream: str, *, from_seq: int = 1, limit: int | None = None) -> list[StoredEvent]:
        with self.db.lock:
            rows = self.db.conn.execute(
                "SELECT position, raw FROM events WHERE stream = ? AND seq >= ? ORDER BY seq LIMIT ?",
                (stream, from_seq, -1 if limit is None else limit),
            ).fetchall()
        return [_stored(r) for r in rows]

    def read_stream_raw(self, stream: str, *, from_seq: int = 1, limit: int | None = None) -> list[str]:
        """read_stream without decoding (the audit decodes each event once itself)."""
        with self.db.lock:
            rows = self.db.conn.execute(
                "SELECT raw FROM events WHERE stream = ? AND seq >= ? ORDER BY seq LIMIT ?",
                (stream, from_seq, -1 if limit is None else limit),
            ).fetchall()
        return [r[0] for r in rows]

    def read_stream_bytes(self, stream: str, *, from_seq: int = 1, limit: int | None = None) -> list[bytes]:
        """:meth:`read_stream_raw` as the stored UTF-8 bytes: no decoding into ``str`` here and
        no encoding back for the parser (pydantic-core and orjson read UTF-8), ~3 µs less per
        event in a replay. A database in another text encoding (never one Tongxiu created)
        gives its text encoded as UTF-8."""
        with self.db.lock:
            utf8 = self._utf8
            if utf8 is None:
                (encoding,) = self.db.conn.execute("PRAGMA encoding").fetchone()
                utf8 = self._utf8 = str(encoding).upper() == "UTF-8"
            rows = self.db.conn.execute(
                "SELECT CAST(raw AS BLOB) FROM events WHERE stream = ? AND seq >= ? ORDER BY seq LIMIT ?"
                if utf8 else "SELECT raw FROM events WHERE stream = ? AND seq >= ? ORDER BY seq LIMIT ?",
                (stream, from_seq, -1 if limit is None else limit),
            ).fetchall()
        return [r[0] for r in rows] if utf8 else [r[0].encode("utf-8") for r in rows]

    def read_stream_stored(self, stream: str, *, from_seq: int = 1, limit: int | None = None) -> list[bytes]:
        return self.read_stream_bytes(stream, from_seq=from_seq, limit=limit)

    def last_seq(self, stream: str) -> int:
        with self.db.lock:
            memo = self.db.memo()
            if memo is not None and ("head", stream) in memo:
                return int(memo[("head", stream)])
            (last,) = self.db.conn.execute(
                "SELECT COALESCE(MAX(seq), 0) FROM events WHERE stream = ?", (stream,)
            ).fetchone()
            if memo is not None:
                memo[("head", stream)] = last
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

    def find_submission(self, department: str, submission_id: str, *, stream: str | None = None) -> list[StoredEvent]:
        # the index is the events table itself, written in the append's transaction: ``stream`` not needed
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
        receipt_json, submission_json = r.model_dump_json(), json.dumps(rejection.submission, ensure_ascii=False)
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO rejections (department, submission_id, stream, authenticated, recorded_at, codes,"
                " receipt, submission) VALUES (?,?,?,?,?,?,?,?)",
                (
                    r.department,
                    r.submission_id,
                    r.stream,
                    int(rejection.authenticated),
                    r.recorded_at.isoformat(),
                    ",".join(r.codes),
                    receipt_json,
                    submission_json,
                ),
            )
            sqlite_merkle.add_leaves(
                conn, [sqlite_merkle.rejection_leaf(receipt_json, submission_json)], self.db.memo()
            )  # issue 9

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

    def count(self, *, department: str | None = None, stream: str | None = None) -> int:
        sql = "SELECT COUNT(*) FROM rejections WHERE 1=1"
        args: list[Any] = []
        if department:
            sql += " AND department = ?"
            args.append(department)
        if stream:
            sql += " AND stream = ?"
            args.append(stream)
        with self.db.lock:
            (n,) = self.db.conn.execute(sql, args).fetchone()
        return int(n)


def _rejection(row: tuple[str, str, int]) -> RejectionRecord:
    return RejectionRecord(
        receipt=Receipt.model_validate_json(row[0]), submission=json.loads(row[1]), authenticated=bool(row[2])
    )


def _dumps(value: Any) -> str:
    """A read-model part as JSON text (pydantic-core's encoder: about three times faster than
    ``json.dumps`` on these documents, which hold only JSON values; the text differs from
    ``json.dumps``'s only in white space, and what is stored is only ever parsed back)."""
    return to_json(value, fallback=str).decode("utf-8")


class SqliteProjectionStore(ProjectionStore):
    def __init__(self, db: Database) -> None:
        self.db = db

    def load(self, projection: str, key: str) -> dict[str, Any] | None:
        with self.db.lock:
            rows = self.db.conn.execute(
                "SELECT part, state FROM projection_parts WHERE projection = ? AND key = ?", (projection, key)
            ).fetchall()
        doc = assemble(key, {part: json.loads(state) for part, state in rows})
        return None if doc is None else dict(doc)

    def load_head(self, projection: str, key: str) -> dict[str, Any] | None:
        with self.db.lock:
            row = self.db.conn.execute(
                "SELECT state FROM projection_parts WHERE projection = ? AND key = ? AND part = ?",
                (projection, key, HEAD),
            ).fetchone()
        return None if row is None else dict(json.loads(row[0]))

    def save(self, projection: str, updates: dict[str, dict[str, Any]], position: int) -> None:
        self.write(projection, {k: PartChanges(split(k, v), whole=True) for k, v in updates.items()}, position)

    def write(
        self, projection: str, changes: dict[str, PartChanges], position: int, *, expected: int | None = None
    ) -> None:
        with self.db.transaction() as conn:
            if expected is not None:
                have = self.position(projection)
                if have != expected:
                    raise ConcurrencyError(f"projection {projection} is at {have}, not {expected}")
            # one statement of each kind for the whole batch (one transaction: the order of the
            # rows within it is not observable); a document written whole loses its stored
            # parts before the new ones go in
            whole = [(projection, key) for key, change in changes.items() if change.whole]
            if whole:
                conn.executemany("DELETE FROM projection_parts WHERE projection = ? AND key = ?", whole)
            gone = [(projection, key, p) for key, change in changes.items() for p, v in change.parts.items() if v is None]
            if gone:
                conn.executemany("DELETE FROM projection_parts WHERE projection = ? AND key = ? AND part = ?", gone)
            conn.executemany(
                PUT_PART,
                [
                    (projection, key, p, _dumps(v))
                    for key, change in changes.items()
                    for p, v in change.parts.items()
                    if v is not None
                ],
            )
            # an upsert updates the row in place: its index entry (the name) is not rewritten,
            # one page fewer per commit than INSERT OR REPLACE (which deletes and re-inserts)
            conn.execute(
                "INSERT INTO positions (projection, position) VALUES (?, ?)"
                " ON CONFLICT (projection) DO UPDATE SET position = excluded.position",
                (projection, position),
            )
            memo = self.db.memo()
            if memo is not None:
                memo[("projection", projection)] = position

    def exclusive(self) -> contextlib.AbstractContextManager[Any]:
        return self.db.transaction()

    def position(self, projection: str) -> int:
        with self.db.lock:
            memo = self.db.memo()
            if memo is not None and ("projection", projection) in memo:
                return int(memo[("projection", projection)])
            row = self.db.conn.execute("SELECT position FROM positions WHERE projection = ?", (projection,)).fetchone()
            have = 0 if row is None else int(row[0])
            if memo is not None:
                memo[("projection", projection)] = have
        return have

    def keys(self, projection: str) -> list[str]:
        with self.db.lock:
            rows = self.db.conn.execute(
                "SELECT key FROM projection_parts WHERE projection = ? AND part = ? ORDER BY key", (projection, HEAD)
            ).fetchall()
        return [r[0] for r in rows]

    def reset(self, projection: str) -> None:
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM projection_parts WHERE projection = ?", (projection,))
            conn.execute("DELETE FROM positions WHERE projection = ?", (projection,))
            memo = self.db.memo()
            if memo is not None:
                memo.pop(("projection", projection), None)


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
