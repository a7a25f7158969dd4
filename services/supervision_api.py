"""执法监督 on the HTTP service and the dashboard: the supervision figures (案卷评查 and 整改率,
亮码率, inspections per enterprise, 免罚 by basis with amounts, repairs per month), a
department's own findings and complaints, and an enterprise's inspection frequency.

Routes (appended by :func:`add_supervision_routes`):

- ``GET /api/supervision/figures?period=`` — the figures over every department (auditor);
- ``GET /api/departments/{dept}/oversight`` — case reviews, findings (open / overdue) and
  complaints about a department (auditor, the department itself, or its supervisor);
- ``GET /api/enterprises/{code}/inspections?year=`` — the enterprise's inspections and its
  frequency against the local limit (auditor).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Query, Request

from tongxiu.events.models import REGISTRY_STREAM, is_department_stream
from tongxiu.projections.fold import china_day
from tongxiu.projections.supervision import inspection_frequency
from tongxiu.services.app import Tongxiu, period_error
from tongxiu.services.http_access import record_read

Period = Annotated[str | None, Query(max_length=16, description="YYYY, YYYY-MM or YYYY-MM..YYYY-MM")]
_AUTH: dict[int | str, dict[str, Any]] = {
    401: {"description": "missing or unknown token"},
    403: {"description": "the token's role does not allow this"},
}

SOURCE_LABELS = {"case_review": "案卷评查", "escorted": "伴随式监督", "station": "驻站式监督", "self_check": "自查",
                 "cross_check": "交叉互查", "complaint": "投诉线索"}


def _period(period: str | None) -> str | None:
    if period and (problem := period_error(period)) is not None:
        raise HTTPException(422, [{"loc": ["query", "period"], "msg": problem, "type": "value_error"}])
    return period or None


def oversight_out(app: Tongxiu, dept: str, day: date) -> dict[str, Any]:
    view = app.oversight(dept)
    findings = []
    for f in view.findings.values():
        findings.append({
            "finding_id": f.item_id, "source": f.source, "category": f.category, "description": f.requirement,
            "raised_by": f.issued_by, "raised_at": f.issued_at.isoformat(), "deadline": f.deadline.isoformat(),
            "status": f.status, "overdue": f.overdue_as_of(day), "review_id": f.review_id,
            "complaint_id": f.complaint_id, "evidence": len(f.evidence),
        })
    complaints = [{**c.model_dump(mode="json"), "overdue": c.overdue_as_of(day)} for c in view.complaints.values()]
    return {
        "department": dept,
        "as_of": day.isoformat(),
        "case_files_reviewed": len(view.reviews),
        "findings": findings,
        "open_findings": [f["finding_id"] for f in findings if f["status"] != "closed"],
        "overdue_findings": [f["finding_id"] for f in findings if f["overdue"]],
        "complaints": complaints,
    }


def add_supervision_routes(api: FastAPI, app: Tongxiu, auditor: Callable[..., Any], any_grant: Callable[..., Any]) -> None:
    """Append the supervision routes; ``auditor`` and ``any_grant`` are the service's
    dependencies that authenticate an auditor and any caller."""
    as_auditor = Depends(auditor)
    as_caller = Depends(any_grant)

    @api.get("/api/supervision/figures", tags=["supervision"], responses=_AUTH)
    def figures(period: Period = None, _: Any = as_auditor) -> dict[str, Any]:
        """执法监督 figures over every department: files reviewed, findings, rectified and the
        rectification rate; inspections, code-shown share, inspections per enterprise; complaints;
        no-penalty decisions by basis with the fines waived; repairs granted; a monthly series."""
        return app.supervision_figures(_period(period))

    @api.get("/api/departments/{dept}/oversight", tags=["supervision"],
             responses={**_AUTH, 404: {"description": "no such department"}})
    def oversight(dept: str, grant: Any = as_caller) -> dict[str, Any]:
        """A department's case reviews, findings (open / overdue: 对账、核账、销账) and complaints."""
        registry = app.registry()
        if dept not in registry.departments or dept == "ledger":
            raise HTTPException(404, f"no department {dept} in the ledger")
        own = grant.role == "department" and grant.department in (dept, *[s for s in registry.supervisors
                                                                          if registry.supervises(s, dept)])
        if grant.role != "auditor" and not own:
            raise HTTPException(403, f"role {grant.role} may not do this: needs auditor, {dept} or its supervisor")
        return oversight_out(app, dept, china_day(app.now()))

    @api.get("/api/enterprises/{code}/inspections", tags=["supervision"],
             responses={**_AUTH, 404: {"description": "no such enterprise"}})
    def inspections(request: Request, code: str, year: Annotated[int | None, Query(ge=1990, le=2100)] = None,
                    _: Any = as_auditor) -> dict[str, Any]:
        """涉企检查 of an enterprise: every inspection and the year's frequency across departments
        against the local limit (无事不扰); inspections above it are flagged."""
        if code == REGISTRY_STREAM or is_department_stream(code) or not app.log.last_seq(code):
            raise HTTPException(404, f"no enterprise {code} in the ledger")
        record_read(request, code, "inspections")
        state = app.enterprise_state(code)
        y = year or china_day(app.now()).year
        return {
            "frequency": inspection_frequency(state, y),
            "inspections": [r.model_dump(mode="json") for r in state.inspections.values()],
        }


# ---------------------------------------------------------------------------- dashboard charts


def _pct(v: float | None) -> str:
    return "—" if v is None else f"{v * 100:.2f}%"


def _bars(title: str, rows: list[tuple[str, float | None, str]], key: str, note: str = "") -> dict[str, Any]:
    top = max([v for _, v, _ in rows if v] or [1])
    bars = [
        {"y": 8 + i * 24, "label": label, "w": round(((v or 0) / top) * 260, 1), "text": text}
        for i, (label, v, text) in enumerate(rows)
    ]
    return {"key": key, "title": title, "note": note, "bars": bars, "height": 16 + len(rows) * 24}


def oversight_charts(fig: dict[str, Any], per_department: list[Any]) -> list[dict[str, Any]]:
    """The dashboard's 执法监督 panels (inline SVG bar charts, Chinese labels)."""
    cr, ins, comp, np_, rep = fig["case_review"], fig["inspections"], fig["complaints"], fig["no_penalty"], fig["repairs"]
    months = fig.get("by_month", {})
    charts = [
        _bars("案卷评查与问题整改（对账·核账·销账）", [
            ("评查案卷", cr["files_reviewed"], str(cr["files_reviewed"])),
            ("发现问题", cr["findings"], str(cr["findings"])),
            ("已整改", cr["rectified"], str(cr["rectified"])),
            ("逾期未改", cr["overdue"], str(cr["overdue"])),
        ], "case-review", f"整改率 {_pct(cr['rectification_rate'])}"),
        _bars("问题来源", [(SOURCE_LABELS[s], n, str(n)) for s, n in cr["findings_by_source"].items()], "sources"),
        _bars("各部门问题整改（已整改 / 发现）", [
            (f.department, f.findings_rectified, f"{f.findings_rectified} / {f.findings_raised}")
            for f in per_department
        ], "by-department"),
        _bars("涉企检查：亮码检查", [
            ("实施检查", ins["inspections"], str(ins["inspections"])),
            ("主动亮码", ins["code_shown"], str(ins["code_shown"])),
            ("联合检查（综合查一次）", ins["joint"], str(ins["joint"])),
            ("超过频次上限", ins["over_limit"], str(ins["over_limit"])),
        ], "inspections", f"亮码率 {_pct(ins['code_shown_rate'])}；每户每月检查 "
                          f"{'—' if ins['per_enterprise_per_month'] is None else ins['per_enterprise_per_month']} 次"),
        _bars("不予处罚（按依据）", [
            ("首违不罚", np_["first_violation"], str(np_["first_violation"])),
            ("轻微不罚", np_["minor"], str(np_["minor"])),
            ("无主观过错", np_["no_fault"], str(np_["no_fault"])),
        ], "no-penalty", f"免除罚款 {np_['waived_fine_yuan']:,.2f} 元"),
        _bars("投诉举报", [
            ("受理", comp["received"], str(comp["received"])),
            ("办结", comp["resolved"], str(comp["resolved"])),
            ("逾期", comp["overdue"], str(comp["overdue"])),
        ], "complaints", f"办结率 {_pct(comp['closure_rate'])}"),
        _bars("信用修复（按月）", [(m, v["repairs_granted"], str(v["repairs_granted"])) for m, v in months.items()]
              or [("—", 0, "0")], "repairs", f"合计 {rep['granted']} 条"),
    ]
    return charts
