"""The audit's decode and checks do each piece of work once (issue 11, rows b and d) and give
exactly what the plain definitions give:

- ``canonical_text`` is :func:`canonical` (one C encoder made once instead of a
  ``JSONEncoder`` per call) for any JSON value;
- :func:`check_body` encodes a stored body once; its hash is :func:`stored_hash`'s and the
  signed bytes it cuts from the hashed bytes are :func:`stored_signing_bytes`' — on every event
  of the ledger written by the old code (``tests/fixtures/ledger-2026-12-01``) and on bodies
  built to trip the cut (nested keys named like the top-level ones, look-alike text in
  strings, format 1, defaults left out);
- :meth:`Envelope.from_json` (validated first, upcast only for types that have an upcaster)
  decodes like :meth:`Envelope.from_body` of the parsed text, upcasters included.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from tongxiu.events.envelope import Envelope, canonical, stored_signing_bytes
from tongxiu.services.audit import canonical_text, check_body, parse_stored, stored_hash

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "ledger-2026-12-01" / "ledger.sqlite3"


def fixture_raws() -> list[str]:
    conn = sqlite3.connect(f"file:{FIXTURE}?mode=ro", uri=True)
    try:
        return [r for (r,) in conn.execute("SELECT raw FROM events ORDER BY position")]
    finally:
        conn.close()


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(json_values)
def test_canonical_text_is_canonical(value: Any) -> None:
    assert canonical_text(value) == canonical(value).decode("utf-8")


def test_canonical_text_on_awkward_values() -> None:
    for value in (float("nan"), float("inf"), -0.0, 1e16, 10**40, "\u2028\x00\x1f\x7f\"\\/", "\ud800",
                  {"b": 1, "a": {"é": [], "e": {}}}, [], {}, "中文", True, None):
        assert canonical_text(value) == json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def test_hash_and_signed_bytes_of_every_fixture_event_from_one_encoding() -> None:
    raws = fixture_raws()
    assert len(raws) >= 130
    formats = set()
    for raw in raws:
        body = json.loads(raw)
        Envelope.from_body(body)  # what the audit decodes before checking
        checked = check_body(body)
        assert (checked.recorded, checked.recomputed) == stored_hash(body)
        assert checked.recorded == checked.recomputed
        assert checked.signed() == stored_signing_bytes(body)
        formats.add(body.get("signature_format", 1))
    assert formats == {2}


def _v2_body(event: dict[str, Any], **top: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "department": "samr-deqing", "event": event, "event_id": "e-1", "index": 0, "legacy_code": False,
        "occurred_at": "2026-01-05T01:00:00Z", "prev_hash": "0" * 64, "recorded_at": "2026-01-05T02:00:00Z",
        "seq": 1, "signature": "ab" * 64, "signature_format": 2, "stream": "91330521100000008F",
        "submission_digest": "cd" * 32, "submission_id": "s-1", "submission_size": 1,
    }
    body.update(top)
    body["hash"] = hashlib.sha256(canonical(body)).hexdigest()
    return body


TRAPS = ['","index":1,"', ',"prev_hash":"x"', ',"signature_format":2', ',"event_id":"e"', '\\",\\"index\\":', "中,\"seq\":"]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.dictionaries(
        st.sampled_from(["event_id", "index", "prev_hash", "signature_format", "legacy_code", "seq", "type", "x"]),
        json_values | st.sampled_from(TRAPS), max_size=6,
    ),
    st.sampled_from(TRAPS) | st.text(max_size=12),
)
def test_signed_bytes_cut_from_the_hashed_bytes_are_the_signed_bytes(event: dict[str, Any], text: str) -> None:
    """Nested keys named like the top-level ones and strings that look like keys do not move
    the cut (a quote inside a string is always escaped)."""
    event = {**event, "nested": {"event_id": text, "index": [text, {"prev_hash": text}]}}
    for body in (_v2_body(event), _v2_body(event, department=text, submission_id=text, stream=text)):
        checked = check_body(body)
        assert checked.recomputed == stored_hash(body)[1] == body["hash"]
        assert checked.signed() == stored_signing_bytes(body)


def test_bodies_without_every_format_2_field_are_encoded_afresh() -> None:
    base = _v2_body({"type": "x", "index": 3})
    for drop in ("legacy_code", "submission_digest", "submission_size", "signature_format"):
        body = {k: v for k, v in base.items() if k != drop}
        assert check_body(body).signed() == stored_signing_bytes(body)
    format_1 = {k: v for k, v in base.items() if k not in ("submission_digest", "submission_size")}
    format_1["signature_format"] = 1
    assert check_body(format_1).signed() == stored_signing_bytes(format_1)


def test_a_changed_body_changes_the_recomputed_hash_and_the_signed_bytes() -> None:
    body = _v2_body({"type": "x", "amount": "1"})
    checked = check_body(body)
    forged = {**body, "event": {"type": "x", "amount": "2"}}
    assert check_body(forged).recomputed != checked.recorded
    assert check_body(forged).signed() != checked.signed()
    moved = {**body, "prev_hash": "1" * 64}  # not signed, but hashed
    assert check_body(moved).recomputed != checked.recorded and check_body(moved).signed() == checked.signed()


def test_from_json_decodes_like_from_body_on_the_fixture() -> None:
    for raw in fixture_raws():
        assert Envelope.from_json(raw) == Envelope.from_body(json.loads(raw))


def _stored(event: dict[str, Any]) -> str:
    return json.dumps(_v2_body(event), ensure_ascii=False)


def test_from_json_upcasts_what_has_an_upcaster(old_refusal_shape: None) -> None:
    old = _stored({"type": "repair_refused", "schema_version": 1, "decision_no": "D1", "why": "材料不全"})
    env = Envelope.from_json(old)
    assert env == Envelope.from_body(json.loads(old))
    assert env.event.reason == "材料不全" and env.event.schema_version == 2  # type: ignore[union-attr]
    # today's shape at version 1 also validates as stored; the upcaster still runs on it
    now = _stored({"type": "repair_refused", "schema_version": 1, "decision_no": "D1", "reason": "材料不全", "why": "x"})
    assert Envelope.from_json(now) == Envelope.from_body(json.loads(now))


def test_from_json_of_a_v1_no_penalty_fact_is_upcast() -> None:
    raw = _stored({"type": "no_penalty_decided", "schema_version": 1, "decision_no": "NP-1", "party_name": "某公司",
                   "basis": "first_violation", "violation_kind": "无证经营", "legal_basis": "《行政处罚法》第三十三条",
                   "decision_date": "2026-01-05"})
    env = Envelope.from_json(raw)
    assert env == Envelope.from_body(json.loads(raw)) and env.event.schema_version > 1


def test_from_json_refuses_what_from_body_refuses() -> None:
    bad = _stored({"type": "repair_granted", "decision_no": "D1", "surprise": 1})
    with pytest.raises(ValidationError):
        Envelope.from_json(bad)
    with pytest.raises(ValidationError):
        Envelope.from_body(json.loads(bad))


def test_parse_stored_is_json_loads() -> None:
    for raw in fixture_raws()[:20] + ['{"a":1}', '[1,2]', '"x"', "1", "null", '{"a":"\\u4e2d"}']:
        assert parse_stored(raw) == json.loads(raw)
    assert parse_stored(' {"a": 1} ') == {"a": 1}
    for bad in ("", " ", '{"a":1} x', '{"a":', "\ufeff{}", "{'a':1}", "NaN x"):
        with pytest.raises(json.JSONDecodeError) as ours:
            parse_stored(bad)
        with pytest.raises(json.JSONDecodeError) as theirs:
            json.loads(bad)
        assert str(ours.value) == str(theirs.value)
