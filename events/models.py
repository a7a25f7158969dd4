"""The ledger's facts: one frozen pydantic model per fact, named in the past tense.

Every model carries ``type`` (the discriminator written on the wire) and ``schema_version``.
When a fact's shape changes, bump its version and add an upcaster in :mod:`tongxiu.events.upcast`
so that old events stored in any backend still decode.

The facts are defined by area in ``facts_base``, ``facts_registry``, ``facts_decisions``
and ``facts_supervision``; this module gathers them (every name is importable from here, as
the schema export and the SDK do) into the ``Event`` union, ``EVENT_TYPES`` and the type sets.

Nothing here does I/O; these classes are the contract shared by departments, the write path,
the stream processors and auditors.
"""

from __future__ import annotations

from typing import Annotated, get_args

from pydantic import (
    Field,
    TypeAdapter,
)

from tongxiu.events.facts_base import (
    LEDGER_DEPARTMENT,
    REGISTRY_STREAM,
    Fact,
    Money,
    NonEmpty,
    UtcDatetime,
)
from tongxiu.events.facts_decisions import (
    AdviceItem,
    ClassBasis,
    ComplianceAdviceIssued,
    CreditListIncluded,
    CreditListKind,
    CreditListRemoved,
    CreditRepairNoticeIssued,
    DecisionWithdrawn,
    DeliveryAcknowledged,
    NoPenaltyDecided,
    PenaltyDecided,
    PenaltyFulfilled,
    PenaltyType,
    PropagationScheduled,
    PublicityExpired,
    RectificationEvidenceSubmitted,
    RectificationOverdue,
    RectificationRejected,
    RectificationVerified,
    RepairAccepted,
    RepairApplied,
    RepairEligibilityReached,
    RepairExtended,
    RepairForwarded,
    RepairGranted,
    RepairNotAccepted,
    RepairRefused,
    RepairRevoked,
    RuleSetName,
    SyncOverdue,
)
from tongxiu.events.facts_registry import (
    BackfillAuthorized,
    DepartmentKeyRevoked,
    DepartmentKeyRotated,
    DepartmentRegistered,
    LegacyCodeRegistered,
    SubscriptionAdded,
    SubscriptionRemoved,
)
from tongxiu.events.facts_supervision import (
    DEPARTMENT_STREAM_PREFIX,
    CaseFileReviewed,
    ComplaintAssigned,
    ComplaintChannel,
    ComplaintOverdue,
    ComplaintReceived,
    ComplaintResolved,
    DeptId,
    FindingOverdue,
    FindingRectificationSubmitted,
    FindingRejected,
    FindingSource,
    FindingVerified,
    InspectionEnded,
    InspectionRated,
    InspectionStarted,
    RefId,
    SupervisionFindingRaised,
    SupervisorDesignated,
    department_stream,
    is_department_stream,
)

Event = Annotated[
    DepartmentRegistered | DepartmentKeyRotated | DepartmentKeyRevoked | SubscriptionAdded | SubscriptionRemoved | LegacyCodeRegistered | BackfillAuthorized | PenaltyDecided | NoPenaltyDecided | ComplianceAdviceIssued | CreditRepairNoticeIssued | PenaltyFulfilled | RectificationEvidenceSubmitted | RectificationVerified | RectificationRejected | RepairApplied | RepairAccepted | RepairExtended | RepairForwarded | RepairNotAccepted | RepairGranted | RepairRefused | RepairRevoked | DecisionWithdrawn | CreditListIncluded | CreditListRemoved | PropagationScheduled | DeliveryAcknowledged | RepairEligibilityReached | PublicityExpired | RectificationOverdue | SyncOverdue | SupervisorDesignated | CaseFileReviewed | SupervisionFindingRaised | FindingRectificationSubmitted | FindingVerified | FindingRejected | FindingOverdue | ComplaintReceived | ComplaintAssigned | ComplaintResolved | ComplaintOverdue | InspectionStarted | InspectionEnded | InspectionRated,
    Field(discriminator="type"),
]

EVENT_TYPES: dict[str, type[Fact]] = {cls.model_fields["type"].default: cls for cls in get_args(get_args(Event)[0])}
"""Every fact type by its wire name, in the order of the ``Event`` union."""

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

__all__ = [
    "AdviceItem",
    "BackfillAuthorized",
    "CaseFileReviewed",
    "ClassBasis",
    "ComplaintAssigned",
    "ComplaintChannel",
    "ComplaintOverdue",
    "ComplaintReceived",
    "ComplaintResolved",
    "ComplianceAdviceIssued",
    "CreditListIncluded",
    "CreditListKind",
    "CreditListRemoved",
    "CreditRepairNoticeIssued",
    "DEPARTMENT_STREAM_PREFIX",
    "DEPARTMENT_TYPES",
    "DecisionWithdrawn",
    "DeliveryAcknowledged",
    "DepartmentKeyRevoked",
    "DepartmentKeyRotated",
    "DepartmentRegistered",
    "DeptId",
    "Event",
    "Fact",
    "FindingOverdue",
    "FindingRectificationSubmitted",
    "FindingRejected",
    "FindingSource",
    "FindingVerified",
    "INSPECTION_TYPES",
    "InspectionEnded",
    "InspectionRated",
    "InspectionStarted",
    "LEDGER_DEPARTMENT",
    "LegacyCodeRegistered",
    "Money",
    "NoPenaltyDecided",
    "NonEmpty",
    "PROPAGATED_TYPES",
    "PenaltyDecided",
    "PenaltyFulfilled",
    "PenaltyType",
    "PropagationScheduled",
    "PublicityExpired",
    "REGISTRY_STREAM",
    "REGISTRY_TYPES",
    "RectificationEvidenceSubmitted",
    "RectificationOverdue",
    "RectificationRejected",
    "RectificationVerified",
    "RefId",
    "RepairAccepted",
    "RepairApplied",
    "RepairEligibilityReached",
    "RepairExtended",
    "RepairForwarded",
    "RepairGranted",
    "RepairNotAccepted",
    "RepairRefused",
    "RepairRevoked",
    "RuleSetName",
    "SUPERVISION_TYPES",
    "SYSTEM_TYPES",
    "SubscriptionAdded",
    "SubscriptionRemoved",
    "SupervisionFindingRaised",
    "SupervisorDesignated",
    "SyncOverdue",
    "UtcDatetime",
    "department_stream",
    "is_department_stream",
]
