"""Issue 9: department keys rotate and are revoked by operator-signed registry facts; each key
has its validity window and algorithm; what was signed before keeps verifying; a revoked key
gets ``key_revoked``."""

from __future__ import annotations

import json
import sqlite3

from tests.support import CODE, decision, make_world
from tongxiu.events.models import REGISTRY_STREAM, DepartmentKeyRevoked, DepartmentKeyRotated
from tongxiu.events.signing import KeyPair
from tongxiu.services.app import Tongxiu
from tongxiu.services.audit import verify_streams
from tongxiu.services.demo import demo_key
from tongxiu.services.ports import ManualClock


def _rotate(app: Tongxiu, dept: str, key: KeyPair, sid: str) -> None:
    r = app.ledger.emit(REGISTRY_STREAM, [DepartmentKeyRotated(department_id=dept, public_key=key.public_key,
                                                               reason="年度轮换")], submission_id=sid)
    assert r.accepted, r.reasons


def _revoke(app: Tongxiu, dept: str, key: KeyPair, sid: str) -> None:
    r = app.ledger.emit(REGISTRY_STREAM, [DepartmentKeyRevoked(department_id=dept, public_key=key.public_key,
                                                               reason="密钥泄露")], submission_id=sid)
    assert r.accepted, r.reasons


def test_rotation_then_revocation(app: Tongxiu, clock: ManualClock) -> None:
    w = make_world(app, clock)
    samr = w.p["samr-deqing"]
    old, new = demo_key("samr-deqing"), KeyPair.generate()
    assert w.serve("D1").accepted
    w.at(1)
    _rotate(app, "samr-deqing", new, "rotate-1")
    info = app.ledger.registry().departments["samr-deqing"]
    assert [(k.public_key, k.algorithm, k.valid_until is None) for k in info.keys] == [
        (old.public_key, "ed25519", False), (new.public_key, "ed25519", True)]
    # the old key no longer signs; not revoked, so the plain signature error
    r = samr.publish(CODE, [decision("D2")], occurred_at=clock.now())
    assert r.codes == ["signature_invalid"]
    samr.key = new
    assert samr.publish(CODE, [decision("D2")], occurred_at=clock.now()).accepted
    assert verify_streams(app.log).ok  # D1 verifies with the key valid when it was recorded

    w.at(2)
    _revoke(app, "samr-deqing", old, "revoke-1")
    samr.key = old
    r = samr.publish(CODE, [decision("D3")], occurred_at=clock.now())
    assert r.codes == ["key_revoked"] and "吊销" in r.reasons[0].message
    assert verify_streams(app.log).ok  # events signed before the revocation still verify


def test_revoking_the_current_key_stops_the_department_until_a_rotation(app: Tongxiu, clock: ManualClock) -> None:
    w = make_world(app, clock)
    samr = w.p["samr-deqing"]
    old, new = demo_key("samr-deqing"), KeyPair.generate()
    _revoke(app, "samr-deqing", old, "revoke-current")
    assert samr.publish(CODE, [decision("D1")], occurred_at=clock.now()).codes == ["key_revoked"]
    w.at(1)
    _rotate(app, "samr-deqing", new, "rotate-after")
    samr.key = new
    assert samr.publish(CODE, [decision("D1")], occurred_at=clock.now()).accepted
    assert verify_streams(app.log).ok


def test_only_the_operator_changes_keys_and_only_sensibly(app: Tongxiu, clock: ManualClock) -> None:
    w = make_world(app, clock)
    new = KeyPair.generate()
    r = w.p["samr-deqing"].publish(REGISTRY_STREAM, [DepartmentKeyRotated(
        department_id="samr-deqing", public_key=new.public_key, reason="自行轮换")], occurred_at=clock.now())
    assert r.codes == ["not_authorized"]
    same = app.ledger.emit(REGISTRY_STREAM, [DepartmentKeyRotated(
        department_id="samr-deqing", public_key=demo_key("samr-deqing").public_key, reason="x")], submission_id="same")
    assert same.codes == ["duplicate_reference"]
    unknown = app.ledger.emit(REGISTRY_STREAM, [DepartmentKeyRevoked(
        department_id="samr-deqing", public_key=new.public_key, reason="x")], submission_id="unknown")
    assert unknown.codes == ["unknown_reference"]
    nobody = app.ledger.emit(REGISTRY_STREAM, [DepartmentKeyRotated(
        department_id="nobody", public_key=new.public_key, reason="x")], submission_id="nobody")
    assert nobody.codes == ["unknown_department"]


def test_an_event_slipped_in_with_a_revoked_key_after_revocation_fails_verify(app: Tongxiu, clock: ManualClock) -> None:
    """The leaked key's holder writes into the file an event dated after the revocation."""
    w = make_world(app, clock)
    assert w.serve("D1").accepted
    w.at(1)
    _rotate(app, "samr-deqing", KeyPair.generate(), "rotate")
    _revoke(app, "samr-deqing", demo_key("samr-deqing"), "revoke")
    assert verify_streams(app.log).ok
    db = app.log.db.path  # type: ignore[attr-defined]
    with sqlite3.connect(db) as conn:
        raw = conn.execute("SELECT raw FROM events WHERE stream = ? AND seq = 1", (CODE,)).fetchone()[0]
        body = json.loads(raw)
        body["recorded_at"] = "2026-01-07T00:00:00Z"  # after the revocation; the signature is unchanged
        from tongxiu.services.audit import stored_hash

        body["hash"] = stored_hash(body)[1]
        conn.execute("UPDATE events SET raw = ? WHERE stream = ? AND seq = 1", (json.dumps(body), CODE))
    problems = [p["problem_en"] for p in verify_streams(app.log, [CODE]).problems]
    # checked with the key valid at its (new) recording time, the new one: it does not verify
    assert "signature of samr-deqing does not verify" in problems


def test_a_new_ledger_keeps_its_key_outside_the_data_directory(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from tongxiu.infra.bootstrap import ledger_key_path, open_embedded
    from tongxiu.services.config import Settings

    monkeypatch.setenv("TONGXIU_KEY_DIR", str(tmp_path / "keys"))
    data = tmp_path / "data"
    app = open_embedded(Settings(data_dir=data))
    registered = app.ledger.registry().departments["ledger"].public_key
    app.close()
    path = ledger_key_path(data)
    assert not (data / "ledger.key").exists()
    assert path.is_relative_to(tmp_path / "keys") and path.exists()
    assert path.stat().st_mode & 0o777 == 0o600 and path.parent.stat().st_mode & 0o777 == 0o700
    again = open_embedded(Settings(data_dir=data))
    assert again.ledger.key.public_key == registered
    again.close()
    explicit = tmp_path / "elsewhere" / "ledger.key"
    assert ledger_key_path(data, explicit) == explicit
