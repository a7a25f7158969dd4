"""The rules of the write path, as pure functions over the folded state.

One code path for both backends: the embedded ledger and the Kafka worker both call
:func:`check_event` for every event of a submission, in order, against the state folded so
far (so the advice in a 三书同达 bundle can refer to the decision in the same bundle).

Every failure is a :class:`~tongxiu.events.envelope.Reason` with a stable machine-readable code, the
field it concerns and the rule in words. Here: the checks common to every fact (time, backfill,
legacy codes, who writes what, which stream); the rules per kind of fact are the table in
:mod:`tongxiu.services.checks` (longer rules in :mod:`tongxiu.services.decision_rules`), the codes in
:mod:`tongxiu.services.reasons`.
"""

from __future__ import annotations

from datetime import date, datetime

from tongxiu.events.envelope import Envelope, Reason
from tongxiu.events.models import (
    LEDGER_DEPARTMENT,
    REGISTRY_STREAM,
    REGISTRY_TYPES,
    SYSTEM_TYPES,
)
from tongxiu.projections.fold import (
    BACKFILL_PREFIX,
    CLOCK_SKEW,
    Rules,
    china_day,
    is_backfill,
    receipt_day,
)
from tongxiu.projections.views import EnterpriseState, RegistryState
from tongxiu.services.checks import CHECKS, CHECKS_IGNORED, CheckStep
from tongxiu.services.decision_rules import check_decision
from tongxiu.services.reasons import LIST_RULE, LIST_TITLES, REASON_CODES, reason
from tongxiu.services.supervision_rules import applies as supervision_applies
from tongxiu.services.supervision_rules import check_supervision_event

__all__ = ["CHECKS", "CHECKS_IGNORED", "LIST_RULE", "LIST_TITLES", "REASON_CODES", "check_decision", "check_event",
           "reason"]


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
        return [reason("not_authorized", f"{where}.type", f"{ev.type} 由账本自行记录，部门 {dept} 不能提交")]
    if supervision_applies(env):
        if (ev.type in REGISTRY_TYPES) != (env.stream == REGISTRY_STREAM):
            return [reason("wrong_stream", "stream", f"{ev.type} 不能记在 {env.stream!r} 上")]
        return check_supervision_event(env, index, state, registry, rules)
    if (ev.type in REGISTRY_TYPES) != (env.stream == REGISTRY_STREAM):
        return [
            reason(
                "wrong_stream",
                "stream",
                f"{ev.type} 应记在{'登记' if ev.type in REGISTRY_TYPES else '企业'}流上，"
                f"不能记在 {env.stream!r} 上",
            )
        ]
    if state is None and ev.type not in REGISTRY_TYPES:
        return []
    kind = registry.departments[dept].kind if dept in registry.departments else "department"
    step = CheckStep(env, where, dept, today, state, registry, rules, kind)
    handler = CHECKS.get(type(ev))
    return handler(step, ev) if handler is not None else []


_DATED = ("decision_date", "identification_date", "publicized_on", "fulfilled_on", "applied_on", "ruling_date",
          "included_on", "removed_on")


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
    fields = type(env.event).model_fields  # (a missing attribute costs a pydantic __getattr__ miss)
    for name in _DATED:
        if name not in fields:
            continue
        value = getattr(env.event, name)
        if isinstance(value, date) and not isinstance(value, datetime) and value > today:
            return reason(
                "occurred_in_future",
                f"{where}.{name}",
                f"{name} {value} 晚于账本所在的中国日期 {today}",
                ledger_day=today.isoformat(),
            )
    return None
