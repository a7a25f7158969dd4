"""The SDK's check of repair-feed items (pure logic): an item is the repair topic's record signed
by the ledger; a changed, unsigned, foreign-signed or over-full item is refused, naming the item
and the rule."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from tests.contract.ports_sdk import PERSONAL, Streams, enterprise_code
from tongxiu.events.envelope import canonical
from tongxiu.events.models import RepairGranted
from tongxiu.events.signing import KeyPair, verify
from tongxiu.services.platform_feed import signed_item
from tongxiu.services.repair_feed import FeedItemRefused, parse_feed_items, verify_feed_items
from tongxiu.services.sdk import FeedItem, feed_item, repair_record

LEDGER = KeyPair.from_private("11" * 32)
OTHER = KeyPair.from_private("22" * 32)


def items(n: int = 3) -> list[FeedItem]:
    w, s = Streams(), enterprise_code()
    return [signed_item(feed_item(w.env(s, RepairGranted(decision_no=f"D-{i}")), 10 + i), LEDGER,
                        acknowledge=i == 0) for i in range(n)]


def test_an_item_is_the_repair_record_signed_the_same_way() -> None:
    w, s = Streams(), enterprise_code()
    env = w.env(s, RepairGranted(decision_no="D-1"))
    item = signed_item(feed_item(env, 7), LEDGER, acknowledge=True)
    record = repair_record(env, LEDGER)  # what the worker publishes on {prefix}.repairs
    assert item.record() == record and item.ledger_signature == record.ledger_signature
    assert item.record().model_dump_json() == record.model_dump_json()
    # the signed bytes: RFC 8785 JSON of the record without ledger_signature; position and
    # acknowledge are the feed's, not signed
    body = json.loads(item.model_dump_json())
    signed = {k: v for k, v in body.items() if k not in {"position", "acknowledge", "ledger_signature"}}
    assert verify(LEDGER.public_key, canonical(signed), body["ledger_signature"])
    verify_feed_items([item, item.model_copy(update={"position": 99, "acknowledge": False})], LEDGER.public_key)


@pytest.mark.parametrize(("change", "field"), [
    ({"decision_no": "D-999"}, "ledger_signature"),                       # altered after signing
    ({"occurred_at": datetime(2026, 1, 1, tzinfo=UTC)}, "ledger_signature"),
    ({"ledger_signature": ""}, "ledger_signature"),                        # not signed
    ({"ledger_key": OTHER.public_key}, "ledger_key"),                      # claims another key
])
def test_a_changed_or_unsigned_item_is_refused_naming_it_and_the_rule(change: dict[str, object], field: str) -> None:
    good = items()
    bad = good[1].model_copy(update=change)
    with pytest.raises(FeedItemRefused) as refused:
        verify_feed_items([good[0], bad, good[2]], LEDGER.public_key)
    err = refused.value
    assert (err.event_id, err.position, err.field) == (bad.event_id, bad.position, field)
    assert bad.event_id in str(err) and "规则" in err.rule
    assert err.verified == [good[0]]  # what came before it passed and may be applied


def test_an_item_signed_by_another_key_is_refused() -> None:
    w, s = Streams(), enterprise_code()
    forged = signed_item(feed_item(w.env(s, RepairGranted(decision_no="D-1")), 1), OTHER)
    with pytest.raises(FeedItemRefused) as refused:
        verify_feed_items([forged], LEDGER.public_key)
    assert refused.value.field == "ledger_key"
    # a forger who also writes the ledger's key into the item still fails the signature
    with pytest.raises(FeedItemRefused) as refused:
        verify_feed_items([forged.model_copy(update={"ledger_key": LEDGER.public_key})], LEDGER.public_key)
    assert refused.value.field == "ledger_signature"


def test_an_item_with_personal_data_is_refused() -> None:
    sent = items(2)
    good = [json.loads(i.model_dump_json()) for i in sent]
    assert parse_feed_items(good) == sent  # the items as the service sends them parse back
    leaking = {**good[1], "party_name": PERSONAL["party_name"]}
    with pytest.raises(FeedItemRefused) as refused:
        parse_feed_items([good[0], leaking])
    assert refused.value.field == "party_name" and "个人信息" in refused.value.rule
    assert [i.event_id for i in refused.value.verified] == [good[0]["event_id"]]
