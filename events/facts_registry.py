"""Registry facts: departments, their keys, subscriptions, legacy codes and backfills (on
the ``registry`` stream). Part of :mod:`tongxiu.events.models`."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import (
    Field,
)

from tongxiu.events.facts_base import (
    Fact,
    NonEmpty,
)

# --------------------------------------------------------------------------- registry


class DepartmentRegistered(Fact):
    """A department or credit platform joined the ledger with its Ed25519 public key."""

    type: Literal["department_registered"] = "department_registered"
    department_id: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_.-]{1,63}$")]
    name: NonEmpty
    kind: Literal["department", "credit_platform"]
    domain: NonEmpty = Field(description="e.g. market_regulation, tax, ecology, labour, emergency")
    jurisdiction: Annotated[str, Field(pattern=r"^[0-9]{2,6}$")] = Field(
        description="GB/T 2260 area code prefix, e.g. 33 (Zhejiang) or 330521 (Deqing)"
    )
    public_key: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")] = Field(description="Ed25519, hex")


class DepartmentKeyRotated(Fact):
    """(operator) A department's signing key replaced: from this fact's recording on, the
    department signs with ``public_key``; what it signed before keeps verifying with the old key."""

    type: Literal["department_key_rotated"] = "department_key_rotated"
    department_id: NonEmpty
    public_key: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")] = Field(description="the new key, hex")
    algorithm: Literal["ed25519"] = Field(default="ed25519", description="ed25519 (room for sm2)")
    reason: NonEmpty


class DepartmentKeyRevoked(Fact):
    """(operator) A department's key revoked (e.g. leaked): submissions signed with it are
    refused from this fact's recording on (``key_revoked``); events recorded before keep
    verifying. Revoking the current key leaves the department unable to sign until a rotation."""

    type: Literal["department_key_revoked"] = "department_key_revoked"
    department_id: NonEmpty
    public_key: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
    reason: NonEmpty


class SubscriptionAdded(Fact):
    """A subscriber asks to receive repairs, withdrawals and expiries decided elsewhere."""

    type: Literal["subscription_added"] = "subscription_added"
    jurisdictions: list[Annotated[str, Field(pattern=r"^[0-9]{2,6}$")]] = Field(
        default_factory=list, description="area code prefixes; empty means all"
    )
    domains: list[NonEmpty] = Field(default_factory=list, description="deciding domains; empty means all")


class SubscriptionRemoved(Fact):
    type: Literal["subscription_removed"] = "subscription_removed"


class LegacyCodeRegistered(Fact):
    """The operator records a credit code that fails the GB 32100-2015 check but is a known
    legacy identifier in a real registry; only such a code may open a stream with
    ``legacy_code: true`` (a typo cannot)."""

    type: Literal["legacy_code_registered"] = "legacy_code_registered"
    code: Annotated[str, Field(pattern=r"^[0-9A-Z]{18}$")]
    source: NonEmpty = Field(description="where the code is known from, e.g. the registry extract")


class BackfillAuthorized(Fact):
    """The operator lets a department import historical records until ``until`` (ledger day):
    submissions whose id starts with ``backfill:`` are judged by their declared dates and
    marked as imported."""

    type: Literal["backfill_authorized"] = "backfill_authorized"
    department_id: NonEmpty
    until: date
    reason: NonEmpty
