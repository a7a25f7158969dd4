"""The enterprise fold's table and the step its handlers work on.

:data:`ENTERPRISE_FOLDS` maps each event type to one small typed function over a
:class:`FoldStep`; :data:`ENTERPRISE_IGNORED` lists the types it leaves alone, with the reason
(tests/unit/test_handler_tables.py keeps the two complete). The handlers are registered by
:mod:`tongxiu.projections.enterprise_fold` (decisions, advice, rectification, lists,
withdrawal) and :mod:`tongxiu.projections.repair_fold` (repair and synchronisation); the
lookups and tallies they all need are methods of the step, written once here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from tongxiu.events.envelope import Envelope
from tongxiu.events.models import Fact
from tongxiu.projections.fold import Rules, Tally, _pending, is_late, jurisdiction_of, month_of
from tongxiu.projections.rules import LocalPolicy, procedural_rule_set
from tongxiu.projections.views import (
    CreditRecord,
    CreditView,
    EnterpriseState,
    RectificationItem,
    RepairApplication,
)
from tongxiu.projections.workdays import WorkdayResult


@dataclass(slots=True)
class FoldStep:
    """What a fold handler works on: the state, the event's envelope, the rules, the month it
    counts in, whether it was recorded late, and the tallies it adds (one per event: slots)."""

    state: EnterpriseState
    env: Envelope
    rules: Rules
    month: str
    """The month the event counts in (``""`` when not :attr:`counting`: only :meth:`count` reads it)."""
    tallies: list[Tally]
    counting: bool = True
    """False: :meth:`count` makes no tally (a replay, which does not keep them)."""
    known_late: bool | None = None
    """:attr:`late` once worked out (None: not yet)."""

    @property
    def late(self) -> bool:
        """Recorded more than ``LATE_AFTER_DAYS`` China days after the day it says it happened
        (``fold.is_late``), worked out when first asked: a replay asks only for a decision."""
        late = self.known_late
        if late is None:
            late = self.known_late = is_late(self.env)
        return late

    @property
    def credit(self) -> CreditView:
        return self.state.credit

    def record(self, decision_no: str) -> CreditRecord:
        return self.state.credit.records[decision_no]

    def pending(self, decision_no: str) -> RepairApplication | None:
        """The decision's repair application still waiting for an answer, if any."""
        return _pending(self.record(decision_no))

    def item(self, advice_no: str, item_id: str) -> RectificationItem:
        return self.state.rectification.items[f"{advice_no}/{item_id}"]

    def policy(self) -> LocalPolicy:
        return self.rules.policy(jurisdiction_of(self.state.enterprise))

    def count(self, counter: str, *, department: str | None = None, month: str | None = None,
              amount: float = 1) -> None:
        """Add ``amount`` to ``counter`` of ``department`` (default: the submitter) in ``month``
        (default: the month the event counts in)."""
        if self.counting:
            self.tallies.append(Tally(department or self.env.department, month or self.month, counter, amount))

    def count_for_decision(self, record: CreditRecord, counter: str) -> None:
        """A tally of the deciding department, in the month of the decision."""
        self.count(counter, department=record.department, month=month_of(record.decision_date))

    def repair_deadline(self, record: CreditRecord, received: date, extra_days: int = 0) -> tuple[WorkdayResult, str | None]:
        """(the working-day deadline for deciding a repair received on ``received``, the
        procedural rule set in force that day): the procedure in force on receipt decides the
        number of days, plus any extension already granted."""
        procedural = procedural_rule_set(received, record.rule_set) if record.rule_set else None
        days = self.policy().repair_decision_days(procedural or record.rule_set)
        deadline = self.rules.calendar.add_working_days(received, days + extra_days)
        return deadline, str(procedural) if procedural else None

    def replied(self, app: RepairApplication, day: date) -> None:
        """A reply to a repair application on ``day``: within its reply deadline or not."""
        if app.reply_deadline is not None:
            app.replied_within_deadline = day <= app.reply_deadline
            if app.replied_within_deadline:
                self.count("repair_replies_within_deadline")


FoldHandler = Callable[[FoldStep, Any], None]

ENTERPRISE_FOLDS: dict[type[Fact], FoldHandler] = {}
"""Event type -> the handler that folds it into an enterprise's (or department's) state."""

ENTERPRISE_IGNORED: dict[type[Fact], str] = {}
"""Event types the enterprise fold leaves alone, each with the reason."""


def folds(*types: type[Fact]) -> Callable[[FoldHandler], FoldHandler]:
    """Register the decorated handler for ``types`` (each type once)."""

    def register(fn: FoldHandler) -> FoldHandler:
        for t in types:
            assert t not in ENTERPRISE_FOLDS, t
            ENTERPRISE_FOLDS[t] = fn
        return fn

    return register
