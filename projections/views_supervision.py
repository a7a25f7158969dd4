"""Supervision read models: the per-department monthly figures, and the oversight of a
department (case reviews, findings, complaints) and inspections of enterprises. Part of
:mod:`tongxiu.projections.views`, which re-exports every name."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

from tongxiu.projections.views_items import RectificationItem


class SupervisionCounters(BaseModel):
    """Per department and month."""

    penalties: int = 0
    no_penalties: int = 0
    served_with_notice: int = 0
    served_with_notice_and_advice: int = 0
    rectification_found: int = 0
    rectification_closed: int = 0
    rectification_overdue: int = 0
    repairs_decided: int = 0
    repairs_decided_within_deadline: int = 0
    repairs_granted: int = 0
    repairs_refused: int = 0
    deliveries_received: int = 0
    syncs_acknowledged: int = 0
    syncs_acknowledged_within_deadline: int = 0
    sync_ack_seconds_total: float = 0.0
    syncs_overdue: int = 0
    syncs_declined: int = 0
    repair_replies_within_deadline: int = 0
    """Repair decisions made within the 10-working-day reply deadline (applicant told in time)."""
    facts_recorded_late: int = 0
    facts_backfilled: int = 0
    withdrawals: int = 0
    withdrawals_within_deadline: int = 0
    repairs_forwarded: int = 0
    """Applications the one window forwarded to the identifying department (credited to the window)."""
    repairs_received_by_forwarding: int = 0
    """Forwarded applications received (credited to the identifying department)."""
    repairs_not_accepted: int = 0
    """不予受理 answers (credited to whoever recorded them)."""
    list_inclusions: int = 0
    list_removals: int = 0
    # 不予处罚 by basis, with the fines waived (免罚金额)
    no_penalties_first_violation: int = 0
    no_penalties_minor: int = 0
    no_penalties_no_fault: int = 0
    waived_fine_yuan: float = 0.0
    # 执法监督 of the department (its own stream): 案卷评查, findings, 对账·核账·销账
    case_files_reviewed: int = 0
    findings_raised: int = 0
    findings_rectified: int = 0
    findings_rejected: int = 0
    findings_overdue: int = 0
    findings_case_review: int = 0
    findings_escorted: int = 0
    findings_station: int = 0
    findings_self_check: int = 0
    findings_cross_check: int = 0
    findings_complaint: int = 0
    complaints_received: int = 0
    complaints_resolved: int = 0
    complaints_resolved_within_deadline: int = 0
    complaints_overdue: int = 0
    # 涉企检查 led by the department (a joint inspection counts once, for its lead)
    inspections: int = 0
    inspections_code_shown: int = 0
    inspections_joint: int = 0
    inspections_planned: int = 0
    inspections_over_limit: int = 0
    inspections_rated: int = 0
    inspection_score_total: int = 0
    enterprise_months_inspected: int = 0
    """Enterprises inspected, once per enterprise and month, credited to the first inspection's lead."""

    def add(self, other: SupervisionCounters) -> SupervisionCounters:
        return SupervisionCounters(
            **{name: getattr(self, name) + getattr(other, name) for name in type(self).model_fields}
        )

    @property
    def penalties_without_notice(self) -> int:
        return self.penalties - self.served_with_notice


class SupervisionState(BaseModel):
    department: str
    months: dict[str, SupervisionCounters] = Field(default_factory=dict)
    seen: dict[str, int] = Field(default_factory=dict)
    """The projector's watermark: stream -> last seq whose tallies this document has."""

    def month(self, key: str) -> SupervisionCounters:
        counters = self.months.get(key)
        if counters is None:  # made only when missing (every tally asks)
            counters = self.months[key] = SupervisionCounters()
        return counters

    def by_month(self) -> dict[str, SupervisionCounters]:
        """The figures per month, each shard's tallies (``<month>@<shard>``, written by the
        projection workers of the distributed backend, one per shard) added together."""
        out: dict[str, SupervisionCounters] = {}
        for key, counters in self.months.items():
            month = key.partition(SHARD_SEP)[0]
            out[month] = out[month].add(counters) if month in out else counters
        return dict(sorted(out.items()))


def add(counters: SupervisionCounters, counter: str, amount: float) -> None:
    """``counters.<counter> += amount``, as pydantic's assignment does it (these models do not
    validate assignments) without its dispatch: a tally per event on every path."""
    fields = counters.__dict__
    if counter not in fields:
        raise AttributeError(f"SupervisionCounters has no counter {counter!r}")
    fields[counter] = fields[counter] + amount
    counters.__pydantic_fields_set__.add(counter)


SHARD_SEP = "@"


def shard_month(month: str, shard: str) -> str:
    """The key of ``shard``'s tallies for ``month`` in ``SupervisionState.months``: several
    projection workers tally one department's month at once, each in its own entry (its own
    row), so no worker's increment overwrites another's."""
    return f"{month}{SHARD_SEP}{shard}"


# --------------------------------------------------------------------------- supervision of enforcers


class Finding(RectificationItem):
    """A supervision finding against a department: the rectification item's loop (evidence →
    verdict → closed / overdue) with the supervisor as the owner who signs off.
    ``advice_no`` holds the source reference (the review, complaint or ``source``), ``item_id``
    the finding id, ``lead_department`` the supervisor."""

    department: str
    source: str
    category: str
    review_id: str | None = None
    complaint_id: str | None = None
    inspection_ref: str | None = None


class CaseReview(BaseModel):
    review_id: str
    case_ref: str
    campaign: str
    reviewer: str
    reviewed_at: datetime
    problems_found: int = 0


class Complaint(BaseModel):
    complaint_id: str
    channel: str
    category: str
    summary: str
    about_ref: str | None = None
    received_by: str
    received_at: datetime
    deadline: date
    deadline_estimated: bool = False
    status: Literal["received", "assigned", "resolved"] = "received"
    assigned_at: datetime | None = None
    resolved_at: datetime | None = None
    resolved_by: str | None = None
    outcome: str | None = None
    reply: str = ""
    resolved_within_deadline: bool | None = None
    overdue_marked: bool = False

    def overdue_as_of(self, day: date) -> bool:
        return self.status != "resolved" and (self.overdue_marked or day > self.deadline)


class OversightView(BaseModel):
    department: str
    reviews: dict[str, CaseReview] = Field(default_factory=dict)
    findings: dict[str, Finding] = Field(default_factory=dict)
    complaints: dict[str, Complaint] = Field(default_factory=dict)


class InspectionRecord(BaseModel):
    inspection_id: str
    departments: list[str]
    officers: list[str]
    code: str | None = None
    code_shown: bool
    plan_ref: str | None = None
    joint: bool
    mode: str = "on_site"
    items: list[str] = Field(default_factory=list)
    started_at: datetime
    started_by: str
    ended_at: datetime | None = None
    outcome: str | None = None
    score: int | None = None
    rated_via: str | None = None
    year_count: int = 1
    """This enterprise's inspections in the calendar year, across departments, including this one."""
    limit: int | None = None
    """The local limit per enterprise and year in force (None: no limit set)."""
    over_limit: bool = False
    """Above the local limit (无事不扰): recorded and flagged, not refused."""
