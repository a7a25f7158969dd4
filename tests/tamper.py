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


# --------------------------------------------------------------------------- Cassandra
# The same insider on the distributed backend: plain CQL writes to the keyspace (no LWT, no
# fencing), as someone with the Cassandra credentials would do.


def cql_stream_rows(session: Any, ks: str, stream: str, per_bucket: int) -> list[Body]:
    head = session.execute(f"SELECT last_seq FROM {ks}.stream_heads WHERE stream = %s", (stream,)).one()
    last = 0 if head is None else int(head.last_seq or 0)
    out: list[Body] = []
    for b in range((last - 1) // per_bucket + 1 if last else 0):
        out += [json.loads(r.raw) for r in session.execute(
            f"SELECT seq, raw FROM {ks}.events WHERE stream = %s AND bucket = %s", (stream, b)) if r.seq <= last]
    return out


def cql_delete_stream(session: Any, ks: str, stream: str, per_bucket: int, *, keep: int = 0) -> None:
    """Delete ``stream``'s events after the first ``keep`` and move its head back to ``keep``
    (0: the whole stream and its head)."""
    rows = cql_stream_rows(session, ks, stream, per_bucket)
    for b in rows[keep:]:
        session.execute(f"DELETE FROM {ks}.events WHERE stream = %s AND bucket = %s AND seq = %s",
                        (stream, (b["seq"] - 1) // per_bucket, b["seq"]))
    if keep:
        session.execute(f"UPDATE {ks}.stream_heads SET last_seq = %s WHERE stream = %s", (keep, stream))
    else:
        session.execute(f"DELETE FROM {ks}.stream_heads WHERE stream = %s", (stream,))


def cql_edit_stream(session: Any, ks: str, stream: str, per_bucket: int,
                    change: Callable[[list[Body]], list[Body]]) -> None:
    """Rewrite ``stream``'s events by ``change``: re-chained and re-hashed in place."""
    bodies = change(cql_stream_rows(session, ks, stream, per_bucket))
    prev = GENESIS_HASH
    for seq, b in enumerate(bodies, start=1):
        b["seq"], b["prev_hash"] = seq, prev
        b["hash"] = hashlib.sha256(canonical({k: v for k, v in b.items() if k != "hash"})).hexdigest()
        prev = b["hash"]
        session.execute(
            f"UPDATE {ks}.events SET raw = %s, recorded_at = %s, event_id = %s WHERE stream = %s AND bucket = %s"
            " AND seq = %s",
            (json.dumps(b, ensure_ascii=False), b["recorded_at"], b["event_id"], stream, (seq - 1) // per_bucket, seq),
        )


def cql_rewrite_rejection(session: Any, ks: str, submission_id: str, change: Callable[[Body], Body]) -> None:
    """Rewrite a recorded rejection's receipt in every table that holds it."""
    months = [r.month for r in session.execute(f"SELECT month FROM {ks}.rejection_months WHERE scope = 'all'")]
    for m in months:
        for r in session.execute(f"SELECT id, department, receipt FROM {ks}.rejections_all WHERE month = %s", (m,)):
            body = json.loads(r.receipt)
            if body["submission_id"] != submission_id:
                continue
            text = json.dumps(change(body), ensure_ascii=False)
            session.execute(f"UPDATE {ks}.rejections_all SET receipt = %s WHERE month = %s AND id = %s", (text, m, r.id))
            session.execute(f"UPDATE {ks}.rejections_by_submission SET receipt = %s WHERE department = %s AND"
                            " submission_id = %s AND id = %s", (text, r.department, submission_id, r.id))


def cql_rebuild_tree(session: Any, ks: str, per_bucket: int) -> None:
    """The insider's cover on Cassandra: the whole tree dropped and rebuilt over the tampered
    data (every stream's events, then every stored rejection), a fork of the log."""
    from tongxiu.events import merkle
    from tongxiu.events.envelope import Receipt
    from tongxiu.events.tlog import digest_text, rejection_leaf_data
    from tongxiu.infra.cassandra_merkle import CassandraTransparencyLog, Leaf

    for table in ("merkle_state", "merkle_leaves", "merkle_nodes", "merkle_refs", "merkle_streams"):
        session.execute(f"TRUNCATE {ks}.{table}", timeout=120)
    tlog = CassandraTransparencyLog(session, ks, events_per_bucket=per_bucket)
    tlog.complete()
    leaves = []
    for n, (receipt, submission) in enumerate(tlog.rejection_rows()):
        data = rejection_leaf_data(Receipt.model_validate_json(receipt).model_dump(mode="json"), digest_text(submission))
        leaves.append(Leaf(merkle.leaf_hash(data), "rejection", digest_text(receipt), f"rebuilt:{n}"))
    tlog.append(leaves)


#: the problem codes of a receipted fact that is gone, and of one that is there but changed
MISSING = frozenset({"missing", "leaf_missing"})
CHANGED = frozenset({"replaced", "hash_changed", "rejection_changed", "not_leaf"})


def names(problems: Any, codes: str | frozenset[str], **about: Any) -> bool:
    """Whether one of ``problems`` has one of ``codes`` and is about ``about`` (stream, seq,
    type, department, submission_id … as :meth:`Problem.about` gives them)."""
    wanted = frozenset({codes}) if isinstance(codes, str) else codes
    return any(p.code in wanted and all(p.about().get(k) == v for k, v in about.items()) for p in problems)


def assert_audit_catches(ledger: Any, *, expect: tuple[str | frozenset[str], dict[str, Any]], rebuilt: bool,
                         rebuild: Callable[[], None]) -> None:
    """The insider's tampering passes the ledger's own Merkle check only when the tree was
    rebuilt (``rebuild`` does that on the backend's storage), and the department's audit of its
    stored receipts and checkpoints fails naming ``expect`` (problem codes, and what the problem
    is about) — and, over a rebuilt tree, names the rewritten or truncated history. Shared by
    the SQLite and the Cassandra tamper tests."""
    if rebuilt:
        rebuild()
    _, log_ok = ledger.verify()
    assert log_ok is rebuilt
    result = ledger.audit()
    assert not result.ok
    shown = [p.as_dict() for p in result.problems]
    codes, about = expect
    assert names(result.problems, codes, **about), shown
    if rebuilt:
        assert names(result.problems, frozenset({"history_rewritten", "truncated"})), shown
