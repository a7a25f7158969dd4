"""``StoredUtcDatetime`` (a stored envelope's instants) reads the text every stored instant is written as (``2026-01-25T01:00:00Z``)
with ``datetime.fromisoformat`` and everything else through pydantic (issue 11 session 14):
every input gives what pydantic's datetime followed by ``_utc`` gives — the same instant, at
``datetime.UTC`` — or the same error, in JSON and in Python mode."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from tongxiu.events.envelope import Envelope
from tongxiu.events.facts_base import StoredUtcDatetime, UtcDatetime, _utc_of


class New(BaseModel):
    at: StoredUtcDatetime


class Old(BaseModel):  # UtcDatetime: pydantic's datetime, then _utc
    at: UtcDatetime


TEXTS = [
    "2026-01-25T01:00:00Z", "2026-12-31T23:59:59Z", "2024-02-29T12:00:00Z", "0001-01-01T00:00:00Z",
    "2026-02-30T01:00:00Z", "2025-02-29T01:00:00Z", "2026-01-25T24:00:00Z", "2026-01-25T23:59:60Z",
    "2026-13-01T00:00:00Z", "0000-01-01T00:00:00Z", "２０２６-01-25T01:00:00Z", "2026-01-25T01:00:0５Z",
    "2026-01-25 01:00:00Z", "2026-01-25t01:00:00Z", "2026-01-25T01:00:00z", "2026-01-25T01:00:00",
    "2026-01-25T01:00:00+08:00", "2026-01-25T01:00:00.5Z", "2026-01-25T01:00Z", "20260125T010000Z",
    "2026-01-25T01:00:00-00:00", "+2026-01-25T01:00:0Z", "2026-01-2XT01:00:00Z", "2026-01-25T01:00:00Z ",
    "2026-0125T01:00:00:Z", "2026-01-25T0100:00:Z", "", "Z",
]


def outcome(model: type[BaseModel], value: Any, json: bool) -> tuple[object, ...]:
    try:
        at = (model.model_validate_json(f'{{"at": "{value}"}}') if json else model.model_validate({"at": value})).at  # type: ignore[attr-defined]
    except ValidationError as e:
        return ("error", [(x["type"], x["loc"], x["msg"]) for x in e.errors()])
    return (at, at.tzinfo is UTC, at.utcoffset(), at.isoformat())


@pytest.mark.parametrize("json", [True, False])
@pytest.mark.parametrize("text", TEXTS)
def test_text_gives_what_pydantic_and_utc_give(text: str, json: bool) -> None:
    assert outcome(New, text, json) == outcome(Old, text, json)


@pytest.mark.parametrize("value", [
    datetime(2026, 1, 25, 1, tzinfo=UTC), datetime(2026, 1, 25, 9, tzinfo=timezone(timedelta(hours=8))),
    datetime(2026, 1, 25, 1), 1769302800, "1769302800", None, 3.5,
])
def test_other_values_give_what_pydantic_and_utc_give(value: Any) -> None:
    assert outcome(New, value, False) == outcome(Old, value, False)


def test_the_stored_form_is_read_without_pydantic_and_is_at_utc() -> None:
    def refuse(value: Any) -> datetime:
        raise AssertionError("the stored form went through pydantic's parse")

    at = _utc_of("2026-01-25T01:00:00Z", refuse)  # type: ignore[arg-type]
    assert at == datetime(2026, 1, 25, 1, tzinfo=UTC) and at.tzinfo is UTC


def test_an_envelopes_instants_are_stored_instants() -> None:
    for name in ("occurred_at", "recorded_at"):
        assert _utc_of in [getattr(m, "func", None) for m in Envelope.model_fields[name].metadata]
