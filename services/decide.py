"""The rules of the write path, as pure functions over the folded state.

One code path for both backends: the embedded ledger and the Kafka worker both call
:func:`check_event` for every event of a submission, in order, against the state folded so
far (so the advice in a 三书同达 bundle can refer to the decision in the same bundle).

Every failure is a :class:`~events.envelope.Reason` with a stable machine-readable code, the
field it concerns and the rule in words.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from events.envelope import Envelope, Reason
from events.models import (
    DEPARTMENT_TYPES,
    EVENT_TYPES,
    INSPECTION_TYPES,
    LEDGER_DEPARTMENT,
    REGISTRY_STREAM,
    REGISTRY_TYPES,
    SYSTEM_TYPES,
    BackfillAuthorized,
    ComplianceAdviceIssued,
    CreditListIncluded,
    CreditListRemoved,
    CreditRepairNoticeIssued,
    DecisionWithdrawn,
    DeliveryAcknowledged,
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
from events.wire import WIRE_CODES
from projections.fold import (
    BACKFILL_PREFIX,
    CLOCK_SKEW,
    PRIOR_NAMED,
    Rules,
    china_day,
    decision_facts,
    is_backfill,
    jurisdiction_of,
    obligations_performed,
    open_binding_items,
    prior_of_kind,
    receipt_day,
)
from projections.rules import (
    DEPARTMENT_DECIDES_GENERAL_FROM,
    RULE_SET_SPECS,
    RuleSet,
    compute_periods,
    derive_rule_set,
)
from projections.views import CreditRecord, CreditView, EnterpriseState, RegistryState, RepairApplication
from services.supervision_rules import SUPERVISION_REASON_CODES, check_supervision_event
from services.supervision_rules import applies as supervision_applies

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
    "rule_set_mismatch": "the declared rule set is not the one the ledger derives (decision date, domain)",
    "occurred_in_future": "a date or time lies in the ledger's future (beyond the allowed clock skew)",
    "not_repairable": "the rules make this record not repairable; its publicity ends by itself",
    "not_first_violation": "a first_violation basis while a same-kind record is already on file",
    "legacy_code_unregistered": "legacy_code is set but the operator has not registered this code",
    "backfill_not_authorized": "a backfill submission from a department without an open backfill",
    "class_basis_mismatch": "the class basis is not the sector classification standard in force",
    "same_kind_penalty_since": "SAMR: a same-kind penalty was decided since, repair is not available",
    "forwarded_to_wrong_department": "an application is forwarded to a department other than the identifying one",
    "already_forwarded": "the pending application was already forwarded",
    "application_already_accepted": "the pending application was already accepted (受理); it can no longer be "
    "accepted again, forwarded or not accepted",
    "on_credit_list": "SAMR: the enterprise is on the abnormal-operation or the serious illegal and dishonest list",
    "replacement_unknown": "a withdrawal names a replacing decision the ledger does not hold for this enterprise",
}
REASON_CODES.update(SUPERVISION_REASON_CODES)  # supervision of enforcers and inspections

#: SAMR 2021 measures: repair of administrative-penalty information needs the enterprise to be on
#: neither of market regulation's lists.
LIST_RULE = "市场监督管理信用修复管理办法（2021）：未在经营异常名录和严重违法失信名单中"
LIST_TITLES = {"abnormal_operation": "经营异常名录", "serious_illegal_dishonest": "严重违法失信名单"}


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
    today = receipt_day(env)
    if (future := _future(env, where)) is not None:
        return [future]
    if is_backfill(env) and dept != LEDGER_DEPARTMENT:
        until = registry.backfills.get(dept)
        if until is None or china_day(env.recorded_at) > until:
            return [
                reason(
                    "backfill_not_authorized",
                    "submission_id",
                    f"以 {BACKFILL_PREFIX!r} 开头的提交是历史数据导入，{dept} 没有运营方开放的导入授权"
                    + (f"（授权已于 {until} 截止）" if until else ""),
                )
            ]
    if env.legacy_code and env.stream != REGISTRY_STREAM and env.stream not in registry.legacy_codes:
        return [
            reason(
                "legacy_code_unregistered",
                "legacy_code",
                f"{env.stream} 未被运营方登记为已知的历史信用代码，不能以 legacy_code 开立企业记录"
                "（请核对代码，或由运营方先登记 legacy_code_registered）",
            )
        ]
    if ev.type in SYSTEM_TYPES and dept != LEDGER_DEPARTMENT:
        return [reason("not_authorized", f"{where}.type", f"{ev.type} is written by the ledger itself, not by {dept}")]
    if supervision_applies(env):
        if (ev.type in REGISTRY_TYPES) != (env.stream == REGISTRY_STREAM):
            return [reason("wrong_stream", "stream", f"{ev.type} 不能记在 {env.stream!r} 上")]
        return check_supervision_event(env, index, state, registry, rules)
    if (ev.type in REGISTRY_TYPES) != (env.stream == REGISTRY_STREAM):
        return [
            reason(
                "wrong_stream",
                "stream",
                f"{ev.type} belongs on the {'registry' if ev.type in REGISTRY_TYPES else 'enterprise'} stream, "
                f"not on {env.stream!r}",
            )
        ]
    if state is None and ev.type not in REGISTRY_TYPES:
        return []
    kind = registry.departments[dept].kind if dept in registry.departments else "department"
    step = CheckStep(env, where, dept, today, state, registry, rules, kind)
    handler = CHECKS.get(type(ev))
    return handler(step, ev) if handler is not None else []


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

SUPERVISION_CHECKED = DEPARTMENT_TYPES | INSPECTION_TYPES | {"supervisor_designated"}

CHECKS_IGNORED: dict[type[Fact], str] = {
    **{EVENT_TYPES[t]: "checked by services.supervision_rules.check_supervision_event"
       for t in SUPERVISION_CHECKED},
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
        return _check_decision(ev, where, rules, env.stream, domain)
    if ev.basis == "first_violation":
        prior = prior_of_kind(state, ev.violation_kind)
        if prior:
            first = prior[0]
            return [
                reason(
                    "not_first_violation",
                    f"{where}.basis",
                    f"不是首违：{first.department} 已于 {first.decision_date} 作出同类（{ev.violation_kind}）"
                    f"决定 {first.decision_no}；不能以 first_violation（首违不罚）为依据",
                    prior=[r.decision_no for r in prior[:PRIOR_NAMED]],
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
    same_kind = _same_kind_since(rec, state, registry, where)
    if same_kind is not None and rec.status == "publicized":
        return [same_kind]
    return _check_application(rec, state, today, where, rules, env.stream)


@_checks(CreditListIncluded, CreditListRemoved)
def _check_list_entry(c: CheckStep, ev: CreditListIncluded | CreditListRemoved) -> list[Reason]:
    registry = c.registry
    dept = c.dept
    where = c.where
    kind = c.kind
    credit = c.credit
    return _check_list(ev, credit, dept, kind, registry, where)


@_checks(RepairForwarded, RepairNotAccepted)
def _check_window_act(c: CheckStep, ev: RepairForwarded | RepairNotAccepted) -> list[Reason]:
    dept = c.dept
    where = c.where
    kind = c.kind
    rec = c.record_of(ev.decision_no)
    if isinstance(rec, Reason):
        return [rec]
    return _check_window(ev, rec, dept, kind, c.decider_only(rec), where)


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
        return _check_replacement(ev, credit, env.stream, where)
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
    if isinstance(ev, RepairAccepted) and _pending_of(rec).accepted_at is not None:
        return [
            reason(
                "application_already_accepted",
                f"{where}.decision_no",
                f"决定 {rec.decision_no} 的修复申请已于 {_pending_of(rec).accepted_at} 受理",
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
    same_kind = _same_kind_since(rec, state, registry, where)
    if same_kind is not None:
        return [same_kind]
    if (listed := _on_list(rec, credit, where)) is not None:
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


def _future(env: Envelope, where: str) -> Reason | None:
    """No fact dated in the ledger's future: ``occurred_at`` within ``CLOCK_SKEW`` of the
    ledger's clock, and no date field of the fact after the ledger's China day."""
    limit = env.recorded_at + CLOCK_SKEW
    if env.occurred_at > limit:
        return reason(
            "occurred_in_future",
            "occurred_at",
            f"occurred_at {env.occurred_at.isoformat()} 晚于账本时间 {env.recorded_at.isoformat()}"
            f"（允许的时钟误差 {int(CLOCK_SKEW.total_seconds() // 60)} 分钟）",
            ledger_time=env.recorded_at.isoformat(),
        )
    today = china_day(limit)
    for name in ("decision_date", "identification_date", "publicized_on", "fulfilled_on", "applied_on", "ruling_date",
                 "included_on", "removed_on"):
        value = getattr(env.event, name, None)
        if isinstance(value, date) and not isinstance(value, datetime) and value > today:
            return reason(
                "occurred_in_future",
                f"{where}.{name}",
                f"{name} {value} 晚于账本所在的中国日期 {today}",
                ledger_day=today.isoformat(),
            )
    return None


def _pending_of(rec: CreditRecord) -> RepairApplication:
    """The pending application (the caller checked there is one)."""
    return next(a for a in reversed(rec.applications) if a.outcome == "pending")


def _check_window(
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
    pending = _pending_of(rec)
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


def _check_list(
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


def _on_list(rec: CreditRecord, credit: CreditView, where: str) -> Reason | None:
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


def _check_replacement(ev: DecisionWithdrawn, credit: CreditView, stream: str, where: str) -> list[Reason]:
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


def _same_kind_since(rec: CreditRecord, state: EnterpriseState, registry: RegistryState, where: str) -> Reason | None:
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


def _check_decision(ev: PenaltyDecided, where: str, rules: Rules, stream: str, domain: str) -> list[Reason]:
    spec = RULE_SET_SPECS[RuleSet(ev.rule_set)]
    if not spec.in_force(ev.decision_date):
        return [
            reason(
                "rule_set_not_in_force",
                f"{where}.rule_set",
                f"rule set {ev.rule_set} was not in force on the decision date {ev.decision_date}",
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
        policy = rules.policies.for_jurisdiction(area)
        compute_periods(decision_facts(ev, rules.policies), policy)
    except ValueError as exc:
        return [reason("decision_inconsistent", f"{where}.penalty_types", str(exc))]
    return []


#: The decision check, for callers that ask without writing (``services.rules_api``).
check_decision = _check_decision


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

