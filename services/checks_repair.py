"""The write path's rules for credit repair (application, the service window's acts, the
decider's acts) and for the decider's withdrawal of a decision. Registered in
:data:`tongxiu.services.check_step.CHECKS`; the rest of the table is in
:mod:`tongxiu.services.checks`."""

from __future__ import annotations

from tongxiu.events.envelope import Reason
from tongxiu.events.models import (
    DecisionWithdrawn,
    PublicityExpired,
    RepairAccepted,
    RepairApplied,
    RepairEligibilityReached,
    RepairExtended,
    RepairForwarded,
    RepairGranted,
    RepairNotAccepted,
    RepairRefused,
    RepairRevoked,
)
from tongxiu.projections.fold import open_binding_items
from tongxiu.projections.views import CreditRecord
from tongxiu.services.check_step import CheckStep, on_record
from tongxiu.services.decision_rules import (
    check_application,
    check_replacement,
    check_window,
    on_list,
    pending_of,
    same_kind_since,
)
from tongxiu.services.reasons import named, reason


@on_record(RepairApplied)
def _check_repair_applied(c: CheckStep, ev: RepairApplied, rec: CreditRecord) -> list[Reason]:
    same_kind = same_kind_since(rec, c.enterprise, c.registry, c.where)
    if same_kind is not None and rec.status == "publicized":
        return [same_kind]
    return check_application(rec, c.enterprise, c.today, c.where, c.rules, c.env.stream)


@on_record(RepairForwarded, RepairNotAccepted)
def _check_window_act(c: CheckStep, ev: RepairForwarded | RepairNotAccepted, rec: CreditRecord) -> list[Reason]:
    return check_window(ev, rec, c.dept, c.kind, c.decider_only(rec), c.where)


@on_record(RepairEligibilityReached, PublicityExpired)
def _check_scheduled_fact(c: CheckStep, ev: RepairEligibilityReached | PublicityExpired, rec: CreditRecord) -> list[Reason]:
    return []


def _withdrawn(c: CheckStep, rec: CreditRecord) -> list[Reason]:
    if rec.status == "withdrawn":
        return [reason("decision_withdrawn", f"{c.where}.decision_no", f"决定书 {rec.decision_no} 已被撤销")]
    return []


@on_record(DecisionWithdrawn, decider_only=True)
def _check_withdrawal(c: CheckStep, ev: DecisionWithdrawn, rec: CreditRecord) -> list[Reason]:
    if withdrawn := _withdrawn(c, rec):
        return withdrawn
    if ev.ruling_date is not None and ev.ruling_date < rec.decision_date:
        return [
            reason(
                "decision_inconsistent",
                f"{c.where}.ruling_date",
                f"裁决/变更日期 {ev.ruling_date} 早于原决定日期 {rec.decision_date}",
            )
        ]
    return check_replacement(ev, c.credit, c.env.stream, c.where)


@on_record(RepairRevoked, decider_only=True)
def _check_revocation(c: CheckStep, ev: RepairRevoked, rec: CreditRecord) -> list[Reason]:
    if withdrawn := _withdrawn(c, rec):
        return withdrawn
    if rec.status != "repaired":
        return [reason("not_repaired", f"{c.where}.decision_no", f"决定书 {rec.decision_no} 的状态为 {named('record_status', rec.status)}")]
    return []


@on_record(RepairGranted, RepairRefused, RepairAccepted, RepairExtended, decider_only=True)
def _check_repair_decision(
    c: CheckStep, ev: RepairGranted | RepairRefused | RepairAccepted | RepairExtended, rec: CreditRecord
) -> list[Reason]:
    if withdrawn := _withdrawn(c, rec):
        return withdrawn
    where = c.where
    if not any(a.outcome == "pending" for a in rec.applications):
        return [
            reason(
                "no_pending_application",
                f"{where}.decision_no",
                f"决定书 {rec.decision_no} 没有待处理的信用修复申请",
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
    if isinstance(ev, RepairGranted):
        return _grant_conditions(c, rec)
    return []


def _grant_conditions(c: CheckStep, rec: CreditRecord) -> list[Reason]:
    """What a repair grant needs: a repairable, publicized decision, no same-kind decision
    since, not on a list, the fine paid and the binding corrections verified."""
    where = c.where
    state = c.enterprise
    if rec.status == "publicized" and rec.repair_from is None and rec.not_repairable_rule:
        return [
            reason(
                "not_repairable",
                f"{where}.decision_no",
                f"决定 {rec.decision_no} 不可修复：{rec.not_repairable_rule}",
                rule=rec.not_repairable_rule,
            )
        ]
    same_kind = same_kind_since(rec, state, c.registry, where)
    if same_kind is not None:
        return [same_kind]
    if (listed := on_list(rec, c.credit, where)) is not None:
        return [listed]
    out = []
    if rec.status != "publicized":
        out.append(reason("not_publicized", f"{where}.decision_no", f"决定书 {rec.decision_no} 的状态为 {named('record_status', rec.status)}"))
    if rec.needs_payment and not rec.fulfilled:
        out.append(
            reason(
                "obligations_not_performed",
                f"{where}.decision_no",
                f"决定书 {rec.decision_no} 的罚没款尚未缴清，行政处罚决定未履行完毕",
            )
        )
    open_items = open_binding_items(state, rec)
    if open_items:
        out.append(
            reason(
                "rectification_not_verified",
                f"{where}.decision_no",
                f"责令改正事项尚未经全部责任部门核验：{'、'.join(open_items)}",
                items=open_items,
            )
        )
    return out
