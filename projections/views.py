"""Read-model types: what the credit, rectification, sync and registry views hold.

They are plain pydantic models so that every backend stores them as JSON and every reader
(CLI, SDK, HTTP) gets the same shape. The enterprise's state is here; the registry's, the
supervision figures and oversight, and the rectification item are in ``views_registry``,
``views_supervision`` and ``views_items``, and every name is importable from here.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from itertools import islice
from typing import Literal

from pydantic import BaseModel, Field, PrivateAttr

from tongxiu.events.construct import made
from tongxiu.projections.views_items import Evidence, RectificationItem, Verdict
from tongxiu.projections.views_registry import DepartmentInfo, KeyWindow, RegistryState, Subscription
from tongxiu.projections.views_supervision import (
    CaseReview,
    Complaint,
    Finding,
    InspectionRecord,
    OversightView,
    SupervisionCounters,
    SupervisionState,
    shard_month,
)
from tongxiu.projections.workdays import china_day

RecordStatus = Literal["publicized", "not_publicized", "repaired", "expired", "withdrawn"]


class StatusChange(BaseModel):
    at: datetime
    status: str
    by: str
    seq: int


class RepairApplication(BaseModel):
    seq: int
    applied_on: date
    received_at: datetime
    applied_via: str
    credit_commitment: str
    outcome: Literal["pending", "granted", "refused", "not_accepted"] = "pending"
    decided_at: datetime | None = None
    decision_deadline: date | None = None
    decision_deadline_estimated: bool = False
    """True when the working-day calendar had no data for that year (Mon–Fri assumed)."""
    reason: str = ""
    received_on: date | None = None
    """The China day the ledger received the application: the decision deadline runs from it."""
    procedural_rule_set: str | None = None
    """The rule set in force on the day of receipt, whose procedure (days to decide) applies."""
    accepted_at: datetime | None = None
    extended_working_days: int = 0
    reply_deadline: date | None = None
    """The applicant is told the outcome by this day (10 working days from receipt)."""
    replied_within_deadline: bool | None = None
    forwarded_to: str | None = None
    """The identifying department the one window forwarded the application to (repair_forwarded)."""
    forwarded_at: datetime | None = None
    """When the ledger recorded the forwarding: the department's receipt."""
    forwarded_on: date | None = None
    """The China day of that receipt: the decision deadline runs from it once forwarded."""


class CreditRecord(BaseModel):
    decision_no: str
    department: str
    kind: Literal["penalty", "no_penalty"]
    decision_date: date
    submission_id: str
    penalty_types: list[str] = Field(default_factory=list)
    fine_yuan: Decimal = Decimal(0)
    confiscation_yuan: Decimal = Decimal(0)
    rule_set: str | None = None
    publicity_class: str = "none"
    publicized: bool = False
    status: RecordStatus = "not_publicized"
    counted_from: date | None = None
    min_end: date | None = None
    max_end: date | None = None
    repair_from: date | None = None
    early_end_forbidden: bool = False
    ends_by_itself_requires_performance: bool = False
    basis: str = ""
    """The rule explanation in Chinese (``Periods.basis``); ``basis_en`` is the same in English."""
    basis_en: str = ""
    fulfilled: bool = False
    fulfilled_on: date | None = None
    notice_no: str | None = None
    notice_with_decision: bool = False
    advice_no: str | None = None
    advice_with_decision: bool = False
    eligibility_reached: bool = False
    applications: list[RepairApplication] = Field(default_factory=list)
    repaired_on: datetime | None = None
    repairs_revoked: int = 0
    history: list[StatusChange] = Field(default_factory=list)
    violation_kind: str | None = None
    no_penalty_basis: str | None = None
    recorded_class: str = "none"
    """The class of the violation even when not publicized ("minor, not publicized")."""
    class_basis: str = ""
    """The sector standard the class follows, or how it was derived without one."""
    gaps: list[str] = Field(default_factory=list)
    gaps_en: list[str] = Field(default_factory=list)
    not_repairable_rule: str | None = None
    publicized_on: date | None = None
    first_of_kind: bool | None = None
    """首违: no earlier decision of this violation kind on the enterprise, by any department."""
    prior_of_kind: list[str] = Field(default_factory=list)
    """The earliest earlier decisions of this kind (at most ``fold.PRIOR_NAMED``)."""
    prior_of_kind_count: int = 0
    """How many earlier decisions of this kind the enterprise had when this one was recorded."""
    recorded_late: bool = False
    imported: bool = False
    withdrawal_ground: str | None = None
    withdrawal_ruling_date: date | None = None
    withdrawal_deadline: date | None = None
    replaced_by: str | None = None
    replaces: list[str] = Field(default_factory=list)
    """Withdrawn decisions that name this one as their replacement (``replaced_by``)."""

    @property
    def needs_payment(self) -> bool:
        return self.fine_yuan > 0 or self.confiscation_yuan > 0


class CreditListEntry(BaseModel):
    """One inclusion in 经营异常名录 / 严重违法失信名单, and its removal once recorded."""

    list_kind: Literal["abnormal_operation", "serious_illegal_dishonest"]
    department: str
    decision_no: str
    reason: str
    included_on: date
    removed_on: date | None = None
    removal_decision_no: str | None = None
    removal_reason: str = ""


class CreditView(BaseModel):
    enterprise: str
    legacy_code: bool = False
    records: dict[str, CreditRecord] = Field(default_factory=dict)
    standing: str = "good"
    repairs_granted_on: list[date] = Field(default_factory=list)
    list_entries: list[CreditListEntry] = Field(default_factory=list)
    """Inclusions in market regulation's lists, current and removed, in order."""

    def on_list(self, list_kind: str | None = None) -> list[CreditListEntry]:
        """The entries the enterprise is currently on (of ``list_kind``, or of either list)."""
        return [
            e for e in self.list_entries
            if e.removed_on is None and (list_kind is None or e.list_kind == list_kind)
        ]


class RectificationView(BaseModel):
    enterprise: str
    items: dict[str, RectificationItem] = Field(default_factory=dict)
    _advice_index: tuple[int, int, set[str]] | None = PrivateAttr(default=None)

    def has_advice(self, advice_no: str) -> bool:
        """Whether an item of ``advice_no`` exists, without reading every item: an index of
        advice numbers is kept beside ``items`` and extended with the items added since (items
        are only ever added; a smaller or different dict rebuilds it)."""
        n = len(self.items)
        private = self.__pydantic_private__  # the private attribute, without pydantic's lookup
        assert private is not None
        index = private["_advice_index"]
        if index is None or index[0] != id(self.items) or index[1] > n:
            index = (id(self.items), n, {i.advice_no for i in self.items.values()})
        elif index[1] < n:
            index[2].update(i.advice_no for i in islice(reversed(self.items.values()), n - index[1]))
            index = (index[0], n, index[2])
        private["_advice_index"] = index
        return advice_no in index[2]

    def open_by_department(self) -> dict[str, list[RectificationItem]]:
        """Every open demand on the enterprise, side by side per owning department."""
        out: dict[str, list[RectificationItem]] = {}
        for item in self.items.values():
            if item.status == "closed":
                continue
            for owner in item.owners:
                if owner not in item.verdicts or item.verdicts[owner].verdict != "verified":
                    out.setdefault(owner, []).append(item)
        return out


class Delivery(BaseModel):
    source_event_id: str
    source_type: str
    decision_no: str
    decider: str
    subscriber: str
    delivered_at: datetime
    deadline: date
    deadline_estimated: bool = False
    status: Literal["pending", "acknowledged"] = "pending"
    acknowledged_at: datetime | None = None
    latency_seconds: float | None = None
    overdue_marked: bool = False
    declined_at: datetime | None = None
    """A holder answered ``applied: false``: not synced, still pending."""
    declined_note: str = ""

    def overdue_as_of(self, day: date) -> bool:
        if self.status == "acknowledged":
            assert self.acknowledged_at is not None
            return china_day(self.acknowledged_at) > self.deadline
        return day > self.deadline


class SyncView(BaseModel):
    enterprise: str
    deliveries: dict[str, Delivery] = Field(default_factory=dict)


class _KindIndex:
    """Decision numbers by violation kind, for one records dict (by identity) of a known size:
    a copy of a state with its own records, or records added without :meth:`note_record`,
    make it stale, and it is rebuilt."""

    __slots__ = ("kinds", "records", "size")

    def __init__(self, records: dict[str, CreditRecord]) -> None:
        self.kinds: dict[str, list[str]] = {}
        self.records = records
        self.size = len(records)


class EnterpriseState(BaseModel):
    """Everything the ledger knows about one enterprise, folded from its stream."""

    enterprise: str
    seq: int = 0
    last_hash: str = "0" * 64
    credit: CreditView
    rectification: RectificationView
    sync: SyncView
    submissions: list[str] = Field(default_factory=list)
    inspections: dict[str, InspectionRecord] = Field(default_factory=dict)
    """涉企检查 on this enterprise, by inspection id (enterprise streams)."""
    oversight: OversightView | None = None
    """Case reviews, findings and complaints about a department (its ``dept:<id>`` stream)."""
    _submission_set: set[str] | None = PrivateAttr(default=None)
    _kinds: _KindIndex | None = PrivateAttr(default=None)

    def note_submission(self, submission_id: str) -> None:
        """Add ``submission_id`` to ``submissions`` (in order) unless it is there: O(1), with a
        set kept beside the list (rebuilt if the list was changed another way)."""
        private = self.__pydantic_private__  # the private attribute, without pydantic's lookup
        assert private is not None
        seen = private["_submission_set"]
        submissions = self.submissions
        if seen is None or len(seen) != len(submissions):
            seen = private["_submission_set"] = set(submissions)
        if submission_id not in seen:
            seen.add(submission_id)
            submissions.append(submission_id)

    def standing_of_kind(self, violation_kind: str) -> list[str]:
        """The decisions of ``violation_kind`` on the enterprise that still stand (not
        withdrawn), in the order recorded. An index kept beside the records answers it: built
        once, extended by :meth:`note_record`, rebuilt when the records changed another way
        (loaded, copied and changed, a decision withdrawn), so a new decision costs O(1)."""
        records = self.credit.records
        private = self.__pydantic_private__  # the private attribute, without pydantic's lookup
        assert private is not None
        index: _KindIndex | None = private["_kinds"]
        if index is None or index.records is not records or index.size != len(records):
            index = private["_kinds"] = _KindIndex(records)
            # in the order recorded: by the seq of the event that recorded each one (a document
            # loaded from its parts holds its records in the store's order, not that one)
            for r in sorted(records.values(), key=lambda r: r.history[0].seq if r.history else 0):
                if r.violation_kind and r.status != "withdrawn":
                    index.kinds.setdefault(r.violation_kind, []).append(r.decision_no)
        return index.kinds.get(violation_kind, [])

    def note_record(self, record: CreditRecord) -> None:
        """``record`` was just added to ``credit.records``: extend the kind index."""
        private = self.__pydantic_private__
        assert private is not None
        index: _KindIndex | None = private["_kinds"]
        records = self.credit.records
        if index is not None and index.records is records and index.size == len(records) - 1:
            index.size += 1
            if record.violation_kind and record.status != "withdrawn":
                index.kinds.setdefault(record.violation_kind, []).append(record.decision_no)

    def forget_kinds(self) -> None:
        """A record's standing changed (withdrawn): rebuild the kind index when next asked."""
        private = self.__pydantic_private__
        assert private is not None
        private["_kinds"] = None

    @classmethod
    def empty(cls, enterprise: str) -> EnterpriseState:
        """The state before the enterprise's first event: what ``cls(enterprise=...,
        credit=CreditView(enterprise=...), ...)`` gives, built without validating (a replay
        starts one per enterprise; validating them cost ~8 µs)."""
        if type(enterprise) is not str:  # validation decides (and names the error)
            return cls(
                enterprise=enterprise,
                credit=CreditView(enterprise=enterprise),
                rectification=RectificationView(enterprise=enterprise),
                sync=SyncView(enterprise=enterprise),
            )
        return made(
            cls,
            enterprise=enterprise,
            credit=made(CreditView, enterprise=enterprise),
            rectification=made(RectificationView, enterprise=enterprise),
            sync=made(SyncView, enterprise=enterprise),
        )


EnterpriseState.model_rebuild()

__all__ = [
    "CaseReview", "Complaint", "CreditListEntry", "CreditRecord", "CreditView", "Delivery", "DepartmentInfo",
    "EnterpriseState", "Evidence", "Finding", "InspectionRecord", "KeyWindow", "OversightView",
    "RecordStatus", "RectificationItem", "RectificationView", "RegistryState", "RepairApplication",
    "StatusChange", "Subscription", "SupervisionCounters", "SupervisionState", "SyncView", "Verdict",
    "shard_month",
]
