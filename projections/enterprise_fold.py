"""The enterprise fold as a table (:data:`ENTERPRISE_FOLDS`, defined with its step in
:mod:`tongxiu.projections.fold_step`): this module holds :func:`fold_step` and the handlers
for decisions, advice, notices, rectification, lists and withdrawal; the repair and
synchronisation handlers are in :mod:`tongxiu.projections.repair_fold`. Called by
:func:`tongxiu.projections.fold.fold_enterprise`; the helpers shared with the write path live
in :mod:`tongxiu.projections.fold`.
"""

from __future__ import annotations

from typing import Any

from tongxiu.events.construct import made
from tongxiu.events.envelope import Envelope
from tongxiu.events.models import (
    EVENT_TYPES,
    REGISTRY_TYPES,
    ComplianceAdviceIssued,
    CreditListIncluded,
    CreditListRemoved,
    CreditRepairNoticeIssued,
    DecisionWithdrawn,
    Fact,
    NoPenaltyDecided,
    PenaltyDecided,
    PenaltyFulfilled,
    RectificationEvidenceSubmitted,
    RectificationOverdue,
    RectificationRejected,
    RectificationVerified,
)
from tongxiu.projections import repair_fold  # noqa: F401 - registers the repair and sync handlers
from tongxiu.projections.fold import (
    _STATUS_CHANGES,
    BACKFILL_PREFIX,
    OVERSIGHT_FOLDED,
    PRIOR_NAMED,
    Rules,
    Tally,
    _restanding,
    _set_status,
    is_backfill,
    month_of,
    no_penalty_tallies,
    periods_for,
    receipt_day,
)
from tongxiu.projections.fold_step import ENTERPRISE_FOLDS, ENTERPRISE_IGNORED, FoldStep, folds
from tongxiu.projections.loop import give_verdict, mark_overdue, submit_evidence
from tongxiu.projections.views import CreditListEntry, CreditRecord, EnterpriseState, RectificationItem
from tongxiu.projections.workdays import china_day

__all__ = ["ENTERPRISE_FOLDS", "ENTERPRISE_IGNORED", "FoldStep", "fold_step"]


def fold_step(state: EnterpriseState, env: Envelope, rules: Rules, tally: bool = True) -> list[Tally]:
    """One event into the enterprise state (``fold_enterprise`` adds the as-of tolerance);
    ``tally=False``: no supervision tallies are made (an empty list is returned)."""
    changes_before = _STATUS_CHANGES[0]
    ev = env.event
    credit = state.credit
    # what pydantic's assignment does for these unvalidated fields, without its dispatch
    fields = state.__dict__
    fields["seq"] = env.seq
    fields["last_hash"] = env.hash
    fields_set = state.__pydantic_fields_set__
    if "last_hash" not in fields_set or "seq" not in fields_set:
        fields_set.update(("seq", "last_hash"))
    if env.legacy_code:
        credit.legacy_code = True
    submission_id = env.submission_id
    state.note_submission(submission_id)
    if tally:
        step = FoldStep(state, env, rules, month_of(china_day(env.occurred_at)), [], True)
        if step.late:  # fold.is_late, worked out once for the step
            step.count("facts_recorded_late")
        if submission_id.startswith(BACKFILL_PREFIX):  # is_backfill(env)
            step.count("facts_backfilled")
    else:  # no tally: the month is not needed, and whether it is late only for a decision (FoldStep.late)
        step = FoldStep(state, env, rules, "", [], False)
    handler = ENTERPRISE_FOLDS.get(type(ev))
    if handler is not None:
        handler(step, ev)
    if _STATUS_CHANGES[0] != changes_before:
        credit.standing = _restanding(credit, ev, env, _STATUS_CHANGES[0] - changes_before)
    return step.tallies if tally else []


def _on_oversight(f: FoldStep, ev: Fact) -> None:
    from tongxiu.projections.supervision import fold_oversight

    f.tallies.extend(fold_oversight(f.state, f.env, f.rules))


for _t in OVERSIGHT_FOLDED:
    folds(EVENT_TYPES[_t])(_on_oversight)


# --------------------------------------------------------------------------- decisions


def _decided(f: FoldStep, ev: PenaltyDecided | NoPenaltyDecided, status: str, counter: str, **fields: Any) -> None:
    """Record a decision (penalty or not): what both kinds note, the standing decisions of the
    same violation kind before it (首违), its first status and the decider's tally."""
    env = f.env
    prior = f.state.standing_of_kind(ev.violation_kind) if ev.violation_kind else []
    record = made(  # the event's validated values and the ledger's own: no validation again
        CreditRecord,
        decision_no=ev.decision_no,
        department=env.department,
        decision_date=ev.decision_date,
        submission_id=env.submission_id,
        violation_kind=ev.violation_kind,
        first_of_kind=(not prior) if ev.violation_kind or isinstance(ev, NoPenaltyDecided) else None,
        prior_of_kind=prior[:PRIOR_NAMED],
        prior_of_kind_count=len(prior),
        recorded_late=f.late,
        imported=is_backfill(env),
        **fields,
    )
    f.credit.records[ev.decision_no] = record
    f.state.note_record(record)
    _set_status(record, status, env)
    f.count(counter, month=month_of(ev.decision_date))


@folds(PenaltyDecided)
def _on_penalty_decided(f: FoldStep, ev: PenaltyDecided) -> None:
    periods = periods_for(f.rules, f.state.enterprise, ev)
    explanation, gap_phrases = periods.explanation, periods.gap_phrases  # basis_in(lang), gaps_in(lang)
    _decided(
        f, ev, "publicized" if periods.publicized else "not_publicized", "penalties",
        kind="penalty",
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
        basis=explanation.text("zh"),
        basis_en=explanation.text("en"),
        recorded_class=str(periods.recorded_class),
        class_basis=(
            f"{ev.class_basis.standard_ref}，金额 {ev.class_basis.amount_yuan} 元"
            if ev.class_basis is not None
            else "按处罚种类（账本无该领域的行业分类标准）"
        ),
        gaps=[g.text("zh") for g in gap_phrases] if gap_phrases else [],
        gaps_en=[g.text("en") for g in gap_phrases] if gap_phrases else [],
        not_repairable_rule=periods.not_repairable_rule,
        publicized_on=ev.publicized_on,
    )


@folds(NoPenaltyDecided)
def _on_no_penalty_decided(f: FoldStep, ev: NoPenaltyDecided) -> None:
    _decided(f, ev, "not_publicized", "no_penalties", kind="no_penalty", no_penalty_basis=ev.basis)
    f.tallies.extend(no_penalty_tallies(f.env.department, month_of(ev.decision_date), ev))


@folds(CreditRepairNoticeIssued)
def _on_credit_repair_notice_issued(f: FoldStep, ev: CreditRepairNoticeIssued) -> None:
    record = f.record(ev.decision_no)
    record.notice_no = ev.notice_no
    record.notice_with_decision = f.env.submission_id == record.submission_id
    if record.notice_with_decision:
        f.count_for_decision(record, "served_with_notice")
        if record.advice_with_decision:
            f.count_for_decision(record, "served_with_notice_and_advice")


@folds(ComplianceAdviceIssued)
def _on_compliance_advice_issued(f: FoldStep, ev: ComplianceAdviceIssued) -> None:
    env = f.env
    record = f.record(ev.decision_no)
    record.advice_no = ev.advice_no
    record.advice_with_decision = env.submission_id == record.submission_id
    if record.advice_with_decision and record.notice_with_decision:
        f.count_for_decision(record, "served_with_notice_and_advice")
    for advised in ev.items:
        f.state.rectification.items[f"{ev.advice_no}/{advised.item_id}"] = made(  # validated values
            RectificationItem,
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
        f.count("rectification_found", department=advised.lead_department)


@folds(PenaltyFulfilled)
def _on_penalty_fulfilled(f: FoldStep, ev: PenaltyFulfilled) -> None:
    record = f.record(ev.decision_no)
    record.fulfilled = True
    record.fulfilled_on = ev.fulfilled_on


# --------------------------------------------------------------------------- rectification


@folds(RectificationEvidenceSubmitted)
def _on_rectification_evidence_submitted(f: FoldStep, ev: RectificationEvidenceSubmitted) -> None:
    submit_evidence(f.item(ev.advice_no, ev.item_id), f.env.occurred_at, f.env.department, ev.evidence, ev.documents)


@folds(RectificationVerified, RectificationRejected)
def _on_rectification_verdict(f: FoldStep, ev: RectificationVerified | RectificationRejected) -> None:
    item = f.item(ev.advice_no, ev.item_id)
    verified = isinstance(ev, RectificationVerified)
    note = ev.note if isinstance(ev, RectificationVerified) else ev.reason
    if give_verdict(item, f.env.occurred_at, f.env.department, verified, note) and verified:
        f.count("rectification_closed", department=item.lead_department)


@folds(RectificationOverdue)
def _on_rectification_overdue(f: FoldStep, ev: RectificationOverdue) -> None:
    item = f.item(ev.advice_no, ev.item_id)
    mark_overdue(item)
    f.count("rectification_overdue", department=item.lead_department)


# --------------------------------------------------------------------------- lists, withdrawal


@folds(CreditListIncluded)
def _on_credit_list_included(f: FoldStep, ev: CreditListIncluded) -> None:
    f.credit.list_entries.append(
        CreditListEntry(list_kind=ev.list_kind, department=f.env.department, decision_no=ev.decision_no,
                        reason=ev.reason, included_on=ev.included_on)
    )
    f.count("list_inclusions")


@folds(CreditListRemoved)
def _on_credit_list_removed(f: FoldStep, ev: CreditListRemoved) -> None:
    for entry in f.credit.on_list(ev.list_kind):
        entry.removed_on = ev.removed_on
        entry.removal_decision_no = ev.decision_no
        entry.removal_reason = ev.reason
    f.count("list_removals")


@folds(DecisionWithdrawn)
def _on_decision_withdrawn(f: FoldStep, ev: DecisionWithdrawn) -> None:
    env = f.env
    records = f.credit.records
    record = records[ev.decision_no]
    _set_status(record, "withdrawn", env)
    f.state.forget_kinds()
    record.withdrawal_ground = ev.ground
    record.withdrawal_ruling_date = ev.ruling_date
    record.replaced_by = ev.replaced_by
    if ev.replaced_by is not None and ev.replaced_by in records:
        records[ev.replaced_by].replaces.append(ev.decision_no)
    f.count("withdrawals")
    if ev.ruling_date is not None:
        due = f.rules.calendar.add_working_days(ev.ruling_date, f.policy().withdrawal_deadline_working_days)
        record.withdrawal_deadline = due.date
        if receipt_day(env) <= due.date:
            f.count("withdrawals_within_deadline")


for _t in REGISTRY_TYPES:
    ENTERPRISE_IGNORED[EVENT_TYPES[_t]] = "a registry event: folded by fold_registry, never on an enterprise stream"
