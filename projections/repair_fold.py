"""The enterprise fold's handlers for credit repair (application, forwarding, extension,
decision, revocation) and for synchronisation to subscribers (propagation, acknowledgement,
overdue). Registered in :data:`tongxiu.projections.fold_step.ENTERPRISE_FOLDS`; the rest of
the table is in :mod:`tongxiu.projections.enterprise_fold`."""

from __future__ import annotations

from tongxiu.events.models import (
    DeliveryAcknowledged,
    PropagationScheduled,
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
    SyncOverdue,
)
from tongxiu.projections.fold import _set_status, is_backfill, receipt_day
from tongxiu.projections.fold_step import FoldStep, folds
from tongxiu.projections.views import Delivery, RepairApplication
from tongxiu.projections.workdays import china_day


@folds(RepairApplied)
def _on_repair_applied(f: FoldStep, ev: RepairApplied) -> None:
    env = f.env
    record = f.record(ev.decision_no)
    received = receipt_day(env)
    deadline, procedural = f.repair_deadline(record, received)
    reply = f.rules.calendar.add_working_days(received, f.policy().repair_reply_working_days)
    record.applications.append(
        RepairApplication(
            seq=env.seq,
            applied_on=ev.applied_on,
            received_at=env.occurred_at if is_backfill(env) else env.recorded_at,
            applied_via=env.department,
            credit_commitment=ev.credit_commitment,
            decision_deadline=deadline.date,
            decision_deadline_estimated=deadline.estimated,
            received_on=received,
            procedural_rule_set=procedural,
            reply_deadline=reply.date,
        )
    )


@folds(RepairForwarded)
def _on_repair_forwarded(f: FoldStep, ev: RepairForwarded) -> None:
    env = f.env
    record = f.record(ev.decision_no)
    pending = f.pending(ev.decision_no)
    if pending is None:
        return
    # the department's receipt: the decision deadline (in the procedure in force that day)
    # runs from it, plus any extension already granted
    received = receipt_day(env)
    deadline, procedural = f.repair_deadline(record, received, pending.extended_working_days)
    pending.forwarded_to = ev.forwarded_to
    pending.forwarded_at = env.occurred_at if is_backfill(env) else env.recorded_at
    pending.forwarded_on = received
    pending.procedural_rule_set = procedural
    pending.decision_deadline = deadline.date
    pending.decision_deadline_estimated = deadline.estimated
    f.count("repairs_forwarded")
    f.count("repairs_received_by_forwarding", department=ev.forwarded_to)


@folds(RepairNotAccepted)
def _on_repair_not_accepted(f: FoldStep, ev: RepairNotAccepted) -> None:
    pending = f.pending(ev.decision_no)
    if pending is None:
        return
    pending.outcome = "not_accepted"
    pending.decided_at = f.env.occurred_at
    pending.reason = ev.reason
    f.count("repairs_not_accepted")
    f.replied(pending, receipt_day(f.env))


@folds(RepairAccepted)
def _on_repair_accepted(f: FoldStep, ev: RepairAccepted) -> None:
    pending = f.pending(ev.decision_no)
    if pending is not None:
        pending.accepted_at = f.env.recorded_at


@folds(RepairExtended)
def _on_repair_extended(f: FoldStep, ev: RepairExtended) -> None:
    pending = f.pending(ev.decision_no)
    if pending is not None and pending.decision_deadline is not None:
        pending.extended_working_days += ev.working_days
        pending.decision_deadline = f.rules.calendar.add_working_days(pending.decision_deadline, ev.working_days).date


@folds(RepairGranted, RepairRefused)
def _on_repair_decided(f: FoldStep, ev: RepairGranted | RepairRefused) -> None:
    env = f.env
    record = f.record(ev.decision_no)
    app = f.pending(ev.decision_no)
    if app is not None:
        app.outcome = "granted" if isinstance(ev, RepairGranted) else "refused"
        app.decided_at = env.occurred_at
        app.reason = ev.reason if isinstance(ev, RepairRefused) else ev.note
        f.count("repairs_decided")
        decided_day = receipt_day(env)
        if app.decision_deadline is not None and decided_day <= app.decision_deadline:
            f.count("repairs_decided_within_deadline")
        f.replied(app, decided_day)
    if isinstance(ev, RepairGranted):
        f.count("repairs_granted")
        record.repaired_on = env.occurred_at
        f.credit.repairs_granted_on.append(receipt_day(env))
        _set_status(record, "repaired", env)
    else:
        f.count("repairs_refused")


@folds(RepairRevoked)
def _on_repair_revoked(f: FoldStep, ev: RepairRevoked) -> None:
    record = f.record(ev.decision_no)
    record.repairs_revoked += 1
    record.repaired_on = None
    _set_status(record, "publicized", f.env)


@folds(RepairEligibilityReached)
def _on_repair_eligibility_reached(f: FoldStep, ev: RepairEligibilityReached) -> None:
    f.record(ev.decision_no).eligibility_reached = True


@folds(PublicityExpired)
def _on_publicity_expired(f: FoldStep, ev: PublicityExpired) -> None:
    _set_status(f.record(ev.decision_no), "expired", f.env)


# --------------------------------------------------------------------------- synchronisation


@folds(PropagationScheduled)
def _on_propagation_scheduled(f: FoldStep, ev: PropagationScheduled) -> None:
    env = f.env
    records = f.credit.records
    decider = records[ev.decision_no].department if ev.decision_no in records else env.department
    for subscriber in ev.subscribers:
        f.state.sync.deliveries[f"{ev.source_event_id}/{subscriber}"] = Delivery(
            source_event_id=ev.source_event_id,
            source_type=ev.source_type,
            decision_no=ev.decision_no,
            decider=decider,
            subscriber=subscriber,
            delivered_at=env.recorded_at,
            deadline=ev.deadline,
            deadline_estimated=ev.deadline_estimated,
        )
        f.count("deliveries_received", department=subscriber)


@folds(DeliveryAcknowledged)
def _on_delivery_acknowledged(f: FoldStep, ev: DeliveryAcknowledged) -> None:
    env = f.env
    delivery = f.state.sync.deliveries[f"{ev.source_event_id}/{env.department}"]
    if not ev.applied:
        delivery.declined_at = env.recorded_at
        delivery.declined_note = ev.note
        f.count("syncs_declined")
        return
    delivery.status = "acknowledged"
    delivery.acknowledged_at = env.recorded_at
    delivery.latency_seconds = (env.recorded_at - delivery.delivered_at).total_seconds()
    f.count("syncs_acknowledged")
    f.count("sync_ack_seconds_total", amount=delivery.latency_seconds)
    if china_day(env.recorded_at) <= delivery.deadline:
        f.count("syncs_acknowledged_within_deadline")


@folds(SyncOverdue)
def _on_sync_overdue(f: FoldStep, ev: SyncOverdue) -> None:
    f.state.sync.deliveries[f"{ev.source_event_id}/{ev.subscriber}"].overdue_marked = True
    f.count("syncs_overdue", department=ev.subscriber)
