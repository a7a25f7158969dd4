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
    ValidatorFunctionWrapHandler,
    WithJsonSchema,
    WrapValidator,
)

REGISTRY_STREAM = "registry"
"""The stream that holds department registrations and subscriptions (not an enterprise)."""

LEDGER_DEPARTMENT = "ledger"
"""The ledger's own identity: it signs registrations and the time-driven facts."""


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("须带时区（例如 2026-01-05T09:00:00+08:00）")
    return value.astimezone(UTC)


_from_iso = datetime.fromisoformat


def _utc_of(value: Any, handler: ValidatorFunctionWrapHandler) -> datetime:
    """``_utc(handler(value))``: pydantic's datetime, at UTC. The text a stored envelope's
    instants are written as (``2026-01-25T01:00:00Z``: pydantic's JSON of a UTC instant,
    seconds only) is read by ``datetime.fromisoformat``, which gives that instant at
    ``datetime.UTC`` already (one Python call per instant instead of pydantic's parse, then a
    call to ``_utc`` and its ``astimezone``); anything else, or text it refuses, goes through
    pydantic (its value, or its error)."""
    if type(value) is str and len(value) == 20 and value[19] == "Z" and value[10] == "T" and value.isascii() \
            and value[4] == value[7] == "-" and value[13] == value[16] == ":":
        try:
            return _from_iso(value)
        except ValueError:
            pass
    return _utc(handler(value))


UtcDatetime = Annotated[datetime, AfterValidator(_utc)]
"""A timezone-aware instant, normalised to UTC so that its encoding is canonical."""

StoredUtcDatetime = Annotated[datetime, WrapValidator(_utc_of)]
""":data:`UtcDatetime` (the same values and errors) for what is decoded from storage, a
stored envelope's two instants, read faster in their stored form (:func:`_utc_of`). Not for
what a client sends: the submission is validated in strict mode (``events/wire.py``), where a
wrap validator's fallback would see a Python string and refuse it."""

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
