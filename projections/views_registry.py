"""The registry's read model: departments, their signing keys over time, subscriptions.
Part of :mod:`tongxiu.projections.views`, which re-exports every name."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field


class KeyWindow(BaseModel):
    """One signing key of a department and when the ledger accepted it (issue 9)."""

    public_key: str
    algorithm: str = "ed25519"
    valid_from: datetime
    """The recording time of the registration or rotation that introduced it."""
    valid_until: datetime | None = None
    """The recording time of the rotation that replaced it or the revocation (exclusive)."""
    revoked: bool = False


class DepartmentInfo(BaseModel):
    department_id: str
    name: str
    kind: Literal["department", "credit_platform", "ledger"]
    domain: str
    jurisdiction: str
    public_key: str
    """The key the department signs with now ("" after its current key was revoked)."""
    registered_at: datetime
    keys: list[KeyWindow] = Field(default_factory=list)
    """Every key it had, oldest first (empty in read models written before key rotation)."""

    def keys_at(self, recorded_at: datetime) -> list[str]:
        """The keys valid for an event recorded at ``recorded_at``: the one whose window holds
        it — windows include their end instant, since an event recorded at the very instant of
        a rotation or revocation may have been accepted just before it (the ledger itself
        refuses a revoked key from the revocation on: ``key_revoked``)."""
        if not self.keys:
            return [self.public_key] if self.public_key else []
        return [
            w.public_key
            for w in self.keys
            if w.valid_from <= recorded_at and (w.valid_until is None or recorded_at <= w.valid_until)
        ]

    def revoked(self, public_key: str) -> KeyWindow | None:
        return next((w for w in self.keys if w.public_key == public_key and w.revoked), None)


class Subscription(BaseModel):
    subscriber: str
    jurisdictions: list[str] = Field(default_factory=list)
    domains: list[str] = Field(default_factory=list)

    def matches(self, enterprise: str, domain: str) -> bool:
        area = enterprise[2:8] if len(enterprise) == 18 else ""
        if self.jurisdictions and not any(area.startswith(j) for j in self.jurisdictions):
            return False
        return not self.domains or domain in self.domains


class RegistryState(BaseModel):
    seq: int = 0
    last_hash: str = "0" * 64
    departments: dict[str, DepartmentInfo] = Field(default_factory=dict)
    subscriptions: dict[str, Subscription] = Field(default_factory=dict)
    legacy_codes: dict[str, str] = Field(default_factory=dict)
    """Known legacy credit codes registered by the operator, with their source."""
    backfills: dict[str, date] = Field(default_factory=dict)
    """Departments allowed to import history, and the last ledger day they may."""
    supervisors: dict[str, str] = Field(default_factory=dict)
    """司法行政 departments with the supervisor role, and the area code prefix they supervise."""

    def supervises(self, supervisor: str, department: str) -> bool:
        """``supervisor`` holds the role over ``department``'s jurisdiction."""
        area = self.supervisors.get(supervisor)
        info = self.departments.get(department)
        return area is not None and info is not None and info.jurisdiction.startswith(area)

    def subscribers_for(self, enterprise: str, decider: str) -> list[str]:
        domain = self.departments[decider].domain if decider in self.departments else ""
        return sorted(
            s.subscriber
            for s in self.subscriptions.values()
            if s.subscriber != decider and s.matches(enterprise, domain)
        )
