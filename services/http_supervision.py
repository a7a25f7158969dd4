"""Departments and supervision figures: the registry's departments, each department's
figures for a period (三书同达, rectification, repairs in time, sync lag)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from tongxiu.services.http_auth import App, Auditor
from tongxiu.services.http_models import (
    AUTH_RESPONSES,
    NOT_FOUND,
    PeriodQ,
    SupervisionOut,
    check_period,
    known_department,
    supervision_all,
    supervision_out,
)

router = APIRouter(tags=["supervision"], responses=AUTH_RESPONSES)


@router.get("/api/departments")
def departments(app: App, _: Auditor) -> list[dict[str, Any]]:
    """Registered departments and credit platforms."""
    reg = app.registry()
    return [reg.departments[d].model_dump(mode="json") for d in sorted(reg.departments) if d != "ledger"]


@router.get("/api/supervision", response_model=list[SupervisionOut])
def supervision(app: App, _: Auditor, period: PeriodQ = None) -> list[Any]:
    """Every department's supervision figures for a period (all time without one)."""
    return supervision_all(app, check_period(period))


@router.get("/api/departments/{dept}/supervision", response_model=SupervisionOut, responses=NOT_FOUND)
def department_supervision(dept: str, app: App, _: Auditor, period: PeriodQ = None) -> Any:
    """One department's figures: 三书同达 completeness, rectification found/closed/overdue,
    repairs decided within deadline, sync acknowledgement lag."""
    known_department(app, dept)
    p = check_period(period)
    return supervision_out(dept, p, app.supervision(dept, p))
