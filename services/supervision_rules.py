"""The write path's rules for supervision of enforcers (执法监督) and inspections (涉企检查).

Called by :func:`tongxiu.services.decide.check_event` for the supervisor role in the registry, every
fact on a department's own stream (``dept:<id>``) and the inspection facts on an enterprise's
stream. Authority: only a designated supervisor whose area covers the department records case
reviews, findings, verdicts and complaints; only the department itself answers a finding (the
evidence step of the shared loop, :mod:`tongxiu.projections.loop`).
"""

from __future__ import annotations

from tongxiu.events.envelope import Envelope, Reason
from tongxiu.events.models import (
    DEPARTMENT_TYPES,
    LEDGER_DEPARTMENT,
    SUPERVISION_TYPES,
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
    SupervisorDesignated,
    is_department_stream,
)
from tongxiu.projections.fold import Rules, china_day
from tongxiu.projections.supervision import department_of, oversight_of
from tongxiu.projections.views import EnterpriseState, RectificationItem, RegistryState

JUSTICE_DOMAIN = "justice"
"""The domain of a 司法行政 department (司法局 / 司法厅): only such a department may be a supervisor."""

SUPERVISION_REASON_CODES = {
    "not_justice_department": "监督员角色只能由已登记的司法行政部门（领域 justice）担任",
    "not_supervisor": "只有监督区域覆盖该部门的指定监督员可以进行此项操作",
    "not_the_department": "只有被监督发现或投诉所涉及的部门可以答复",
    "finding_inconsistent": "监督发现的来源、引用和期限相互矛盾",
    "complaint_closed": "该投诉已办结",
    "inspection_inconsistent": "检查的部门、联合检查标志或步骤顺序相互矛盾",
    "inspection_closed": "该检查已经结束",
    "rated_by_inspector": "实施检查的部门不能代为记录企业对本次检查的评价",
}
#: The same descriptions in English (an English view of the catalogue).
SUPERVISION_REASON_CODES_EN = {
    "not_justice_department": "the supervisor role is only for a registered 司法行政 department (domain justice)",
    "not_supervisor": "only a designated supervisor whose area covers the department may do this",
    "not_the_department": "only the department the finding or complaint is about may answer it",
    "finding_inconsistent": "the finding's source, reference or deadline contradict each other",
    "complaint_closed": "the complaint is already resolved",
    "inspection_inconsistent": "the inspection's departments, joint flag or order of steps contradict each other",
    "inspection_closed": "the inspection has already ended",
    "rated_by_inspector": "an inspecting department cannot record the enterprise's evaluation of its own inspection",
}


def _r(code: str, field: str | None, message: str, **detail: object) -> Reason:
    return Reason(code=code, field=field, message=message, detail=dict(detail))


def applies(env: Envelope) -> bool:
    t = env.event.type
    return t in SUPERVISION_TYPES or is_department_stream(env.stream)


def check_loop_step(item: RectificationItem, verdict: bool, field: str, label: str) -> list[Reason]:
    """The shared loop's own rules (enterprise items and findings): nothing after closing, no
    verdict before evidence."""
    if item.status == "closed":
        return [_r("item_closed", field, f"{label} {item.item_id} 已于 {item.closed_at} 销账（已关闭）")]
    if verdict and not item.evidence:
        return [_r("no_evidence", field, f"{label} {item.item_id} 尚未提交整改材料，不能核验")]
    return []


def check_supervision_event(
    env: Envelope, index: int, state: EnterpriseState | None, registry: RegistryState, rules: Rules
) -> list[Reason]:
    ev = env.event
    where = f"events[{index}].event"
    dept = env.department
    if isinstance(ev, SupervisorDesignated):
        if dept != LEDGER_DEPARTMENT:
            return [_r("not_authorized", "department", f"只有账本运营方可以指定执法监督机关，{dept} 不能")]
        info = registry.departments.get(ev.department_id)
        if info is None:
            return [_r("unknown_department", f"{where}.department_id", f"{ev.department_id} 未注册")]
        if info.kind != "department" or info.domain != JUSTICE_DOMAIN:
            return [_r("not_justice_department", f"{where}.department_id",
                       f"{ev.department_id} 的领域是 {info.domain}，执法监督角色只能赋予司法行政部门（domain {JUSTICE_DOMAIN}）")]
        return []
    if state is None:
        return []
    if is_department_stream(env.stream):
        if ev.type not in DEPARTMENT_TYPES:
            return [_r("wrong_stream", "stream", f"{ev.type} 属于企业的记录，不能记在部门记录 {env.stream} 上")]
        return _check_department_fact(env, where, state, registry, rules)
    if ev.type in DEPARTMENT_TYPES:
        return [_r("wrong_stream", "stream",
                   f"{ev.type} 记在被监督部门自己的记录（dept:<部门>）上，不是企业 {env.stream}")]
    return _check_inspection(env, where, state, registry)


def _check_department_fact(
    env: Envelope, where: str, state: EnterpriseState, registry: RegistryState, rules: Rules
) -> list[Reason]:
    ev = env.event
    dept = env.department
    supervised = department_of(env.stream)
    info = registry.departments.get(supervised)
    if info is None or info.kind != "department" or supervised == LEDGER_DEPARTMENT:
        return [_r("unknown_department", "stream", f"{env.stream}: {supervised!r} 不是已注册的执法部门")]
    view = oversight_of(state.model_copy()) if state.oversight is None else state.oversight
    is_supervisor = dept != supervised and registry.supervises(dept, supervised)

    def need_supervisor() -> Reason | None:
        if is_supervisor:
            return None
        area = registry.supervisors.get(dept)
        why = (f"{dept} 的监督范围是 {area}，不含 {supervised}（{info.jurisdiction}）" if area and dept != supervised
               else f"{dept} 不是被指定的执法监督机关" if dept != supervised else "部门不能监督自身")
        return _r("not_supervisor", "department", f"只有执法监督机关可以记录 {ev.type}：{why}")

    if dept == LEDGER_DEPARTMENT and isinstance(ev, (FindingOverdue, ComplaintOverdue)):
        pass
    elif isinstance(ev, (CaseFileReviewed, SupervisionFindingRaised, FindingVerified, FindingRejected,
                         ComplaintReceived, ComplaintAssigned)):
        if (denied := need_supervisor()) is not None:
            return [denied]

    if isinstance(ev, CaseFileReviewed):
        if ev.review_id in view.reviews:
            return [_r("duplicate_reference", f"{where}.review_id", f"评查 {ev.review_id} 已记录")]
        return []
    if isinstance(ev, SupervisionFindingRaised):
        if ev.finding_id in view.findings:
            return [_r("duplicate_reference", f"{where}.finding_id", f"问题 {ev.finding_id} 已记录")]
        if ev.source == "case_review" and not ev.review_id:
            return [_r("finding_inconsistent", f"{where}.review_id", "案卷评查发现的问题须写明所依据的评查（review_id）")]
        if ev.source == "complaint" and not ev.complaint_id:
            return [_r("finding_inconsistent", f"{where}.complaint_id", "投诉线索发现的问题须写明投诉（complaint_id）")]
        if ev.review_id and ev.review_id not in view.reviews:
            return [_r("unknown_reference", f"{where}.review_id", f"{supervised} 没有评查 {ev.review_id}")]
        if ev.complaint_id and ev.complaint_id not in view.complaints:
            return [_r("unknown_reference", f"{where}.complaint_id", f"{supervised} 没有投诉 {ev.complaint_id}")]
        raised = china_day(env.occurred_at)  # the day it says the problem was found, not a receipt rule
        if ev.deadline < raised:
            return [_r("finding_inconsistent", f"{where}.deadline",
                       f"整改期限 {ev.deadline} 早于问题记录之日 {raised}")]
        return []
    if isinstance(ev, (FindingRectificationSubmitted, FindingVerified, FindingRejected, FindingOverdue)):
        finding = view.findings.get(ev.finding_id)
        if finding is None:
            return [_r("unknown_reference", f"{where}.finding_id", f"{supervised} 没有问题 {ev.finding_id}")]
        if isinstance(ev, FindingOverdue):
            return []
        if isinstance(ev, FindingRectificationSubmitted) and dept != supervised:
            return [_r("not_the_department", "department",
                       f"问题 {ev.finding_id} 由被监督部门 {supervised} 自己提交整改材料，{dept} 不能代为提交")]
        if isinstance(ev, (FindingVerified, FindingRejected)) and dept not in finding.owners:
            return [_r("not_supervisor", "department",
                       f"问题 {ev.finding_id} 由 {', '.join(finding.owners)} 核验（谁发现、谁核账），{dept} 不能")]
        return check_loop_step(finding, not isinstance(ev, FindingRectificationSubmitted), f"{where}.finding_id", "问题")
    if isinstance(ev, ComplaintReceived):
        if ev.complaint_id in view.complaints:
            return [_r("duplicate_reference", f"{where}.complaint_id", f"投诉 {ev.complaint_id} 已记录")]
        return []
    if isinstance(ev, (ComplaintAssigned, ComplaintResolved, ComplaintOverdue)):
        complaint = view.complaints.get(ev.complaint_id)
        if complaint is None:
            return [_r("unknown_reference", f"{where}.complaint_id", f"{supervised} 没有投诉 {ev.complaint_id}")]
        if complaint.status == "resolved":
            return [_r("complaint_closed", f"{where}.complaint_id",
                       f"投诉 {ev.complaint_id} 已于 {complaint.resolved_at} 办结")]
        if isinstance(ev, ComplaintResolved) and not is_supervisor:
            if dept != supervised:
                return [_r("not_the_department", "department",
                           f"投诉 {ev.complaint_id} 由 {supervised} 或其监督机关办结，{dept} 不能")]
            if complaint.status != "assigned":
                return [_r("not_the_department", "department",
                           f"投诉 {ev.complaint_id} 尚未交办给 {supervised}，须由监督机关先交办（complaint_assigned）")]
        return []
    return []


def _check_inspection(env: Envelope, where: str, state: EnterpriseState, registry: RegistryState) -> list[Reason]:
    ev = env.event
    dept = env.department
    kind = registry.departments[dept].kind if dept in registry.departments else "department"
    if isinstance(ev, InspectionStarted):
        if kind != "department":
            return [_r("not_authorized", "department", f"{dept} 是 {kind}，不是执法部门，不能实施检查")]
        if ev.inspection_id in state.inspections:
            return [_r("duplicate_reference", f"{where}.inspection_id", f"检查 {ev.inspection_id} 已记录")]
        if ev.departments[0] != dept:
            return [_r("inspection_inconsistent", f"{where}.departments[0]",
                       f"牵头部门（departments 第一项）须是提交方 {dept}，不是 {ev.departments[0]}")]
        if len(set(ev.departments)) != len(ev.departments):
            return [_r("inspection_inconsistent", f"{where}.departments", "同一部门在检查部门中出现两次")]
        for i, d in enumerate(ev.departments):
            if d not in registry.departments:
                return [_r("unknown_department", f"{where}.departments[{i}]", f"{d} 未注册")]
        if ev.joint != (len(ev.departments) > 1):
            return [_r("inspection_inconsistent", f"{where}.joint",
                       f"joint={str(ev.joint).lower()}，但检查部门有 {len(ev.departments)} 个"
                       "（联合检查/综合查一次须有两个以上部门，单一部门检查不是联合检查）")]
        return []
    assert isinstance(ev, (InspectionEnded, InspectionRated))
    record = state.inspections.get(ev.inspection_id)
    if record is None:
        return [_r("unknown_reference", f"{where}.inspection_id", f"企业 {env.stream} 没有检查 {ev.inspection_id}")]
    if isinstance(ev, InspectionEnded):
        if dept not in record.departments:
            return [_r("not_authorized", "department", f"{dept} 不是检查 {ev.inspection_id} 的检查部门")]
        if record.ended_at is not None:
            return [_r("inspection_closed", f"{where}.inspection_id", f"检查 {ev.inspection_id} 已于 {record.ended_at} 结束")]
        return []
    if dept in record.departments:
        return [_r("rated_by_inspector", "department",
                   f"{dept} 参与了检查 {ev.inspection_id}，企业的扫码评价须经评价平台提交，不能由检查部门代录")]
    if record.ended_at is None:
        return [_r("inspection_inconsistent", f"{where}.inspection_id", f"检查 {ev.inspection_id} 尚未结束，不能评价")]
    if record.score is not None:
        return [_r("duplicate_reference", f"{where}.inspection_id", f"检查 {ev.inspection_id} 已有评价")]
    return []
