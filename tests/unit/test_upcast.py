"""Schema evolution: an event stored at an old version decodes through its upcaster, and the
ledger still verifies, because hashes and signatures are checked on the stored bytes."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from events import upcast
from events.envelope import Envelope
from events.models import RepairRefused
from services.app import Tongxiu
from services.audit import verify_streams
from services.demo import ENTERPRISE


@pytest.fixture
def old_refusal_shape() -> Iterator[None]:
    """Pretend repair_refused v1 called its reason `why`; v2 renamed it."""

    def v1_to_v2(raw: dict[str, object]) -> dict[str, object]:
        raw["reason"] = raw.pop("why")
        return raw

    upcast.UPCASTERS[("repair_refused", 1)] = v1_to_v2
    yield
    del upcast.UPCASTERS[("repair_refused", 1)]


def test_upcaster_chain(old_refusal_shape: None) -> None:
    raw = {"type": "repair_refused", "schema_version": 1, "decision_no": "D1", "why": "材料不全"}
    out = upcast.upcast_event(dict(raw))
    assert out == {"type": "repair_refused", "schema_version": 2, "decision_no": "D1", "reason": "材料不全"}
    assert RepairRefused.model_validate(out).reason == "材料不全"
    assert upcast.upcast_event({"type": "repair_granted", "decision_no": "D1"})["decision_no"] == "D1"


def test_old_stored_shape_decodes_and_still_verifies(demo_app: Tongxiu, old_refusal_shape: None) -> None:
    stored = demo_app.log.read_stream(ENTERPRISE)[-1]
    body = json.loads(stored.raw)
    env = Envelope.from_json(stored.raw)
    assert env == stored.envelope
    assert verify_streams(demo_app.log).ok
    # an old-shaped body decodes into today's model
    body["event"] = {"type": "repair_refused", "schema_version": 1, "decision_no": "X", "why": "旧字段"}
    decoded = Envelope.from_json(json.dumps(body))
    assert isinstance(decoded.event, RepairRefused) and decoded.event.reason == "旧字段"
