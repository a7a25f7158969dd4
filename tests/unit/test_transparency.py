"""Issue 9 on the embedded backend: every tampering an insider with write access to the
SQLite file can do — even re-chaining, re-signing with the ledger key beside the data and
rebuilding the Merkle tree so ``verify --all`` passes — is caught by a department's kept
receipts and checkpoints (``tongxiu audit``), naming what is missing or changed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests import tamper
from tests.support import CODE, OTHER, decision, make_world
from tongxiu.events import merkle
from tongxiu.events.envelope import Receipt
from tongxiu.events.models import PublicityExpired
from tongxiu.events.signing import KeyPair
from tongxiu.events.tlog import Checkpoint
from tongxiu.infra.audit_log import AuditResult, LocalLedgerView, audit_store
from tongxiu.infra.bootstrap import ledger_key_path, open_embedded
from tongxiu.infra.embedded import LocalTransport
from tongxiu.infra.sqlite_merkle import SqliteTransparencyLog
from tongxiu.infra.verify_projections import verify_projections
from tongxiu.services.audit import verify_streams
from tongxiu.services.config import Settings
from tongxiu.services.demo import demo_key
from tongxiu.services.ports import ManualClock
from tongxiu.services.receipt_store import ReceiptStore
from tongxiu.services.sdk import Producer
from tongxiu.services.submission import sign_submission
from tongxiu.services.transparency import verify_log


@dataclass
class Ledger:
    data: Path
    db: Path
    store: ReceiptStore
    clock: ManualClock
    receipts: dict[str, Receipt]

    def audit(self, **kw: object) -> AuditResult:
        app = open_embedded(Settings(data_dir=self.data), clock=self.clock, read_only=True)
        try:
            return audit_store(LocalLedgerView(app), self.store.receipts(), self.store.checkpoints(), **kw)  # type: ignore[arg-type]
        finally:
            app.close()

    def verify(self) -> tuple[bool, bool]:
        """(verify --all ok, the Merkle log matches the stored data)."""
        app = open_embedded(Settings(data_dir=self.data), clock=self.clock, read_only=True)
        try:
            return verify_streams(app.log).ok, verify_log(SqliteTransparencyLog(app.log.db), app.log).ok
        finally:
            app.close()


@pytest.fixture
def ledger(tmp_path: Path, clock: ManualClock) -> Iterator[Ledger]:
    data = tmp_path / "ledger"
    app = open_embedded(Settings(data_dir=data), clock=clock)
    w = make_world(app, clock)
    store = ReceiptStore(tmp_path / "samr-deqing")
    samr = w.p["samr-deqing"]
    samr.store = store
    receipts = {"d1": w.serve("D1"), "other": samr.serve(OTHER, decision("D9"), occurred_at=clock.now())}
    w.at(1)
    receipts["paid"] = w.pay("D1")
    receipts["bad"] = samr.publish(CODE, [decision("D1")], occurred_at=clock.now())  # the same decision twice
    assert not receipts["bad"].accepted and receipts["bad"].log is not None
    assert all(r.accepted for k, r in receipts.items() if k != "bad"), receipts
    assert app.ledger.transparency is not None
    store.add_checkpoint(app.ledger.transparency.checkpoint(save=True))
    w.at(2)
    app.close()
    yield Ledger(data, data / "ledger.sqlite3", store, clock, receipts)


def test_receipts_carry_leaves_and_a_signed_checkpoint_that_proves_them(ledger: Ledger) -> None:
    r = ledger.receipts["d1"]
    assert r.log is not None and len(r.log.leaves) == len(r.events)
    cp = r.log.checkpoint
    assert cp.verify() and all(i < cp.size for i in r.log.leaves)
    app = open_embedded(Settings(data_dir=ledger.data), clock=ledger.clock, read_only=True)
    view = LocalLedgerView(app)
    proof = [bytes.fromhex(h) for h in view.inclusion(r.log.leaves[0], cp.size)]
    app.close()
    e = r.events[0]
    from tongxiu.events.tlog import event_leaf_data

    leaf = merkle.leaf_hash(event_leaf_data(stream=r.stream, seq=e.seq, event_id=e.event_id, hash=e.hash))
    assert merkle.verify_inclusion(leaf, r.log.leaves[0], cp.size, proof, bytes.fromhex(cp.root))
    result = ledger.audit()
    assert result.ok, result.problems
    assert result.events == 6 and result.rejections == 1 and result.checkpoints >= 2
    assert ledger.verify() == (True, True)


def _check(ledger: Ledger, *, expect: tuple[Any, dict[str, Any]], rebuilt: bool) -> None:
    def rebuild() -> None:
        with tamper.connect(ledger.db) as conn:
            tamper.rebuild_tree(conn)

    tamper.assert_audit_catches(ledger, expect=expect, rebuilt=rebuilt, rebuild=rebuild)


@pytest.mark.parametrize("rebuilt", [False, True])
def test_tail_truncation(ledger: Ledger, rebuilt: bool) -> None:
    with tamper.connect(ledger.db) as conn:
        last = conn.execute("SELECT MAX(seq) FROM events WHERE stream = ?", (CODE,)).fetchone()[0]
        conn.execute("DELETE FROM events WHERE stream = ? AND seq >= ?", (CODE, last - 1))
    assert ledger.verify()[0]  # the chain alone sees nothing
    paid = ledger.receipts["paid"].events[0]
    _check(ledger, expect=(tamper.MISSING, {"stream": CODE, "seq": paid.seq, "type": "penalty_fulfilled"}), rebuilt=rebuilt)


@pytest.mark.parametrize("rebuilt", [False, True])
def test_stream_deletion(ledger: Ledger, rebuilt: bool) -> None:
    with tamper.connect(ledger.db) as conn:
        conn.execute("DELETE FROM events WHERE stream = ?", (OTHER,))
    assert ledger.verify()[0]
    _check(ledger, expect=(tamper.MISSING, {"stream": OTHER, "seq": 1, "type": "penalty_decided"}), rebuilt=rebuilt)


@pytest.mark.parametrize("rebuilt", [False, True])
def test_stream_rename(ledger: Ledger, rebuilt: bool) -> None:
    renamed = "91330521MA2D7K5Z0"
    with tamper.connect(ledger.db) as conn:
        tamper.edit_stream(conn, OTHER, lambda bodies: bodies, new_stream=renamed)
        conn.execute("DELETE FROM events WHERE stream = ?", (OTHER,))
    _check(ledger, expect=(tamper.MISSING, {"stream": OTHER, "seq": 1, "type": "penalty_decided"}), rebuilt=rebuilt)


@pytest.mark.parametrize("rebuilt", [False, True])
def test_reorder_and_rechain(ledger: Ledger, rebuilt: bool) -> None:
    with tamper.connect(ledger.db) as conn:
        tamper.edit_stream(conn, CODE, lambda b: [b[0], b[1], b[3], b[2], *b[4:]])
    assert ledger.verify()[0]  # re-chained: the chain check passes
    _check(ledger, expect=(tamper.CHANGED, {}), rebuilt=rebuilt)


@pytest.mark.parametrize("rebuilt", [False, True])
def test_redated_recorded_at(ledger: Ledger, rebuilt: bool) -> None:
    def backdate(bodies: list[dict[str, object]]) -> list[dict[str, object]]:
        for b in bodies:
            b["recorded_at"] = "2026-01-05T01:00:00Z"  # back to the registrations: inside the key's window
        return bodies

    with tamper.connect(ledger.db) as conn:
        tamper.edit_stream(conn, CODE, backdate)
    assert ledger.verify()[0]  # recorded_at is not signed by the department: the chain passes
    paid = ledger.receipts["paid"].events[0]  # recorded a day later: now "recorded" with the decision
    _check(ledger, expect=(tamper.CHANGED, {"stream": CODE, "seq": paid.seq, "type": "penalty_fulfilled"}), rebuilt=rebuilt)


def test_redated_before_the_ledger_existed_is_caught_by_verify(ledger: Ledger) -> None:
    """Re-dated before the department's key was registered: no key was valid then."""
    def backdate(bodies: list[dict[str, object]]) -> list[dict[str, object]]:
        for b in bodies:
            b["recorded_at"] = "2020-01-01T00:00:00Z"
        return bodies

    with tamper.connect(ledger.db) as conn:
        tamper.edit_stream(conn, CODE, backdate)
    assert ledger.verify()[0] is False
    assert not ledger.audit().ok


@pytest.mark.parametrize("rebuilt", [False, True])
def test_rekeyed_department_with_resigned_events(ledger: Ledger, rebuilt: bool) -> None:
    """The insider holds the ledger key (beside the data): gives samr-deqing a new key in the
    registry, cuts the fine from 50,000 to 5 and re-signs everything."""
    ledger_key = KeyPair.from_private(ledger_key_path(ledger.data).read_text().strip())
    new = KeyPair.generate()

    def rekey(bodies: list[dict[str, object]]) -> list[dict[str, object]]:
        for b in bodies:
            ev = b["event"]
            assert isinstance(ev, dict)
            if ev.get("type") == "department_registered" and ev.get("department_id") == "samr-deqing":
                ev["public_key"] = new.public_key
        return bodies

    def cut(bodies: list[dict[str, object]]) -> list[dict[str, object]]:
        for b in bodies:
            ev = b["event"]
            assert isinstance(ev, dict)
            if ev.get("type") == "penalty_decided":
                ev["fine_yuan"] = "5"
        return bodies

    with tamper.connect(ledger.db) as conn:
        tamper.edit_stream(conn, "registry", rekey, keys={"ledger": ledger_key, "samr-deqing": new})
        tamper.edit_stream(conn, CODE, cut, keys={"samr-deqing": new, "ledger": ledger_key})
        tamper.edit_stream(conn, OTHER, lambda b: b, keys={"samr-deqing": new, "ledger": ledger_key})
    assert ledger.verify()[0]  # re-keyed and re-signed: verify --all says OK
    _check(ledger, expect=(tamper.CHANGED, {"stream": CODE, "seq": 1, "type": "penalty_decided"}), rebuilt=rebuilt)


@pytest.mark.parametrize("rebuilt", [False, True])
def test_forged_ledger_fact(ledger: Ledger, rebuilt: bool) -> None:
    """A ledger-signed publicity_expired slipped into the history before the payment."""
    ledger_key = KeyPair.from_private(ledger_key_path(ledger.data).read_text().strip())

    def forge(bodies: list[dict[str, object]]) -> list[dict[str, object]]:
        fact = dict(bodies[0])
        fact.update(
            event_id="forged-0", department="ledger", submission_id="forged", index=0,
            event=PublicityExpired(decision_no="D1", expired_on=date(2026, 1, 5)).model_dump(mode="json"),
            signature_format=2, submission_size=1,
        )
        return [*bodies[:3], fact, *bodies[3:]]

    with tamper.connect(ledger.db) as conn:
        tamper.edit_stream(conn, CODE, forge, keys={"ledger": ledger_key})
    assert ledger.verify()[0]
    paid = ledger.receipts["paid"].events[0]
    _check(ledger, expect=(tamper.CHANGED, {"stream": CODE, "seq": paid.seq, "type": "penalty_fulfilled"}), rebuilt=rebuilt)


@pytest.mark.parametrize("rebuilt", [False, True])
def test_rewritten_rejection(ledger: Ledger, rebuilt: bool) -> None:
    bad = ledger.receipts["bad"]
    with tamper.connect(ledger.db) as conn:
        (rid, receipt) = conn.execute(
            "SELECT id, receipt FROM rejections WHERE submission_id = ?", (bad.submission_id,)).fetchone()
        changed = json.loads(receipt)
        changed["reasons"] = [{**changed["reasons"][0], "code": "signature_invalid"}]
        conn.execute("UPDATE rejections SET receipt = ?, codes = ? WHERE id = ?",
                     (json.dumps(changed, ensure_ascii=False), "signature_invalid", rid))
    _check(ledger, expect=("rejection_changed", {"department": "samr-deqing", "submission_id": bad.submission_id}), rebuilt=rebuilt)


def test_deleted_rejection_is_caught_by_the_log_check(ledger: Ledger) -> None:
    with tamper.connect(ledger.db) as conn:
        conn.execute("DELETE FROM rejections")
    assert ledger.verify() == (True, False)
    assert not ledger.audit().ok


def test_read_model_edited(ledger: Ledger) -> None:
    app = open_embedded(Settings(data_dir=ledger.data), clock=ledger.clock, read_only=True)
    assert verify_projections(app).ok
    app.close()
    with tamper.connect(ledger.db) as conn:  # the stored part edited as JSON (its white space is no contract)
        where = (f"enterprise:{CODE}", "credit.records/D1")
        (text,) = conn.execute("SELECT state FROM projection_parts WHERE key = ? AND part = ?", where).fetchone()
        part = json.loads(text)
        assert part["fine_yuan"] == "50000"
        part["fine_yuan"] = "5"
        conn.execute("UPDATE projection_parts SET state = ? WHERE key = ? AND part = ?",
                     (json.dumps(part, ensure_ascii=False), *where))
    app = open_embedded(Settings(data_dir=ledger.data), clock=ledger.clock, read_only=True)
    result = verify_projections(app)
    app.close()
    assert not result.ok and result.first_difference is not None
    first = result.first_difference
    assert first.code == "projection_differs" and first.about()["path"].startswith(f"enterprise:{CODE}/")
    assert first.about()["stored"] == "'5'" and first.about()["rebuilt"] == "'50000'", first.as_dict()
    assert first.text() == f"{first.about()['path']}：存储的是 '5'，重建的是 '50000'"
    assert first.text("en") == f"{first.about()['path']}: stored '5' ≠ rebuilt '50000'"


def test_witness_cosignatures_required(ledger: Ledger, tmp_path: Path) -> None:
    from tongxiu.events.tlog import cosign

    w1, w2 = KeyPair.generate(), KeyPair.generate()
    witnesses = {"mof": w1.public_key, "court": w2.public_key}
    cp = ledger.store.checkpoints()[-1]
    assert not ledger.audit(witnesses=witnesses, require=2).ok  # none cosigned yet
    one = cosign(cp, "mof", w1.sign, w1.public_key)
    both = cosign(one, "court", w2.sign, w2.public_key)
    assert both.cosigned_by(witnesses) == {"mof", "court"}
    # a checkpoint is a plain file: the witness's copy round-trips
    f = tmp_path / "cp.json"
    f.write_text(both.to_file())
    again = Checkpoint.model_validate_json(f.read_text())
    assert again.cosigned_by(witnesses) == {"mof", "court"}
    forged = again.model_copy(update={"root": "0" * 64})
    assert forged.cosigned_by(witnesses) == set() and not forged.verify()
    only = ReceiptStore(tmp_path / "auditor")
    only.add_checkpoint(again)
    app = open_embedded(Settings(data_dir=ledger.data), clock=ledger.clock, read_only=True)
    try:
        ok = audit_store(LocalLedgerView(app), [], only.checkpoints(), witnesses=witnesses, require=2)
        assert ok.ok, ok.problems
        short = audit_store(LocalLedgerView(app), [], [one], witnesses=witnesses, require=2)
        assert not short.ok and short.problems[0].code == "not_witnessed"
        assert short.problems[0].about() == {"best": 1, "require": 2}
    finally:
        app.close()
    # the insider (holding the ledger key) rewrites a stream and rebuilds the tree: an auditor
    # holding nothing but the witnessed checkpoint file sees the fork
    with tamper.connect(ledger.db) as conn:
        tamper.edit_stream(conn, CODE, lambda b: [b[0], b[1], b[3], b[2], *b[4:]])
        tamper.rebuild_tree(conn)
    app = open_embedded(Settings(data_dir=ledger.data), clock=ledger.clock, read_only=True)
    try:
        forked = audit_store(LocalLedgerView(app), [], [again], witnesses=witnesses, require=2)
    finally:
        app.close()
    assert not forked.ok and forked.problems[0].code == "history_rewritten", forked.problems


def test_existing_ledger_gets_its_tree_on_first_open(ledger: Ledger) -> None:
    with tamper.connect(ledger.db) as conn:
        before = conn.execute("SELECT size FROM merkle_state").fetchone()[0]
        conn.execute("DROP TABLE merkle_leaves")
        conn.execute("DROP TABLE merkle_state")
    app = open_embedded(Settings(data_dir=ledger.data), clock=ledger.clock)
    try:
        assert app.ledger.transparency is not None
        assert app.ledger.transparency.checkpoint().size == before
        assert verify_log(SqliteTransparencyLog(app.log.db), app.log).ok
    finally:
        app.close()
    # built in the same order the appends had made it: the department's receipts still audit
    assert ledger.audit().ok


def test_sdk_keeps_receipts_by_default(app: object, clock: ManualClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TONGXIU_CLIENT_DIR", str(tmp_path / "client"))
    from tongxiu.services.app import Tongxiu

    assert isinstance(app, Tongxiu)
    make_world(app, clock)
    p = Producer(LocalTransport(app), "samr-deqing", demo_key("samr-deqing"))
    r = p.serve(CODE, decision("D7", fine_yuan=Decimal("100")), occurred_at=clock.now())
    assert r.accepted
    kept = ReceiptStore(tmp_path / "client" / "samr-deqing").receipts()
    assert [k.submission_id for k in kept][-1] == r.submission_id and kept[-1].log is not None


def test_a_ledger_written_before_stored_nodes_still_verifies_and_proves(ledger: Ledger) -> None:
    """The layout of today's main before proofs read stored nodes: no ``merkle_nodes``. Read
    only, proofs are computed from the leaves; the first writable open backfills the nodes
    (leaves, head and every hash unchanged) and the department's receipts still audit."""
    with tamper.connect(ledger.db) as conn:
        head = conn.execute("SELECT size, frontier FROM merkle_state").fetchone()
        leaves = conn.execute("SELECT idx, hash, kind, ref FROM merkle_leaves ORDER BY idx").fetchall()
        conn.execute("DROP TABLE merkle_nodes")
    assert head[0] > 10
    result = ledger.audit()  # read-only: no table is created, proofs come from the leaves
    assert result.ok, result.problems
    with tamper.connect(ledger.db) as conn:
        assert conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'merkle_nodes'").fetchone() is None
    app = open_embedded(Settings(data_dir=ledger.data), clock=ledger.clock)
    try:
        assert verify_log(SqliteTransparencyLog(app.log.db), app.log).ok
        t = app.ledger.transparency
        assert t is not None
        tree = t.tree(head[0])
        proof = tree.inclusion_proof(3, head[0])
        assert tree.reads <= 2 * (head[0] - 1).bit_length() + 2
        full = [bytes(h) for _, h, _, _ in leaves]
        assert proof == merkle.inclusion_proof(full, 3, head[0])
    finally:
        app.close()
    with tamper.connect(ledger.db) as conn:
        assert conn.execute("SELECT size, frontier FROM merkle_state").fetchone() == head
        assert conn.execute("SELECT idx, hash, kind, ref FROM merkle_leaves ORDER BY idx").fetchall() == leaves
        (nodes,) = conn.execute("SELECT COUNT(*) FROM merkle_nodes").fetchone()
    assert nodes == sum(head[0] >> lv for lv in range(1, head[0].bit_length()))
    assert ledger.audit().ok


def test_a_tampered_stored_node_is_caught_by_the_log_check(ledger: Ledger) -> None:
    with tamper.connect(ledger.db) as conn:
        conn.execute("UPDATE merkle_nodes SET hash = ? WHERE level = 3 AND idx = 0", ("00" * 32,))
    app = open_embedded(Settings(data_dir=ledger.data), clock=ledger.clock, read_only=True)
    try:
        result = verify_log(SqliteTransparencyLog(app.log.db), app.log)
    finally:
        app.close()
    assert not result.ok
    assert [p.as_dict() for p in result.problems] == [{
        "code": "node_wrong", "about": {"level": 3, "index": 0},
        "message": "存储的节点（层 3，序号 0）不是其下叶子的哈希：证明会出错",
        "message_en": "stored node (level 3, index 0) is not the hash of its leaves: proofs would be wrong"}]
    assert not ledger.audit().ok  # the proofs served from it fail the department's check too


def _node_rows(db: Path) -> tuple[list[str], list[tuple[int, ...]]]:
    with tamper.connect(db) as conn:
        columns = [r[1] for r in conn.execute("PRAGMA table_info(merkle_nodes)")]
        rows = conn.execute("SELECT level, idx FROM merkle_nodes ORDER BY level, idx").fetchall()
    return columns, rows


def test_nodes_are_keyed_by_their_last_leaf_and_the_first_layout_still_works(ledger: Ledger) -> None:
    """Issue 11: a new ledger keys each stored node by the last leaf it covers (the nodes one
    append closes share a page); a ledger written with the first layout, ``(level, idx)``,
    keeps it, goes on being written and proved, and verifies."""
    columns, rows = _node_rows(ledger.db)
    assert columns[:2] == ["last", "level"]
    with tamper.connect(ledger.db) as conn:
        keyed = conn.execute("SELECT last, level, idx FROM merkle_nodes").fetchall()
        (size,) = conn.execute("SELECT size FROM merkle_state").fetchone()
    assert keyed and all(last == ((i + 1) << lv) - 1 for last, lv, i in keyed)
    assert len(rows) == sum(size >> lv for lv in range(1, size.bit_length()))

    with tamper.connect(ledger.db) as conn:  # back to the first layout, same nodes
        conn.execute("ALTER TABLE merkle_nodes RENAME TO nodes_now")
        conn.execute("CREATE TABLE merkle_nodes (level INTEGER NOT NULL, idx INTEGER NOT NULL, hash TEXT NOT NULL,"
                     " PRIMARY KEY (level, idx)) WITHOUT ROWID")
        conn.execute("INSERT INTO merkle_nodes SELECT level, idx, hash FROM nodes_now")
        conn.execute("DROP TABLE nodes_now")
    app = open_embedded(Settings(data_dir=ledger.data), clock=ledger.clock)
    try:
        for n in range(5):
            sub = sign_submission(demo_key("samr-deqing"), department="samr-deqing", stream=OTHER,
                                  submission_id=f"layout-{n}", occurred_at=ledger.clock.now(), events=[decision(f"L{n}")])
            assert app.submit(sub).accepted
        assert verify_log(SqliteTransparencyLog(app.log.db), app.log).ok
        t = app.ledger.transparency
        assert t is not None
        size, root = t.tlog.head()
        tree = t.tree(size)
        leaves = t.tlog.leaf_hashes(size)
        assert tree.inclusion_proof(size - 1, size) == merkle.inclusion_proof(leaves, size - 1, size)
        assert tree.reads <= 2 * (size - 1).bit_length() + 2
    finally:
        app.close()
    columns, rows = _node_rows(ledger.db)
    assert columns == ["level", "idx", "hash"]
    assert len(rows) == sum(size >> lv for lv in range(1, size.bit_length()))
    assert ledger.audit().ok
