"""The ledger's facts: one frozen pydantic model per fact, named in the past tense.

Every model carries ``type`` (the discriminator written on the wire) and ``schema_version``.
When a fact's shape changes, bump its version and add an upcaster in :mod:`tongxiu.events.upcast`
so that old events stored in any backend still decode.

Nothing here does I/O; these classes are the contract shared by departments, the write path,
the stream processors and auditors.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    WithJsonSchema,
    field_validator,
)

REGISTRY_STREAM = "registry"
"""The stream that holds department registrations and subscriptions (not an enterprise)."""

LEDGER_DEPARTMENT = "ledger"
"""The ledger's own identity: it signs registrations and the time-driven facts."""


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("must carry a time zone (e.g. 2026-01-05T09:00:00+08:00)")
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
                raise ValueError(f"item_id {item.item_id!r} appears twice in one advice")
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


# --------------------------------------------------------------------------- supervision of enforcers
# 执法监督: a supervising body (a 司法行政 department designated in the registry) reviews case
# files and records findings on the supervised department's own stream (``dept:<id>``); the
# department answers with rectification evidence and the supervisor verifies or rejects — the
# same evidence → verdict → closed / overdue loop as enterprise rectification. Inspections of
# enterprises (涉企检查) sit on the enterprise's stream.

DEPARTMENT_STREAM_PREFIX = "dept:"
"""A department's own stream (findings and complaints about it): ``dept:<department_id>``."""


def department_stream(department_id: str) -> str:
    return DEPARTMENT_STREAM_PREFIX + department_id


def is_department_stream(stream: str) -> bool:
    return stream.startswith(DEPARTMENT_STREAM_PREFIX)


DeptId = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_.-]{1,63}$")]
RefId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[^/]+$")]
FindingSource = Literal["case_review", "escorted", "station", "self_check", "cross_check", "complaint"]


class SupervisorDesignated(Fact):
    """The operator gives a registered 司法行政 department the supervisor role over an area."""

    type: Literal["supervisor_designated"] = "supervisor_designated"
    department_id: DeptId
    jurisdiction: Annotated[str, Field(pattern=r"^[0-9]{2,6}$")] = Field(
        description="area code prefix it supervises (GB/T 2260), e.g. 4107 (Xinxiang)"
    )
    basis: NonEmpty = Field(description="e.g. the appointment document")


class CaseFileReviewed(Fact):
    """案卷评查: one case file of the department reviewed by the supervisor."""

    type: Literal["case_file_reviewed"] = "case_file_reviewed"
    review_id: RefId
    case_ref: NonEmpty = Field(description="the reviewed file, e.g. the decision number")
    campaign: NonEmpty = Field(description="the review campaign, e.g. 2025年度案卷评查")
    problems_found: Annotated[int, Field(ge=0)] = 0


class SupervisionFindingRaised(Fact):
    """A problem found in the department's enforcement, to be rectified by a deadline (限期整改)."""

    type: Literal["supervision_finding_raised"] = "supervision_finding_raised"
    finding_id: RefId
    source: FindingSource = Field(
        description="case_review 案卷评查 / escorted 伴随式 / station 驻站式 / self_check 自查 / "
        "cross_check 交叉互查 / complaint 投诉线索"
    )
    category: NonEmpty = Field(description="e.g. 三项制度, 程序不规范, 文书瑕疵")
    description: NonEmpty
    deadline: date
    review_id: str | None = Field(default=None, description="the case_file_reviewed it came from (case_review)")
    complaint_id: str | None = Field(default=None, description="the complaint it came from (complaint)")
    inspection_ref: str | None = Field(default=None, description="enterprise/inspection_id escorted (伴随式)")


class FindingRectificationSubmitted(Fact):
    type: Literal["finding_rectification_submitted"] = "finding_rectification_submitted"
    finding_id: NonEmpty
    evidence: NonEmpty
    documents: list[NonEmpty] = Field(default_factory=list)


class FindingVerified(Fact):
    """核账、销账: the supervisor accepts the rectification; the finding is closed."""

    type: Literal["finding_verified"] = "finding_verified"
    finding_id: NonEmpty
    note: str = ""


class FindingRejected(Fact):
    type: Literal["finding_rejected"] = "finding_rejected"
    finding_id: NonEmpty
    reason: NonEmpty


class FindingOverdue(Fact):
    type: Literal["finding_overdue"] = "finding_overdue"
    finding_id: NonEmpty
    deadline: date


ComplaintChannel = Literal["12345", "qr_code", "phone", "email", "letter", "online"]


class ComplaintReceived(Fact):
    """A complaint or lead about the department (12345 热线, 执法问题征集二维码 …); the ledger sets
    its reply deadline in working days from receipt (local policy)."""

    type: Literal["complaint_received"] = "complaint_received"
    complaint_id: RefId
    channel: ComplaintChannel
    category: NonEmpty = Field(description="e.g. 趋利性执法, 选择性执法, 多头检查, 随意检查")
    summary: NonEmpty
    about_ref: str | None = Field(default=None, description="a decision or inspection it concerns")


class ComplaintAssigned(Fact):
    type: Literal["complaint_assigned"] = "complaint_assigned"
    complaint_id: NonEmpty
    note: str = ""


class ComplaintResolved(Fact):
    type: Literal["complaint_resolved"] = "complaint_resolved"
    complaint_id: NonEmpty
    outcome: Literal["substantiated", "partly_substantiated", "unsubstantiated"]
    reply: NonEmpty


class ComplaintOverdue(Fact):
    type: Literal["complaint_overdue"] = "complaint_overdue"
    complaint_id: NonEmpty
    deadline: date


class InspectionStarted(Fact):
    """涉企检查 begun: who inspects (one department, or a joint 综合查一次), which officers
    (执法证号), whether they showed the inspection code (亮码), under which plan."""

    type: Literal["inspection_started"] = "inspection_started"
    inspection_id: RefId
    departments: Annotated[list[DeptId], Field(min_length=1, max_length=20)] = Field(
        description="the inspecting departments, the submitter first"
    )
    officers: Annotated[list[Annotated[str, Field(min_length=4, max_length=32)]], Field(min_length=1, max_length=20)] = Field(
        description="the officers' enforcement certificate numbers (执法证号)"
    )
    code: str | None = Field(default=None, max_length=64, description="the inspection task code (检查码)")
    code_shown: bool = Field(description="亮码: the code was shown to the enterprise before entering")
    plan_ref: str | None = Field(default=None, max_length=128, description="the inspection plan (无计划不检查)")
    joint: bool = Field(description="综合查一次 / 联合检查: more than one department at one visit")
    mode: Literal["on_site", "remote"] = "on_site"
    items: list[NonEmpty] = Field(default_factory=list)


class InspectionEnded(Fact):
    type: Literal["inspection_ended"] = "inspection_ended"
    inspection_id: NonEmpty
    outcome: Literal["no_problem", "problems_found", "case_opened"]
    note: str = ""


class InspectionRated(Fact):
    """扫码评价: the enterprise's evaluation, carried by a platform (not by the inspectors)."""

    type: Literal["inspection_rated"] = "inspection_rated"
    inspection_id: NonEmpty
    score: Annotated[int, Field(ge=1, le=5)]
    comment: str = Field(default="", max_length=2000)


Event = Annotated[
    DepartmentRegistered | DepartmentKeyRotated | DepartmentKeyRevoked | SubscriptionAdded | SubscriptionRemoved | LegacyCodeRegistered | BackfillAuthorized | PenaltyDecided | NoPenaltyDecided | ComplianceAdviceIssued | CreditRepairNoticeIssued | PenaltyFulfilled | RectificationEvidenceSubmitted | RectificationVerified | RectificationRejected | RepairApplied | RepairAccepted | RepairExtended | RepairForwarded | RepairNotAccepted | RepairGranted | RepairRefused | RepairRevoked | DecisionWithdrawn | CreditListIncluded | CreditListRemoved | PropagationScheduled | DeliveryAcknowledged | RepairEligibilityReached | PublicityExpired | RectificationOverdue | SyncOverdue | SupervisorDesignated | CaseFileReviewed | SupervisionFindingRaised | FindingRectificationSubmitted | FindingVerified | FindingRejected | FindingOverdue | ComplaintReceived | ComplaintAssigned | ComplaintResolved | ComplaintOverdue | InspectionStarted | InspectionEnded | InspectionRated,
    Field(discriminator="type"),
]

EVENT_TYPES: dict[str, type[Fact]] = {
    cls.model_fields["type"].default: cls
    for cls in Fact.__subclasses__()
}

EVENT_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)

REGISTRY_TYPES = frozenset(
    {
        "department_registered",
        "department_key_rotated",
        "department_key_revoked",
        "subscription_added",
        "subscription_removed",
        "legacy_code_registered",
        "backfill_authorized",
        "supervisor_designated",
    }
)
SYSTEM_TYPES = frozenset(
    {
        "propagation_scheduled",
        "repair_eligibility_reached",
        "publicity_expired",
        "rectification_overdue",
        "sync_overdue",
        "finding_overdue",
        "complaint_overdue",
    }
)
"""Facts only the ledger itself may write."""

PROPAGATED_TYPES = frozenset({"repair_granted", "repair_revoked", "decision_withdrawn", "publicity_expired"})
"""Facts that every subscriber other than the decider must apply."""

DEPARTMENT_TYPES = frozenset(
    {
        "case_file_reviewed",
        "supervision_finding_raised",
        "finding_rectification_submitted",
        "finding_verified",
        "finding_rejected",
        "finding_overdue",
        "complaint_received",
        "complaint_assigned",
        "complaint_resolved",
        "complaint_overdue",
    }
)
"""Facts that belong on a department's own stream (``dept:<id>``)."""

INSPECTION_TYPES = frozenset({"inspection_started", "inspection_ended", "inspection_rated"})
"""Inspection facts, on the inspected enterprise's stream."""

SUPERVISION_TYPES = DEPARTMENT_TYPES | INSPECTION_TYPES | {"supervisor_designated"}
"""Every fact of supervision of enforcers and inspections (the one list: checked by
``tongxiu.services.supervision_rules``; the first two groups folded by
``tongxiu.projections.supervision``)."""
