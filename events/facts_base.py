"""The base of every fact (``Fact``), the field types facts share (instants normalised to
UTC, money, non-empty text) and the ledger's own stream names. Part of
:mod:`tongxiu.events.models`, which re-exports every name."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    WithJsonSchema,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import core_schema

REGISTRY_STREAM = "registry"
"""The stream that holds department registrations and subscriptions (not an enterprise)."""

LEDGER_DEPARTMENT = "ledger"
"""The ledger's own identity: it signs registrations and the time-driven facts."""


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("须带时区（例如 2026-01-05T09:00:00+08:00）")
    return value.astimezone(UTC)


UtcDatetime = Annotated[datetime, AfterValidator(_utc)]
"""A timezone-aware instant, normalised to UTC so that its encoding is canonical."""


class _AtUtc:
    """:data:`UtcDatetime` for the two instants of a recorded envelope, without a Python call
    when the instant is already at UTC (what the ledger stores: ``...Z``): pydantic-core takes a
    datetime whose offset is 0 as it is (``tz_constraint=0``) and only any other goes through
    :func:`_utc`, so a replay or an audit validates ``occurred_at`` and ``recorded_at`` in
    Rust (the two calls were ~1 µs of an envelope's ~6 µs decode). The value is the same
    instant at offset 0 either way (its ``tzinfo`` is pydantic-core's UTC, which equals
    ``datetime.UTC``, or ``datetime.UTC``); the JSON schema is a datetime's."""

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        return core_schema.union_schema(
            [core_schema.datetime_schema(tz_constraint=0),
             core_schema.no_info_after_validator_function(_utc, core_schema.datetime_schema())],
            mode="left_to_right",
        )

    @classmethod
    def __get_pydantic_json_schema__(cls, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        return handler(core_schema.datetime_schema())


RecordedUtcDatetime = Annotated[datetime, _AtUtc]
"""An envelope's ``occurred_at``/``recorded_at``: :data:`UtcDatetime`, decoded without a
Python call when already at UTC (see :class:`_AtUtc`)."""

NonEmpty = Annotated[str, Field(min_length=1, max_length=2000)]
Money = Annotated[
    Decimal,
    Field(ge=0, max_digits=16, decimal_places=2),
    WithJsonSchema({"type": "string", "pattern": r"^(0|[1-9][0-9]{0,13})(\.[0-9]{1,2})?$",
                    "description": "yuan as a decimal string, e.g. \"50000\" or \"120.50\" (events/wire.py)"}),
]


class Fact(BaseModel):
    """Base of every event payload."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    schema_version: int = 1
