"""The strict wire format and whole-submission signatures: every wire rejection code reached
the way an attacker or a careless client reaches it, the bundle-prefix cut, reordering, the
three signature codes, and old (format 1) signatures still verifying."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from tests.support import CODE, World, advice, decision
from tongxiu.events.envelope import (
    Envelope,
    Receipt,
    SignedEvent,
    Submission,
    signing_bytes,
    stored_signing_bytes,
)
from tongxiu.events.signing import KeyPair, verify
from tongxiu.events.wire import MAX_SUBMISSION_BYTES, RECORD_WHOLE_BYTES, Unreadable, parse_submission
from tongxiu.infra.embedded import LocalTransport
from tongxiu.services.audit import verify_streams
from tongxiu.services.decide import REASON_CODES
from tongxiu.services.demo import demo_key
from tongxiu.services.ledger import sign_submission
from tongxiu.services.sdk import Producer


def _signed(world: World, dept: str = "samr-deqing", key: KeyPair | None = None, events: list[Any] | None = None,
            sid: str = "w-1") -> Submission:
    return sign_submission(key or demo_key(dept), department=dept, stream=CODE, submission_id=sid,
                           occurred_at=world.clock.now(), events=events or [decision()])


def _text(world: World, mutate: Callable[[str], str | bytes]) -> Receipt:
    return world.app.submit(mutate(_signed(world).model_dump_json()))


def _dict(world: World, mutate: Callable[[dict[str, Any]], None]) -> Receipt:
    body = _signed(world).model_dump(mode="json")
    mutate(body)
    return world.app.submit(body)


def _nest(depth: int) -> str:
    return "[" * depth + "]" * depth


WIRE_CASES: dict[str, Callable[[World], Receipt]] = {
    "too_large": lambda w: _text(w, lambda t: t[:-1] + ', "x": "' + "a" * MAX_SUBMISSION_BYTES + '"}'),
    "encoding_invalid": lambda w: _text(w, lambda t: t.encode().replace("某公司".encode(), b"\xff\xfe")),
    "json_invalid": lambda w: _text(w, lambda t: t[:-1]),
    "duplicate_key": lambda w: _text(w, lambda t: t.replace('"department":', '"department":"tax-deqing","department":', 1)),
    "too_deep": lambda w: _text(w, lambda t: t[:-1] + ', "x": ' + _nest(5000) + "}"),
    "schema_version_unknown": lambda w: _dict(w, lambda s: s["events"][0]["event"].__setitem__("schema_version", 10**30)),
    "date_out_of_range": lambda w: _dict(w, lambda s: s.__setitem__("occurred_at", "0001-01-01T00:00:00+08:00")),
    "signature_of_other_department": lambda w: Producer(
        LocalTransport(w.app), "samr-deqing", demo_key("tax-deqing")).publish(CODE, [decision()],
                                                                                occurred_at=w.clock.now()),
}


def test_wire_cases_and_write_path_cases_cover_the_registry() -> None:
    from tests.unit.test_write_path import CASES

    assert set(WIRE_CASES) | set(CASES) == set(REASON_CODES)
    assert not set(WIRE_CASES) & set(CASES)


@pytest.mark.parametrize("code", sorted(WIRE_CASES))
def test_wire_rejection_reason(world: World, code: str) -> None:
    receipt = WIRE_CASES[code](world)
    assert not receipt.accepted
    assert code in receipt.codes, receipt.reasons
    logged = world.app.list_rejections(limit=1000)
    assert any(code in x.receipt.codes for x in logged)
    assert world.app.log.last_seq(CODE) == 0


LOOSE_FORMS: list[tuple[str, Callable[[dict[str, Any]], None]]] = [
    ("amount as number", lambda s: s["events"][0]["event"].__setitem__("fine_yuan", 50000)),
    ("amount as float", lambda s: s["events"][0]["event"].__setitem__("fine_yuan", 50000.0)),
    ("amount with exponent", lambda s: s["events"][0]["event"].__setitem__("fine_yuan", "5E+4")),
    ("amount padded", lambda s: s["events"][0]["event"].__setitem__("fine_yuan", " 50000")),
    ("date as unix integer", lambda s: s["events"][0]["event"].__setitem__("decision_date", 1767571200)),
    ("date as datetime", lambda s: s["events"][0]["event"].__setitem__("decision_date", "2026-01-05T00:00:00")),
    ("bool as string", lambda s: s.__setitem__("legacy_code", "false")),
    ("bool as 0", lambda s: s.__setitem__("legacy_code", 0)),
    ("bool as 0 in event", lambda s: s["events"][0]["event"].__setitem__("serious_dishonesty_list", 0)),
    ("version as string", lambda s: s["events"][0]["event"].__setitem__("schema_version", "1")),
    ("version as true", lambda s: s["events"][0]["event"].__setitem__("schema_version", True)),
    ("version 0", lambda s: s["events"][0]["event"].__setitem__("schema_version", 0)),
    ("version -5", lambda s: s["events"][0]["event"].__setitem__("schema_version", -5)),
    ("occurred_at unix", lambda s: s.__setitem__("occurred_at", 1767571200)),
    ("occurred_at no zone", lambda s: s.__setitem__("occurred_at", "2026-01-05T01:00:00")),
    ("year 9999", lambda s: s["events"][0]["event"].__setitem__("decision_date", "9999-12-31")),
    ("signature format 1", lambda s: s.__setitem__("signature_format", 1)),
]


@pytest.mark.parametrize("name", [n for n, _ in LOOSE_FORMS])
def test_loose_forms_are_rejected_with_field(world: World, name: str) -> None:
    mutate = dict(LOOSE_FORMS)[name]
    receipt = _dict(world, mutate)
    assert not receipt.accepted
    assert all(r.code in REASON_CODES for r in receipt.reasons)
    assert all(r.field for r in receipt.reasons), receipt.reasons
    assert world.app.list_rejections(limit=100)


def test_lone_surrogate_in_escape_and_in_text(world: World) -> None:
    escaped = _text(world, lambda t: t.replace("某公司", "\\ud800"))
    raw_str = _text(world, lambda t: t.replace("某公司", "\ud800"))
    assert escaped.codes == ["encoding_invalid"] and raw_str.codes == ["encoding_invalid"]
    # recorded, and the record itself is storable UTF-8
    for rec in world.app.list_rejections(limit=10):
        json.dumps(rec.submission, ensure_ascii=False).encode("utf-8")


def test_the_canonical_form_is_accepted(world: World) -> None:
    assert world.app.submit(_signed(world).model_dump_json().encode()).accepted
    assert world.app.submit(_signed(world, sid="w-2", events=[decision("D2")]).model_dump_json()).accepted
    assert world.app.submit(_signed(world, sid="w-3", events=[decision("D3")]).model_dump(mode="json")).accepted


def test_defaults_may_be_left_out(world: World) -> None:
    body = _signed(world).model_dump(mode="json")
    for key in ("identification_date", "sector", "schema_version", "serious_dishonesty_list"):
        del body["events"][0]["event"][key]
    del body["legacy_code"]
    del body["signature_format"]
    receipt = world.app.submit(body)
    assert receipt.accepted, receipt.reasons


def test_large_rejection_is_recorded_by_digest_and_excerpt(world: World) -> None:
    body = _signed(world).model_dump(mode="json")
    body["events"][0]["event"]["documents_extra"] = "x" * (RECORD_WHOLE_BYTES * 2)
    receipt = world.app.submit(json.dumps(body))
    assert receipt.codes == ["schema_invalid"]
    rec = world.app.list_rejections(limit=10)[-1]
    assert isinstance(rec.submission, dict) and set(rec.submission) == {"sha256", "size", "excerpt"}
    assert rec.submission["size"] > RECORD_WHOLE_BYTES and len(rec.submission["excerpt"]) <= 2000
    big = world.app.submit(b"{" + b" " * (MAX_SUBMISSION_BYTES + 10) + b"}")
    assert big.codes == ["too_large"]
    rec = world.app.list_rejections(limit=10)[-1]
    assert isinstance(rec.submission, dict) and rec.submission["size"] == MAX_SUBMISSION_BYTES + 12


def test_parse_never_raises_on_odd_inputs() -> None:
    for raw in [b"", b"null", b"[]", b"1e999999", b"9" * 5000, b'{"a": NaN}', "\ud800", b"\xef\xbb\xbf{}",
                {"occurred_at": object()}, {"events": [{"event": {"type": "penalty_decided"}}]}, b"{" * 100]:
        result = parse_submission(raw)  # type: ignore[arg-type]
        assert isinstance(result, Unreadable) and result.reasons and all(r.code in REASON_CODES for r in result.reasons)


# ---------------------------------------------------------------------------- whole-submission signatures


def test_bundle_prefix_does_not_verify(world: World) -> None:
    """Only the decision of a signed decision + advice + notice: rejected, and the genuine
    bundle then goes through whole (三书同达 kept)."""
    producer = world.p["samr-deqing"]
    d = decision()
    bundle = sign_submission(demo_key("samr-deqing"), department="samr-deqing", stream=CODE, submission_id="b-1",
                             occurred_at=world.clock.now(),
                             events=[d, advice("A-D1", "D1"), producer.notice_for(CODE, d, "N-D1")])
    cut = bundle.model_copy(update={"events": bundle.events[:1]})
    receipt = world.app.submit(cut.model_dump_json())
    assert not receipt.accepted and receipt.codes == ["signature_invalid"]
    genuine = world.app.submit(bundle.model_dump_json())
    assert genuine.accepted and not genuine.duplicate and len(genuine.events) >= 3
    assert world.app.supervision("samr-deqing").penalties_without_notice == 0


def test_reordered_bundle_does_not_verify(world: World) -> None:
    d = decision()
    bundle = sign_submission(demo_key("samr-deqing"), department="samr-deqing", stream=CODE, submission_id="b-2",
                             occurred_at=world.clock.now(),
                             events=[d, world.p["samr-deqing"].notice_for(CODE, d, "N-D1"), advice("A-D1", "D1")])
    swapped = bundle.model_copy(update={"events": [bundle.events[0], bundle.events[2], bundle.events[1]]})
    receipt = world.app.submit(swapped.model_dump_json())
    assert not receipt.accepted and set(receipt.codes) == {"signature_invalid"}


def test_three_signature_codes(world: World) -> None:
    forged = sign_submission(KeyPair.generate(), department="samr-deqing", stream=CODE, submission_id="s-1",
                             occurred_at=world.clock.now(), events=[decision()])
    assert world.app.submit(forged).codes == ["signature_invalid"]
    stranger = sign_submission(KeyPair.generate(), department="nobody", stream=CODE, submission_id="s-2",
                               occurred_at=world.clock.now(), events=[decision()])
    assert world.app.submit(stranger).codes == ["unknown_department"]
    other = sign_submission(demo_key("tax-deqing"), department="samr-deqing", stream=CODE, submission_id="s-3",
                            occurred_at=world.clock.now(), events=[decision()])
    receipt = world.app.submit(other)
    assert receipt.codes == ["signature_of_other_department"]
    assert receipt.reasons[0].detail["signed_by"] == "tax-deqing"
    assert "tax-deqing" in receipt.reasons[0].message
    recorded = [r for r in world.app.list_rejections(limit=10) if r.receipt.submission_id == "s-3"]
    assert recorded and not recorded[0].authenticated


def test_format_1_signatures_of_stored_history_still_verify(world: World) -> None:
    """An envelope recorded before format 2 (no signature_format field) keeps verifying, and
    its hash is computed over exactly the fields it was written with."""
    key = demo_key("samr-deqing")
    ev = decision()
    now = world.clock.now()
    old = Envelope(event_id="e1", stream=CODE, seq=1, department="samr-deqing", submission_id="old", index=0,
                   occurred_at=now, recorded_at=now, event=ev, signature="", prev_hash="0" * 64)
    signed = old.model_copy(update={"signature": key.sign(signing_bytes(
        stream=CODE, department="samr-deqing", submission_id="old", occurred_at=now, index=0, legacy_code=False,
        event=ev))}).sealed()
    body = json.loads(signed.to_json())
    assert "signature_format" not in body and "submission_digest" not in body
    assert verify(key.public_key, stored_signing_bytes(body), body["signature"])
    assert Envelope.from_json(signed.to_json()).compute_hash() == signed.hash
    # a format-2 envelope signed alone (without the submission's digest) does not verify
    v2 = json.loads(signed.to_json()) | {"signature_format": 2, "submission_digest": "0" * 64, "submission_size": 1}
    assert not verify(key.public_key, stored_signing_bytes(v2), v2["signature"])


def test_a_ledger_holding_format_1_history_still_verifies(world: World) -> None:
    """Events recorded before format 2 (as the previous code wrote them) sit in the log next to
    new ones: chain and signatures verify, and new submissions chain onto them."""
    key = demo_key("samr-deqing")
    now = world.clock.now()
    ev = decision("OLD-1")
    old = Envelope(event_id="old-1", stream=CODE, seq=1, department="samr-deqing", submission_id="old", index=0,
                   occurred_at=now, recorded_at=now, event=ev, signature="", prev_hash="0" * 64)
    old = old.model_copy(update={"signature": key.sign(signing_bytes(
        stream=CODE, department="samr-deqing", submission_id="old", occurred_at=now, index=0, legacy_code=False,
        event=ev))}).sealed()
    world.app.log.append(CODE, 0, [old])
    assert "signature_format" not in next(iter(world.app.log.read_stream(CODE))).raw
    assert world.serve().accepted
    outcome = verify_streams(world.app.log)
    assert outcome.ok and outcome.events > 4, outcome.problems


def test_ledger_verifies_after_new_format_submissions(world: World) -> None:
    world.serve()
    outcome = verify_streams(world.app.log)
    assert outcome.ok, outcome.problems
    stored = next(iter(world.app.log.read_stream(CODE)))
    body = json.loads(stored.raw)
    assert body["signature_format"] == 2 and body["submission_size"] == 3


def test_signed_event_alone_is_not_a_submission() -> None:
    ev = decision()
    with pytest.raises(ValueError):
        Submission(submission_id="x", department="d", stream=CODE, occurred_at="2026-01-05T00:00:00Z",  # type: ignore[arg-type]
                   signature_format=1, events=[SignedEvent(event=ev, signature="0" * 128)])  # type: ignore[arg-type]


def test_published_schema_and_wire_agree_on_amounts(world: World) -> None:
    """The published JSON Schema says what the wire accepts: an amount is a decimal string."""
    import jsonschema_rs  # schemathesis' validator

    from tongxiu.events.schemas import all_schemas

    schema = all_schemas()["submission"]
    good = _signed(world).model_dump(mode="json")
    assert jsonschema_rs.is_valid(schema, good)
    assert not isinstance(parse_submission(good), Unreadable)
    for amount in [50000, "5E+4", " 50000", "-5", "1.234"]:
        bad = json.loads(json.dumps(good))
        bad["events"][0]["event"]["fine_yuan"] = amount
        assert not jsonschema_rs.is_valid(schema, bad), amount
        assert isinstance(parse_submission(bad), Unreadable), amount
