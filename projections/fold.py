"""The folds: ``(state, event) -> state`` for an enterprise (credit, rectification, sync) and
for the registry, plus the supervision tallies each event produces.

A fold reads nothing but its arguments, so replaying the same log gives the same state,
whether incrementally, from a rebuild, or as of a past time. For speed a fold may reuse the
state object it is given; callers that need the old state keep a ``model_copy(deep=True)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone

from events.envelope import Envelope
from events.models import (
    ComplianceAdviceIssued,
    CreditRepairNoticeIssued,
    DecisionWithdrawn,
    DeliveryAcknowledged,
    DepartmentRegistered,
    NoPenaltyDecided,
    PenaltyDecided,
    PenaltyFulfilled,
    PropagationScheduled,
    PublicityExpired,
    RectificationEvidenceSubmitted,
    RectificationOverdue,
    RectificationRejected,
    RectificationVerified,
    RepairApplied,
    RepairEligibilityReached,
    RepairGranted,
    RepairRefused,
    RepairRevoked,
    SubscriptionAdded,
    SubscriptionRemoved,
    SyncOverdue,
)
from projections.rules import DecisionFacts, PolicyBook, RuleSet, compute_periods
from projections.views import (
    CreditRecord,
    CreditView,
    Delivery,
    DepartmentInfo,
    EnterpriseState,
    Evidence,
    RectificationItem,
    RegistryState,
    RepairApplication,
    StatusChange,
    Subscription,
    Verdict,
)
from projections.workdays import WorkCalendar

CHINA = timezone(timedelta(hours=8))


@dataclass(frozen=True)
class Rules:
    """The rule data a fold needs: local policies and the working-day calendar."""

    policies: PolicyBook = field(default_factory=PolicyBook)
    calendar: WorkCalendar = field(default_factory=WorkCalendar)


@dataclass(frozen=True)
class Tally:
    """One supervision counter change: +amount on ``counter`` for a department and month."""

    department: str
    month: str
    counter: str
    amount: float = 1


def china_day(at: datetime) -> date:
    return at.astimezone(CHINA).date()


def month_of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def decision_facts(event: PenaltyDecided) -> DecisionFacts:
    return DecisionFacts(
        penalty_types=tuple(event.penalty_types),
        fine_yuan=event.fine_yuan,
        confiscation_yuan=event.confiscation_yuan,
        party_kind=event.party_kind,
        procedure=event.procedure,
        rule_set=RuleSet(event.rule_set),
        decision_date=event.decision_date,
        identification_date=event.identification_date,
        sector=event.sector,
        serious_dishonesty_list=event.serious_dishonesty_list,
    )


def jurisdiction_of(enterprise: str) -> str:
    return enterprise[2:8] if len(enterprise) == 18 else ""


# --------------------------------------------------------------------------- enterprise


def obligations_performed(state: EnterpriseState, record: CreditRecord) -> bool:
    """Fine paid (when there is one) and every rectification item of its advice closed."""
    if record.needs_payment and not record.fulfilled:
        return False
    return all(
        item.status == "closed"
        for item in state.rectification.items.values()
        if item.decision_no == record.decision_no
    )


_STATUS_CHANGES = [0]
"""Counts every status change (any thread): a fold recomputes the standing, which reads
every record, only when a status changed while it ran, so an event's cost does not grow with
the number of records (a change in another thread only causes an extra recomputation)."""


def _set_status(record: CreditRecord, status: str, env: Envelope) -> None:
    _STATUS_CHANGES[0] += 1
    record.status = status  # type: ignore[assignment]
    record.history.append(StatusChange(at=env.occurred_at, status=status, by=env.department, seq=env.seq))


def _standing(credit: CreditView) -> str:
    order = {"minor": 1, "ordinary": 2, "serious": 3}
    worst = 0
    for record in credit.records.values():
        if record.status == "publicized":
            worst = max(worst, order.get(record.publicity_class, 0))
    return {0: "good", 1: "publicized-minor", 2: "publicized-ordinary", 3: "publicized-serious"}[worst]


_RANK = {"good": 0, "publicized-minor": 1, "publicized-ordinary": 2, "publicized-serious": 3}
_CLASS_RANK = {"minor": 1, "ordinary": 2, "serious": 3}


def _restanding(credit: CreditView, ev: object, env: Envelope, changes: int) -> str:
    """The standing after this event changed a status: from the one change of the record the
    event names when that decides it (a record entering publicity raises the standing to at
    least its class; one leaving it below the worst class changes nothing), else recomputed
    over every record."""
    record = credit.records.get(str(getattr(ev, "decision_no", "") or "")) if changes == 1 else None
    if record is None or not record.history or record.history[-1].seq != env.seq:
        return _standing(credit)
    old = record.history[-2].status if len(record.history) > 1 else None
    current = _RANK.get(credit.standing, 0)
    rank = _CLASS_RANK.get(record.publicity_class, 0)
    if record.status == "publicized":
        return credit.standing if rank <= current else _standing(credit)
    if old != "publicized" or rank < current:
        return credit.standing
    return _standing(credit)


def fold_enterprise(state: EnterpriseState, env: Envelope, rules: Rules) -> list[Tally]:
    """Apply one event of the enterprise's stream; return the supervision tallies it causes.

    The write path guarantees that references exist. A replay "as of" a past time may still
    leave out an event that a later-kept one refers to (a department may date an act
    earlier than the one it answers); such an event is kept in the history and ignored by
    the views rather than failing the replay."""
    try:
        return _fold(state, env, rules)
    except KeyError:
        state.credit.standing = _standing(state.credit)
        return []


def _fold(state: EnterpriseState, env: Envelope, rules: Rules) -> list[Tally]:
    changes_before = _STATUS_CHANGES[0]
    tallies: list[Tally] = []
    ev = env.event
    credit = state.credit
    rect = state.rectification
    month = month_of(china_day(env.occurred_at))
    state.seq = env.seq
    state.last_hash = env.hash
    if env.legacy_code:
        credit.legacy_code = True
    state.note_submission(env.submission_id)

    if isinstance(ev, PenaltyDecided):
        policy = rules.policies.for_jurisdiction(jurisdiction_of(state.enterprise))
        periods = compute_periods(decision_facts(ev), policy)
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
        )
        credit.records[ev.decision_no] = record
        _set_status(record, "publicized" if periods.publicized else "not_publicized", env)
        tallies.append(Tally(env.department, month_of(ev.decision_date), "penalties"))
    elif isinstance(ev, NoPenaltyDecided):
        record = CreditRecord(
            decision_no=ev.decision_no,
            department=env.department,
            kind="no_penalty",
            decision_date=ev.decision_date,
            submission_id=env.submission_id,
            violation_kind=ev.violation_kind,
            no_penalty_basis=ev.basis,
        )
        credit.records[ev.decision_no] = record
        _set_status(record, "not_publicized", env)
        tallies.append(Tally(env.department, month_of(ev.decision_date), "no_penalties"))
    elif isinstance(ev, CreditRepairNoticeIssued):
        record = credit.records[ev.decision_no]
        record.notice_no = ev.notice_no
        record.notice_with_decision = env.submission_id == record.submission_id
        if record.notice_with_decision:
            tallies.append(Tally(record.department, month_of(record.decision_date), "served_with_notice"))
            if record.advice_with_decision:
                tallies.append(
                    Tally(record.department, month_of(record.decision_date), "served_with_notice_and_advice")
                )
    elif isinstance(ev, ComplianceAdviceIssued):
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
            )
            tallies.append(Tally(advised.lead_department, month, "rectification_found"))
    elif isinstance(ev, PenaltyFulfilled):
        record = credit.records[ev.decision_no]
        record.fulfilled = True
        record.fulfilled_on = ev.fulfilled_on
    elif isinstance(ev, RectificationEvidenceSubmitted):
        item = rect.items[f"{ev.advice_no}/{ev.item_id}"]
        item.evidence.append(Evidence(at=env.occurred_at, by=env.department, text=ev.evidence, documents=ev.documents))
        # new evidence re-opens the verdicts of those who rejected
        item.verdicts = {d: v for d, v in item.verdicts.items() if v.verdict == "verified"}
        item.status = "evidence_submitted"
    elif isinstance(ev, RectificationVerified):
        item = rect.items[f"{ev.advice_no}/{ev.item_id}"]
        item.verdicts[env.department] = Verdict(verdict="verified", at=env.occurred_at, reason=ev.note)
        if all(o in item.verdicts and item.verdicts[o].verdict == "verified" for o in item.owners):
            item.status = "closed"
            item.closed_at = env.occurred_at
            tallies.append(Tally(item.lead_department, month, "rectification_closed"))
    elif isinstance(ev, RectificationRejected):
        item = rect.items[f"{ev.advice_no}/{ev.item_id}"]
        item.verdicts[env.department] = Verdict(verdict="rejected", at=env.occurred_at, reason=ev.reason)
        item.status = "rejected"
    elif isinstance(ev, RectificationOverdue):
        item = rect.items[f"{ev.advice_no}/{ev.item_id}"]
        item.overdue_marked = True
        tallies.append(Tally(item.lead_department, month, "rectification_overdue"))
    elif isinstance(ev, RepairApplied):
        record = credit.records[ev.decision_no]
        policy = rules.policies.for_jurisdiction(jurisdiction_of(state.enterprise))
        deadline = rules.calendar.add_working_days(china_day(env.occurred_at), policy.repair_decision_days(record.rule_set))
        record.applications.append(
            RepairApplication(
                seq=env.seq,
                applied_on=ev.applied_on,
                received_at=env.occurred_at,
                applied_via=env.department,
                credit_commitment=ev.credit_commitment,
                decision_deadline=deadline.date,
                decision_deadline_estimated=deadline.estimated,
            )
        )
    elif isinstance(ev, (RepairGranted, RepairRefused)):
        record = credit.records[ev.decision_no]
        app = next((a for a in reversed(record.applications) if a.outcome == "pending"), None)
        if app is not None:
            app.outcome = "granted" if isinstance(ev, RepairGranted) else "refused"
            app.decided_at = env.occurred_at
            app.reason = ev.reason if isinstance(ev, RepairRefused) else ev.note
            tallies.append(Tally(env.department, month, "repairs_decided"))
            if app.decision_deadline is not None and china_day(env.occurred_at) <= app.decision_deadline:
                tallies.append(Tally(env.department, month, "repairs_decided_within_deadline"))
        if isinstance(ev, RepairGranted):
            tallies.append(Tally(env.department, month, "repairs_granted"))
            record.repaired_on = env.occurred_at
            credit.repairs_granted_on.append(china_day(env.occurred_at))
            _set_status(record, "repaired", env)
        else:
            tallies.append(Tally(env.department, month, "repairs_refused"))
    elif isinstance(ev, RepairRevoked):
        record = credit.records[ev.decision_no]
        record.repairs_revoked += 1
        record.repaired_on = None
        _set_status(record, "publicized", env)
    elif isinstance(ev, DecisionWithdrawn):
        _set_status(credit.records[ev.decision_no], "withdrawn", env)
    elif isinstance(ev, RepairEligibilityReached):
        credit.records[ev.decision_no].eligibility_reached = True
    elif isinstance(ev, PublicityExpired):
        _set_status(credit.records[ev.decision_no], "expired", env)
    elif isinstance(ev, PropagationScheduled):
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
    elif isinstance(ev, DeliveryAcknowledged):
        delivery = state.sync.deliveries[f"{ev.source_event_id}/{env.department}"]
        delivery.status = "acknowledged"
        delivery.acknowledged_at = env.recorded_at
        delivery.latency_seconds = (env.recorded_at - delivery.delivered_at).total_seconds()
        tallies.append(Tally(env.department, month, "syncs_acknowledged"))
        tallies.append(Tally(env.department, month, "sync_ack_seconds_total", delivery.latency_seconds))
        if china_day(env.recorded_at) <= delivery.deadline:
            tallies.append(Tally(env.department, month, "syncs_acknowledged_within_deadline"))
    elif isinstance(ev, SyncOverdue):
        delivery = state.sync.deliveries[f"{ev.source_event_id}/{ev.subscriber}"]
        delivery.overdue_marked = True
        tallies.append(Tally(ev.subscriber, month, "syncs_overdue"))
    if _STATUS_CHANGES[0] != changes_before:
        credit.standing = _restanding(credit, ev, env, _STATUS_CHANGES[0] - changes_before)
    return tallies


# --------------------------------------------------------------------------- registry


def fold_registry(state: RegistryState, env: Envelope) -> RegistryState:
    ev = env.event
    state.seq = env.seq
    state.last_hash = env.hash
    if isinstance(ev, DepartmentRegistered):
        kind = "ledger" if ev.department_id == "ledger" else ev.kind
        state.departments[ev.department_id] = DepartmentInfo(
            department_id=ev.department_id,
            name=ev.name,
            kind=kind,
            domain=ev.domain,
            jurisdiction=ev.jurisdiction,
            public_key=ev.public_key,
            registered_at=env.occurred_at,
        )
    elif isinstance(ev, SubscriptionAdded):
        state.subscriptions[env.department] = Subscription(
            subscriber=env.department, jurisdictions=list(ev.jurisdictions), domains=list(ev.domains)
        )
    elif isinstance(ev, SubscriptionRemoved):
        state.subscriptions.pop(env.department, None)
    return state


def first_violation(state: EnterpriseState, violation_kind: str) -> bool:
    """首违: no earlier decision of this kind on the enterprise, by any department."""
    return not any(r.violation_kind == violation_kind for r in state.credit.records.values())
