"""Replay reads the embedded store's events as their stored UTF-8 bytes
(``SqliteEventLog.read_stream_bytes``; issue 11, session 11): pydantic-core parses UTF-8, so
reading text decoded each row into a ``str`` only for the parser to encode it back. The
replay is the same event for event and state for state as reading text; a database in another
text encoding still reads right; a malformed stored row still fails with a clear error naming
the field; and the audit still catches a row changed behind the ledger's back."""

from __future__ import annotations

import json
import shutil
import sqlite3
from datetime import UTC, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from tests.fixture_ledger import LEDGER_KEY
from tests.fold_snapshot import FIXTURE
from tongxiu.infra.bootstrap import open_embedded
from tongxiu.services.app import Tongxiu
from tongxiu.services.audit import Replay, history_page, replay, verify_streams
from tongxiu.services.config import Settings
from tongxiu.services.demo import START
from tongxiu.services.ports import ManualClock


def open_copy(tmp: Path, name: str = "fixture") -> Tongxiu:
    (tmp / name).mkdir()
    shutil.copy(FIXTURE, tmp / name / "ledger.sqlite3")
    return open_embedded(Settings(data_dir=tmp / name), clock=ManualClock((START + timedelta(days=200)).astimezone(UTC)),
                         key=LEDGER_KEY)


def enterprise_streams(app: Tongxiu) -> list[str]:
    return [s for s in app.log.streams() if s != "registry"]


def as_data(r: Replay) -> tuple[list[str], list[Any], dict[str, Any]]:
    return [e.to_json() for e in r.events], [e.model_dump() for e in r.events], r.state.model_dump(mode="json")


def page_state(app: Tongxiu, code: str) -> Any:
    page = history_page(app.log, app.rules, code, as_of=START + timedelta(days=60))
    assert page.state is not None
    return [e.to_json() for e in page.events], page.total, page.state.model_dump(mode="json")


def test_the_store_gives_each_row_as_its_utf8_bytes(tmp_path: Path) -> None:
    app = open_copy(tmp_path)
    try:
        log: Any = app.log
        for stream in app.log.streams():
            raw = log.read_stream_raw(stream)
            assert log.read_stream_bytes(stream) == [r.encode("utf-8") for r in raw]
            assert any(not r.isascii() for r in raw) or stream == "registry"  # Chinese text in the rows
            assert log.read_stream_bytes(stream, from_seq=2, limit=3) == [r.encode("utf-8") for r in raw[1:4]]
    finally:
        app.close()


def test_replay_from_bytes_is_replay_from_text(tmp_path: Path) -> None:
    app = open_copy(tmp_path)
    try:
        codes = enterprise_streams(app)
        assert len(codes) == 6
        from_bytes = {c: as_data(replay(app.log, app.rules, c)) for c in codes}
        filtered = {c: page_state(app, c) for c in codes}
        app.log.read_stream_stored = app.log.read_stream_raw  # type: ignore[method-assign]  # the text path, as other logs read
        assert {c: as_data(replay(app.log, app.rules, c)) for c in codes} == from_bytes
        assert {c: page_state(app, c) for c in codes} == filtered
    finally:
        app.close()


def test_a_database_storing_text_as_utf16_still_replays(tmp_path: Path) -> None:
    (tmp_path / "utf16").mkdir()
    conn = sqlite3.connect(tmp_path / "utf16" / "ledger.sqlite3")
    conn.execute("PRAGMA encoding = 'UTF-16le'")
    conn.execute("CREATE TABLE encoding_fixed_here (x)")  # the encoding is set by the first table
    conn.commit()
    conn.close()
    reference = open_copy(tmp_path)
    app = open_embedded(Settings(data_dir=tmp_path / "utf16"), clock=ManualClock(START.astimezone(UTC)), key=LEDGER_KEY)
    try:
        assert app.log.db.conn.execute("PRAGMA encoding").fetchone()[0] == "UTF-16le"  # type: ignore[attr-defined]
        conn = app.log.db.conn  # type: ignore[attr-defined]
        names = "stream, seq, event_id, type, department, submission_id, occurred_at, recorded_at, raw"
        rows = reference.log.db.conn.execute(  # type: ignore[attr-defined]
            f"SELECT {names} FROM events WHERE stream != 'registry' ORDER BY position").fetchall()
        with app.log.db.lock:  # type: ignore[attr-defined]  # the enterprises' rows as stored, in this file
            conn.execute("BEGIN")
            conn.executemany(f"INSERT INTO events ({names}) VALUES ({','.join('?' * 9)})", rows)
            conn.execute("COMMIT")
        for code in enterprise_streams(reference):
            assert app.log.read_stream_bytes(code) == [  # type: ignore[attr-defined]
                r.encode("utf-8") for r in reference.log.read_stream_raw(code)]
            assert as_data(replay(app.log, app.rules, code)) == as_data(replay(reference.log, reference.rules, code))
    finally:
        app.close()
        reference.close()


def rewrite_row(app: Tongxiu, stream: str, seq: int, change: Any) -> None:
    conn = app.log.db.conn  # type: ignore[attr-defined]
    (raw,) = conn.execute("SELECT raw FROM events WHERE stream = ? AND seq = ?", (stream, seq)).fetchone()
    new = change(raw)
    conn.execute("UPDATE events SET raw = ? WHERE stream = ? AND seq = ?", (new, stream, seq))


def decision_row(app: Tongxiu) -> tuple[str, int]:
    conn = app.log.db.conn  # type: ignore[attr-defined]
    for stream, seq, raw in conn.execute("SELECT stream, seq, raw FROM events ORDER BY position"):
        if json.loads(raw)["event"]["type"] == "penalty_decided":
            return stream, seq
    raise AssertionError("no decision in the fixture")


def without_decision_no(raw: str) -> str:
    body = json.loads(raw)
    del body["event"]["decision_no"]
    return json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


@pytest.mark.parametrize(("change", "says"), [
    (without_decision_no, ["event.penalty_decided.decision_no", "Field required"]),
    (lambda raw: raw.replace('"procedure":"ordinary"', '"procedure":"secret"'), ["procedure", "'simple' or 'ordinary'"]),
    (lambda raw: raw[: len(raw) // 2], ["Invalid JSON"]),
])
def test_a_malformed_stored_row_fails_the_replay_with_a_clear_error(tmp_path: Path, change: Any, says: list[str]) -> None:
    app = open_copy(tmp_path)
    try:
        stream, seq = decision_row(app)
        rewrite_row(app, stream, seq, change)
        with pytest.raises(ValidationError) as failed:
            replay(app.log, app.rules, stream)
        for text in says:
            assert text in str(failed.value)
    finally:
        app.close()


def test_the_audit_still_catches_a_changed_row(tmp_path: Path) -> None:
    app = open_copy(tmp_path)
    try:
        assert verify_streams(app.log).ok
        stream, seq = decision_row(app)
        rewrite_row(app, stream, seq, lambda raw: raw.replace('"fine_yuan":"', '"fine_yuan":"1', 1))
        found = verify_streams(app.log)
        assert not found.ok
        assert {(p["stream"], p["seq"], p["code"]) for p in found.problems} >= {(stream, seq, "hash_mismatch")}
        assert replay(app.log, app.rules, stream).events[seq - 1].event.fine_yuan >= 10  # type: ignore[union-attr]
    finally:
        app.close()
