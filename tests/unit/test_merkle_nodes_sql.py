"""How the SQLite transparency log stores its complete-subtree nodes: an append writes the
nodes its leaves close in at most one statement (none when it closes none), and what it stores
is what a backfill from the leaves computes (the one-statement ``json_each`` form for a chunk
of more than ``VALUES_ROWS`` nodes)."""

from __future__ import annotations

import sqlite3

from tongxiu.events import merkle
from tongxiu.infra import sqlite_merkle


def _tree() -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:", isolation_level=None)
    for statement in sqlite_merkle.SCHEMA.split(";"):
        if statement.strip():
            conn.execute(statement)
    conn.execute("INSERT INTO merkle_state (id, size, frontier) VALUES (1, 0, '[]')")
    return conn


def _leaf(i: int) -> tuple[bytes, str, str]:
    return merkle.leaf_hash(str(i).encode()), "event", f"e{i}"


def _nodes(conn: sqlite3.Connection) -> list[tuple[int, int, int, str]]:
    return conn.execute("SELECT last, level, idx, hash FROM merkle_nodes ORDER BY last, level").fetchall()


def test_an_append_writes_the_nodes_it_closes_in_one_statement_or_none() -> None:
    conn = _tree()
    seen: list[str] = []
    conn.set_trace_callback(seen.append)
    batches = [[_leaf(i)] for i in range(150)] + [[_leaf(150), _leaf(151), _leaf(152)]]
    size = 0
    node_statements: list[int] = []
    memo: dict[object, object] = {}  # as the ledger's transaction passes it (the layout looked up once)
    for batch in batches:
        seen.clear()
        sqlite_merkle.add_leaves(conn, batch, memo)
        closes = any(s & 1 for s in range(size, size + len(batch)))  # a leaf at an odd index closes a node
        size += len(batch)
        node_statements.append(sum(s.startswith("INSERT OR REPLACE INTO merkle_nodes") for s in seen))
        assert node_statements[-1] == (1 if closes else 0), (size, seen)
    conn.set_trace_callback(None)
    assert node_statements.count(0) == 75 and node_statements.count(1) == 76

    # what the appends stored: every complete subtree, computed independently here
    expected: list[tuple[int, int, int, str]] = []
    frontier: list[bytes] = []
    for i in range(153):
        frontier, made = merkle.frontier_append_nodes(frontier, i, _leaf(i)[0])
        expected += [(sqlite_merkle.last_leaf(lv, idx), lv, idx, h.hex()) for lv, idx, h in made]
    appended = _nodes(conn)
    assert len(appended) == 153 - bin(153).count("1")  # a tree of n leaves: n - popcount(n) nodes
    assert appended == sorted(expected)

    # a backfill from the leaves (one json_each chunk of 149 nodes) stores the same
    seen.clear()
    conn.set_trace_callback(seen.append)
    assert sqlite_merkle.backfill_nodes(conn) == 153
    conn.set_trace_callback(None)
    assert sum("json_each" in s for s in seen) == 1
    assert _nodes(conn) == appended


def test_the_first_layout_of_nodes_is_written_the_same_way() -> None:
    """A ledger whose ``merkle_nodes`` is keyed by (level, idx) (before issue 11's session 10)."""
    conn = _tree()
    conn.execute("DROP TABLE merkle_nodes")
    conn.execute("CREATE TABLE merkle_nodes (level INTEGER NOT NULL, idx INTEGER NOT NULL, hash TEXT NOT NULL,"
                 " PRIMARY KEY (level, idx))")
    for i in range(0, 40, 2):
        sqlite_merkle.add_leaves(conn, [_leaf(i), _leaf(i + 1)])
    rows = conn.execute("SELECT level, idx, hash FROM merkle_nodes ORDER BY level, idx").fetchall()
    expected: list[tuple[int, int, str]] = []
    frontier: list[bytes] = []
    for i in range(40):
        frontier, made = merkle.frontier_append_nodes(frontier, i, _leaf(i)[0])
        expected += [(lv, idx, h.hex()) for lv, idx, h in made]
    assert rows == sorted(expected)
