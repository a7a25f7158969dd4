"""The write path's rules per kind of fact: registry acts, decisions and what follows them
(advice, notices, payment), rectification, lists, deliveries and the ledger's scheduled facts.
Registered in :data:`tongxiu.services.check_step.CHECKS` (with the step they work on); the
repair rules are in :mod:`tongxiu.services.checks_repair`, imported here so that importing
this module fills the whole table.
"""

from __future__ import annotations

from tongxiu.events.envelope import Reason
from tongxiu.events.models import (
    LEDGER_DEPARTMENT,
    BackfillAuthorized,
    ComplianceAdviceIssued,
    CreditListIncluded,
    CreditListRemoved,
    CreditRepairNoticeIssued,
    DeliveryAcknowledged,
    DepartmentKeyRevoked,
    DepartmentKeyRotated,
    DepartmentRegistered,
    LegacyCodeRegistered,
    NoPenaltyDecided,
    PenaltyDecided,
    PenaltyFulfilled,
    PropagationScheduled,
    RectificationEvidenceSubmitted,
    RectificationOverdue,
    RectificationRejected,
    RectificationVerified,
    SubscriptionAdded,
    SubscriptionRemoved,
    SyncOverdue,
)
from tongxiu.projections.fold import PRIOR_NAMED
from tongxiu.projections.views import CreditRecord
from tongxiu.services import checks_repair  # noqa: F401 - registers the repair rules
from tongxiu.services.check_step import CHECKS, CHECKS_IGNORED, CheckStep, checks, on_record
from tongxiu.services.decision_rules import check_decision, check_list, check_notice
from tongxiu.services.reasons import reason

__all__ = ["CHECKS", "CHECKS_IGNORED", "CheckStep"]


@checks(DepartmentRegistered)
def _check_department_registered(c: CheckStep, ev: DepartmentRegistered) -> list[Reason]:
    registry = c.registry
    dept = c.dept
    where = c.where
    if dept != LEDGER_DEPARTMENT and registry.departments:
        return [reason("not_authorized", "department", "只有账本运营方可以登记部门")]
    if ev.department_id in registry.departments:
        return [reason("duplicate_reference", f"{where}.department_id", f"部门 {ev.department_id} 已经登记，不能重复登记")]
    return []


@checks(DepartmentKeyRotated, DepartmentKeyRevoked)
def _check_key_change(c: CheckStep, ev: DepartmentKeyRotated | DepartmentKeyRevoked) -> list[Reason]:
    """Issue 9: key lifecycle facts, signed by the ledger operator."""
    from tongxiu.services.key_lifecycle import check_key_change

    return check_key_change(ev, c.dept, c.registry, c.where)


@checks(LegacyCodeRegistered, BackfillAuthorized)
def _check_operator_act(c: CheckStep, ev: LegacyCodeRegistered | BackfillAuthorized) -> list[Reason]:
    registry = c.registry
    dept = c.dept
    where = c.where
    if dept != LEDGER_DEPARTMENT:
        return [reason("not_authorized", "department", f"只有账本运营方可以登记 {ev.type}")]
    if isinstance(ev, BackfillAuthorized) and ev.department_id not in registry.departments:
        return [reason("unknown_department", f"{where}.department_id", f"{ev.department_id} 未注册")]
    return []


@checks(SubscriptionRemoved)
def _check_subscription_removed(c: CheckStep, ev: SubscriptionRemoved) -> list[Reason]:
    registry = c.registry
    dept = c.dept
    if dept not in registry.subscriptions:
        return [reason("unknown_reference", "department", f"部门 {dept} 没有可以取消的订阅")]
    return []


@checks(PenaltyDecided, NoPenaltyDecided)
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
        return [reason("not_authorized", "department", f"部门 {dept} 的类型是 {kind}，不是执法部门，不能作出处罚决定")]
    if ev.decision_no in credit.records:
        return [reason("duplicate_reference", f"{where}.decision_no", f"决定书文号 {ev.decision_no} 已在该企业名下使用")]
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


@on_record(ComplianceAdviceIssued, decider_only=True)
def _check_advice(c: CheckStep, ev: ComplianceAdviceIssued, rec: CreditRecord) -> list[Reason]:
    where = c.where
    out: list[Reason] = []
    if c.enterprise.rectification.has_advice(ev.advice_no):
        out.append(reason("duplicate_reference", f"{where}.advice_no", f"整改意见书编号 {ev.advice_no} 已在该企业名下使用"))
    for j, item in enumerate(ev.items):
        for k, owner in enumerate([item.lead_department, *item.participating_departments]):
            if owner not in c.registry.departments:
                field = (
                    f"{where}.items[{j}].lead_department"
                    if k == 0
                    else f"{where}.items[{j}].participating_departments[{k - 1}]"
                )
                out.append(reason("unknown_department", field, f"部门 {owner} 未在账本登记"))
    return out


@on_record(CreditRepairNoticeIssued, decider_only=True)
def _check_notice(c: CheckStep, ev: CreditRepairNoticeIssued, rec: CreditRecord) -> list[Reason]:
    return check_notice(ev, rec, c.where, c.rules, c.env.stream)


@on_record(PenaltyFulfilled, decider_only=True)
def _check_fulfilled(c: CheckStep, ev: PenaltyFulfilled, rec: CreditRecord) -> list[Reason]:
    due = rec.fine_yuan + rec.confiscation_yuan
    if ev.amount_paid_yuan < due:
        return [
            reason(
                "insufficient_payment",
                f"{c.where}.amount_paid_yuan",
                f"已缴纳 {ev.amount_paid_yuan} 元，少于应缴罚没款 {due} 元",
                due=str(due),
            )
        ]
    return []


@checks(RectificationEvidenceSubmitted, RectificationVerified, RectificationRejected)
def _check_rectification_step(c: CheckStep, ev: RectificationEvidenceSubmitted | RectificationVerified | RectificationRejected) -> list[Reason]:
    dept = c.dept
    where = c.where
    state = c.enterprise
    open_item = state.rectification.items.get(f"{ev.advice_no}/{ev.item_id}")
    if open_item is None:
        return [reason("unknown_reference", f"{where}.item_id", f"整改意见书 {ev.advice_no} 中没有整改事项 {ev.item_id}")]
    if open_item.status == "closed":
        return [reason("item_closed", f"{where}.item_id", f"整改事项 {ev.item_id} 已于 {open_item.closed_at} 销账（已关闭）")]
    if isinstance(ev, RectificationEvidenceSubmitted):
        return []
    if dept not in open_item.owners:
        return [
            reason(
                "not_authorized",
                "department",
                f"部门 {dept} 不是整改事项 {ev.item_id} 的责任部门（责任部门：{'、'.join(open_item.owners)}）",
            )
        ]
    if not open_item.evidence:
        return [reason("no_evidence", f"{where}.item_id", f"整改事项 {ev.item_id} 尚未提交整改材料，不能核验")]
    return []


@checks(CreditListIncluded, CreditListRemoved)
def _check_list_entry(c: CheckStep, ev: CreditListIncluded | CreditListRemoved) -> list[Reason]:
    registry = c.registry
    dept = c.dept
    where = c.where
    kind = c.kind
    credit = c.credit
    return check_list(ev, credit, dept, kind, registry, where)


@checks(DeliveryAcknowledged)
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
                f"没有向部门 {dept} 推送过事件 {ev.source_event_id}",
            )
        ]
    if delivery.status == "acknowledged":
        return [reason("already_acknowledged", f"{where}.source_event_id", f"该推送已于 {delivery.acknowledged_at} 确认接收，不能重复确认")]
    return []


@checks(RectificationOverdue)
def _check_rectification_overdue(c: CheckStep, ev: RectificationOverdue) -> list[Reason]:
    where = c.where
    state = c.enterprise
    if f"{ev.advice_no}/{ev.item_id}" not in state.rectification.items:
        return [reason("unknown_reference", f"{where}.item_id", f"没有整改事项 {ev.item_id}")]
    return []


@checks(SyncOverdue)
def _check_sync_overdue(c: CheckStep, ev: SyncOverdue) -> list[Reason]:
    where = c.where
    state = c.enterprise
    if f"{ev.source_event_id}/{ev.subscriber}" not in state.sync.deliveries:
        return [reason("unknown_reference", f"{where}.source_event_id", "没有这一推送记录")]
    return []


CHECKS_IGNORED[PropagationScheduled] = "written by the ledger itself with the fact it propagates (SYSTEM_TYPES)"
CHECKS_IGNORED[SubscriptionAdded] = "any registered department may subscribe: only the common checks apply"
