"""The ledger's own fact written with every fact that subscribers must apply (repairs,
revocations, withdrawals, expiries): who must apply it and by which working day."""

from __future__ import annotations

from datetime import date, datetime

from tongxiu.events.envelope import Envelope, events_digest
from tongxiu.events.models import LEDGER_DEPARTMENT, PropagationScheduled
from tongxiu.events.signing import KeyPair
from tongxiu.projections.fold import Rules, china_day, is_backfill, is_late
from tongxiu.projections.views import EnterpriseState, RegistryState
from tongxiu.services.submission import event_id_for


def deadline_start(source: Envelope) -> date:
    """The day the subscribers' working days run from: the day the propagated fact (a grant,
    revocation, withdrawal, expiry) was made, as its signed ``occurred_at`` says, so a backlog
    between the department's signing and the ledger's processing (a queue of submissions
    behind a slow or stopped worker) does not stretch the legal deadline. Never later than
    the day the ledger recorded it (``occurred_at`` is at most a clock skew ahead). A fact
    recorded late (``is_late``: more than ``LATE_AFTER_DAYS`` after its day) or imported
    (the backfill path) runs from its recording: the subscribers could not have had it
    before."""
    if is_late(source) or is_backfill(source):
        return china_day(source.recorded_at)
    return min(china_day(source.occurred_at), china_day(source.recorded_at))


def propagation(
    source: Envelope, registry: RegistryState, work: EnterpriseState, now: datetime, rules: Rules, key: KeyPair
) -> Envelope:
    """The ledger's own fact, appended with the one it propagates: who must apply it, by
    when (working days from :func:`deadline_start`). Subscribers are read from the registry at this moment and written down, so a
    rebuild never depends on when it runs."""
    decision_no = str(getattr(source.event, "decision_no"))  # noqa: B009 - every propagated type has one
    record = work.credit.records.get(decision_no)
    decider = record.department if record is not None else source.department
    policy = rules.policy(source.stream[2:8])  # layered once per area (Rules caches it)
    days = (
        policy.withdrawal_deadline_working_days
        if source.type == "decision_withdrawn"
        else policy.sync_deadline_working_days
    )
    deadline = rules.calendar.add_working_days(deadline_start(source), days)
    fact = PropagationScheduled(
        source_event_id=source.event_id,
        source_type=source.type,
        decision_no=decision_no,
        subscribers=registry.subscribers_for(source.stream, decider),
        deadline=deadline.date,
        deadline_estimated=deadline.estimated,
    )
    submission_id = f"propagate:{source.event_id}"
    env = Envelope(
        event_id=event_id_for(LEDGER_DEPARTMENT, submission_id, 0),
        stream=source.stream,
        seq=source.seq + 1,
        department=LEDGER_DEPARTMENT,
        submission_id=submission_id,
        index=0,
        occurred_at=source.occurred_at,
        recorded_at=now,
        event=fact,
        signature="",
        signature_format=2,
        submission_digest=events_digest([fact]),
        submission_size=1,
        prev_hash=source.hash,
    )
    return env.model_copy(update={"signature": key.sign(env.signed_bytes())}).sealed()
