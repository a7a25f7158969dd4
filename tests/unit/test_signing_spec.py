"""docs/signing.md against the code: the committed test vectors are what the code produces
and verifies; the canonical form is RFC 8785 (checked with an independent implementation,
rfc8785, on the vectors, every worked example and every stored event of the demo); the
signed event is the sent event with the defaults the published JSON Schemas state."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

import pytest
import rfc8785

from tests.vectors import signing as vectors
from tongxiu.events.envelope import Submission, canonical
from tongxiu.events.signing import sign, verify
from tongxiu.events.wire import parse_submission
from tongxiu.infra.bootstrap import open_embedded
from tongxiu.services.app import Tongxiu
from tongxiu.services.config import Settings
from tongxiu.services.demo import START, register_only
from tongxiu.services.ports import ManualClock

REPO = Path(__file__).resolve().parents[2]
VECTORS = REPO / "tests" / "vectors" / "signing.json"
SCHEMAS = REPO / "docs" / "schemas"
SIGNED_KEYS = {"stream", "department", "submission_id", "occurred_at", "index", "legacy_code", "event",
               "signature_format", "submission_digest", "submission_size"}
UTC_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{6})?Z$")


def _vectors() -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = json.loads(VECTORS.read_text(encoding="utf-8"))["vectors"]
    return data


def test_the_committed_vectors_are_what_the_code_produces() -> None:
    assert VECTORS.read_text(encoding="utf-8") == vectors.render(), (
        "tests/vectors/signing.json is stale: python -m tests.vectors.signing > tests/vectors/signing.json"
    )


@pytest.mark.parametrize("v", _vectors(), ids=lambda v: v["sent"]["submission_id"])
def test_each_vector_parses_signs_and_verifies_as_the_spec_says(v: dict[str, Any]) -> None:
    sub = parse_submission(json.dumps(v["sent"], ensure_ascii=False).encode())
    assert isinstance(sub, Submission), sub
    digest = sub.digest()
    assert digest == v["submission_digest"] == hashlib.sha256(v["events_canonical"].encode()).hexdigest()
    assert json.loads(v["events_canonical"]) == v["events_complete"]
    for i, item in enumerate(v["signed"]):
        data = sub.signed_bytes(i, digest)
        assert data.decode("utf-8") == item["canonical"]
        assert hashlib.sha256(data).hexdigest() == item["canonical_sha256"]
        assert canonical(item["structure"]) == data
        # Ed25519 is deterministic: the signature is a function of the key and the bytes
        assert sign(v["private_key"], data) == item["signature"] == v["sent"]["events"][i]["signature"]
        assert verify(v["public_key"], data, item["signature"])
        assert not verify(v["public_key"], data + b" ", item["signature"])
        # what is signed: exactly these keys, the time in UTC, the position, the whole submission
        s = item["structure"]
        assert set(s) == SIGNED_KEYS
        assert UTC_TIME.match(s["occurred_at"]) and s["occurred_at"] == v["occurred_at_signed"]
        assert (s["index"], s["submission_size"], s["submission_digest"], s["signature_format"]) == (
            i, len(v["signed"]), digest, 2)
        assert s["event"] == v["events_complete"][i]


def _fill(value: Any, schema: dict[str, Any], root: dict[str, Any]) -> Any:
    """The defaults the published schema states, filled in — what a client in another
    language does (docs/signing.md, "Defaults")."""
    if "$ref" in schema:
        schema = root["$defs"][schema["$ref"].rsplit("/", 1)[1]]
    if "anyOf" in schema and isinstance(value, dict):
        schema = next(s for s in schema["anyOf"] if "$ref" in s or s.get("type") == "object")
        return _fill(value, schema, root)
    if isinstance(value, dict) and "properties" in schema:
        out = {k: _fill(value[k], p, root) if k in value else p["default"]
               for k, p in schema["properties"].items() if k in value or "default" in p}
        return out
    if isinstance(value, list) and "items" in schema:
        return [_fill(x, schema["items"], root) for x in value]
    return value


@pytest.mark.parametrize("v", _vectors(), ids=lambda v: v["sent"]["submission_id"])
def test_the_signed_event_is_the_sent_event_with_the_schemas_defaults(v: dict[str, Any]) -> None:
    for sent, complete in zip(v["sent"]["events"], v["events_complete"], strict=True):
        schema = json.loads((SCHEMAS / f"{sent['event']['type']}.schema.json").read_text(encoding="utf-8"))
        assert _fill(sent["event"], schema, schema) == complete
        assert set(schema["properties"]) == set(complete), "every field of the schema is signed"


def test_a_client_signing_the_bytes_it_sent_is_refused(tmp_path: Path) -> None:
    """The trap of issue 12: signing the event as sent (defaults left out, China time) gives
    other bytes, and the ledger refuses the signature."""
    v = _vectors()[0]
    wrong_sigs = []
    for i, item in enumerate(v["signed"]):
        as_sent = {**item["structure"], "event": v["sent"]["events"][i]["event"], "occurred_at": v["sent"]["occurred_at"]}
        assert canonical(as_sent) != item["canonical"].encode()
        wrong_sigs.append(sign(v["private_key"], canonical(as_sent)))
    bad = {**v["sent"], "events": [{**e, "signature": s} for e, s in zip(v["sent"]["events"], wrong_sigs, strict=True)]}
    app = open_embedded(Settings(data_dir=tmp_path / "l"), clock=ManualClock(START.replace(hour=12)))
    try:
        register_only(app)
        receipt = app.submit(json.dumps(bad, ensure_ascii=False).encode())
        assert not receipt.accepted
        assert "signature_invalid" in receipt.codes, receipt.codes
    finally:
        app.close()


def _rfc8785(obj: Any) -> bytes:
    return rfc8785.dumps(obj)


def test_the_canonical_form_is_rfc8785_on_the_vectors_and_the_examples() -> None:
    checked = 0
    for v in _vectors():
        for item in v["signed"]:
            assert _rfc8785(item["structure"]) == item["canonical"].encode("utf-8")
            checked += 1
        assert _rfc8785(v["events_complete"]) == v["events_canonical"].encode("utf-8")
    for path in sorted((REPO / "docs" / "examples").glob("*.json")):
        sub = parse_submission(path.read_bytes())
        assert isinstance(sub, Submission), path
        for i in range(len(sub.events)):
            data = sub.signed_bytes(i)
            assert _rfc8785(json.loads(data)) == data, path
            checked += 1
    assert checked > 50


def test_every_stored_event_of_the_demo_hashes_and_signs_rfc8785_bytes(demo_app: Tongxiu) -> None:
    """Existing ledgers keep their bytes: the canonical form was RFC 8785 already."""
    envelopes = [s.envelope for stream in demo_app.log.streams() for s in demo_app.log.read_stream(stream)]
    assert len(envelopes) > 20
    for env in envelopes:
        body = canonical(env.body())
        assert _rfc8785(json.loads(body)) == body
        assert hashlib.sha256(body).hexdigest() == env.hash
        assert _rfc8785(json.loads(env.signed_bytes())) == env.signed_bytes()


def test_the_first_vector_is_accepted_by_a_ledger(tmp_path: Path) -> None:
    app = open_embedded(Settings(data_dir=tmp_path / "l"), clock=ManualClock(START.replace(hour=12)))
    try:
        register_only(app)
        receipt = app.submit(json.dumps(_vectors()[0]["sent"], ensure_ascii=False).encode())
        assert receipt.accepted, receipt.reasons
        assert [e.type for e in receipt.events] == [
            "penalty_decided", "compliance_advice_issued", "credit_repair_notice_issued"]
    finally:
        app.close()


def test_every_schema_property_is_required_or_has_a_default() -> None:
    """docs/signing.md §4.1: a client fills in exactly the schemas' defaults."""
    from tongxiu.events.models import EVENT_TYPES

    for name in EVENT_TYPES:
        schema = json.loads((SCHEMAS / f"{name}.schema.json").read_text(encoding="utf-8"))
        for where in [schema, *schema.get("$defs", {}).values()]:
            for prop, spec in where.get("properties", {}).items():
                assert prop in where.get("required", []) or "default" in spec, (name, prop)
