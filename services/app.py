"""The application: the ledger (write path), the processors (read models), the queries, the
scheduler and the audit, wired to one set of ports. Built by the composition root in
``tongxiu.infra.bootstrap``; nothing here knows which backend it runs on.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from tongxiu.events.envelope import Receipt, Submission
from tongxiu.events.models import LEDGER_DEPARTMENT, REGISTRY_STREAM, Event, is_department_stream
from tongxiu.events.wire import Unreadable
from tongxiu.projections.fold import Rules, china_day
from tongxiu.projections.keys import PROJECTION, enterprise_key, inbox_key, supervision_key
from tongxiu.projections.views import (
    CreditView,
    EnterpriseState,
    RectificationView,
    RegistryState,
    SupervisionCounters,
    SupervisionState,
    SyncView,
)
from tongxiu.services.ledger import Ledger
from tongxiu.services.ports import (
    Clock,
    EventLog,
    OffsetStore,
    ProjectionStore,
    ReadSync,
    RejectionLog,
    RejectionRecord,
)
from tongxiu.services.sdk import FeedPort, Transport
from tongxiu.services.submission import sign_submission


@dataclass
class Tongxiu:
    """Built whole by the composition root (``tongxiu.infra.bootstrap.build_app``); nothing is assigned
    to it afterwards. The backends differ only in the adapters given here."""

    log: EventLog
    rejections: RejectionLog
    projections: ProjectionStore
    offsets: OffsetStore
    clock: Clock
    rules: Rules
    ledger: Ledger
    """The write model (``Ledger.registry``/``enterprise`` for the scheduler and the demo).
    Submissions never call it directly: they go through ``transport``, which reaches the
    same ``Ledger.submit`` in this process (embedded) or in the worker (distributed)."""
    transport: Transport
    read_models: ReadSync
    feed: FeedPort
    """The repair feed for credit platforms: ``LocalFeed`` (embedded, by log position) or
    ``KafkaFeed`` (distributed, by consumer group)."""
    backend: str = "embedded"
    closers: list[Callable[[], None]] = field(default_factory=list)

    # ------------------------------------------------------------------ write

    def submit(self, raw: Submission | Unreadable | dict[str, Any] | str | bytes) -> Receipt:
        """Parse at the edge (what cannot be read is rejected and recorded here), then send
        the parsed submission through the transport to ``Ledger.submit``, which does not parse
        it again (embedded: the same object travels on; distributed: the Kafka transport
        serialises it and the worker parses those bytes, once, on its side)."""
        with self.ledger.at_edge(raw) as submission:
            if isinstance(submission, Receipt):
                return submission
            return self.transport.send(submission)

    def emit(self, stream: str, events: Sequence[Event], *, submission_id: str) -> Receipt:
        """Submit facts as the ledger itself (registrations, time-driven facts), by the same
        path as every department's submission."""
        return self.submit(
            sign_submission(
                self.ledger.key,
                department=LEDGER_DEPARTMENT,
                stream=stream,
                submission_id=submission_id,
                occurred_at=self.clock.now(),
                events=events,
            )
        )

    def process(self) -> int:
        """Bring the read models up to the log (embedded: fold now; distributed: wait for the
        projection worker)."""
        return self.read_models.catch_up()

    def rebuild(self, progress: Callable[[int], None] | None = None) -> int:
        return self.read_models.rebuild(progress)

    def close(self) -> None:
        for close in self.closers:
            close()

    # ------------------------------------------------------------------ read models

    def enterprise_state(self, code: str) -> EnterpriseState:
        raw = self.projections.load(PROJECTION, enterprise_key(code))
        return EnterpriseState.model_validate(raw) if raw else EnterpriseState.empty(code)

    def credit(self, code: str) -> CreditView:
        return self.enterprise_state(code).credit

    def rectification(self, code: str) -> RectificationView:
        return self.enterprise_state(code).rectification

    def sync(self, code: str) -> SyncView:
        return self.enterprise_state(code).sync

    def registry(self) -> RegistryState:
        raw = self.projections.load(PROJECTION, "registry")
        return RegistryState.model_validate(raw) if raw else RegistryState()

    def enterprises(self) -> list[str]:
        prefix = enterprise_key("")
        return [
            k[len(prefix):]
            for k in self.projections.keys(PROJECTION)
            if k.startswith(prefix) and not is_department_stream(k[len(prefix):])
        ]

    def inbox(self, subscriber: str) -> list[dict[str, Any]]:
        raw = self.projections.load(PROJECTION, inbox_key(subscriber)) or {"pending": {}}
        return sorted(raw["pending"].values(), key=lambda d: int(d["position"]))

    def supervision(self, department: str, period: str | None = None) -> SupervisionCounters:
        """Figures for a department over ``period``: 'YYYY', 'YYYY-MM', 'YYYY-MM..YYYY-MM' or all."""
        raw = self.projections.load(PROJECTION, supervision_key(department))
        state = SupervisionState.model_validate(raw) if raw else SupervisionState(department=department)
        total = SupervisionCounters()
        for month, counters in state.by_month().items():
            if in_period(month, period):
                total = total.add(counters)
        return total

    def supervision_months(self, department: str, period: str | None = None) -> dict[str, SupervisionCounters]:
        """A department's counters month by month within ``period``."""
        raw = self.projections.load(PROJECTION, supervision_key(department))
        state = SupervisionState.model_validate(raw) if raw else SupervisionState(department=department)
        return {m: c for m, c in state.by_month().items() if in_period(m, period)}

    def supervision_figures(self, period: str | None = None) -> dict[str, Any]:
        """执法监督 figures over every department for ``period`` (案卷评查 and 整改率, 亮码率,
        inspections per enterprise, 免罚 by basis with amounts, repairs), with a monthly series."""
        from tongxiu.projections.supervision import supervision_figures

        total = SupervisionCounters()
        by_month: dict[str, SupervisionCounters] = {}
        for dept in self.departments():
            for month, counters in self.supervision_months(dept, period).items():
                total = total.add(counters)
                by_month[month] = by_month.get(month, SupervisionCounters()).add(counters)
        return {"period": period, **supervision_figures(total, by_month)}

    def oversight(self, department: str) -> Any:
        """Case reviews, findings and complaints about ``department`` (its ``dept:`` stream)."""
        from tongxiu.events.models import department_stream
        from tongxiu.projections.views import OversightView

        state = self.enterprise_state(department_stream(department))
        return state.oversight or OversightView(department=department)

    def departments(self) -> list[str]:
        return sorted(d for d in self.registry().departments if d != LEDGER_DEPARTMENT)

    def open_items(self, department: str, *, as_of: date | None = None) -> list[dict[str, Any]]:
        """Open rectification items a department owns, across enterprises (对账、核账、销账)."""
        day = as_of or china_day(self.clock.now())
        out = []
        for code in self.enterprises():
            for item in self.rectification(code).items.values():
                if item.status != "closed" and department in item.owners:
                    out.append(
                        {
                            "enterprise": code,
                            "advice_no": item.advice_no,
                            "item_id": item.item_id,
                            "requirement": item.requirement,
                            "deadline": item.deadline.isoformat(),
                            "status": item.status,
                            "overdue": item.overdue_as_of(day),
                        }
                    )
        return out

    def list_rejections(self, **kw: Any) -> list[RejectionRecord]:
        return self.rejections.list(**kw)

    def stats(self) -> dict[str, Any]:
        streams = [s for s in self.log.streams() if s != REGISTRY_STREAM and not is_department_stream(s)]
        return {
            "backend": self.backend,
            "enterprises": len(streams),
            "events": sum(self.log.last_seq(s) for s in self.log.streams()),
            "departments": len(self.departments()),
            "rejections": self.rejections.count(),
            "projection_position": self.read_models.position(),
        }

    def now(self) -> datetime:
        return self.clock.now()


_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
_PERIOD = re.compile(r"^\d{4}(-(0[1-9]|1[0-2]))?$")


def period_error(period: str) -> str | None:
    """Why ``period`` is not a period (None if it is): YYYY, YYYY-MM or YYYY-MM..YYYY-MM."""
    if ".." in period:
        start, _, end = period.partition("..")
        if not (_MONTH.match(start) and _MONTH.match(end)):
            return "a range must be YYYY-MM..YYYY-MM"
        if start > end:
            return "the range starts after it ends"
        return None
    if not _PERIOD.match(period):
        return "expected YYYY, YYYY-MM or YYYY-MM..YYYY-MM"
    return None


def in_period(month: str, period: str | None) -> bool:
    if not period:
        return True
    if ".." in period:
        start, end = period.split("..", 1)
        return start <= month <= end
    return month == period or month.startswith(period + "-")
