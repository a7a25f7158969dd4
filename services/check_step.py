"""The write path's table of rules per kind of fact, and the step its checks work on.

:data:`CHECKS` maps each event type to a small typed function over a :class:`CheckStep` (the
checks common to every fact run first, in :func:`tongxiu.services.decide.check_event`). Types
without an entry are in :data:`CHECKS_IGNORED` with the reason; tests/unit/test_handler_tables.py
keeps the two complete. The checks are registered by :mod:`tongxiu.services.checks` and
:mod:`tongxiu.services.checks_repair`; what many of them begin with (the decision the fact
refers to, that only its decider may act) is :func:`on_record` here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from tongxiu.events.envelope import Envelope, Reason
from tongxiu.events.models import (
    EVENT_TYPES,
    SUPERVISION_TYPES,
    Fact,
    RepairAccepted,
    RepairExtended,
    RepairGranted,
    RepairNotAccepted,
    RepairRefused,
)
from tongxiu.projections.fold import Rules
from tongxiu.projections.rules import DEPARTMENT_DECIDES_GENERAL_FROM, RULE_SET_SPECS, RuleSet
from tongxiu.projections.views import CreditRecord, CreditView, EnterpriseState, RegistryState
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
                          f"企业 {self.env.stream} 名下没有决定书 {decision_no!r}")
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
                f"只有作出决定书 {record.decision_no} 的部门 {record.department} 可以办理此事项"
                f"（谁认定、谁修复），部门 {self.dept} 无权办理",
            )
        return None


Check = Callable[[CheckStep, Any], list[Reason]]
RecordCheck = Callable[[CheckStep, Any, CreditRecord], list[Reason]]

CHECKS: dict[type[Fact], Check] = {}
"""Event type -> the rules a fact of that type must meet (after the checks common to all)."""

CHECKS_IGNORED: dict[type[Fact], str] = {
    **{EVENT_TYPES[t]: "checked by services.supervision_rules.check_supervision_event"
       for t in SUPERVISION_TYPES},
}
"""Event types without an entry in CHECKS, each with the reason (filled by the check modules)."""


def checks(*types: type[Fact]) -> Callable[[Check], Check]:
    """Register the decorated check for ``types`` (each type once)."""

    def register(fn: Check) -> Check:
        for t in types:
            assert t not in CHECKS, t
            CHECKS[t] = fn
        return fn

    return register


def on_record(*types: type[Fact], decider_only: bool = False) -> Callable[[RecordCheck], RecordCheck]:
    """Register a check of facts that refer to a decision (``ev.decision_no``): the decision
    must exist on the enterprise (``unknown_reference``) and, with ``decider_only``, the
    submitter must be its decider (``not_authorized``); the check then gets the record."""

    def register(fn: RecordCheck) -> RecordCheck:
        def check(c: CheckStep, ev: Any) -> list[Reason]:
            rec = c.record_of(ev.decision_no)
            if isinstance(rec, Reason):
                return [rec]
            if decider_only and (denied := c.decider_only(rec)) is not None:
                return [denied]
            return fn(c, ev, rec)

        checks(*types)(check)
        return fn

    return register
