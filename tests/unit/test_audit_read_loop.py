"""The audit's read loop (``read_pages``) parses, tests plainness and decodes each stored event
itself: what it gives must be exactly what :func:`loads_plain` and :meth:`Envelope.from_body`
give — the value ``json.loads`` gives (an integer beyond 64 bits stays an exact ``int``), plain
only when orjson's parse holds no float — and the chain check must then report what it reported
before (a float or a big integer rewritten into a stored row changes its canonical bytes)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from tongxiu.events.envelope import Envelope
from tongxiu.events.fastjson import loads_plain
from tongxiu.services.audit import Verification, _check_chain, read_pages

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "ledger-2026-12-01" / "ledger.sqlite3"


class _Rows:
    """A log that gives one stream's stored rows as they are (the loop's only input)."""

    def __init__(self, rows: list[bytes]) -> None:
        self.rows = rows

    def read_stream_stored(self, stream: str, *, from_seq: int = 1, limit: int | None = None) -> list[bytes]:
        out = self.rows[from_seq - 1:]
        return out[:limit] if limit is not None else out

    def read_stream(self, stream: str, *, from_seq: int = 1, limit: int | None = None) -> list[Any]:
        raise AssertionError("not needed from seq 1")


def _stream_rows() -> list[bytes]:
    conn = sqlite3.connect(FIXTURE)
    try:
        (stream,) = conn.execute("SELECT stream FROM events WHERE stream != 'registry' GROUP BY stream "
                                 "ORDER BY COUNT(*) DESC LIMIT 1").fetchone()
        return [bytes(r) for (r,) in conn.execute(
            "SELECT CAST(raw AS BLOB) FROM events WHERE stream = ? ORDER BY seq", (stream,))]
    finally:
        conn.close()


def _rewritten(raw: bytes, key: str, value_text: str) -> bytes:
    """``raw`` with the top-level member ``key`` written as ``value_text`` (not re-encoded)."""
    body = json.loads(raw)
    assert key in body
    member = f'"{key}":'.encode()
    event_at = raw.index(b'"event":')  # the top-level member is the first before the event, the last after it
    at = raw.find(member) if raw.find(member) < event_at else raw.rfind(member)
    head, sep, tail = raw[:at], member, raw[at + len(member):]
    old = json.dumps(body[key], separators=(",", ":"), ensure_ascii=False).encode()
    assert tail.startswith(old), (key, tail[:40])
    return head + sep + value_text.encode() + tail[len(old):]


def test_every_stored_row_is_read_as_loads_plain_and_from_body_read_it() -> None:
    rows = _stream_rows()
    assert len(rows) >= 5
    floated = _rewritten(rows[1], "submission_size", "1.0")  # decodes (lax int), not plain
    big = _rewritten(rows[2], "seq", str(2**70))  # orjson would read a float; json an exact int
    mixed = [rows[0], floated, big, *rows[3:]]
    pages = list(read_pages(_Rows(mixed), "s", batch=2))  # pages of 2: the page loop too
    got = [event for page in pages for event in page]
    assert len(got) == len(mixed)
    for event, raw in zip(got, mixed, strict=True):
        body, plain = loads_plain(raw)
        assert event.raw is raw and event.body == body and event.plain is plain
        assert event.envelope == Envelope.from_body(body)
        assert [type(v) for v in event.body.values()] == [type(v) for v in json.loads(raw).values()]
    assert got[1].plain is False and got[1].body["submission_size"] == 1.0
    assert got[2].plain is False and got[2].body["seq"] == 2**70 and type(got[2].body["seq"]) is int
    assert all(e.plain for i, e in enumerate(got) if i not in (1, 2))


def test_a_float_or_big_integer_rewritten_into_a_row_is_reported() -> None:
    rows = _stream_rows()
    for bad in (_rewritten(rows[1], "submission_size", "1.0"), _rewritten(rows[1], "index", "0.0")):
        result = Verification()
        pages = list(_check_chain(_Rows([rows[0], bad, *rows[2:]]), "s", result, {}))
        assert sum(len(p) for p in pages) == len(rows)
        assert not result.ok and result.first_bad is not None
        assert result.first_bad["seq"] == 2 and result.first_bad["code"] == "hash_mismatch"
    result = Verification()
    list(_check_chain(_Rows(rows), "s", result, {}))
    assert result.ok, result.problems
