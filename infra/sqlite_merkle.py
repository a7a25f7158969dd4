"""The transparency log of the embedded backend: the Merkle tree's leaves in the same SQLite
file, written in the same transaction as the event append or the rejection it records.

Tables: ``merkle_leaves`` (leaf index, leaf hash, kind, reference: the event id, or the
SHA-256 of the rejection's stored receipt), ``merkle_nodes`` (the complete subtrees each
append closes, so a proof reads O(log n) rows), ``merkle_state`` (one row: the size and the
frontier, so an append costs O(log n) hashes and the current root is O(log n) to compute) and
``checkpoints`` (the signed checkpoints issued on demand or by ``tick``).

A data directory written before the log existed gets its tree built on first open: every
stored event in log-position order, then every recorded rejection in the order recorded. One
whose tree predates ``merkle_nodes`` gets its nodes from its leaf hashes on first writable
open (nothing else changes); opened read-only, its proofs are computed from the leaves.

``merkle_nodes`` is keyed by the last leaf a node covers, then its level: the nodes an append
closes all end at its leaves, so they sit side by side on one page (about one page written per
commit, not one per level). A tree written before that layout keeps its ``(level, idx)`` key
(nothing in it is rewritten); both are read and written here (:func:`nodes_by_last`).

The leaves' references are indexed by kind in a new ledger (:data:`REF_INDEXES`: the event ids
in a UNIQUE index, the only index of them in such a ledger), in one index in a ledger started
before (:data:`FIRST_REF_INDEX`); both are read and written (:func:`refs_by_kind`).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from typing import Any

from tongxiu.events import merkle
from tongxiu.events.envelope import Envelope, Receipt
from tongxiu.events.tlog import Checkpoint, digest_text, event_leaf_data, rejection_leaf_data
from tongxiu.services.transparency import LeafEntry, TransparencyLog

SCHEMA = """
CREATE TABLE IF NOT EXISTS merkle_leaves (
    idx  INTEGER PRIMARY KEY,
    hash BLOB NOT NULL,
    kind TEXT NOT NULL,
    ref  TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS merkle_state (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    size     INTEGER NOT NULL,
    frontier TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS merkle_nodes (
    last  INTEGER NOT NULL,
    level INTEGER NOT NULL,
    idx   INTEGER NOT NULL,
    hash  TEXT NOT NULL,
    PRIMARY KEY (last, level)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS checkpoints (
    size INTEGER NOT NULL,
    body TEXT NOT NULL
);
"""


REF_INDEXES = (
    "CREATE UNIQUE INDEX IF NOT EXISTS merkle_event_refs ON merkle_leaves (ref) WHERE kind = 'event'",
    "CREATE INDEX IF NOT EXISTS merkle_rejection_refs ON merkle_leaves (ref) WHERE kind = 'rejection'",
)
"""How a tree started since issue 11's session 10 indexes its leaves' references: event ids in a
UNIQUE index (the events table of such a ledger has no index of its own on them: this one keeps
them unique, in the append's transaction, and answers look-ups by event id), rejection digests
in another (the same rejection recorded twice at the same instant has the same digest). A tree
started before has one index of every reference, :data:`FIRST_REF_INDEX`, and keeps it."""

FIRST_REF_INDEX = "CREATE INDEX IF NOT EXISTS merkle_leaves_by_ref ON merkle_leaves (ref)"


def event_leaf(env: Envelope) -> tuple[bytes, str, str]:
    data = event_leaf_data(stream=env.stream, seq=env.seq, event_id=env.event_id, hash=env.hash)
    return merkle.leaf_hash(data), "event", env.event_id


def rejection_leaf(receipt_json: str, submission_json: str) -> tuple[bytes, str, str]:
    receipt = Receipt.model_validate_json(receipt_json).model_dump(mode="json")
    data = rejection_leaf_data(receipt, digest_text(submission_json))
    return merkle.leaf_hash(data), "rejection", digest_text(receipt_json)


def ensure(conn: sqlite3.Connection) -> None:
    """Create the tables; build the tree of a ledger written before it existed."""
    started = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'merkle_leaves'").fetchone()
    first_layout = started is not None and not refs_by_kind(conn)
    for statement in SCHEMA.split(";"):
        if statement.strip():
            conn.execute(statement)
    for statement in (FIRST_REF_INDEX,) if first_layout else REF_INDEXES:
        conn.execute(statement)
    if conn.execute("SELECT 1 FROM merkle_state").fetchone() is None:
        rebuild(conn)
    elif _lacks_nodes(conn):
        backfill_nodes(conn)


def _lacks_nodes(conn: sqlite3.Connection) -> bool:
    """A tree written before ``merkle_nodes`` existed: it has two leaves or more but not the
    node over the first two (every writer since has written its nodes with its leaves)."""
    (size,) = conn.execute("SELECT size FROM merkle_state WHERE id = 1").fetchone()
    if int(size) < 2:
        return False
    if nodes_by_last(conn):
        return conn.execute("SELECT 1 FROM merkle_nodes WHERE last = 1 AND level = 1").fetchone() is None
    return conn.execute("SELECT 1 FROM merkle_nodes WHERE level = 1 AND idx = 0").fetchone() is None


def refs_by_kind(conn: sqlite3.Connection, memo: dict[Any, Any] | None = None) -> bool:
    """Whether the leaves' references are indexed by kind (:data:`REF_INDEXES`) or in one index
    (:data:`FIRST_REF_INDEX`); remembered in ``memo``."""
    if memo is not None and "refs_by_kind" in memo:
        return bool(memo["refs_by_kind"])
    found = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = 'merkle_event_refs'"
    ).fetchone() is not None
    if memo is not None:
        memo["refs_by_kind"] = found
    return found


def last_leaf(level: int, idx: int) -> int:
    """The index of the last leaf under node ``(level, idx)``."""
    return ((idx + 1) << level) - 1


def nodes_by_last(conn: sqlite3.Connection, memo: dict[Any, Any] | None = None) -> bool:
    """Whether ``merkle_nodes`` has the current layout (keyed by the last leaf covered) or the
    first one (keyed by level and index); remembered in ``memo``."""
    if memo is not None and "nodes_by_last" in memo:
        return bool(memo["nodes_by_last"])
    found = any(row[1] == "last" for row in conn.execute("PRAGMA table_info(merkle_nodes)"))
    if memo is not None:
        memo["nodes_by_last"] = found
    return found


VALUES_ROWS = 64
"""Nodes written by one ``VALUES`` list at most: a single leaf closes at most log2(size) of
them (a submission's few leaves, a few each); more (a large batch, a backfill's chunk) go
through ``json_each``, one statement whatever their number. The few statement texts (one per
row count met) stay in the connection's statement cache."""


def put_nodes(
    conn: sqlite3.Connection, made: Sequence[tuple[int, int, bytes]], memo: dict[Any, Any] | None = None
) -> None:
    """Store complete-subtree nodes (hex) in at most ONE statement, however many an append
    closed (0 to log n; 1 on average): none when it closed none (every other append of one
    leaf), one ``VALUES`` list of :data:`VALUES_ROWS` rows or fewer, a ``json_each`` over
    them all for more (a large batch, a backfill's chunk), so the number of bound parameters
    stays far below SQLite's limit. (The ``json_each`` form for every append cost
    ~21 µs per event on the write path, ~7 this way: ``bench.write_path --sections``.)"""
    if not made:
        return
    by_last = nodes_by_last(conn, memo)
    if len(made) <= VALUES_ROWS:
        if by_last:
            conn.execute(
                "INSERT OR REPLACE INTO merkle_nodes (last, level, idx, hash) VALUES "
                + ",".join(["(?,?,?,?)"] * len(made)),
                [x for lv, i, h in made for x in (last_leaf(lv, i), lv, i, h.hex())],
            )
        else:
            conn.execute(
                "INSERT OR REPLACE INTO merkle_nodes (level, idx, hash) VALUES " + ",".join(["(?,?,?)"] * len(made)),
                [x for lv, i, h in made for x in (lv, i, h.hex())],
            )
        return
    if by_last:
        conn.execute(
            "INSERT OR REPLACE INTO merkle_nodes (last, level, idx, hash) SELECT json_extract(value, '$[0]'),"
            " json_extract(value, '$[1]'), json_extract(value, '$[2]'), json_extract(value, '$[3]')"
            " FROM json_each(?)",
            (json.dumps([[last_leaf(lv, i), lv, i, h.hex()] for lv, i, h in made]),),
        )
        return
    conn.execute(
        "INSERT OR REPLACE INTO merkle_nodes (level, idx, hash) SELECT json_extract(value, '$[0]'),"
        " json_extract(value, '$[1]'), json_extract(value, '$[2]') FROM json_each(?)",
        (json.dumps([[lv, i, h.hex()] for lv, i, h in made]),),
    )


def backfill_nodes(conn: sqlite3.Connection, chunk: int = 50_000) -> int:
    """The complete-subtree nodes of a tree whose leaves were stored without them (a ledger
    written before proofs read nodes): one pass over the leaf hashes in index order, keeping
    only a frontier in memory. The leaves, the head and every hash stay as they were."""
    conn.execute("DELETE FROM merkle_nodes")
    frontier: list[bytes] = []
    n = 0
    after = -1
    while True:
        rows = conn.execute(
            "SELECT idx, hash FROM merkle_leaves WHERE idx > ? ORDER BY idx LIMIT ?", (after, chunk)
        ).fetchall()
        if not rows:
            break
        made: list[tuple[int, int, bytes]] = []
        for idx, h in rows:
            if int(idx) != n:
                raise ValueError(f"merkle_leaves: leaf {n} is missing (found {idx})")
            frontier, nodes = merkle.frontier_append_nodes(frontier, n, bytes(h))
            made.extend(nodes)
            n += 1
        put_nodes(conn, made)
        after = int(rows[-1][0])
    return n


def rebuild(conn: sqlite3.Connection) -> None:
    """The tree of every stored event (log order) then every rejection (recorded order)."""
    conn.execute("DELETE FROM merkle_leaves")
    conn.execute("DELETE FROM merkle_state")
    conn.execute("DELETE FROM merkle_nodes")
    conn.execute("INSERT INTO merkle_state (id, size, frontier) VALUES (1, 0, '[]')")
    leaves = [event_leaf(Envelope.from_json(raw)) for (raw,) in conn.execute("SELECT raw FROM events ORDER BY position")]
    leaves += [rejection_leaf(r, s) for r, s in conn.execute("SELECT receipt, submission FROM rejections ORDER BY id")]
    add_leaves(conn, leaves)


def add_leaves(
    conn: sqlite3.Connection, leaves: Sequence[tuple[bytes, str, str]], memo: dict[Any, Any] | None = None
) -> int:
    """Append leaves inside the caller's transaction; returns the index of the first.

    ``memo`` (:meth:`tongxiu.infra.sqlite.Database.memo`): the head is taken from it when this
    connection wrote it last (no read), and the new head and the new event leaves' indices are
    left in it, so the receipt's checkpoint and leaf look-ups need no statement either."""
    cached = None if memo is None else memo.get("merkle")
    if cached is None:
        size, frontier_json = conn.execute("SELECT size, frontier FROM merkle_state WHERE id = 1").fetchone()
        frontier = [bytes.fromhex(h) for h in json.loads(frontier_json)]
    else:
        size, frontier = cached
    first = int(size)
    n = first
    made: list[tuple[int, int, bytes]] = []
    for leaf, _, _ in leaves:
        frontier, nodes = merkle.frontier_append_nodes(frontier, n, leaf)
        made.extend(nodes)
        n += 1
    put_nodes(conn, made, memo)
    conn.executemany(
        "INSERT INTO merkle_leaves (idx, hash, kind, ref) VALUES (?,?,?,?)",
        [(first + i, leaf, kind, ref) for i, (leaf, kind, ref) in enumerate(leaves)],
    )
    conn.execute(
        "UPDATE merkle_state SET size = ?, frontier = ? WHERE id = 1", (n, json.dumps([h.hex() for h in frontier]))
    )
    if memo is not None:
        memo["merkle"] = (n, frontier)
        memo["leaves"] = {ref: first + i for i, (_, kind, ref) in enumerate(leaves) if kind == "event"}
    return first


class SqliteTransparencyLog(TransparencyLog):
    def __init__(self, db: object) -> None:
        from tongxiu.infra.sqlite import Database

        assert isinstance(db, Database)
        self.db = db

    def recent_head(self) -> tuple[int, bytes]:
        """Inside the transaction that appended (a receipt's), the head this connection wrote,
        without a read; it is committed before the receipt is returned."""
        with self.db.lock:
            memo = self.db.memo()
            cached = None if memo is None else memo.get("merkle")
            if cached is not None:
                return int(cached[0]), merkle.frontier_root(cached[1])
        return self.head()

    def head(self) -> tuple[int, bytes]:
        with self.db.lock:
            try:
                row = self.db.conn.execute("SELECT size, frontier FROM merkle_state WHERE id = 1").fetchone()
            except sqlite3.OperationalError as exc:  # a ledger from before issue 9, opened read-only
                raise ValueError(
                    f"{self.db.path} has no transparency log yet: run a writing command once "
                    "(e.g. `tongxiu tick`) to build it from the log"
                ) from exc
        if row is None:
            return 0, merkle.EMPTY_ROOT
        return int(row[0]), merkle.frontier_root([bytes.fromhex(h) for h in json.loads(row[1])])

    def leaf_hashes(self, size: int) -> list[bytes]:
        with self.db.lock:
            rows = self.db.conn.execute("SELECT hash FROM merkle_leaves WHERE idx < ? ORDER BY idx", (size,)).fetchall()
        return [bytes(r[0]) for r in rows]

    def nodes(self, keys: Sequence[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
        out: dict[tuple[int, int], bytes] = {}
        with self.db.lock:
            conn = self.db.conn
            leaves = [i for lv, i in keys if lv == 0]
            for i in leaves:
                row = conn.execute("SELECT hash FROM merkle_leaves WHERE idx = ?", (i,)).fetchone()
                if row is not None:
                    out[(0, i)] = bytes(row[0])
            inner = [(lv, i) for lv, i in keys if lv > 0]
            try:
                if nodes_by_last(conn, self.db.memo()):
                    query = "SELECT hash FROM merkle_nodes WHERE last = ? AND level = ?"
                    args = [(last_leaf(lv, i), lv) for lv, i in inner]
                else:
                    query, args = "SELECT hash FROM merkle_nodes WHERE level = ? AND idx = ?", inner
                for (lv, i), arg in zip(inner, args, strict=True):
                    row = conn.execute(query, arg).fetchone()
                    if row is not None:
                        out[(lv, i)] = bytes.fromhex(row[0])
            except sqlite3.OperationalError:  # a ledger from before merkle_nodes, opened read-only
                pass
            missing = [k for k in inner if k not in out]
            if missing:  # computed from the leaves (only such an old read-only ledger gets here)
                for lv, i in missing:
                    rows = conn.execute(
                        "SELECT hash FROM merkle_leaves WHERE idx >= ? AND idx < ? ORDER BY idx",
                        (i << lv, (i + 1) << lv),
                    ).fetchall()
                    if len(rows) == 1 << lv:
                        out[(lv, i)] = merkle.root([bytes(r[0]) for r in rows])
        return out

    def entries(self, *, start: int = 0, limit: int = 1000) -> list[LeafEntry]:
        with self.db.lock:
            rows = self.db.conn.execute(
                "SELECT idx, hash, kind, ref FROM merkle_leaves WHERE idx >= ? ORDER BY idx LIMIT ?", (start, limit)
            ).fetchall()
        return [LeafEntry(int(i), bytes(h), k, r) for i, h, k, r in rows]

    def locate(self, ref: str) -> int | None:
        with self.db.lock:
            memo = self.db.memo()
            if memo is not None and ref in memo.get("leaves", {}):
                return int(memo["leaves"][ref])
            conn = self.db.conn
            if refs_by_kind(conn, memo):  # each query names its kind, so it reads its partial index
                row = conn.execute("SELECT idx FROM merkle_leaves WHERE ref = ? AND kind = 'event'", (ref,)).fetchone()
                if row is None:
                    row = conn.execute(
                        "SELECT MIN(idx) FROM merkle_leaves WHERE ref = ? AND kind = 'rejection'", (ref,)
                    ).fetchone()
            else:
                row = conn.execute("SELECT MIN(idx) FROM merkle_leaves WHERE ref = ?", (ref,)).fetchone()
        return None if row is None or row[0] is None else int(row[0])

    def save_checkpoint(self, checkpoint: Checkpoint) -> None:
        with self.db.transaction() as conn:
            conn.execute("INSERT INTO checkpoints (size, body) VALUES (?, ?)", (checkpoint.size, checkpoint.model_dump_json()))

    def checkpoints(self) -> list[Checkpoint]:
        with self.db.lock:
            rows = self.db.conn.execute("SELECT body FROM checkpoints ORDER BY rowid").fetchall()
        return [Checkpoint.model_validate_json(r[0]) for r in rows]

    def rejection_rows(self) -> list[tuple[str, str]]:
        with self.db.lock:
            return [
                (str(r), str(s))
                for r, s in self.db.conn.execute("SELECT receipt, submission FROM rejections ORDER BY id")
            ]
