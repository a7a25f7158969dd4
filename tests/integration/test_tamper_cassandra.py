"""Issue 9 on the distributed backend, where the storage differs: an insider with plain CQL
access to the keyspace (no LWT, no fencing) truncates a stream's tail, deletes a stream,
rewrites a rejection, re-dates ``recorded_at`` and re-chains, and covers it by rebuilding the
Merkle tree (a fork). The department's kept receipts and checkpoints (``tongxiu audit``'s
check, against the real Cassandra) and k witness cosignatures catch each, naming what is
missing or changed; ``verify-log`` catches the ones left without a rebuilt tree.

One fresh keyspace per test (the tampering is destructive; the tree spans the keyspace).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests import tamper
from tests.integration.test_cassandra_ledger import RebuildingReadModels
from tests.support import CODE, OTHER, decision, make_world
from tongxiu.events.envelope import Receipt
from tongxiu.events.signing import KeyPair
from tongxiu.events.tlog import Checkpoint, cosign
from tongxiu.infra.audit_log import AuditResult, LocalLedgerView, audit_store
from tongxiu.infra.bootstrap import load_rules
from tongxiu.infra.cassandra_merkle import (
    CassandraTransparencyLog,
    LoggedCassandraEventLog,
    LoggedCassandraRejectionLog,
)
from tongxiu.infra.cassandra_store import EVENTS_PER_BUCKET, CassandraOffsetStore, CassandraProjectionStore
from tongxiu.infra.embedded import InProcessTransport, LocalFeed
from tongxiu.services.app import Tongxiu
from tongxiu.services.audit import verify_streams
from tongxiu.services.config import Settings
from tongxiu.services.ledger import Ledger
from tongxiu.services.ports import ManualClock
from tongxiu.services.receipt_store import ReceiptStore
from tongxiu.services.transparency import Transparency, verify_log

pytestmark = pytest.mark.integration
PER_BUCKET = EVENTS_PER_BUCKET


def open_logged(session: Any, settings: Settings, clock: ManualClock, key: KeyPair) -> Tongxiu:
    """A ledger on the logged Cassandra adapters, deciding in this process (the storage is
    what is under test; the Kafka hop is tested by the pipeline tests)."""
    ks = settings.keyspace
    rules = load_rules(settings)
    tlog = CassandraTransparencyLog(session, ks)
    log = LoggedCassandraEventLog(session, ks, tlog)
    rejections = LoggedCassandraRejectionLog(session, ks, tlog)
    store = CassandraProjectionStore(session, ks)
    offsets = CassandraOffsetStore(session, ks)
    ledger = Ledger(log, rejections, clock, rules, key, transparency=Transparency(tlog, key, clock.now))
    read_models = RebuildingReadModels(store, log, rules)
    app = Tongxiu(log=log, rejections=rejections, projections=store, offsets=offsets, clock=clock, rules=rules,
                  ledger=ledger, transport=InProcessTransport(ledger, read_models), read_models=read_models,
                  feed=LocalFeed(log, offsets), backend="distributed")
    ledger.bootstrap()
    return app


@dataclass
class CLedger:
    app: Tongxiu
    session: Any
    ks: str
    store: ReceiptStore
    receipts: dict[str, Receipt]

    def audit(self, checkpoints: list[Checkpoint] | None = None, **kw: Any) -> AuditResult:
        cps = self.store.checkpoints() if checkpoints is None else checkpoints
        receipts = self.store.receipts() if checkpoints is None else []
        return audit_store(LocalLedgerView(self.app), receipts, cps, **kw)

    def verify(self) -> tuple[bool, bool]:
        """(verify --all ok, the Merkle log matches the stored data)."""
        assert self.app.ledger.transparency is not None
        return verify_streams(self.app.log).ok, verify_log(self.app.ledger.transparency.tlog, self.app.log).ok


@pytest.fixture
def ledger(tmp_path: Path, clock: ManualClock, cassandra_session: Any,
           fresh_keyspace: Callable[..., Settings]) -> Iterator[CLedger]:
    settings = fresh_keyspace("tongxiu_tamper")
    app = open_logged(cassandra_session, settings, clock, KeyPair.generate())
    w = make_world(app, clock)
    store = ReceiptStore(tmp_path / "samr-deqing")
    samr = w.p["samr-deqing"]
    samr.store = store
    receipts = {"d1": w.serve("D1"), "other": samr.serve(OTHER, decision("D9"), occurred_at=clock.now())}
    w.at(1)
    receipts["paid"] = w.pay("D1")
    receipts["bad"] = samr.publish(CODE, [decision("D1")], occurred_at=clock.now())  # the same decision twice
    assert not receipts["bad"].accepted
    assert all(r.log is not None for r in receipts.values()), receipts  # receipts carry their leaves
    assert all(r.accepted for k, r in receipts.items() if k != "bad"), receipts
    assert app.ledger.transparency is not None
    store.add_checkpoint(app.ledger.transparency.checkpoint(save=True))
    w.at(2)
    yield CLedger(app, cassandra_session, settings.keyspace, store, receipts)
    app.close()
    # dropped now, not at the end of the run: a shared server's heap holds every table
    cassandra_session.execute(f"DROP KEYSPACE IF EXISTS {settings.keyspace}", timeout=120)


def test_receipts_on_cassandra_carry_proofs_and_the_audit_passes(ledger: CLedger) -> None:
    from tongxiu.events import merkle
    from tongxiu.events.tlog import event_leaf_data

    r = ledger.receipts["d1"]
    assert r.log is not None and len(r.log.leaves) == len(r.events)
    cp = r.log.checkpoint
    assert cp.verify() and all(i < cp.size for i in r.log.leaves)
    view = LocalLedgerView(ledger.app)
    for e, i in zip(r.events, r.log.leaves, strict=True):
        leaf = merkle.leaf_hash(event_leaf_data(stream=r.stream, seq=e.seq, event_id=e.event_id, hash=e.hash))
        proof = [bytes.fromhex(h) for h in view.inclusion(i, cp.size)]
        assert merkle.verify_inclusion(leaf, i, cp.size, proof, bytes.fromhex(cp.root))
    result = ledger.audit()
    assert result.ok, result.problems
    assert result.events == 6 and result.rejections == 1 and result.checkpoints >= 2
    assert ledger.verify() == (True, True)
    assert ledger.app.ledger.transparency is not None
    assert ledger.app.ledger.transparency.tlog.checkpoints()  # the saved one


def _check(ledger: CLedger, *, expect: tuple[Any, dict[str, Any]], rebuilt: bool) -> None:
    tamper.assert_audit_catches(
        ledger, expect=expect, rebuilt=rebuilt,
        rebuild=lambda: tamper.cql_rebuild_tree(ledger.session, ledger.ks, PER_BUCKET),
    )


@pytest.mark.parametrize("rebuilt", [False, True])
def test_tail_truncation(ledger: CLedger, rebuilt: bool) -> None:
    rows = tamper.cql_stream_rows(ledger.session, ledger.ks, CODE, PER_BUCKET)
    tamper.cql_delete_stream(ledger.session, ledger.ks, CODE, PER_BUCKET, keep=len(rows) - 2)
    assert ledger.verify()[0]  # the chain alone sees nothing
    paid = ledger.receipts["paid"].events[0]
    _check(ledger, expect=(tamper.MISSING, {"stream": CODE, "seq": paid.seq, "type": "penalty_fulfilled"}), rebuilt=rebuilt)


@pytest.mark.parametrize("rebuilt", [False, True])
def test_stream_deletion(ledger: CLedger, rebuilt: bool) -> None:
    tamper.cql_delete_stream(ledger.session, ledger.ks, OTHER, PER_BUCKET)
    assert ledger.verify()[0]
    assert OTHER not in ledger.app.log.streams()
    _check(ledger, expect=(tamper.MISSING, {"stream": OTHER, "seq": 1, "type": "penalty_decided"}), rebuilt=rebuilt)


@pytest.mark.parametrize("rebuilt", [False, True])
def test_redated_recorded_at(ledger: CLedger, rebuilt: bool) -> None:
    def backdate(bodies: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for b in bodies:
            b["recorded_at"] = "2026-01-05T01:00:00Z"  # back to the registrations
        return bodies

    tamper.cql_edit_stream(ledger.session, ledger.ks, CODE, PER_BUCKET, backdate)
    assert ledger.verify()[0]  # re-chained: the chain check passes
    paid = ledger.receipts["paid"].events[0]
    _check(ledger, expect=(tamper.CHANGED, {"stream": CODE, "seq": paid.seq, "type": "penalty_fulfilled"}), rebuilt=rebuilt)


@pytest.mark.parametrize("rebuilt", [False, True])
def test_rewritten_rejection(ledger: CLedger, rebuilt: bool) -> None:
    bad = ledger.receipts["bad"]

    def soften(body: dict[str, Any]) -> dict[str, Any]:
        body["reasons"] = [dict(body["reasons"][0], message="无")]
        return body

    tamper.cql_rewrite_rejection(ledger.session, ledger.ks, bad.submission_id, soften)
    _check(ledger, expect=("rejection_changed", {"department": "samr-deqing", "submission_id": bad.submission_id}), rebuilt=rebuilt)


def test_fork_is_caught_with_k_witness_cosignatures(ledger: CLedger, tmp_path: Path) -> None:
    """The insider holds the ledger key, rewrites a stream and rebuilds the tree (a fork): an
    auditor holding only a checkpoint cosigned by two witnesses sees it, and a witness refuses
    to cosign the forked log's checkpoint."""
    from tongxiu.events import merkle

    w1, w2 = KeyPair.generate(), KeyPair.generate()
    witnesses = {"mof": w1.public_key, "court": w2.public_key}
    cp = ledger.store.checkpoints()[-1]
    assert not ledger.audit([cp], witnesses=witnesses, require=2).ok  # not cosigned yet
    both = cosign(cosign(cp, "mof", w1.sign, w1.public_key), "court", w2.sign, w2.public_key)
    f = tmp_path / "cp.json"
    f.write_text(both.to_file())
    witnessed = Checkpoint.model_validate_json(f.read_text())
    ok = ledger.audit([witnessed], witnesses=witnesses, require=2)
    assert ok.ok, ok.problems
    tamper.cql_edit_stream(ledger.session, ledger.ks, CODE, PER_BUCKET, lambda b: [b[0], b[1], b[3], b[2], *b[4:]])
    tamper.cql_rebuild_tree(ledger.session, ledger.ks, PER_BUCKET)
    assert ledger.verify() == (True, True)  # the ledger's own checks pass on the fork
    forked = ledger.audit([witnessed], witnesses=witnesses, require=2)
    assert not forked.ok and forked.problems[0].code == "history_rewritten", forked.problems
    # the insider signs a checkpoint of the fork; a witness checks it extends what it cosigned
    assert ledger.app.ledger.transparency is not None
    fork_cp = ledger.app.ledger.transparency.checkpoint()
    view = LocalLedgerView(ledger.app)
    extends = witnessed.size <= fork_cp.size and merkle.verify_consistency(
        witnessed.size, fork_cp.size, bytes.fromhex(witnessed.root), bytes.fromhex(fork_cp.root),
        [bytes.fromhex(h) for h in view.consistency(witnessed.size, fork_cp.size)])
    assert not extends
