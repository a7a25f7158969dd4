"""Enforcement facts on an enterprise's stream: decisions, advice, notices, fulfilment,
rectification, repair, withdrawal, lists, propagation and delivery, and the time-driven facts
the ledger writes itself. Part of :mod:`tongxiu.events.models`."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
)

from tongxiu.events.facts_base import (
    Fact,
    Money,
    NonEmpty,
)

# --------------------------------------------------------------------------- decisions

PenaltyType = Literal[
    "警告",
    "通报批评",
    "罚款",
    "没收违法所得",
    "没收非法财物",
    "暂扣许可证件",
    "降低资质等级",
    "吊销许可证件",
    "限制开展生产经营活动",
    "责令停产停业",
    "责令关闭",
    "限制从业",
    "行政拘留",
]

RuleSetName = Literal[
    "ndrc-2019-527",
    "ndrc-order-58",
    "gbf-2025-22",
    "ndrc-order-36",
    "samr-order-45",
    "samr-order-107",
]


class ClassBasis(BaseModel):
    """Which sector classification standard classes the decision, on which amount."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    standard_ref: NonEmpty
    amount_yuan: Money


class PenaltyDecided(Fact):
    """行政处罚决定书: the fields of 行政处罚法 Art. 59."""

    type: Literal["penalty_decided"] = "penalty_decided"
    decision_no: NonEmpty = Field(description="文号, opaque, e.g. 赤壁市监处罚〔2025〕179号")
    party_name: NonEmpty
    party_kind: Literal["person", "organisation"] = "organisation"
    address: NonEmpty
    legal_representative: NonEmpty
    facts: NonEmpty
    legal_basis: NonEmpty
    penalty_types: Annotated[list[PenaltyType], Field(min_length=1)]
    fine_yuan: Money = Decimal(0)
    confiscation_yuan: Money = Decimal(0)
    performance: NonEmpty = "罚款自收到本决定书之日起十五日内缴纳，逾期每日按罚款数额的3%加处罚款"
    remedies: NonEmpty = "可依法申请行政复议或者提起行政诉讼"
    authority: NonEmpty
    decision_date: date
    identification_date: date | None = None
    procedure: Literal["simple", "ordinary"]
    rule_set: RuleSetName
    sector: str | None = Field(default=None, description="food, drugs, special_equipment …")
    serious_dishonesty_list: bool = False
    violation_kind: str | None = Field(default=None, description="to answer 'first violation of this kind?'")
    publicized_on: date | None = Field(
        default=None, description="公示之日: SAMR Order 45 counts its periods from it (within 20 working days of the decision)"
    )
    restriction_until: date | None = Field(
        default=None, description="end of 限制开展生产经营活动 / 限制从业 (Order 45: over 3 years → publicized to it)"
    )
    class_basis: ClassBasis | None = Field(
        default=None, description="the sector classification standard and amount the class follows, when one is in force"
    )


class NoPenaltyDecided(Fact):
    """不予处罚 (行政处罚法 Art. 33): recorded, never publicized."""

    type: Literal["no_penalty_decided"] = "no_penalty_decided"
    schema_version: int = 2
    decision_no: NonEmpty
    party_name: NonEmpty
    basis: Literal["first_violation", "minor_and_corrected", "no_fault"]
    violation_kind: NonEmpty = Field(description="what kind of violation, to answer 'first of this kind?'")
    legal_basis: NonEmpty
    decision_date: date
    waived_fine_yuan: Money = Field(
        default=Decimal(0), description="免除的罚款金额: the fine the violation would have carried (v2; 0 when not stated)"
    )


class AdviceItem(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    item_id: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[^/]+$")] = Field(
        description="unique within the advice; no '/' (the item key is advice_no/item_id)"
    )
    requirement: NonEmpty
    binding: bool = Field(
        default=False,
        description="a binding correction (责令改正, a duty of the decision) gates repair; advisory items (合规建议) do not",
    )
    deadline: date
    lead_department: NonEmpty
    participating_departments: list[NonEmpty] = Field(default_factory=list)


class ComplianceAdviceIssued(Fact):
    """行政合规建议书: opens the rectification loop."""

    type: Literal["compliance_advice_issued"] = "compliance_advice_issued"
    advice_no: NonEmpty
    decision_no: NonEmpty
    items: Annotated[list[AdviceItem], Field(min_length=1)]
    guidance: str = ""

    @field_validator("items")
    @classmethod
    def _unique_item_ids(cls, items: list[AdviceItem]) -> list[AdviceItem]:
        seen: set[str] = set()
        for item in items:
            if item.item_id in seen:
                raise ValueError(f"item_id {item.item_id!r} 在同一份合规建议书中出现了两次")
            seen.add(item.item_id)
        return items


class CreditRepairNoticeIssued(Fact):
    """信用修复告知书: the publicity period, the earliest repair date, and how to apply."""

    type: Literal["credit_repair_notice_issued"] = "credit_repair_notice_issued"
    notice_no: NonEmpty
    decision_no: NonEmpty
    publicity_class: Literal["none", "minor", "ordinary", "serious"]
    publicity_until: date
    earliest_repair_date: date | None
    conditions: NonEmpty = "履行行政处罚决定规定的义务，完成整改，并作出信用承诺"
    how_to_apply: NonEmpty = "通过信用中国网站提交信用修复申请（市场监管领域：通过国家企业信用信息公示系统）"


class PenaltyFulfilled(Fact):
    type: Literal["penalty_fulfilled"] = "penalty_fulfilled"
    decision_no: NonEmpty
    amount_paid_yuan: Money
    fulfilled_on: date


class RectificationEvidenceSubmitted(Fact):
    type: Literal["rectification_evidence_submitted"] = "rectification_evidence_submitted"
    advice_no: NonEmpty
    item_id: NonEmpty
    evidence: NonEmpty
    documents: list[NonEmpty] = Field(default_factory=list)


class RectificationVerified(Fact):
    type: Literal["rectification_verified"] = "rectification_verified"
    advice_no: NonEmpty
    item_id: NonEmpty
    note: str = ""


class RectificationRejected(Fact):
    type: Literal["rectification_rejected"] = "rectification_rejected"
    advice_no: NonEmpty
    item_id: NonEmpty
    reason: NonEmpty


class RepairApplied(Fact):
    type: Literal["repair_applied"] = "repair_applied"
    decision_no: NonEmpty
    credit_commitment: NonEmpty = Field(description="信用承诺, made public")
    materials: list[NonEmpty] = Field(default_factory=list)
    applied_on: date


class RepairAccepted(Fact):
    """受理: the deciding department accepts an application for examination."""

    type: Literal["repair_accepted"] = "repair_accepted"
    decision_no: NonEmpty
    note: str = ""


class RepairExtended(Fact):
    """A complex case: the deciding department extends its decision deadline (可以延长)."""

    type: Literal["repair_extended"] = "repair_extended"
    decision_no: NonEmpty
    reason: NonEmpty
    working_days: Annotated[int, Field(ge=1, le=30)]


class RepairForwarded(Fact):
    """The one window (信用中国, a credit platform) forwards an application it received to the
    identifying department (谁认定、谁修复); the department's decision deadline runs from the day
    the ledger records this forwarding (the department's receipt)."""

    type: Literal["repair_forwarded"] = "repair_forwarded"
    decision_no: NonEmpty
    forwarded_to: NonEmpty = Field(description="department_id of the department that made the decision")
    note: str = ""


class RepairNotAccepted(Fact):
    """不予受理: the application is not accepted for examination (e.g. incomplete materials, not
    in scope). Recorded by the identifying department before it accepts, or by the one window
    that received it before forwarding. Closes the application; not a refusal on the merits."""

    type: Literal["repair_not_accepted"] = "repair_not_accepted"
    decision_no: NonEmpty
    reason: NonEmpty


class RepairGranted(Fact):
    type: Literal["repair_granted"] = "repair_granted"
    decision_no: NonEmpty
    note: str = ""


class RepairRefused(Fact):
    type: Literal["repair_refused"] = "repair_refused"
    decision_no: NonEmpty
    reason: NonEmpty


class RepairRevoked(Fact):
    type: Literal["repair_revoked"] = "repair_revoked"
    decision_no: NonEmpty
    reason: NonEmpty = Field(description="e.g. false materials")


class DecisionWithdrawn(Fact):
    """Changed, revoked, confirmed illegal or ruled invalid (行政处罚法 Art. 48). Not a repair.

    The deciding authority withdraws within 3 working days of ``ruling_date`` (the change,
    ruling or confirmation); a changed decision names the one that replaces it."""

    type: Literal["decision_withdrawn"] = "decision_withdrawn"
    decision_no: NonEmpty
    reason: NonEmpty
    ruling_ref: str = ""
    ground: Literal["changed", "revoked", "confirmed_illegal", "invalid"] | None = Field(
        default=None, description="变更 / 被撤销 / 被确认违法 / 被确认无效"
    )
    ruling_date: date | None = Field(default=None, description="the date of the change, ruling or confirmation")
    replaced_by: str | None = Field(default=None, description="decision_no of the decision that replaces a changed one")


CreditListKind = Literal["abnormal_operation", "serious_illegal_dishonest"]
"""经营异常名录 / 严重违法失信名单 (market regulation's lists)."""


class CreditListIncluded(Fact):
    """列入经营异常名录 / 严重违法失信名单, recorded by the market-regulation department that decided it."""

    type: Literal["credit_list_included"] = "credit_list_included"
    list_kind: CreditListKind
    decision_no: NonEmpty = Field(description="文号 of the inclusion decision")
    reason: NonEmpty
    included_on: date


class CreditListRemoved(Fact):
    """移出: recorded by the department that included the enterprise (谁列入、谁移出)."""

    type: Literal["credit_list_removed"] = "credit_list_removed"
    list_kind: CreditListKind
    decision_no: NonEmpty = Field(description="文号 of the removal decision")
    reason: NonEmpty
    removed_on: date


class PropagationScheduled(Fact):
    """Written by the ledger in the same append as the fact it propagates, so the set of
    subscribers (taken from the registry at that moment) is part of the log and a rebuild
    never depends on when it runs."""

    type: Literal["propagation_scheduled"] = "propagation_scheduled"
    source_event_id: NonEmpty
    source_type: NonEmpty
    decision_no: NonEmpty
    subscribers: list[NonEmpty]
    deadline: date
    deadline_estimated: bool = False


class DeliveryAcknowledged(Fact):
    """A subscriber applied a propagated result (一处修复、处处同步)."""

    type: Literal["delivery_acknowledged"] = "delivery_acknowledged"
    source_event_id: NonEmpty
    applied: bool = True
    note: str = ""


# --------------------------------------------------------------------------- time-driven


class RepairEligibilityReached(Fact):
    type: Literal["repair_eligibility_reached"] = "repair_eligibility_reached"
    decision_no: NonEmpty
    eligible_from: date


class PublicityExpired(Fact):
    type: Literal["publicity_expired"] = "publicity_expired"
    decision_no: NonEmpty
    expired_on: date


class RectificationOverdue(Fact):
    type: Literal["rectification_overdue"] = "rectification_overdue"
    advice_no: NonEmpty
    item_id: NonEmpty
    deadline: date


class SyncOverdue(Fact):
    type: Literal["sync_overdue"] = "sync_overdue"
    source_event_id: NonEmpty
    subscriber: NonEmpty
    deadline: date
