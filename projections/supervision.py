"""The folds of supervision (执法监督) and inspection (涉企检查) facts, and the figures the
seeds report, computed from the supervision counters.

- A department's own stream (``dept:<id>``) holds its case reviews (案卷评查), the findings
  raised against it and their rectification (the loop of :mod:`tongxiu.projections.loop`), and the
  complaints about it with their working-day deadlines.
- An enterprise's stream holds its inspections; the fold counts them per calendar year across
  every department (a joint inspection once) and flags one above the local limit.
"""

from __future__ import annotations

from typing import Any

from tongxiu.events.envelope import Envelope
from tongxiu.events.models import (
    DEPARTMENT_STREAM_PREFIX,
    CaseFileReviewed,
    ComplaintAssigned,
    ComplaintOverdue,
    ComplaintReceived,
    ComplaintResolved,
    FindingOverdue,
    FindingRectificationSubmitted,
    FindingRejected,
    FindingVerified,
    InspectionEnded,
    InspectionRated,
    InspectionStarted,
    SupervisionFindingRaised,
)
from tongxiu.projections.fold import Rules, Tally, jurisdiction_of, month_of, receipt_day
from tongxiu.projections.loop import give_verdict, mark_overdue, submit_evidence
from tongxiu.projections.views import (
    CaseReview,
    Complaint,
    EnterpriseState,
    Finding,
    InspectionRecord,
    OversightView,
    SupervisionCounters,
)
from tongxiu.projections.workdays import china_day


def department_of(stream: str) -> str:
    return stream[len(DEPARTMENT_STREAM_PREFIX):]


def oversight_of(state: EnterpriseState) -> OversightView:
    if state.oversight is None:
        state.oversight = OversightView(department=department_of(state.enterprise))
    return state.oversight


def inspections_in_year(state: EnterpriseState, year: int) -> int:
    return sum(1 for r in state.inspections.values() if china_day(r.started_at).year == year)


def fold_oversight(state: EnterpriseState, env: Envelope, rules: Rules) -> list[Tally]:
    ev = env.event
    month = month_of(china_day(env.occurred_at))
    if isinstance(ev, (InspectionStarted, InspectionEnded, InspectionRated)):
        return _fold_inspection(state, env, ev, rules, month)
    view = oversight_of(state)
    dept = view.department
    out: list[Tally] = []
    if isinstance(ev, CaseFileReviewed):
        view.reviews[ev.review_id] = CaseReview(
            review_id=ev.review_id, case_ref=ev.case_ref, campaign=ev.campaign, reviewer=env.department,
            reviewed_at=env.occurred_at, problems_found=ev.problems_found,
        )
        out.append(Tally(dept, month, "case_files_reviewed"))
    elif isinstance(ev, SupervisionFindingRaised):
        view.findings[ev.finding_id] = Finding(
            advice_no=ev.review_id or ev.complaint_id or ev.source,
            item_id=ev.finding_id,
            decision_no=view.reviews[ev.review_id].case_ref if ev.review_id else "",
            issued_by=env.department,
            issued_at=env.occurred_at,
            requirement=ev.description,
            deadline=ev.deadline,
            lead_department=env.department,
            binding=True,
            department=dept,
            source=ev.source,
            category=ev.category,
            review_id=ev.review_id,
            complaint_id=ev.complaint_id,
            inspection_ref=ev.inspection_ref,
        )
        out += [Tally(dept, month, "findings_raised"), Tally(dept, month, f"findings_{ev.source}")]
    elif isinstance(ev, FindingRectificationSubmitted):
        finding = view.findings[ev.finding_id]
        submit_evidence(finding, env.occurred_at, env.department, ev.evidence, ev.documents)
    elif isinstance(ev, FindingVerified):
        if give_verdict(view.findings[ev.finding_id], env.occurred_at, env.department, True, ev.note):
            out.append(Tally(dept, month, "findings_rectified"))
    elif isinstance(ev, FindingRejected):
        give_verdict(view.findings[ev.finding_id], env.occurred_at, env.department, False, ev.reason)
        out.append(Tally(dept, month, "findings_rejected"))
    elif isinstance(ev, FindingOverdue):
        mark_overdue(view.findings[ev.finding_id])
        out.append(Tally(dept, month, "findings_overdue"))
    elif isinstance(ev, ComplaintReceived):
        received = receipt_day(env)
        info_area = jurisdiction_of(state.enterprise)  # department streams have no area: the default
        policy = rules.policy(info_area)
        due = rules.calendar.add_working_days(received, policy.complaint_reply_working_days)
        view.complaints[ev.complaint_id] = Complaint(
            complaint_id=ev.complaint_id, channel=ev.channel, category=ev.category, summary=ev.summary,
            about_ref=ev.about_ref, received_by=env.department, received_at=env.recorded_at,
            deadline=due.date, deadline_estimated=due.estimated,
        )
        out.append(Tally(dept, month, "complaints_received"))
    elif isinstance(ev, ComplaintAssigned):
        complaint = view.complaints[ev.complaint_id]
        complaint.status = "assigned"
        complaint.assigned_at = env.occurred_at
    elif isinstance(ev, ComplaintResolved):
        complaint = view.complaints[ev.complaint_id]
        complaint.status = "resolved"
        complaint.resolved_at = env.recorded_at
        complaint.resolved_by = env.department
        complaint.outcome = ev.outcome
        complaint.reply = ev.reply
        complaint.resolved_within_deadline = receipt_day(env) <= complaint.deadline
        out.append(Tally(dept, month, "complaints_resolved"))
        if complaint.resolved_within_deadline:
            out.append(Tally(dept, month, "complaints_resolved_within_deadline"))
    elif isinstance(ev, ComplaintOverdue):
        view.complaints[ev.complaint_id].overdue_marked = True
        out.append(Tally(dept, month, "complaints_overdue"))
    return out


def _fold_inspection(
    state: EnterpriseState, env: Envelope, ev: InspectionStarted | InspectionEnded | InspectionRated,
    rules: Rules, month: str,
) -> list[Tally]:
    out: list[Tally] = []
    if isinstance(ev, InspectionStarted):
        day = china_day(env.occurred_at)
        first_this_month = not any(month_of(china_day(r.started_at)) == month for r in state.inspections.values())
        count = inspections_in_year(state, day.year) + 1
        limit = rules.policy(jurisdiction_of(state.enterprise)).max_inspections_per_enterprise_per_year
        record = InspectionRecord(
            inspection_id=ev.inspection_id, departments=list(ev.departments), officers=list(ev.officers),
            code=ev.code, code_shown=ev.code_shown, plan_ref=ev.plan_ref, joint=ev.joint, mode=ev.mode,
            items=list(ev.items), started_at=env.occurred_at, started_by=env.department,
            year_count=count, limit=limit, over_limit=limit is not None and count > limit,
        )
        state.inspections[ev.inspection_id] = record
        lead = env.department
        out.append(Tally(lead, month, "inspections"))
        if ev.code_shown:
            out.append(Tally(lead, month, "inspections_code_shown"))
        if ev.joint:
            out.append(Tally(lead, month, "inspections_joint"))
        if ev.plan_ref:
            out.append(Tally(lead, month, "inspections_planned"))
        if record.over_limit:
            out.append(Tally(lead, month, "inspections_over_limit"))
        if first_this_month:
            out.append(Tally(lead, month, "enterprise_months_inspected"))
    elif isinstance(ev, InspectionEnded):
        record = state.inspections[ev.inspection_id]
        record.ended_at = env.occurred_at
        record.outcome = ev.outcome
    else:
        record = state.inspections[ev.inspection_id]
        record.score = ev.score
        record.rated_via = env.department
        out += [Tally(record.started_by, month, "inspections_rated"),
                Tally(record.started_by, month, "inspection_score_total", ev.score)]
    return out


# --------------------------------------------------------------------------- figures


def _rate(part: float, whole: float, digits: int = 4) -> float | None:
    return round(part / whole, digits) if whole else None


def supervision_figures(
    total: SupervisionCounters, by_month: dict[str, SupervisionCounters] | None = None
) -> dict[str, Any]:
    """The seeds' kind of numbers (案卷评查 / 整改率, 亮码率, 检查频次, 免罚, 修复) from the
    counters summed over departments for a period."""
    c = total
    out: dict[str, Any] = {
        "case_review": {
            "files_reviewed": c.case_files_reviewed,
            "findings": c.findings_raised,
            "rectified": c.findings_rectified,
            "open": c.findings_raised - c.findings_rectified,
            "rejected_answers": c.findings_rejected,
            "overdue": c.findings_overdue,
            "rectification_rate": _rate(c.findings_rectified, c.findings_raised),
            "findings_by_source": {
                s: getattr(c, f"findings_{s}")
                for s in ("case_review", "escorted", "station", "self_check", "cross_check", "complaint")
            },
        },
        "inspections": {
            "inspections": c.inspections,
            "code_shown": c.inspections_code_shown,
            "code_shown_rate": _rate(c.inspections_code_shown, c.inspections),
            "joint": c.inspections_joint,
            "joint_rate": _rate(c.inspections_joint, c.inspections),
            "planned": c.inspections_planned,
            "over_limit": c.inspections_over_limit,
            "enterprise_months": c.enterprise_months_inspected,
            "per_enterprise_per_month": _rate(c.inspections, c.enterprise_months_inspected, 2),
            "rated": c.inspections_rated,
            "mean_score": _rate(c.inspection_score_total, c.inspections_rated, 2),
        },
        "complaints": {
            "received": c.complaints_received,
            "resolved": c.complaints_resolved,
            "resolved_within_deadline": c.complaints_resolved_within_deadline,
            "overdue": c.complaints_overdue,
            "closure_rate": _rate(c.complaints_resolved, c.complaints_received),
        },
        "no_penalty": {
            "total": c.no_penalties,
            "first_violation": c.no_penalties_first_violation,
            "minor": c.no_penalties_minor,
            "no_fault": c.no_penalties_no_fault,
            "waived_fine_yuan": round(c.waived_fine_yuan, 2),
        },
        "repairs": {"granted": c.repairs_granted, "refused": c.repairs_refused},
    }
    if by_month is not None:
        out["by_month"] = {
            m: {
                "repairs_granted": v.repairs_granted,
                "inspections": v.inspections,
                "inspections_code_shown": v.inspections_code_shown,
                "enterprise_months_inspected": v.enterprise_months_inspected,
                "findings_raised": v.findings_raised,
                "findings_rectified": v.findings_rectified,
                "no_penalties_first_violation": v.no_penalties_first_violation,
                "no_penalties_minor": v.no_penalties_minor,
                "waived_fine_yuan": round(v.waived_fine_yuan, 2),
            }
            for m, v in sorted(by_month.items())
        }
    return out


def inspection_frequency(state: EnterpriseState, year: int) -> dict[str, Any]:
    """How often the enterprise was inspected in ``year``, across departments (无事不扰)."""
    records = [r for r in state.inspections.values() if china_day(r.started_at).year == year]
    by_department: dict[str, int] = {}
    for r in records:
        for d in r.departments:
            by_department[d] = by_department.get(d, 0) + 1
    limit = records[-1].limit if records else None
    return {
        "enterprise": state.enterprise,
        "year": year,
        "inspections": len(records),
        "joint": sum(1 for r in records if r.joint),
        "by_department": dict(sorted(by_department.items())),
        "limit": limit,
        "over_limit": [r.inspection_id for r in records if r.over_limit],
    }


