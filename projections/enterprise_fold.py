"""The enterprise fold as a table: :data:`ENTERPRISE_FOLDS` maps each event type to one small
typed function over a :class:`FoldStep`; :data:`ENTERPRISE_IGNORED` lists the types it leaves
alone, with the reason (tests/unit/test_handler_tables.py keeps the two complete). Called by
:func:`tongxiu.projections.fold.fold_enterprise`; the helpers the handlers share live in
:mod:`tongxiu.projections.fold`.

Over 400 lines on purpose: one handler per kind of fact, kept together so the whole
enterprise state machine reads in one place.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tongxiu.events.envelope import Envelope
from tongxiu.events.models import (
    EVENT_TYPES,
    REGISTRY_TYPES,
    ComplianceAdviceIssued,
    CreditListIncluded,
    CreditListRemoved,
    CreditRepairNoticeIssued,
    DecisionWithdrawn,
    DeliveryAcknowledged,
    Fact,
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
    SyncOverdue,
)
from tongxiu.projections.fold import (
    _STATUS_CHANGES,
    OVERSIGHT_FOLDED,
    PRIOR_NAMED,
    Rules,
    Tally,
    _pending,
    _restanding,
    _set_status,
    is_backfill,
    is_late,
    jurisdiction_of,
    month_of,
    no_penalty_tallies,
    periods_for,
    receipt_day,
)
from tongxiu.projections.loop import give_verdict, mark_overdue, submit_evidence
from tongxiu.projections.rules import (
    procedural_rule_set,
)
from tongxiu.projections.views import (
    CreditListEntry,
    CreditRecord,
    Delivery,
    EnterpriseState,
    RectificationItem,
    RepairApplication,
)
from tongxiu.projections.workdays import china_day


@dataclass
class FoldStep:
    """What a fold handler works on: the state, the event's envelope, the rules, the month it
    counts in, whether it was recorded late, and the tallies it adds."""

    state: EnterpriseState
    env: Envelope
    rules: Rules
    month: str
    late: bool
    tallies: list[Tally]


FoldHandler = Callable[[FoldStep, Any], None]

ENTERPRISE_FOLDS: dict[type[Fact], FoldHandler] = {}
"""Event type -> the handler that folds it into an enterprise's (or department's) state."""

ENTERPRISE_IGNORED: dict[type[Fact], str] = {}
"""Event types the enterprise fold leaves alone, each with the reason (filled below)."""


def _folds(*types: type[Fact]) -> Callable[[Callable[[FoldStep, Any], None]], Callable[[FoldStep, Any], None]]:
    def register(fn: Callable[[FoldStep, Any], None]) -> Callable[[FoldStep, Any], None]:
        for t in types:
            assert t not in ENTERPRISE_FOLDS, t
            ENTERPRISE_FOLDS[t] = fn
        return fn

    return register


def fold_step(state: EnterpriseState, env: Envelope, rules: Rules) -> list[Tally]:
    """One event into the enterprise state (``fold_enterprise`` adds the as-of tolerance)."""
    changes_before = _STATUS_CHANGES[0]
    ev = env.event
    credit = state.credit
    state.seq = env.seq
    state.last_hash = env.hash
    if env.legacy_code:
        credit.legacy_code = True
    state.note_submission(env.submission_id)
    step = FoldStep(state, env, rules, month_of(china_day(env.occurred_at)), is_late(env), [])
    if step.late:
        step.tallies.append(Tally(env.department, step.month, "facts_recorded_late"))
    if is_backfill(env):
        step.tallies.append(Tally(env.department, step.month, "facts_backfilled"))
    handler = ENTERPRISE_FOLDS.get(type(ev))
    if handler is not None:
        handler(step, ev)
    if _STATUS_CHANGES[0] != changes_before:
        credit.standing = _restanding(credit, ev, env, _STATUS_CHANGES[0] - changes_before)
    return step.tallies


def _on_oversight(f: FoldStep, ev: Fact) -> None:
    from tongxiu.projections.supervision import fold_oversight

    f.tallies.extend(fold_oversight(f.state, f.env, f.rules))


for _t in OVERSIGHT_FOLDED:
    _folds(EVENT_TYPES[_t])(_on_oversight)


@_folds(PenaltyDecided)
def _on_penalty_decided(f: FoldStep, ev: PenaltyDecided) -> None:
    state = f.state
    env = f.env
    rules = f.rules
    late = f.late
    tallies = f.tallies
    credit = f.state.credit
    periods = periods_for(rules, state.enterprise, ev)
    prior = state.standing_of_kind(ev.violation_kind) if ev.violation_kind else []
    record = CreditRecord(
        decision_no=ev.decision_no,
        department=env.department,
        kind="penalty",
        decision_date=ev.decision_date,
        submission_id=env.submission_id,
        penalty_types=list(ev.penalty_types),
        fine_yuan=ev.fine_yuan,
        confiscation_yuan=ev.confiscation_yuan,
        rule_set=ev.rule_set,
        publicity_class=str(periods.publicity_class),
        publicized=periods.publicized,
        counted_from=periods.counted_from,
        min_end=periods.min_end,
        max_end=periods.max_end,
        repair_from=periods.repair_from,
        early_end_forbidden=periods.early_end_forbidden,
        ends_by_itself_requires_performance=periods.ends_by_itself_requires_performance,
        basis=periods.basis,
        violation_kind=ev.violation_kind,
        recorded_class=str(periods.recorded_class),
        class_basis=(
            f"{ev.class_basis.standard_ref} on {ev.class_basis.amount_yuan} yuan"
            if ev.class_basis is not None
            else "penalty types (no sector classification standard on file)"
        ),
        gaps=list(periods.gaps),
        not_repairable_rule=periods.not_repairable_rule,
        publicized_on=ev.publicized_on,
        first_of_kind=(not prior) if ev.violation_kind else None,
        prior_of_kind=prior[:PRIOR_NAMED],
        prior_of_kind_count=len(prior),
        recorded_late=late,
        imported=is_backfill(env),
    )
    credit.records[ev.decision_no] = record
    state.note_record(record)
    _set_status(record, "publicized" if periods.publicized else "not_publicized", env)
    tallies.append(Tally(env.department, month_of(ev.decision_date), "penalties"))


@_folds(NoPenaltyDecided)
def _on_no_penalty_decided(f: FoldStep, ev: NoPenaltyDecided) -> None:
    state = f.state
    env = f.env
    late = f.late
    tallies = f.tallies
    credit = f.state.credit
    prior = state.standing_of_kind(ev.violation_kind) if ev.violation_kind else []
    record = CreditRecord(
        decision_no=ev.decision_no,
        department=env.department,
        kind="no_penalty",
        decision_date=ev.decision_date,
        submission_id=env.submission_id,
        violation_kind=ev.violation_kind,
        no_penalty_basis=ev.basis,
        first_of_kind=not prior,
        prior_of_kind=prior[:PRIOR_NAMED],
        prior_of_kind_count=len(prior),
        recorded_late=late,
        imported=is_backfill(env),
    )
    credit.records[ev.decision_no] = record
    state.note_record(record)
    _set_status(record, "not_publicized", env)
    tallies.append(Tally(env.department, month_of(ev.decision_date), "no_penalties"))
    tallies.extend(no_penalty_tallies(env.department, month_of(ev.decision_date), ev))


@_folds(CreditRepairNoticeIssued)
def _on_credit_repair_notice_issued(f: FoldStep, ev: CreditRepairNoticeIssued) -> None:
    env = f.env
    tallies = f.tallies
    credit = f.state.credit
    record = credit.records[ev.decision_no]
    record.notice_no = ev.notice_no
    record.notice_with_decision = env.submission_id == record.submission_id
    if record.notice_with_decision:
        tallies.append(Tally(record.department, month_of(record.decision_date), "served_with_notice"))
        if record.advice_with_decision:
            tallies.append(
                Tally(record.department, month_of(record.decision_date), "served_with_notice_and_advice")
            )


@_folds(ComplianceAdviceIssued)
def _on_compliance_advice_issued(f: FoldStep, ev: ComplianceAdviceIssued) -> None:
    env = f.env
    month = f.month
    tallies = f.tallies
    credit = f.state.credit
    rect = f.state.rectification
    record = credit.records[ev.decision_no]
    record.advice_no = ev.advice_no
    record.advice_with_decision = env.submission_id == record.submission_id
    if record.advice_with_decision and record.notice_with_decision:
        tallies.append(
            Tally(record.department, month_of(record.decision_date), "served_with_notice_and_advice")
        )
    for advised in ev.items:
        rect.items[f"{ev.advice_no}/{advised.item_id}"] = RectificationItem(
            advice_no=ev.advice_no,
            item_id=advised.item_id,
            decision_no=ev.decision_no,
            issued_by=env.department,
            issued_at=env.occurred_at,
            requirement=advised.requirement,
            deadline=advised.deadline,
            lead_department=advised.lead_department,
            participating_departments=list(advised.participating_departments),
            binding=advised.binding,
        )
        tallies.append(Tally(advised.lead_department, month, "rectification_found"))


@_folds(PenaltyFulfilled)
def _on_penalty_fulfilled(f: FoldStep, ev: PenaltyFulfilled) -> None:
    credit = f.state.credit
    record = credit.records[ev.decision_no]
    record.fulfilled = True
    record.fulfilled_on = ev.fulfilled_on


@_folds(RectificationEvidenceSubmitted)
def _on_rectification_evidence_submitted(f: FoldStep, ev: RectificationEvidenceSubmitted) -> None:
    env = f.env
    rect = f.state.rectification
    item = rect.items[f"{ev.advice_no}/{ev.item_id}"]
    submit_evidence(item, env.occurred_at, env.department, ev.evidence, ev.documents)


@_folds(RectificationVerified)
def _on_rectification_verified(f: FoldStep, ev: RectificationVerified) -> None:
    env = f.env
    month = f.month
    tallies = f.tallies
    rect = f.state.rectification
    item = rect.items[f"{ev.advice_no}/{ev.item_id}"]
    if give_verdict(item, env.occurred_at, env.department, True, ev.note):
        tallies.append(Tally(item.lead_department, month, "rectification_closed"))


@_folds(RectificationRejected)
def _on_rectification_rejected(f: FoldStep, ev: RectificationRejected) -> None:
    env = f.env
    rect = f.state.rectification
    item = rect.items[f"{ev.advice_no}/{ev.item_id}"]
    give_verdict(item, env.occurred_at, env.department, False, ev.reason)


@_folds(RectificationOverdue)
def _on_rectification_overdue(f: FoldStep, ev: RectificationOverdue) -> None:
    month = f.month
    tallies = f.tallies
    rect = f.state.rectification
    item = rect.items[f"{ev.advice_no}/{ev.item_id}"]
    mark_overdue(item)
    tallies.append(Tally(item.lead_department, month, "rectification_overdue"))


@_folds(RepairApplied)
def _on_repair_applied(f: FoldStep, ev: RepairApplied) -> None:
    state = f.state
    env = f.env
    rules = f.rules
    credit = f.state.credit
    record = credit.records[ev.decision_no]
    policy = rules.policies.for_jurisdiction(jurisdiction_of(state.enterprise))
    received = receipt_day(env)
    procedural = procedural_rule_set(received, record.rule_set) if record.rule_set else None
    deadline = rules.calendar.add_working_days(received, policy.repair_decision_days(procedural or record.rule_set))
    reply = rules.calendar.add_working_days(received, policy.repair_reply_working_days)
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
            procedural_rule_set=str(procedural) if procedural else None,
            reply_deadline=reply.date,
        )
    )


@_folds(RepairForwarded)
def _on_repair_forwarded(f: FoldStep, ev: RepairForwarded) -> None:
    state = f.state
    env = f.env
    rules = f.rules
    month = f.month
    tallies = f.tallies
    credit = f.state.credit
    record = credit.records[ev.decision_no]
    pending = _pending(record)
    if pending is not None:
        # the department's receipt: the decision deadline (in the procedure in force that
        # day) runs from it, plus any extension already granted
        received = receipt_day(env)
        policy = rules.policies.for_jurisdiction(jurisdiction_of(state.enterprise))
        procedural = procedural_rule_set(received, record.rule_set) if record.rule_set else None
        days = policy.repair_decision_days(procedural or record.rule_set)
        deadline = rules.calendar.add_working_days(received, days + pending.extended_working_days)
        pending.forwarded_to = ev.forwarded_to
        pending.forwarded_at = env.occurred_at if is_backfill(env) else env.recorded_at
        pending.forwarded_on = received
        pending.procedural_rule_set = str(procedural) if procedural else None
        pending.decision_deadline = deadline.date
        pending.decision_deadline_estimated = deadline.estimated
        tallies.append(Tally(env.department, month, "repairs_forwarded"))
        tallies.append(Tally(ev.forwarded_to, month, "repairs_received_by_forwarding"))


@_folds(RepairNotAccepted)
def _on_repair_not_accepted(f: FoldStep, ev: RepairNotAccepted) -> None:
    env = f.env
    month = f.month
    tallies = f.tallies
    credit = f.state.credit
    record = credit.records[ev.decision_no]
    pending = _pending(record)
    if pending is not None:
        pending.outcome = "not_accepted"
        pending.decided_at = env.occurred_at
        pending.reason = ev.reason
        tallies.append(Tally(env.department, month, "repairs_not_accepted"))
        if pending.reply_deadline is not None:
            pending.replied_within_deadline = receipt_day(env) <= pending.reply_deadline
            if pending.replied_within_deadline:
                tallies.append(Tally(env.department, month, "repair_replies_within_deadline"))


@_folds(CreditListIncluded)
def _on_credit_list_included(f: FoldStep, ev: CreditListIncluded) -> None:
    env = f.env
    month = f.month
    tallies = f.tallies
    credit = f.state.credit
    credit.list_entries.append(
        CreditListEntry(list_kind=ev.list_kind, department=env.department, decision_no=ev.decision_no,
                        reason=ev.reason, included_on=ev.included_on)
    )
    tallies.append(Tally(env.department, month, "list_inclusions"))


@_folds(CreditListRemoved)
def _on_credit_list_removed(f: FoldStep, ev: CreditListRemoved) -> None:
    env = f.env
    month = f.month
    tallies = f.tallies
    credit = f.state.credit
    for entry in credit.on_list(ev.list_kind):
        entry.removed_on = ev.removed_on
        entry.removal_decision_no = ev.decision_no
        entry.removal_reason = ev.reason
    tallies.append(Tally(env.department, month, "list_removals"))


@_folds(RepairAccepted)
def _on_repair_accepted(f: FoldStep, ev: RepairAccepted) -> None:
    env = f.env
    credit = f.state.credit
    record = credit.records[ev.decision_no]
    pending = next((a for a in reversed(record.applications) if a.outcome == "pending"), None)
    if pending is not None:
        pending.accepted_at = env.recorded_at


@_folds(RepairExtended)
def _on_repair_extended(f: FoldStep, ev: RepairExtended) -> None:
    rules = f.rules
    credit = f.state.credit
    record = credit.records[ev.decision_no]
    pending = next((a for a in reversed(record.applications) if a.outcome == "pending"), None)
    if pending is not None and pending.decision_deadline is not None:
        pending.extended_working_days += ev.working_days
        pending.decision_deadline = rules.calendar.add_working_days(pending.decision_deadline, ev.working_days).date


@_folds(RepairGranted, RepairRefused)
def _on_repair_decided(f: FoldStep, ev: RepairGranted | RepairRefused) -> None:
    env = f.env
    month = f.month
    tallies = f.tallies
    credit = f.state.credit
    record = credit.records[ev.decision_no]
    app = next((a for a in reversed(record.applications) if a.outcome == "pending"), None)
    if app is not None:
        app.outcome = "granted" if isinstance(ev, RepairGranted) else "refused"
        app.decided_at = env.occurred_at
        app.reason = ev.reason if isinstance(ev, RepairRefused) else ev.note
        tallies.append(Tally(env.department, month, "repairs_decided"))
        decided_day = receipt_day(env)
        if app.decision_deadline is not None and decided_day <= app.decision_deadline:
            tallies.append(Tally(env.department, month, "repairs_decided_within_deadline"))
        if app.reply_deadline is not None:
            app.replied_within_deadline = decided_day <= app.reply_deadline
            if app.replied_within_deadline:
                tallies.append(Tally(env.department, month, "repair_replies_within_deadline"))
    if isinstance(ev, RepairGranted):
        tallies.append(Tally(env.department, month, "repairs_granted"))
        record.repaired_on = env.occurred_at
        credit.repairs_granted_on.append(receipt_day(env))
        _set_status(record, "repaired", env)
    else:
        tallies.append(Tally(env.department, month, "repairs_refused"))


@_folds(RepairRevoked)
def _on_repair_revoked(f: FoldStep, ev: RepairRevoked) -> None:
    env = f.env
    credit = f.state.credit
    record = credit.records[ev.decision_no]
    record.repairs_revoked += 1
    record.repaired_on = None
    _set_status(record, "publicized", env)


@_folds(DecisionWithdrawn)
def _on_decision_withdrawn(f: FoldStep, ev: DecisionWithdrawn) -> None:
    state = f.state
    env = f.env
    rules = f.rules
    month = f.month
    tallies = f.tallies
    credit = f.state.credit
    record = credit.records[ev.decision_no]
    _set_status(record, "withdrawn", env)
    state.forget_kinds()
    record.withdrawal_ground = ev.ground
    record.withdrawal_ruling_date = ev.ruling_date
    record.replaced_by = ev.replaced_by
    if ev.replaced_by is not None and ev.replaced_by in credit.records:
        credit.records[ev.replaced_by].replaces.append(ev.decision_no)
    tallies.append(Tally(env.department, month, "withdrawals"))
    if ev.ruling_date is not None:
        policy = rules.policies.for_jurisdiction(jurisdiction_of(state.enterprise))
        due = rules.calendar.add_working_days(ev.ruling_date, policy.withdrawal_deadline_working_days)
        record.withdrawal_deadline = due.date
        if receipt_day(env) <= due.date:
            tallies.append(Tally(env.department, month, "withdrawals_within_deadline"))


@_folds(RepairEligibilityReached)
def _on_repair_eligibility_reached(f: FoldStep, ev: RepairEligibilityReached) -> None:
    credit = f.state.credit
    credit.records[ev.decision_no].eligibility_reached = True


@_folds(PublicityExpired)
def _on_publicity_expired(f: FoldStep, ev: PublicityExpired) -> None:
    env = f.env
    credit = f.state.credit
    _set_status(credit.records[ev.decision_no], "expired", env)


@_folds(PropagationScheduled)
def _on_propagation_scheduled(f: FoldStep, ev: PropagationScheduled) -> None:
    state = f.state
    env = f.env
    month = f.month
    tallies = f.tallies
    credit = f.state.credit
    decider = credit.records[ev.decision_no].department if ev.decision_no in credit.records else env.department
    for subscriber in ev.subscribers:
        state.sync.deliveries[f"{ev.source_event_id}/{subscriber}"] = Delivery(
            source_event_id=ev.source_event_id,
            source_type=ev.source_type,
            decision_no=ev.decision_no,
            decider=decider,
            subscriber=subscriber,
            delivered_at=env.recorded_at,
            deadline=ev.deadline,
            deadline_estimated=ev.deadline_estimated,
        )
        tallies.append(Tally(subscriber, month, "deliveries_received"))


@_folds(DeliveryAcknowledged)
def _on_delivery_acknowledged(f: FoldStep, ev: DeliveryAcknowledged) -> None:
    state = f.state
    env = f.env
    month = f.month
    tallies = f.tallies
    if not ev.applied:
        delivery = state.sync.deliveries[f"{ev.source_event_id}/{env.department}"]
        delivery.declined_at = env.recorded_at
        delivery.declined_note = ev.note
        tallies.append(Tally(env.department, month, "syncs_declined"))
        return
    delivery = state.sync.deliveries[f"{ev.source_event_id}/{env.department}"]
    delivery.status = "acknowledged"
    delivery.acknowledged_at = env.recorded_at
    delivery.latency_seconds = (env.recorded_at - delivery.delivered_at).total_seconds()
    tallies.append(Tally(env.department, month, "syncs_acknowledged"))
    tallies.append(Tally(env.department, month, "sync_ack_seconds_total", delivery.latency_seconds))
    if china_day(env.recorded_at) <= delivery.deadline:
        tallies.append(Tally(env.department, month, "syncs_acknowledged_within_deadline"))


@_folds(SyncOverdue)
def _on_sync_overdue(f: FoldStep, ev: SyncOverdue) -> None:
    state = f.state
    month = f.month
    tallies = f.tallies
    delivery = state.sync.deliveries[f"{ev.source_event_id}/{ev.subscriber}"]
    delivery.overdue_marked = True
    tallies.append(Tally(ev.subscriber, month, "syncs_overdue"))


for _t in REGISTRY_TYPES:
    ENTERPRISE_IGNORED[EVENT_TYPES[_t]] = "a registry event: folded by fold_registry, never on an enterprise stream"
