"""The folds: ``(state, event) -> state`` for an enterprise (credit, rectification, sync) and
for the registry, plus the supervision tallies each event produces.

A fold reads nothing but its arguments, so replaying the same log gives the same state,
whether incrementally, from a rebuild, or as of a past time. For speed a fold may reuse the
state object it is given; callers that need the old state keep a ``model_copy(deep=True)``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from events.envelope import Envelope
from events.models import (
    DEPARTMENT_TYPES,
    EVENT_TYPES,
    INSPECTION_TYPES,
    LEDGER_DEPARTMENT,
    REGISTRY_TYPES,
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
    SupervisorDesignated,
    SyncOverdue,
)
from projections.loop import give_verdict, mark_overdue, submit_evidence
from projections.rules import (
    DecisionFacts,
    Periods,
    PolicyBook,
    RuleSet,
    compute_periods,
    procedural_rule_set,
)
from projections.views import (
    CreditListEntry,
    CreditRecord,
    CreditView,
    Delivery,
    DepartmentInfo,
    EnterpriseState,
    RectificationItem,
    RegistryState,
    RepairApplication,
    StatusChange,
    Subscription,
)
from projections.workdays import CHINA, WorkCalendar, china_day

__all__ = ["CHINA", "china_day"]

#: How far ahead of the ledger's clock a submitter's ``occurred_at`` may be (clock drift
#: between a department's machine and the ledger); later is ``occurred_in_future``.
CLOCK_SKEW = timedelta(minutes=5)

#: A fact recorded more than this many days after the day it says it happened is marked late
#: (and counted per department as ``facts_recorded_late``), unless it came by the backfill path.
LATE_AFTER_DAYS = 7

#: Submissions on the explicit backfill path carry ids with this prefix (and need a
#: ``backfill_authorized`` registry fact for their department).
BACKFILL_PREFIX = "backfill:"


def is_backfill(env: Envelope) -> bool:
    return env.submission_id.startswith(BACKFILL_PREFIX)


def receipt_day(env: Envelope) -> date:
    """The day a rule about receipt runs from: when the ledger recorded the fact, except for
    imported history (the backfill path), which is judged by its declared date."""
    return china_day(env.occurred_at if is_backfill(env) else env.recorded_at)


def is_late(env: Envelope) -> bool:
    """Recorded long after it says it happened: a department's fact, not the ledger's own
    (whose propagation facts carry the occurred-at of what they propagate)."""
    return env.department != LEDGER_DEPARTMENT and not is_backfill(env) and (china_day(env.recorded_at) - china_day(env.occurred_at)).days > LATE_AFTER_DAYS


OVERSIGHT_FOLDED = DEPARTMENT_TYPES | INSPECTION_TYPES
"""Folded by :mod:`projections.supervision` (department streams and inspections)."""


def no_penalty_tallies(department: str, month: str, ev: NoPenaltyDecided) -> list[Tally]:
    """不予处罚 split by basis (首违不罚 / 轻微不罚 / 无主观过错), with the fine waived."""
    counter = {"first_violation": "no_penalties_first_violation", "minor_and_corrected": "no_penalties_minor",
               "no_fault": "no_penalties_no_fault"}[ev.basis]
    out = [Tally(department, month, counter)]
    if ev.waived_fine_yuan:
        out.append(Tally(department, month, "waived_fine_yuan", float(ev.waived_fine_yuan)))
    return out


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


def month_of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def decision_facts(event: PenaltyDecided, policies: PolicyBook | None = None) -> DecisionFacts:
    """The facts the period rules need; the class standard is looked up by the reference the
    decision carries (the write path checked it is the one in force)."""
    standard = None
    if event.class_basis is not None and policies is not None:
        standard = policies.standard(event.class_basis.standard_ref)
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
        publication_date=event.publicized_on,
        restriction_until=event.restriction_until,
        class_standard=standard,
    )


def periods_for(rules: Rules, enterprise: str, event: PenaltyDecided) -> Periods:
    """The one glue from a decision on an enterprise to its periods (local policy + standard)."""
    policy = rules.policies.for_jurisdiction(jurisdiction_of(enterprise))
    return compute_periods(decision_facts(event, rules.policies), policy)


def jurisdiction_of(enterprise: str) -> str:
    return enterprise[2:8] if len(enterprise) == 18 else ""


# --------------------------------------------------------------------------- enterprise


def obligations_performed(state: EnterpriseState, record: CreditRecord) -> bool:
    """Fine paid (when there is one) and every *binding* correction of its advice closed.
    Advisory items (合规建议) are guidance: they do not gate repair or the end of publicity."""
    if record.needs_payment and not record.fulfilled:
        return False
    return not open_binding_items(state, record)


def open_binding_items(state: EnterpriseState, record: CreditRecord) -> list[str]:
    return [
        item.item_id
        for item in state.rectification.items.values()
        if item.decision_no == record.decision_no and item.binding and item.status != "closed"
    ]


PRIOR_NAMED = 5
"""A record names at most this many earlier same-kind decisions (the earliest ones) and counts
them all: naming every one would make each record grow with the enterprise's history."""


def prior_of_kind(state: EnterpriseState, violation_kind: str | None, *, exclude: str | None = None) -> list[CreditRecord]:
    """Every decision of ``violation_kind`` on the enterprise, by any department (withdrawn
    decisions do not count: they no longer stand)."""
    if not violation_kind:
        return []
    return [
        r
        for r in state.credit.records.values()
        if r.violation_kind == violation_kind and r.decision_no != exclude and r.status != "withdrawn"
    ]


def _pending(record: CreditRecord) -> RepairApplication | None:
    return next((a for a in reversed(record.applications) if a.outcome == "pending"), None)


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


def _fold(state: EnterpriseState, env: Envelope, rules: Rules) -> list[Tally]:
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
    from projections.supervision import fold_oversight

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
    prior = prior_of_kind(state, ev.violation_kind)
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
        prior_of_kind=[r.decision_no for r in prior[:PRIOR_NAMED]],
        prior_of_kind_count=len(prior),
        recorded_late=late,
        imported=is_backfill(env),
    )
    credit.records[ev.decision_no] = record
    _set_status(record, "publicized" if periods.publicized else "not_publicized", env)
    tallies.append(Tally(env.department, month_of(ev.decision_date), "penalties"))


@_folds(NoPenaltyDecided)
def _on_no_penalty_decided(f: FoldStep, ev: NoPenaltyDecided) -> None:
    state = f.state
    env = f.env
    late = f.late
    tallies = f.tallies
    credit = f.state.credit
    prior = prior_of_kind(state, ev.violation_kind)
    record = CreditRecord(
        decision_no=ev.decision_no,
        department=env.department,
        kind="no_penalty",
        decision_date=ev.decision_date,
        submission_id=env.submission_id,
        violation_kind=ev.violation_kind,
        no_penalty_basis=ev.basis,
        first_of_kind=not prior,
        prior_of_kind=[r.decision_no for r in prior[:PRIOR_NAMED]],
        prior_of_kind_count=len(prior),
        recorded_late=late,
        imported=is_backfill(env),
    )
    credit.records[ev.decision_no] = record
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


# --------------------------------------------------------------------------- registry


RegistryHandler = Callable[[RegistryState, Envelope, Any], None]

REGISTRY_FOLDS: dict[type[Fact], RegistryHandler] = {}
"""Event type -> the handler that folds it into the registry."""

REGISTRY_IGNORED: dict[type[Fact], str] = {
    cls: "not a registry event: never on the registry stream (the ledger rejects it there)"
    for name, cls in EVENT_TYPES.items()
    if name not in REGISTRY_TYPES
}
"""Event types the registry fold leaves alone, each with the reason."""


def _registers(t: type[Fact]) -> Callable[[RegistryHandler], RegistryHandler]:
    def register(fn: RegistryHandler) -> RegistryHandler:
        REGISTRY_FOLDS[t] = fn
        return fn

    return register


def fold_registry(state: RegistryState, env: Envelope) -> RegistryState:
    state.seq = env.seq
    state.last_hash = env.hash
    handler = REGISTRY_FOLDS.get(type(env.event))
    if handler is not None:
        handler(state, env, env.event)
    return state


@_registers(DepartmentRegistered)
def _on_department_registered(state: RegistryState, env: Envelope, ev: DepartmentRegistered) -> None:
    kind = "ledger" if ev.department_id == LEDGER_DEPARTMENT else ev.kind
    state.departments[ev.department_id] = DepartmentInfo(
        department_id=ev.department_id,
        name=ev.name,
        kind=kind,
        domain=ev.domain,
        jurisdiction=ev.jurisdiction,
        public_key=ev.public_key,
        registered_at=env.occurred_at,
    )


@_registers(SubscriptionAdded)
def _on_subscription_added(state: RegistryState, env: Envelope, ev: SubscriptionAdded) -> None:
    state.subscriptions[env.department] = Subscription(
        subscriber=env.department, jurisdictions=list(ev.jurisdictions), domains=list(ev.domains)
    )


@_registers(SubscriptionRemoved)
def _on_subscription_removed(state: RegistryState, env: Envelope, ev: SubscriptionRemoved) -> None:
    state.subscriptions.pop(env.department, None)


@_registers(LegacyCodeRegistered)
def _on_legacy_code_registered(state: RegistryState, env: Envelope, ev: LegacyCodeRegistered) -> None:
    state.legacy_codes[ev.code] = ev.source


@_registers(BackfillAuthorized)
def _on_backfill_authorized(state: RegistryState, env: Envelope, ev: BackfillAuthorized) -> None:
    state.backfills[ev.department_id] = ev.until


@_registers(SupervisorDesignated)
def _on_supervisor_designated(state: RegistryState, env: Envelope, ev: SupervisorDesignated) -> None:
    state.supervisors[ev.department_id] = ev.jurisdiction


def first_violation(state: EnterpriseState, violation_kind: str) -> bool:
    """首违: no earlier decision of this kind on the enterprise, by any department."""
    return not prior_of_kind(state, violation_kind)


def first_violation_answer(state: EnterpriseState, violation_kind: str) -> dict[str, object]:
    """The ledger's answer to "is this the first violation of this kind?", from every
    department's records on the enterprise, naming the prior ones."""
    prior = prior_of_kind(state, violation_kind)
    return {
        "enterprise": state.enterprise,
        "violation_kind": violation_kind,
        "first_violation": not prior,
        "prior": [
            {"decision_no": r.decision_no, "department": r.department, "decision_date": r.decision_date.isoformat(),
             "kind": r.kind}
            for r in prior
        ],
    }
