"""The rules of the write path, as pure functions over the folded state.

One code path for both backends: the embedded ledger and the Kafka worker both call
:func:`check_event` for every event of a submission, in order, against the state folded so
far (so the advice in a 三书同达 bundle can refer to the decision in the same bundle).

Every failure is a :class:`~events.envelope.Reason` with a stable machine-readable code, the
field it concerns and the rule in words.
"""

from __future__ import annotations

from datetime import date, timedelta

from events.envelope import Envelope, Reason
from events.models import (
    LEDGER_DEPARTMENT,
    REGISTRY_STREAM,
    REGISTRY_TYPES,
    SYSTEM_TYPES,
    ComplianceAdviceIssued,
    CreditRepairNoticeIssued,
    DecisionWithdrawn,
    DeliveryAcknowledged,
    DepartmentRegistered,
    NoPenaltyDecided,
    PenaltyDecided,
    PenaltyFulfilled,
    PropagationScheduled,
    PublicityExpired,
    RectificationEvidenceSubmitted,
    RectificationOverdue,
    RectificationRejected,
    RectificationVerified,
    RepairApplied,
    RepairEligibilityReached,
    RepairGranted,
    RepairRefused,
    RepairRevoked,
    SubscriptionRemoved,
    SyncOverdue,
)
from events.wire import WIRE_CODES
from projections.fold import Rules, china_day, decision_facts, jurisdiction_of, obligations_performed
from projections.rules import RULE_SET_SPECS, RuleSet, compute_periods
from projections.views import CreditRecord, EnterpriseState, RegistryState

# Every code a rejection can carry; tests assert each one is reachable.
REASON_CODES = {
    "schema_invalid": "the submission does not match the event schema",
    "credit_code_invalid": "the unified social credit code fails GB 32100-2015",
    "unknown_department": "the department is not registered",
    "signature_invalid": "the Ed25519 signature does not verify with the department's key",
    "signature_of_other_department": "the signature verifies with another registered department's key (impersonation)",
    **WIRE_CODES,
    "wrong_stream": "the fact does not belong on this stream",
    "not_authorized": "the department may not decide this (谁认定、谁修复)",
    "unknown_reference": "the decision, advice item or delivery referred to does not exist",
    "duplicate_reference": "the number is already used on this enterprise",
    "rule_set_not_in_force": "the decision's rule set was not in force on its decision date",
    "decision_inconsistent": "the penalty types, amounts and procedure contradict each other",
    "notice_mismatch": "the notice's periods disagree with the rules",
    "insufficient_payment": "the amount paid is less than the fine and confiscation",
    "item_closed": "the rectification item is already closed",
    "no_evidence": "no rectification evidence has been submitted yet",
    "not_publicized": "the record is not publicized, there is nothing to repair",
    "repair_too_early": "the minimum publicity period has not passed",
    "early_end_forbidden": "this penalty's publicity can never be ended early",
    "repair_locked_out": "a local lock-out after earlier repairs applies",
    "application_pending": "an application for this decision is already pending",
    "no_pending_application": "there is no pending repair application to decide",
    "obligations_not_performed": "the obligations of the decision are not performed",
    "rectification_not_verified": "not every rectification item is verified by every owner",
    "not_repaired": "the record is not repaired",
    "decision_withdrawn": "the decision was withdrawn",
    "already_acknowledged": "this delivery was already acknowledged",
}


def reason(code: str, field: str | None, message: str, **detail: object) -> Reason:
    return Reason(code=code, field=field, message=message, detail=dict(detail))


def check_event(
    env: Envelope,
    index: int,
    state: EnterpriseState | None,
    registry: RegistryState,
    rules: Rules,
) -> list[Reason]:
    """Reasons why ``env`` may not be appended after ``state`` (empty list: it may)."""
    ev = env.event
    where = f"events[{index}].event"
    dept = env.department
    today = china_day(env.occurred_at)
    if ev.type in SYSTEM_TYPES and dept != LEDGER_DEPARTMENT:
        return [reason("not_authorized", f"{where}.type", f"{ev.type} is written by the ledger itself, not by {dept}")]
    if (ev.type in REGISTRY_TYPES) != (env.stream == REGISTRY_STREAM):
        return [
            reason(
                "wrong_stream",
                "stream",
                f"{ev.type} belongs on the {'registry' if ev.type in REGISTRY_TYPES else 'enterprise'} stream, "
                f"not on {env.stream!r}",
            )
        ]
    if isinstance(ev, DepartmentRegistered):
        if dept != LEDGER_DEPARTMENT and registry.departments:
            return [reason("not_authorized", "department", "only the ledger operator registers departments")]
        if ev.department_id in registry.departments:
            return [reason("duplicate_reference", f"{where}.department_id", f"{ev.department_id} is already registered")]
        return []
    if isinstance(ev, SubscriptionRemoved):
        if dept not in registry.subscriptions:
            return [reason("unknown_reference", "department", f"{dept} has no subscription to remove")]
        return []
    if state is None:
        return []
    kind = registry.departments[dept].kind if dept in registry.departments else "department"
    credit = state.credit

    def record_of(decision_no: str, field: str = f"{where}.decision_no") -> CreditRecord | Reason:
        record = credit.records.get(decision_no)
        if record is None:
            return reason("unknown_reference", field, f"no decision {decision_no!r} on enterprise {env.stream}")
        return record

    def decider_only(record: CreditRecord) -> Reason | None:
        if record.department != dept:
            return reason(
                "not_authorized",
                "department",
                f"only {record.department}, which made decision {record.decision_no}, may do this "
                f"(谁认定、谁修复); {dept} may not",
            )
        return None

    if isinstance(ev, (PenaltyDecided, NoPenaltyDecided)):
        if kind != "department":
            return [reason("not_authorized", "department", f"{dept} is a {kind}, not an enforcement department")]
        if ev.decision_no in credit.records:
            return [reason("duplicate_reference", f"{where}.decision_no", f"decision {ev.decision_no} already exists")]
        if isinstance(ev, PenaltyDecided):
            return _check_decision(ev, where, rules, env.stream)
        return []

    if isinstance(ev, (ComplianceAdviceIssued, CreditRepairNoticeIssued, PenaltyFulfilled)):
        rec = record_of(ev.decision_no)
        if isinstance(rec, Reason):
            return [rec]
        if (denied := decider_only(rec)) is not None:
            return [denied]
        if isinstance(ev, ComplianceAdviceIssued):
            out: list[Reason] = []
            if any(i.advice_no == ev.advice_no for i in state.rectification.items.values()):
                out.append(reason("duplicate_reference", f"{where}.advice_no", f"advice {ev.advice_no} already exists"))
            for j, item in enumerate(ev.items):
                for k, owner in enumerate([item.lead_department, *item.participating_departments]):
                    if owner not in registry.departments:
                        field = (
                            f"{where}.items[{j}].lead_department"
                            if k == 0
                            else f"{where}.items[{j}].participating_departments[{k - 1}]"
                        )
                        out.append(reason("unknown_department", field, f"{owner} is not a registered department"))
            return out
        if isinstance(ev, CreditRepairNoticeIssued):
            return _check_notice(ev, rec, where, rules, env.stream)
        due = rec.fine_yuan + rec.confiscation_yuan
        if ev.amount_paid_yuan < due:
            return [
                reason(
                    "insufficient_payment",
                    f"{where}.amount_paid_yuan",
                    f"paid {ev.amount_paid_yuan} yuan of {due} yuan due",
                    due=str(due),
                )
            ]
        return []

    if isinstance(ev, (RectificationEvidenceSubmitted, RectificationVerified, RectificationRejected)):
        item = state.rectification.items.get(f"{ev.advice_no}/{ev.item_id}")
        if item is None:
            return [reason("unknown_reference", f"{where}.item_id", f"no item {ev.item_id} in advice {ev.advice_no}")]
        if item.status == "closed":
            return [reason("item_closed", f"{where}.item_id", f"item {ev.item_id} was closed on {item.closed_at}")]
        if isinstance(ev, RectificationEvidenceSubmitted):
            return []
        if dept not in item.owners:
            return [
                reason(
                    "not_authorized",
                    "department",
                    f"{dept} is not an owner of item {ev.item_id} (owners: {', '.join(item.owners)})",
                )
            ]
        if not item.evidence:
            return [reason("no_evidence", f"{where}.item_id", f"no evidence was submitted for item {ev.item_id}")]
        return []

    if isinstance(ev, RepairApplied):
        rec = record_of(ev.decision_no)
        if isinstance(rec, Reason):
            return [rec]
        return _check_application(rec, state, today, where, rules, env.stream)

    if isinstance(ev, (RepairGranted, RepairRefused, RepairRevoked, DecisionWithdrawn)):
        rec = record_of(ev.decision_no)
        if isinstance(rec, Reason):
            return [rec]
        if (denied := decider_only(rec)) is not None:
            return [denied]
        if rec.status == "withdrawn":
            return [reason("decision_withdrawn", f"{where}.decision_no", f"decision {rec.decision_no} was withdrawn")]
        if isinstance(ev, DecisionWithdrawn):
            return []
        if isinstance(ev, RepairRevoked):
            if rec.status != "repaired":
                return [reason("not_repaired", f"{where}.decision_no", f"decision {rec.decision_no} is {rec.status}")]
            return []
        if not any(a.outcome == "pending" for a in rec.applications):
            return [
                reason(
                    "no_pending_application",
                    f"{where}.decision_no",
                    f"no pending repair application for decision {rec.decision_no}",
                )
            ]
        if isinstance(ev, RepairRefused):
            return []
        out = []
        if rec.status != "publicized":
            out.append(reason("not_publicized", f"{where}.decision_no", f"decision {rec.decision_no} is {rec.status}"))
        if rec.needs_payment and not rec.fulfilled:
            out.append(
                reason(
                    "obligations_not_performed",
                    f"{where}.decision_no",
                    f"the fine of decision {rec.decision_no} is not paid",
                )
            )
        open_items = [
            i.item_id
            for i in state.rectification.items.values()
            if i.decision_no == rec.decision_no and i.status != "closed"
        ]
        if open_items:
            out.append(
                reason(
                    "rectification_not_verified",
                    f"{where}.decision_no",
                    f"rectification items not verified by every owner: {', '.join(open_items)}",
                    items=open_items,
                )
            )
        return out

    if isinstance(ev, DeliveryAcknowledged):
        delivery = state.sync.deliveries.get(f"{ev.source_event_id}/{dept}")
        if delivery is None:
            return [
                reason(
                    "unknown_reference",
                    f"{where}.source_event_id",
                    f"no delivery of {ev.source_event_id} to {dept}",
                )
            ]
        if delivery.status == "acknowledged":
            return [reason("already_acknowledged", f"{where}.source_event_id", f"acknowledged at {delivery.acknowledged_at}")]
        return []

    if isinstance(ev, (RepairEligibilityReached, PublicityExpired)):
        rec = record_of(ev.decision_no)
        return [rec] if isinstance(rec, Reason) else []
    if isinstance(ev, RectificationOverdue):
        if f"{ev.advice_no}/{ev.item_id}" not in state.rectification.items:
            return [reason("unknown_reference", f"{where}.item_id", f"no item {ev.item_id}")]
        return []
    if isinstance(ev, SyncOverdue):
        if f"{ev.source_event_id}/{ev.subscriber}" not in state.sync.deliveries:
            return [reason("unknown_reference", f"{where}.source_event_id", "no such delivery")]
        return []
    if isinstance(ev, PropagationScheduled):
        return []
    return []


def _check_decision(ev: PenaltyDecided, where: str, rules: Rules, stream: str) -> list[Reason]:
    spec = RULE_SET_SPECS[RuleSet(ev.rule_set)]
    if not spec.in_force(ev.decision_date):
        return [
            reason(
                "rule_set_not_in_force",
                f"{where}.rule_set",
                f"rule set {ev.rule_set} was not in force on the decision date {ev.decision_date}",
            )
        ]
    try:
        policy = rules.policies.for_jurisdiction(jurisdiction_of(stream))
        compute_periods(decision_facts(ev), policy)
    except ValueError as exc:
        return [reason("decision_inconsistent", f"{where}.penalty_types", str(exc))]
    return []


def _check_notice(
    ev: CreditRepairNoticeIssued, rec: CreditRecord, where: str, rules: Rules, stream: str
) -> list[Reason]:
    out: list[Reason] = []
    if rec.kind != "penalty":
        return [reason("unknown_reference", f"{where}.decision_no", f"{rec.decision_no} is not a penalty decision")]
    if ev.publicity_class != rec.publicity_class:
        out.append(
            reason(
                "notice_mismatch",
                f"{where}.publicity_class",
                f"the rules give class {rec.publicity_class} ({rec.basis}), the notice says {ev.publicity_class}",
                expected=rec.publicity_class,
            )
        )
    if rec.max_end is not None and ev.publicity_until != rec.max_end:
        out.append(
            reason(
                "notice_mismatch",
                f"{where}.publicity_until",
                f"the rules give publicity until {rec.max_end}, the notice says {ev.publicity_until}",
                expected=str(rec.max_end),
            )
        )
    if ev.earliest_repair_date != rec.repair_from:
        out.append(
            reason(
                "notice_mismatch",
                f"{where}.earliest_repair_date",
                f"the rules give earliest repair {rec.repair_from}, the notice says {ev.earliest_repair_date}",
                expected=str(rec.repair_from),
            )
        )
    return out


def _check_application(
    rec: CreditRecord, state: EnterpriseState, today: date, where: str, rules: Rules, stream: str
) -> list[Reason]:
    field = f"{where}.decision_no"
    if rec.status == "withdrawn":
        return [reason("decision_withdrawn", field, f"decision {rec.decision_no} was withdrawn")]
    if rec.status != "publicized":
        return [reason("not_publicized", field, f"decision {rec.decision_no} is {rec.status}; nothing to repair")]
    if rec.early_end_forbidden:
        return [
            reason(
                "early_end_forbidden",
                field,
                f"publicity of {', '.join(rec.penalty_types)} can never be ended early; it ends on {rec.max_end}",
            )
        ]
    if rec.repair_from is not None and today < rec.repair_from:
        return [
            reason(
                "repair_too_early",
                field,
                f"a repair of {rec.decision_no} may be applied for from {rec.repair_from.isoformat()} "
                f"({rec.basis}); applied on {today.isoformat()}",
                earliest_repair_date=rec.repair_from.isoformat(),
            )
        ]
    if rec.publicity_class == "minor" and not obligations_performed(state, rec):
        return [
            reason(
                "obligations_not_performed",
                field,
                "a minor record may be repaired once its obligations are performed",
            )
        ]
    if any(a.outcome == "pending" for a in rec.applications):
        return [reason("application_pending", field, f"an application for {rec.decision_no} is pending")]
    policy = rules.policies.for_jurisdiction(jurisdiction_of(stream))
    granted = state.credit.repairs_granted_on
    lockout = policy.repair_lockout_days_after_last_repair
    if lockout and granted and today < granted[-1] + timedelta(days=lockout):
        return [
            reason(
                "repair_locked_out",
                field,
                f"local policy: no repair within {lockout} days of the last one ({granted[-1]}); "
                f"apply from {granted[-1] + timedelta(days=lockout)}",
            )
        ]
    limit = policy.max_repairs_in_5_years
    if limit is not None:
        recent = [d for d in granted if d > today - timedelta(days=5 * 365 + 1)]
        if len(recent) >= limit:
            return [reason("repair_locked_out", field, f"local policy: at most {limit} repairs in 5 years")]
    return []


def expected_periods(ev: PenaltyDecided, rules: Rules, stream: str) -> tuple[str, date, date | None]:
    """What a notice for ``ev`` must say: class, publicity until, earliest repair date."""
    policy = rules.policies.for_jurisdiction(jurisdiction_of(stream))
    periods = compute_periods(decision_facts(ev), policy)
    return str(periods.publicity_class), periods.max_end, periods.repair_from
