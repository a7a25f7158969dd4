"""What an insider with write access to the embedded data directory can do to the SQLite file
(issue 9): rewrite a stream's rows, re-chain and re-sign them, rebuild the Merkle tree so the
ledger's own checks pass again. Used by the transparency tests to show the department's kept
receipts and checkpoints still catch it."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tongxiu.events.envelope import GENESIS_HASH, canonical, stored_signing_bytes
from tongxiu.events.signing import KeyPair
from tongxiu.infra import sqlite_merkle

Body = dict[str, Any]


def connect(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(path, isolation_level=None)


def stream_rows(conn: sqlite3.Connection, stream: str) -> list[tuple[int, Body]]:
    return [(p, json.loads(r)) for p, r in conn.execute(
        "SELECT position, raw FROM events WHERE stream = ? ORDER BY seq", (stream,))]


def rewrite_stream(
    conn: sqlite3.Connection, stream: str, bodies: list[Body], *, positions: list[int] | None = None,
    keys: dict[str, KeyPair] | None = None, new_stream: str | None = None,
) -> None:
    """Replace ``stream``'s rows by ``bodies`` in order: seq renumbered, re-chained, re-hashed;
    format-2 submission digests recomputed and events re-signed for departments in ``keys``."""
    keys = keys or {}
    target = new_stream or stream
    old = [p for p, _ in stream_rows(conn, stream)]
    positions = (positions or sorted(old))[: len(bodies)]
    if len(positions) < len(bodies):
        top = conn.execute("SELECT MAX(position) FROM events").fetchone()[0]
        positions = positions + list(range(top + 1, top + 1 + len(bodies) - len(positions)))
    groups: dict[tuple[str, str], list[Body]] = {}
    for b in bodies:
        b["stream"] = target
        groups.setdefault((b["department"], b["submission_id"]), []).append(b)
    for (dept, _), group in groups.items():
        if dept in keys and group[0].get("signature_format") == 2:
            digest = hashlib.sha256(canonical([g["event"] for g in sorted(group, key=lambda g: g["index"])])).hexdigest()
            for g in group:
                g["submission_digest"] = digest
        for g in group:
            if dept in keys:
                g["signature"] = keys[dept].sign(stored_signing_bytes(g))
    prev = GENESIS_HASH
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("DELETE FROM events WHERE stream = ?", (stream,))
    for seq, (pos, b) in enumerate(zip(positions, bodies, strict=True), start=1):
        b["seq"] = seq
        b["prev_hash"] = prev
        rest = {k: v for k, v in b.items() if k != "hash"}
        b["hash"] = hashlib.sha256(canonical(rest)).hexdigest()
        prev = b["hash"]
        conn.execute(
            "INSERT INTO events (position, stream, seq, event_id, type, department, submission_id, occurred_at,"
            " recorded_at, raw) VALUES (?,?,?,?,?,?,?,?,?,?)",
            (pos, target, seq, b["event_id"], b["event"]["type"], b["department"], b["submission_id"],
             b["occurred_at"], b["recorded_at"], json.dumps(b, ensure_ascii=False)),
        )
    conn.execute("COMMIT")


def edit_stream(conn: sqlite3.Connection, stream: str, change: Callable[[list[Body]], list[Body]], **kw: Any) -> None:
    rows = stream_rows(conn, stream)
    rewrite_stream(conn, stream, change([b for _, b in rows]), positions=[p for p, _ in rows], **kw)


def rebuild_tree(conn: sqlite3.Connection) -> None:
    """The insider's cover: a Merkle tree recomputed over the tampered data."""
    conn.execute("BEGIN IMMEDIATE")
    sqlite_merkle.rebuild(conn)
    conn.execute("COMMIT")
