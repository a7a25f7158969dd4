"""The write path's rules per kind of fact: :data:`CHECKS` maps each event type to a small
typed function over a :class:`CheckStep` (the checks common to every fact run first, in
:func:`tongxiu.services.decide.check_event`). Types without an entry are in :data:`CHECKS_IGNORED`
with the reason; tests/unit/test_handler_tables.py keeps the two complete.

Over 400 lines on purpose: one function per kind of fact, kept together so every rule a fact
must meet can be read off the table in one place (the longer rules are in
:mod:`tongxiu.services.decision_rules`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from tongxiu.events.envelope import Envelope, Reason
from tongxiu.events.models import (
    EVENT_TYPES,
    LEDGER_DEPARTMENT,
    SUPERVISION_TYPES,
    BackfillAuthorized,
    ComplianceAdviceIssued,
    CreditListIncluded,
    CreditListRemoved,
    CreditRepairNoticeIssued,
    DecisionWithdrawn,
    DeliveryAcknowledged,
    DepartmentKeyRevoked,
    DepartmentKeyRotated,
    DepartmentRegistered,
    Fact,
    LegacyCodeRegistered,
    NoPenaltyDecided,
    PenaltyDecided,
    PenaltyFulfilled,
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
    SubscriptionAdded,
    SubscriptionRemoved,
    SyncOverdue,
)
from tongxiu.projections.fold import (
    PRIOR_NAMED,
    Rules,
    open_binding_items,
)
from tongxiu.projections.rules import (
    DEPARTMENT_DECIDES_GENERAL_FROM,
    RULE_SET_SPECS,
    RuleSet,
)
from tongxiu.projections.views import CreditRecord, CreditView, EnterpriseState, RegistryState
from tongxiu.services.decision_rules import (
    check_application,
    check_decision,
    check_list,
    check_notice,
    check_replacement,
    check_window,
    on_list,
    pending_of,
    same_kind_since,
)
from tongxiu.services.reasons import reason


@dataclass
class CheckStep:
    """What a check works on: the envelope, where in the submission it is, its department and
    receipt day, the state folded so far (None on the registry stream), the registry and the
    rules, and the department's kind."""

    env: Envelope
    where: str
    dept: str
    today: date
    state: EnterpriseState | None
    registry: RegistryState
    rules: Rules
    kind: str

    @property
    def enterprise(self) -> EnterpriseState:
        assert self.state is not None  # enterprise checks run only with a state
        return self.state

    @property
    def credit(self) -> CreditView:
        return self.enterprise.credit

    def record_of(self, decision_no: str, field: str | None = None) -> CreditRecord | Reason:
        record = self.credit.records.get(decision_no)
        if record is None:
            return reason("unknown_reference", field or f"{self.where}.decision_no",
                          f"no decision {decision_no!r} on enterprise {self.env.stream}")
        return record

    def decider_only(self, record: CreditRecord) -> Reason | None:
        # Before 国办发〔2025〕22号, 信用中国 (国家公共信用信息中心) decided repairs of
        # general-domain records (NDRC Order 58); imported history must be able to show that.
        if (
            self.kind == "credit_platform"
            and self.today < DEPARTMENT_DECIDES_GENERAL_FROM
            and record.rule_set is not None
            and RULE_SET_SPECS[RuleSet(record.rule_set)].scope == "general"
            and isinstance(self.env.event, (RepairGranted, RepairRefused, RepairAccepted, RepairExtended,
                                            RepairNotAccepted))
        ):
            return None
        if record.department != self.dept:
            return reason(
                "not_authorized",
                "department",
                f"only {record.department}, which made decision {record.decision_no}, may do this "
                f"(谁认定、谁修复); {self.dept} may not",
            )
        return None


Check = Callable[[CheckStep, Any], list[Reason]]

CHECKS: dict[type[Fact], Check] = {}
"""Event type -> the rules a fact of that type must meet (after the checks common to all)."""


CHECKS_IGNORED: dict[type[Fact], str] = {
    **{EVENT_TYPES[t]: "checked by services.supervision_rules.check_supervision_event"
       for t in SUPERVISION_TYPES},
}
"""Event types without an entry in CHECKS, each with the reason (filled below)."""


def _checks(*types: type[Fact]) -> Callable[[Check], Check]:
    def register(fn: Check) -> Check:
        for t in types:
            assert t not in CHECKS, t
            CHECKS[t] = fn
        return fn

    return register


@_checks(DepartmentRegistered)
def _check_department_registered(c: CheckStep, ev: DepartmentRegistered) -> list[Reason]:
    registry = c.registry
    dept = c.dept
    where = c.where
    if dept != LEDGER_DEPARTMENT and registry.departments:
        return [reason("not_authorized", "department", "only the ledger operator registers departments")]
    if ev.department_id in registry.departments:
        return [reason("duplicate_reference", f"{where}.department_id", f"{ev.department_id} is already registered")]
    return []


@_checks(DepartmentKeyRotated, DepartmentKeyRevoked)
def _check_key_change(c: CheckStep, ev: DepartmentKeyRotated | DepartmentKeyRevoked) -> list[Reason]:
    """Issue 9: key lifecycle facts, signed by the ledger operator."""
    from tongxiu.services.key_lifecycle import check_key_change

    return check_key_change(ev, c.dept, c.registry, c.where)


@_checks(LegacyCodeRegistered, BackfillAuthorized)
def _check_operator_act(c: CheckStep, ev: LegacyCodeRegistered | BackfillAuthorized) -> list[Reason]:
    registry = c.registry
    dept = c.dept
    where = c.where
    if dept != LEDGER_DEPARTMENT:
        return [reason("not_authorized", "department", f"只有账本运营方可以登记 {ev.type}")]
    if isinstance(ev, BackfillAuthorized) and ev.department_id not in registry.departments:
        return [reason("unknown_department", f"{where}.department_id", f"{ev.department_id} 未注册")]
    return []


@_checks(SubscriptionRemoved)
def _check_subscription_removed(c: CheckStep, ev: SubscriptionRemoved) -> list[Reason]:
    registry = c.registry
    dept = c.dept
    if dept not in registry.subscriptions:
        return [reason("unknown_reference", "department", f"{dept} has no subscription to remove")]
    return []


@_checks(PenaltyDecided, NoPenaltyDecided)
def _check_decision_made(c: CheckStep, ev: PenaltyDecided | NoPenaltyDecided) -> list[Reason]:
    registry = c.registry
    dept = c.dept
    where = c.where
    env = c.env
    rules = c.rules
    kind = c.kind
    credit = c.credit
    state = c.enterprise
    if kind != "department":
        return [reason("not_authorized", "department", f"{dept} is a {kind}, not an enforcement department")]
    if ev.decision_no in credit.records:
        return [reason("duplicate_reference", f"{where}.decision_no", f"decision {ev.decision_no} already exists")]
    domain = registry.departments[dept].domain if dept in registry.departments else ""
    if isinstance(ev, PenaltyDecided):
        return check_decision(ev, where, rules, env.stream, domain)
    if ev.basis == "first_violation":
        prior = state.standing_of_kind(ev.violation_kind) if ev.violation_kind else []
        if prior:
            first = credit.records[prior[0]]
            return [
                reason(
                    "not_first_violation",
                    f"{where}.basis",
                    f"不是首违：{first.department} 已于 {first.decision_date} 作出同类（{ev.violation_kind}）"
                    f"决定 {first.decision_no}；不能以 first_violation（首违不罚）为依据",
                    prior=prior[:PRIOR_NAMED],
                    prior_count=len(prior),
                )
            ]
    return []


@_checks(ComplianceAdviceIssued, CreditRepairNoticeIssued, PenaltyFulfilled)
def _check_decision_follow_up(c: CheckStep, ev: ComplianceAdviceIssued | CreditRepairNoticeIssued | PenaltyFulfilled) -> list[Reason]:
    registry = c.registry
    where = c.where
    env = c.env
    rules = c.rules
    state = c.enterprise
    rec = c.record_of(ev.decision_no)
    if isinstance(rec, Reason):
        return [rec]
    if (denied := c.decider_only(rec)) is not None:
        return [denied]
    if isinstance(ev, ComplianceAdviceIssued):
        out: list[Reason] = []
        if state.rectification.has_advice(ev.advice_no):
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
        return check_notice(ev, rec, where, rules, env.stream)
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


@_checks(RectificationEvidenceSubmitted, RectificationVerified, RectificationRejected)
def _check_rectification_step(c: CheckStep, ev: RectificationEvidenceSubmitted | RectificationVerified | RectificationRejected) -> list[Reason]:
    dept = c.dept
    where = c.where
    state = c.enterprise
    open_item = state.rectification.items.get(f"{ev.advice_no}/{ev.item_id}")
    if open_item is None:
        return [reason("unknown_reference", f"{where}.item_id", f"no item {ev.item_id} in advice {ev.advice_no}")]
    if open_item.status == "closed":
        return [reason("item_closed", f"{where}.item_id", f"item {ev.item_id} was closed on {open_item.closed_at}")]
    if isinstance(ev, RectificationEvidenceSubmitted):
        return []
    if dept not in open_item.owners:
        return [
            reason(
                "not_authorized",
                "department",
                f"{dept} is not an owner of item {ev.item_id} (owners: {', '.join(open_item.owners)})",
            )
        ]
    if not open_item.evidence:
        return [reason("no_evidence", f"{where}.item_id", f"no evidence was submitted for item {ev.item_id}")]
    return []


@_checks(RepairApplied)
def _check_repair_applied(c: CheckStep, ev: RepairApplied) -> list[Reason]:
    registry = c.registry
    where = c.where
    env = c.env
    rules = c.rules
    today = c.today
    state = c.enterprise
    rec = c.record_of(ev.decision_no)
    if isinstance(rec, Reason):
        return [rec]
    same_kind = same_kind_since(rec, state, registry, where)
    if same_kind is not None and rec.status == "publicized":
        return [same_kind]
    return check_application(rec, state, today, where, rules, env.stream)


@_checks(CreditListIncluded, CreditListRemoved)
def _check_list_entry(c: CheckStep, ev: CreditListIncluded | CreditListRemoved) -> list[Reason]:
    registry = c.registry
    dept = c.dept
    where = c.where
    kind = c.kind
    credit = c.credit
    return check_list(ev, credit, dept, kind, registry, where)


@_checks(RepairForwarded, RepairNotAccepted)
def _check_window_act(c: CheckStep, ev: RepairForwarded | RepairNotAccepted) -> list[Reason]:
    dept = c.dept
    where = c.where
    kind = c.kind
    rec = c.record_of(ev.decision_no)
    if isinstance(rec, Reason):
        return [rec]
    return check_window(ev, rec, dept, kind, c.decider_only(rec), where)


@_checks(RepairGranted, RepairRefused, RepairRevoked, DecisionWithdrawn, RepairAccepted, RepairExtended)
def _check_decider_act(c: CheckStep, ev: RepairGranted | RepairRefused | RepairRevoked | DecisionWithdrawn | RepairAccepted | RepairExtended) -> list[Reason]:
    registry = c.registry
    where = c.where
    env = c.env
    credit = c.credit
    state = c.enterprise
    rec = c.record_of(ev.decision_no)
    if isinstance(rec, Reason):
        return [rec]
    if (denied := c.decider_only(rec)) is not None:
        return [denied]
    if rec.status == "withdrawn":
        return [reason("decision_withdrawn", f"{where}.decision_no", f"decision {rec.decision_no} was withdrawn")]
    if isinstance(ev, DecisionWithdrawn):
        if ev.ruling_date is not None and ev.ruling_date < rec.decision_date:
            return [
                reason(
                    "decision_inconsistent",
                    f"{where}.ruling_date",
                    f"裁决/变更日期 {ev.ruling_date} 早于原决定日期 {rec.decision_date}",
                )
            ]
        return check_replacement(ev, credit, env.stream, where)
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
    if isinstance(ev, RepairAccepted) and pending_of(rec).accepted_at is not None:
        return [
            reason(
                "application_already_accepted",
                f"{where}.decision_no",
                f"决定 {rec.decision_no} 的修复申请已于 {pending_of(rec).accepted_at} 受理",
            )
        ]
    if isinstance(ev, (RepairRefused, RepairAccepted, RepairExtended)):
        return []
    out = []
    if rec.status == "publicized" and rec.repair_from is None and rec.not_repairable_rule:
        return [
            reason(
                "not_repairable",
                f"{where}.decision_no",
                f"决定 {rec.decision_no} 不可修复：{rec.not_repairable_rule}",
                rule=rec.not_repairable_rule,
            )
        ]
    same_kind = same_kind_since(rec, state, registry, where)
    if same_kind is not None:
        return [same_kind]
    if (listed := on_list(rec, credit, where)) is not None:
        return [listed]
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
    open_items = open_binding_items(state, rec)
    if open_items:
        out.append(
            reason(
                "rectification_not_verified",
                f"{where}.decision_no",
                f"binding corrections (责令改正) not verified by every owner: {', '.join(open_items)}",
                items=open_items,
            )
        )
    return out


@_checks(DeliveryAcknowledged)
def _check_delivery_acknowledged(c: CheckStep, ev: DeliveryAcknowledged) -> list[Reason]:
    dept = c.dept
    where = c.where
    state = c.enterprise
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


@_checks(RepairEligibilityReached, PublicityExpired)
def _check_scheduled_fact(c: CheckStep, ev: RepairEligibilityReached | PublicityExpired) -> list[Reason]:
    rec = c.record_of(ev.decision_no)
    return [rec] if isinstance(rec, Reason) else []


@_checks(RectificationOverdue)
def _check_rectification_overdue(c: CheckStep, ev: RectificationOverdue) -> list[Reason]:
    where = c.where
    state = c.enterprise
    if f"{ev.advice_no}/{ev.item_id}" not in state.rectification.items:
        return [reason("unknown_reference", f"{where}.item_id", f"no item {ev.item_id}")]
    return []


@_checks(SyncOverdue)
def _check_sync_overdue(c: CheckStep, ev: SyncOverdue) -> list[Reason]:
    where = c.where
    state = c.enterprise
    if f"{ev.source_event_id}/{ev.subscriber}" not in state.sync.deliveries:
        return [reason("unknown_reference", f"{where}.source_event_id", "no such delivery")]
    return []


CHECKS_IGNORED[PropagationScheduled] = "written by the ledger itself with the fact it propagates (SYSTEM_TYPES)"
CHECKS_IGNORED[SubscriptionAdded] = "any registered department may subscribe: only the common checks apply"
