"""An envelope's two instants (``RecordedUtcDatetime``) decode as ``UtcDatetime`` does: the same
instant at offset 0 whatever offset the input had, a naive one refused, the same JSON and the
same JSON schema — the fast path (no Python call for an instant already at UTC) only skips work.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from pydantic import TypeAdapter, ValidationError

from tongxiu.events.envelope import Envelope
from tongxiu.events.facts_base import RecordedUtcDatetime, UtcDatetime

FAST: TypeAdapter[datetime] = TypeAdapter(RecordedUtcDatetime)
SLOW: TypeAdapter[datetime] = TypeAdapter(UtcDatetime)
FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "ledger-2026-12-01" / "ledger.sqlite3"

TEXTS = [
    "2026-01-05T01:00:00Z",
    "2026-01-05T01:00:00+00:00",
    "2026-01-05T09:00:00+08:00",
    "2026-01-04T20:30:00.123456-04:30",
    "2026-03-01T00:00:00+14:00",
    "1999-12-31T23:59:59.5Z",
]


@pytest.mark.parametrize("text", TEXTS)
def test_an_instant_decodes_as_utc_datetime_decodes_it(text: str) -> None:
    for fast, slow in (
        (FAST.validate_python(text), SLOW.validate_python(text)),
        (FAST.validate_json(json.dumps(text)), SLOW.validate_json(json.dumps(text))),
    ):
        assert fast == slow
        assert fast.utcoffset() == timedelta(0) and fast.tzname() == "UTC"
        assert fast.replace(tzinfo=None) == slow.replace(tzinfo=None)  # the same wall clock at UTC
        assert FAST.dump_json(fast) == SLOW.dump_json(slow)
        assert FAST.dump_python(fast, mode="json") == SLOW.dump_python(slow, mode="json")


def test_a_datetime_object_at_another_offset_is_brought_to_utc() -> None:
    at8 = datetime(2026, 1, 5, 9, 0, tzinfo=timezone(timedelta(hours=8)))
    out = FAST.validate_python(at8)
    assert out.tzinfo is UTC and out == at8 and out.hour == 1
    already = datetime(2026, 1, 5, 1, 0, tzinfo=UTC)
    assert FAST.validate_python(already) is already


@pytest.mark.parametrize("bad", ["2026-01-05T09:00:00", datetime(2026, 1, 5, 9, 0), "not a time", [1], None])
def test_what_utc_datetime_refuses_is_refused(bad: object) -> None:
    with pytest.raises(ValidationError):
        SLOW.validate_python(bad)
    with pytest.raises(ValidationError) as err:
        FAST.validate_python(bad)
    if isinstance(bad, datetime) or bad == "2026-01-05T09:00:00":  # naive: the ledger's own rule is named
        assert any("须带时区" in e["msg"] for e in err.value.errors())


def test_every_stored_envelope_at_another_offset_decodes_to_the_same_envelope() -> None:
    """Every event of the ledger fixture (written by an older ``main``), its instants rewritten
    at +08:00 and -05:00, decodes to the envelope its stored JSON decodes to."""
    conn = sqlite3.connect(FIXTURE)
    try:
        raws = [raw for (raw,) in conn.execute("SELECT raw FROM events ORDER BY position")]
    finally:
        conn.close()
    assert len(raws) > 100
    for raw in raws:
        body = json.loads(raw)
        env = Envelope.from_json(raw)
        assert env.occurred_at.utcoffset() == env.recorded_at.utcoffset() == timedelta(0)
        moved = {**body, "occurred_at": env.occurred_at.astimezone(timezone(timedelta(hours=8))).isoformat(),
                 "recorded_at": env.recorded_at.astimezone(timezone(timedelta(hours=-5))).isoformat()}
        other = Envelope.from_body(moved)
        assert other == env
        assert other.model_dump(mode="json") == env.model_dump(mode="json")


def test_the_envelope_schema_states_plain_date_times() -> None:
    props = Envelope.model_json_schema()["properties"]
    for name in ("occurred_at", "recorded_at"):
        assert props[name]["type"] == "string" and props[name]["format"] == "date-time"
        assert "anyOf" not in props[name]
