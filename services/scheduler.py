"""The time-driven facts. Driven by an injectable clock: a tick looks at the enterprises the
due-date index lists up to the clock's day (``tongxiu.projections.due``), folds their streams
from the log as of that day and emits, through the ordinary write path and signed by the
ledger, the facts that have become due. Submission ids are derived from what is due, so a
second tick (or a second scheduler) emits nothing twice."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date

from tongxiu.events.models import (
    REGISTRY_STREAM,
    ComplaintOverdue,
    Event,
    FindingOverdue,
    PublicityExpired,
    RectificationOverdue,
    RepairEligibilityReached,
    SyncOverdue,
)
from tongxiu.projections.due import DUE_DAYS, due_key
from tongxiu.projections.fold import china_day, obligations_performed
from tongxiu.projections.keys import PROJECTION
from tongxiu.projections.views import EnterpriseState
from tongxiu.services.app import Tongxiu


@dataclass(frozen=True)
class Due:
    stream: str
    submission_id: str
    event: Event


def due_facts(state: EnterpriseState, today_iso: str) -> list[Due]:
    today = date.fromisoformat(today_iso)
    code = state.enterprise
    out: list[Due] = []
    for record in state.credit.records.values():
        if record.status != "publicized":
            continue
        if (
            record.repair_from is not None
            and not record.eligibility_reached
            and not record.early_end_forbidden
            and today >= record.repair_from
        ):
            out.append(
                Due(code, f"due:eligible:{record.decision_no}",
                    RepairEligibilityReached(decision_no=record.decision_no, eligible_from=record.repair_from))
            )
        # 民法典 Art. 201-202: publicity runs through max_end; it stops the day after (D15)
        if record.max_end is not None and today > record.max_end:
            if not record.ends_by_itself_requires_performance or obligations_performed(state, record):
                out.append(
                    Due(code, f"due:expired:{record.decision_no}",
                        PublicityExpired(decision_no=record.decision_no, expired_on=record.max_end))
                )
    for item in state.rectification.items.values():
        if item.status != "closed" and not item.overdue_marked and today > item.deadline:
            out.append(
                Due(code, f"due:overdue:{item.advice_no}/{item.item_id}",
                    RectificationOverdue(advice_no=item.advice_no, item_id=item.item_id, deadline=item.deadline))
            )
    out.extend(oversight_due(state, today))
    for delivery in state.sync.deliveries.values():
        if delivery.status == "pending" and not delivery.overdue_marked and today > delivery.deadline:
            out.append(
                Due(code, f"due:sync:{delivery.source_event_id}/{delivery.subscriber}",
                    SyncOverdue(source_event_id=delivery.source_event_id, subscriber=delivery.subscriber,
                                deadline=delivery.deadline))
            )
    return out


def _due_id(kind: str, stream: str, ref: str) -> str:
    """Ids are per department stream (two departments may both have a finding "F1"); a key too
    long for a submission id (128) is hashed."""
    sid = f"due:{kind}:{stream}/{ref}"
    return sid if len(sid) <= 128 else f"due:{kind}:" + hashlib.sha256(sid.encode()).hexdigest()


def oversight_due(state: EnterpriseState, today: date) -> list[Due]:
    """Findings against a department past their rectification deadline, and complaints about
    it past their reply deadline (on its ``dept:<id>`` stream)."""
    view = state.oversight
    if view is None:
        return []
    code = state.enterprise
    out = [
        Due(code, _due_id("finding", code, f.item_id), FindingOverdue(finding_id=f.item_id, deadline=f.deadline))
        for f in view.findings.values()
        if f.status != "closed" and not f.overdue_marked and today > f.deadline
    ]
    out += [
        Due(code, _due_id("complaint", code, c.complaint_id), ComplaintOverdue(complaint_id=c.complaint_id, deadline=c.deadline))
        for c in view.complaints.values()
        if c.status != "resolved" and not c.overdue_marked and today > c.deadline
    ]
    return out


def due_streams(app: Tongxiu, today_iso: str) -> list[str] | None:
    """The streams the due-date index lists for every day up to ``today_iso``
    (``tongxiu.projections.due``), reading only those days' rows; None when the index does not
    cover every stream (a projection older than the index: rebuild it once)."""
    days = app.projections.load(PROJECTION, DUE_DAYS)
    if days is None or not days.get("complete"):
        return None
    out: dict[str, None] = {}
    for day in sorted(d for d in days.get("days", {}) if d <= today_iso):
        doc = app.projections.load(PROJECTION, due_key(day))
        out.update(dict.fromkeys(sorted((doc or {}).get("streams", {}))))
    return list(out)


def tick(app: Tongxiu, *, scan: bool = False) -> list[Due]:
    """Emit every fact due as of the app's clock; returns what was emitted. The streams are
    those the due-date index lists up to today (:func:`due_streams`), after the read models
    have caught up with the log; ``scan`` (or an index that does not cover every stream)
    looks at every stream of the log instead."""
    today = china_day(app.clock.now()).isoformat()
    emitted = []
    streams = None
    if not scan:
        app.process()  # the index is a read model: bring it up to the log first
        streams = due_streams(app, today)
    if streams is None:
        streams = [code for code in app.log.streams() if code != REGISTRY_STREAM]
    # What is due is decided from the log, not the read models (the index only says where to
    # look): on the distributed backend the projections may lag behind the log.
    for code in streams:
        for due in due_facts(app.ledger.enterprise(code), today):
            receipt = app.emit(due.stream, [due.event], submission_id=due.submission_id)
            if receipt.accepted and not receipt.duplicate:
                emitted.append(due)
    if app.ledger.transparency is not None:  # issue 9: a signed checkpoint on every tick
        app.ledger.transparency.checkpoint(save=True)
    return emitted
