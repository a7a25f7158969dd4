"""The base of every fact (``Fact``), the field types facts share (instants normalised to
UTC, money, non-empty text) and the ledger's own stream names. Part of
:mod:`tongxiu.events.models`, which re-exports every name."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    WithJsonSchema,
)

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
