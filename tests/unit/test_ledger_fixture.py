"""Issue 11: the optimised write path keeps the canonical bytes and the hashes of existing
ledgers. ``tests/fixtures/ledger-2026-12-01/ledger.sqlite3`` was written by ``main`` at d276c67
(before the optimisation) with ``tests/fixture_ledger.py``; the current code must read,
verify and audit it, continue it, and — given the same submissions at the same times —
write the same events, hashes and transparency leaves. Its read models were stored in format 0
(rule explanations in English); opening it with the current code rebuilds them in the current
format, and then they equal what the current code writes for the same history."""

from __future__ import annotations

import json
import shutil
import sqlite3
from datetime import UTC, timedelta
from pathlib import Path
from typing import Any

from tests.fixture_ledger import LEDGER_KEY, codes_of_workload, continue_ledger, write_fixture_ledger
from tongxiu.infra.bootstrap import open_embedded
from tongxiu.infra.sqlite_merkle import SqliteTransparencyLog
from tongxiu.projections.keys import PROJECTION, enterprise_key
from tongxiu.services.audit import replay, verify_streams
from tongxiu.services.config import Settings
from tongxiu.services.demo import ENTERPRISE, START
from tongxiu.services.ports import ManualClock
from tongxiu.services.transparency import verify_log
from tongxiu.streams.processor import READ_MODEL_FORMAT, stored_format

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "ledger-2026-12-01" / "ledger.sqlite3"


def rows(path: Path, sql: str) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(path)
    try:
        return list(conn.execute(sql).fetchall())
    finally:
        conn.close()


def events_of(path: Path) -> list[tuple[Any, ...]]:
    return [(p, s, q, json.loads(raw)) for p, s, q, raw in rows(path, "SELECT position, stream, seq, raw FROM events ORDER BY position")]


def test_a_ledger_written_by_the_old_code_verifies_replays_and_continues(tmp_path: Path) -> None:
    (tmp_path / "old").mkdir()
    shutil.copy(FIXTURE, tmp_path / "old" / "ledger.sqlite3")
    clock = ManualClock((START + timedelta(days=200)).astimezone(UTC))
    parts = "SELECT key, state FROM projection_parts WHERE state LIKE '%\"basis\"%'"

    def bases(path: Path) -> list[str]:
        return [str(json.loads(s)["basis"]) for _, s in rows(path, parts) if "basis" in json.loads(s)]

    assert any("because most severe penalty type" in b for b in bases(tmp_path / "old" / "ledger.sqlite3"))
    app = open_embedded(Settings(data_dir=tmp_path / "old"), clock=clock, key=LEDGER_KEY)
    try:
        # the old format's read models were rebuilt on open: the explanations are now Chinese
        assert stored_format(app.read_models.projector) == READ_MODEL_FORMAT  # type: ignore[attr-defined]
        stored = bases(tmp_path / "old" / "ledger.sqlite3")
        assert stored and not any("because most severe penalty type" in b for b in stored)
        assert any("一般失信：最重处罚种类为罚款" in b for b in stored)
        check = verify_streams(app.log)
        assert check.ok, check.first_bad
        assert check.events == 130
        assert verify_log(SqliteTransparencyLog(app.log.db), app.log).ok  # type: ignore[attr-defined]
        codes = [s for s in app.log.streams() if s != "registry"]
        assert ENTERPRISE in codes and len(codes) >= 6
        for code in codes:  # the stored read models are what the history folds to
            assert replay(app.log, app.rules, code).state.model_dump(mode="json") == app.enterprise_state(code).model_dump(mode="json"), code

        # continued with the current code: the chain links to the old events and still verifies
        code = codes_of_workload()[0]
        before = app.log.last_seq(code)
        receipt = continue_ledger(app)
        assert receipt.accepted, receipt.reasons
        assert receipt.events[0].seq == before + 1
        assert app.log.read_stream(code, from_seq=before + 1)[0].envelope.prev_hash == (
            app.log.read_stream(code, from_seq=before)[0].envelope.hash
        )
        check = verify_streams(app.log)
        assert check.ok and check.events == 133, check.first_bad
        assert verify_log(SqliteTransparencyLog(app.log.db), app.log).ok  # type: ignore[attr-defined]
        assert replay(app.log, app.rules, code).state.model_dump(mode="json") == app.enterprise_state(code).model_dump(mode="json")
    finally:
        app.close()


def test_the_current_code_writes_the_same_bytes_hashes_leaves_and_read_models(tmp_path: Path) -> None:
    app = write_fixture_ledger(tmp_path / "new")
    app.close()
    new = tmp_path / "new" / "ledger.sqlite3"
    # the fixture's read models in the current format: opened (and so rebuilt) by the current code
    (tmp_path / "old").mkdir()
    shutil.copy(FIXTURE, tmp_path / "old" / "ledger.sqlite3")
    clock = ManualClock((START + timedelta(days=200)).astimezone(UTC))
    open_embedded(Settings(data_dir=tmp_path / "old"), clock=clock, key=LEDGER_KEY).close()
    rebuilt = tmp_path / "old" / "ledger.sqlite3"
    old_events, new_events = events_of(FIXTURE), events_of(new)
    assert len(old_events) == 130
    assert new_events == old_events  # the same stored content: every field, signature and hash
    assert [e[3]["hash"] for e in new_events] == [e[3]["hash"] for e in old_events]
    # the event leaves are the same; a rejection's leaf hashes its receipt, whose reason messages
    # are Chinese since issue 12 (same codes, same submission, other words): only those differ
    leaves = "SELECT idx, hex(hash), kind, ref FROM merkle_leaves ORDER BY idx"
    new_leaves, old_leaves = rows(new, leaves), rows(FIXTURE, leaves)
    assert [(i, k) for i, _, k, _ in new_leaves] == [(i, k) for i, _, k, _ in old_leaves]
    assert [n for n in new_leaves if n[2] == "event"] == [o for o in old_leaves if o[2] == "event"]
    assert sum(1 for o in old_leaves if o[2] == "event") == 130
    rejections = "SELECT department, submission_id, codes, submission FROM rejections ORDER BY id"
    assert rows(new, rejections) == rows(FIXTURE, rejections)
    assert len(rows(FIXTURE, rejections)) == 3
    parts = "SELECT projection, key, part, state FROM projection_parts ORDER BY projection, key, part"
    old_parts = [(p, k, n, json.loads(s)) for p, k, n, s in rows(rebuilt, parts)]
    assert [(p, k, n, json.loads(s)) for p, k, n, s in rows(new, parts)] == old_parts
    assert any(k == enterprise_key(ENTERPRISE) for _, k, _, _ in old_parts)
    positions = "SELECT projection, position FROM positions ORDER BY projection"
    assert rows(new, positions) == rows(rebuilt, positions)
    assert dict(rows(new, positions))[PROJECTION] == dict(rows(FIXTURE, positions))[PROJECTION]
    assert {p for p, *_ in old_parts} == {PROJECTION}
