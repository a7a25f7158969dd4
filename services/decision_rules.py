"""The longer rules behind :mod:`tongxiu.services.checks`: repair windows (one window, forwarding),
the credit lists, replacement decisions, same-kind records, the decision itself (rule set,
class, amounts), the notice's periods and a repair application. Pure functions over the
folded state, each returning the reasons a fact breaks."""

from __future__ import annotations

from datetime import date, timedelta

from tongxiu.events.envelope import Reason
from tongxiu.events.models import (
    CreditListIncluded,
    CreditListRemoved,
    CreditRepairNoticeIssued,
    DecisionWithdrawn,
    PenaltyDecided,
    RepairForwarded,
    RepairNotAccepted,
)
from tongxiu.projections.fold import (
    Rules,
    jurisdiction_of,
    obligations_performed,
    periods_for,
)
from tongxiu.projections.rules import (
    RULE_SET_SPECS,
    RuleSet,
    derive_rule_set,
)
from tongxiu.projections.views import (
    CreditRecord,
    CreditView,
    EnterpriseState,
    RegistryState,
    RepairApplication,
)
from tongxiu.services.reasons import LIST_RULE, LIST_TITLES, named, reason


def pending_of(rec: CreditRecord) -> RepairApplication:
    """The pending application (the caller checked there is one)."""
    return next(a for a in reversed(rec.applications) if a.outcome == "pending")


def check_window(
    ev: RepairForwarded | RepairNotAccepted, rec: CreditRecord, dept: str, kind: str,
    denied: Reason | None, where: str,
) -> list[Reason]:
    """The one window (信用中国) forwards an application it received to the identifying
    department; 不予受理 is the identifying department's, or the window's before it forwards."""
    field = f"{where}.decision_no"
    if rec.status == "withdrawn":
        return [reason("decision_withdrawn", field, f"决定 {rec.decision_no} 已撤回")]
    if not any(a.outcome == "pending" for a in rec.applications):
        return [reason("no_pending_application", field, f"决定 {rec.decision_no} 没有待处理的修复申请")]
    pending = pending_of(rec)
    window = kind == "credit_platform" and pending.applied_via == dept
    if isinstance(ev, RepairForwarded):
        if not window:
            return [
                reason(
                    "not_authorized",
                    "department",
                    f"只有收到该申请的信用平台（一个窗口，{pending.applied_via}）可以转交申请；{dept} 不可以",
                )
            ]
        if pending.forwarded_to is not None:
            return [
                reason(
                    "already_forwarded",
                    field,
                    f"该申请已于 {pending.forwarded_at} 转交 {pending.forwarded_to}",
                )
            ]
    elif denied is not None and not (window and pending.forwarded_to is None):
        return [
            reason(
                "not_authorized",
                "department",
                f"不予受理由作出决定的部门 {rec.department} 作出（谁认定、谁修复），"
                f"或由收到申请的信用平台在转交前作出；{dept} 不可以",
            )
        ]
    if pending.accepted_at is not None:
        return [
            reason(
                "application_already_accepted",
                field,
                f"决定 {rec.decision_no} 的修复申请已于 {pending.accepted_at} 受理，不能再"
                + ("转交" if isinstance(ev, RepairForwarded) else "不予受理"),
            )
        ]
    if isinstance(ev, RepairForwarded) and ev.forwarded_to != rec.department:
        return [
            reason(
                "forwarded_to_wrong_department",
                f"{where}.forwarded_to",
                f"决定 {rec.decision_no} 由 {rec.department} 作出，申请须转交该部门（谁认定、谁修复），"
                f"不是 {ev.forwarded_to}",
                expected=rec.department,
            )
        ]
    return []


def check_list(
    ev: CreditListIncluded | CreditListRemoved, credit: CreditView, dept: str, kind: str,
    registry: RegistryState, where: str,
) -> list[Reason]:
    """经营异常名录 / 严重违法失信名单: included and removed by market regulation, removed by the
    department that included (谁列入、谁移出)."""
    title = LIST_TITLES[ev.list_kind]
    info = registry.departments.get(dept)
    if kind != "department" or info is None or info.domain != "market_regulation":
        return [
            reason(
                "not_authorized",
                "department",
                f"{title}由市场监督管理部门列入、移出；{dept} 不是市场监督管理部门",
            )
        ]
    current = credit.on_list(ev.list_kind)
    field = f"{where}.list_kind"
    if isinstance(ev, CreditListIncluded):
        if current:
            return [
                reason(
                    "duplicate_reference",
                    field,
                    f"{credit.enterprise} 已于 {current[0].included_on} 被 {current[0].department} 列入{title}"
                    f"（{current[0].decision_no}），尚未移出",
                )
            ]
        return []
    if not current:
        return [reason("unknown_reference", field, f"{credit.enterprise} 当前不在{title}中，无从移出")]
    entry = current[0]
    if entry.department != dept:
        return [
            reason(
                "not_authorized",
                "department",
                f"{title}由列入的部门 {entry.department} 移出（谁列入、谁移出）；{dept} 不可以",
            )
        ]
    if ev.removed_on < entry.included_on:
        return [
            reason(
                "decision_inconsistent",
                f"{where}.removed_on",
                f"移出日期 {ev.removed_on} 早于列入日期 {entry.included_on}",
            )
        ]
    return []


def on_list(rec: CreditRecord, credit: CreditView, where: str) -> Reason | None:
    """SAMR records: no repair while the enterprise is on either list (LIST_RULE)."""
    if rec.kind != "penalty" or rec.rule_set is None:
        return None
    if RULE_SET_SPECS[RuleSet(rec.rule_set)].scope != "market_regulation":
        return None
    listed = credit.on_list()
    if not listed:
        return None
    names = "、".join(f"{LIST_TITLES[e.list_kind]}（{e.decision_no}，{e.included_on} 列入）" for e in listed)
    return reason(
        "on_credit_list",
        f"{where}.decision_no",
        f"{credit.enterprise} 仍在{names}中，不予信用修复（{LIST_RULE}）",
        rule=LIST_RULE,
        lists=[e.list_kind for e in listed],
    )


def check_replacement(ev: DecisionWithdrawn, credit: CreditView, stream: str, where: str) -> list[Reason]:
    """``replaced_by`` names a decision the ledger already holds for this enterprise (it may
    come earlier in the same submission); it is never recorded as a pending promise."""
    if ev.replaced_by is None:
        return []
    field = f"{where}.replaced_by"
    if ev.replaced_by == ev.decision_no:
        return [reason("decision_inconsistent", field, f"决定 {ev.decision_no} 不能由它自己替代")]
    replacement = credit.records.get(ev.replaced_by)
    if replacement is None:
        return [
            reason(
                "replacement_unknown",
                field,
                f"账本没有企业 {stream} 的决定 {ev.replaced_by}：请先（或在同一提交中先于撤回）报送变更后的决定",
            )
        ]
    if replacement.status == "withdrawn":
        return [reason("decision_withdrawn", field, f"替代决定 {ev.replaced_by} 已撤回")]
    return []


def same_kind_since(rec: CreditRecord, state: EnterpriseState, registry: RegistryState, where: str) -> Reason | None:
    """SAMR 2021 measures: no repair once market regulation has penalized the same kind of
    violation again since (未因同一类违法行为再次受到市场监督管理部门行政处罚)."""
    if rec.kind != "penalty" or rec.rule_set is None or not rec.violation_kind:
        return None
    if RULE_SET_SPECS[RuleSet(rec.rule_set)].scope != "market_regulation":
        return None
    for other in state.credit.records.values():
        if (
            other.kind == "penalty"
            and other.decision_no != rec.decision_no
            and other.violation_kind == rec.violation_kind
            and other.decision_date > rec.decision_date
            and other.status != "withdrawn"
            and other.department in registry.departments
            and registry.departments[other.department].domain == "market_regulation"
        ):
            return reason(
                "same_kind_penalty_since",
                f"{where}.decision_no",
                f"市场监管部门此后又因同一类违法行为（{rec.violation_kind}）作出处罚 {other.decision_no}"
                f"（{other.decision_date}），不予信用修复（市场监管总局2021年信用修复管理办法）",
                later=other.decision_no,
            )
    return None


def check_decision(ev: PenaltyDecided, where: str, rules: Rules, stream: str, domain: str) -> list[Reason]:
    spec = RULE_SET_SPECS[RuleSet(ev.rule_set)]
    if not spec.in_force(ev.decision_date):
        return [
            reason(
                "rule_set_not_in_force",
                f"{where}.rule_set",
                f"规则集 {ev.rule_set} 在决定日期 {ev.decision_date} 时未施行",
            )
        ]
    derived = derive_rule_set(ev.decision_date, domain)
    if derived is not None and derived.value != ev.rule_set:
        d = RULE_SET_SPECS[derived]
        return [
            reason(
                "rule_set_mismatch",
                f"{where}.rule_set",
                f"{ev.decision_date} 作出、{domain} 领域的决定适用 {derived.value}（{d.title}），"
                f"不是申报的 {ev.rule_set}",
                expected=derived.value,
            )
        ]
    area = jurisdiction_of(stream)
    standard = rules.policies.standard_for(domain, area, ev.decision_date)
    if standard is not None and (ev.class_basis is None or ev.class_basis.standard_ref != standard.ref):
        return [
            reason(
                "class_basis_mismatch",
                f"{where}.class_basis.standard_ref",
                f"{domain} 领域在 {ev.decision_date} 施行的分类标准是 {standard.ref}，决定须以它为分类依据",
                expected=standard.ref,
            )
        ]
    if standard is None and ev.class_basis is not None:
        return [
            reason(
                "class_basis_mismatch",
                f"{where}.class_basis.standard_ref",
                f"账本没有 {domain} 领域在 {ev.decision_date} 施行的分类标准 {ev.class_basis.standard_ref}",
            )
        ]
    if ev.class_basis is not None and ev.class_basis.amount_yuan != ev.fine_yuan:
        return [
            reason(
                "class_basis_mismatch",
                f"{where}.class_basis.amount_yuan",
                f"分类依据的金额 {ev.class_basis.amount_yuan} 与罚款金额 {ev.fine_yuan} 不一致",
                expected=str(ev.fine_yuan),
            )
        ]
    if ev.publicized_on is not None:
        latest = rules.calendar.add_working_days(ev.decision_date, 20).date
        if not ev.decision_date <= ev.publicized_on <= latest:
            return [
                reason(
                    "decision_inconsistent",
                    f"{where}.publicized_on",
                    f"公示日期 {ev.publicized_on} 须在决定日期 {ev.decision_date} 起20个工作日内（至 {latest}）",
                )
            ]
    try:
        # the fold's own glue (the area's policy layered once, a shape already met worked out
        # from its key: its checks passed when it was first computed), so the check and the
        # fold share the shape cache rather than replacing each other's entries
        periods_for(rules, stream, ev)
    except ValueError as exc:
        return [reason("decision_inconsistent", f"{where}.penalty_types", str(exc))]
    return []


#: The decision check, for callers that ask without writing (``tongxiu.services.rules_api``).


def check_notice(
    ev: CreditRepairNoticeIssued, rec: CreditRecord, where: str, rules: Rules, stream: str
) -> list[Reason]:
    out: list[Reason] = []
    if rec.kind != "penalty":
        return [reason("unknown_reference", f"{where}.decision_no", f"{rec.decision_no} 不是行政处罚决定")]
    if ev.publicity_class != rec.publicity_class:
        out.append(
            reason(
                "notice_mismatch",
                f"{where}.publicity_class",
                f"依规则公示类别为 {named('publicity_class', rec.publicity_class)}（依据：{rec.basis}），"
                f"告知书写的是 {named('publicity_class', ev.publicity_class)}",
                expected=rec.publicity_class,
            )
        )
    if rec.max_end is not None and ev.publicity_until != rec.max_end:
        out.append(
            reason(
                "notice_mismatch",
                f"{where}.publicity_until",
                f"依规则公示截止日期为 {rec.max_end}，告知书写的是 {ev.publicity_until}",
                expected=str(rec.max_end),
            )
        )
    if ev.earliest_repair_date != rec.repair_from:
        out.append(
            reason(
                "notice_mismatch",
                f"{where}.earliest_repair_date",
                f"依规则最早可申请修复日期为 {rec.repair_from}，告知书写的是 {ev.earliest_repair_date}",
                expected=str(rec.repair_from),
            )
        )
    return out


def check_application(
    rec: CreditRecord, state: EnterpriseState, today: date, where: str, rules: Rules, stream: str
) -> list[Reason]:
    field = f"{where}.decision_no"
    if rec.status == "withdrawn":
        return [reason("decision_withdrawn", field, f"决定书 {rec.decision_no} 已被撤销")]
    if rec.status != "publicized":
        return [reason("not_publicized", field, f"决定书 {rec.decision_no} 的状态为 {named('record_status', rec.status)}，没有需要修复的公示信息")]
    if rec.early_end_forbidden:
        return [
            reason(
                "early_end_forbidden",
                field,
                f"{'、'.join(rec.penalty_types)} 的公示不得提前结束，公示至 {rec.max_end} 届满",
            )
        ]
    if rec.repair_from is None and rec.not_repairable_rule:
        return [
            reason(
                "not_repairable",
                field,
                f"决定 {rec.decision_no} 不可修复，其公示到期自动停止（{rec.max_end}）：{rec.not_repairable_rule}",
                rule=rec.not_repairable_rule,
            )
        ]
    if rec.repair_from is not None and today < rec.repair_from:
        return [
            reason(
                "repair_too_early",
                field,
                f"决定书 {rec.decision_no} 自 {rec.repair_from.isoformat()} 起方可申请信用修复"
                f"（{rec.basis}），申请日期为 {today.isoformat()}",
                earliest_repair_date=rec.repair_from.isoformat(),
            )
        ]
    if rec.publicity_class == "minor" and not obligations_performed(state, rec):
        return [
            reason(
                "obligations_not_performed",
                field,
                "轻微失信信息须在履行行政处罚决定规定的义务后方可修复",
            )
        ]
    if any(a.outcome == "pending" for a in rec.applications):
        return [reason("application_pending", field, f"决定书 {rec.decision_no} 已有待处理的信用修复申请")]
    policy = rules.policies.for_jurisdiction(jurisdiction_of(stream))
    granted = state.credit.repairs_granted_on
    lockout = policy.repair_lockout_days_after_last_repair
    if lockout and granted and today < granted[-1] + timedelta(days=lockout):
        return [
            reason(
                "repair_locked_out",
                field,
                f"地方规定：上次修复（{granted[-1]}）后 {lockout} 日内不得再次修复，"
                f"自 {granted[-1] + timedelta(days=lockout)} 起方可申请",
            )
        ]
    limit = policy.max_repairs_in_5_years
    if limit is not None:
        recent = [d for d in granted if d > today - timedelta(days=5 * 365 + 1)]
        if len(recent) >= limit:
            return [reason("repair_locked_out", field, f"地方规定：5年内最多修复 {limit} 次")]
    return []
