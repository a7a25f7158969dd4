"""Schema evolution: an event stored at an old version decodes through its upcaster, and the
ledger still verifies, because hashes and signatures are checked on the stored bytes (a real
v1 ``no_penalty_decided`` is stored, verified and replayed)."""

from __future__ import annotations

import hashlib
import json
from datetime import date
from decimal import Decimal

from tests.support import OTHER, World
from tongxiu.events import upcast
from tongxiu.events.envelope import canonical, stored_signing_bytes
from tongxiu.events.models import NoPenaltyDecided, RepairRefused
from tongxiu.services.audit import replay, verify_streams
from tongxiu.services.demo import demo_key


def test_upcaster_chain(old_refusal_shape: None) -> None:
    raw = {"type": "repair_refused", "schema_version": 1, "decision_no": "D1", "why": "材料不全"}
    out = upcast.upcast_event(dict(raw))
    assert out == {"type": "repair_refused", "schema_version": 2, "decision_no": "D1", "reason": "材料不全"}
    assert RepairRefused.model_validate(out).reason == "材料不全"
    assert upcast.upcast_event({"type": "repair_granted", "decision_no": "D1"})["decision_no"] == "D1"


def _store_as_v1(world: World, code: str) -> dict[str, object]:
    """What a ledger from before ``waived_fine_yuan`` stored: the no-penalty fact at schema
    version 1, signed by the department over those bytes and chained by their hash. (Written
    through the test-only hook, since today's ledger never writes version 1.)"""
    fact = NoPenaltyDecided(decision_no="NP-1", party_name="某公司", basis="first_violation",
                            violation_kind="无证经营", legal_basis="《行政处罚法》第三十三条",
                            decision_date=date(2026, 1, 5))
    receipt = world.send("samr-deqing", [fact], stream=code)
    assert receipt.accepted, receipt.reasons
    body = json.loads(world.app.log.read_stream(code)[0].raw)
    del body["event"]["waived_fine_yuan"]
    body["event"]["schema_version"] = 1
    body["signature"] = demo_key("samr-deqing").sign(stored_signing_bytes(body))
    del body["hash"]
    body["hash"] = hashlib.sha256(canonical(body)).hexdigest()
    world.app.log.tamper_for_test(code, 1, json.dumps(body, ensure_ascii=False))
    return body


def test_a_stored_v1_event_verifies_and_replays_through_its_upcaster(world: World) -> None:
    code = OTHER
    body = _store_as_v1(world, code)
    stored = world.app.log.read_stream(code)[0]
    assert "waived_fine_yuan" not in json.loads(stored.raw)["event"]  # the bytes stay as recorded
    assert json.loads(stored.raw)["event"]["schema_version"] == 1
    # verification runs on the stored v1 bytes: hash chain and the department's signature
    outcome = verify_streams(world.app.log, [code])
    assert outcome.ok, outcome.problems
    # decoding upcasts to today's model; a replay folds it like a v2 fact
    event = stored.envelope.event
    assert isinstance(event, NoPenaltyDecided) and event.waived_fine_yuan == Decimal(0)
    assert event.schema_version > 1
    record = replay(world.app.log, world.app.rules, code).state.credit.records["NP-1"]
    assert record.kind == "no_penalty" and record.no_penalty_basis == "first_violation"
    # and the check is real: the same v1 bytes altered no longer verify
    body["event"]["decision_no"] = "NP-2"  # type: ignore[index]
    world.app.log.tamper_for_test(code, 1, json.dumps(body, ensure_ascii=False))
    assert not verify_streams(world.app.log, [code]).ok
