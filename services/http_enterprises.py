"""Enterprises and their history, for auditors: the list, one page of the history with the
views as they stood (``as_of`` / ``known_at``), credit, rectification, sync, verification,
and the rejected submissions. Every read of an enterprise's data is written to the access log."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from tongxiu.projections.views import CreditView
from tongxiu.projections.workdays import china_day
from tongxiu.services.audit import replay
from tongxiu.services.http_access import record_read
from tongxiu.services.http_auth import App, Auditor
from tongxiu.services.http_models import (
    AUTH_RESPONSES,
    NOT_FOUND,
    After,
    HistoryOut,
    Limit,
    Offset,
    SyncOut,
    VerificationOut,
    When,
    enterprise_codes,
    history,
    known_enterprise,
    parse_when,
    rectification_out,
    sync_out,
    verification,
)

router = APIRouter(tags=["audit"], responses=AUTH_RESPONSES)


@router.get("/api/enterprises")
def enterprises(app: App, _: Auditor, limit: Limit = 100, offset: Offset = 0) -> dict[str, Any]:
    """Every enterprise the ledger holds a stream for."""
    codes = enterprise_codes(app)
    return {"page": {"total": len(codes), "limit": limit, "offset": offset}, "enterprises": codes[offset: offset + limit]}


@router.get("/api/enterprises/{code}/history", response_model=HistoryOut, responses=NOT_FOUND)
def enterprise_history(
    request: Request, code: str, app: App, _: Auditor, as_of: When = None, known_at: When = None,
    limit: Limit = 100, offset: Offset = 0, after: After = None,
) -> Response:
    """The history across all departments and the credit and rectification views as they
    stood: ``as_of`` keeps what had happened by then, ``known_at`` what the ledger had
    recorded by then. Events are paged: ``limit`` per page, then ``after=<page.next_after>``
    (a cursor: the seq the last page ended on) or ``offset``; the views always fold every
    kept event."""
    data = history(app, code, as_of, known_at, limit, offset, after)
    record_read(request, code, "history")
    # serialised once by pydantic (a long history's views are megabytes: FastAPI's generic
    # encoder would take several times longer)
    return Response(HistoryOut.model_validate(data).model_dump_json(), media_type="application/json")


@router.get("/api/enterprises/{code}/credit", response_model=CreditView, responses=NOT_FOUND)
def enterprise_credit(request: Request, code: str, app: App, _: Auditor,
                      as_of: When = None, known_at: When = None) -> CreditView:
    """Credit records and standing (now, or as they stood with ``as_of``/``known_at``)."""
    known_enterprise(app, code)
    record_read(request, code, "credit")
    if as_of or known_at:
        return replay(app.log, app.rules, code, as_of=parse_when(as_of, "as_of"),
                      known_at=parse_when(known_at, "known_at")).state.credit
    return app.credit(code)


@router.get("/api/enterprises/{code}/rectification", responses=NOT_FOUND)
def enterprise_rectification(request: Request, code: str, app: App, _: Auditor,
                             as_of: When = None, known_at: When = None) -> dict[str, Any]:
    """Rectification items with ``overdue`` judged on the day given (or today), and the open
    demands side by side per owning department."""
    known_enterprise(app, code)
    record_read(request, code, "rectification")
    when, known = parse_when(as_of, "as_of"), parse_when(known_at, "known_at")
    if when or known:
        view = replay(app.log, app.rules, code, as_of=when, known_at=known).state.rectification
    else:
        view = app.rectification(code)
    return rectification_out(view, china_day(when or known or app.now()))


@router.get("/api/enterprises/{code}/verify", response_model=VerificationOut, responses=NOT_FOUND)
def enterprise_verify(code: str, app: App, _: Auditor) -> VerificationOut:
    """Hash chain, gap-free sequence and every signature of this enterprise (and the registry)."""
    known_enterprise(app, code)
    return verification(app, code)


@router.get("/api/verify", response_model=VerificationOut)
def verify_all(app: App, _: Auditor) -> VerificationOut:
    """Verify every stream."""
    return verification(app, None)


@router.get("/api/enterprises/{code}/sync", response_model=SyncOut, responses=NOT_FOUND)
def enterprise_sync(
    request: Request, code: str, app: App, _: Auditor,
    decision_no: Annotated[str | None, Query(min_length=1, max_length=128, description="one repair's decision")] = None,
) -> SyncOut:
    """Per subscriber: delivered, acknowledged (latency) or overdue — for one decision's
    repair with ``decision_no``."""
    out = sync_out(app, code, decision_no)
    record_read(request, code, "sync")
    return out


@router.get("/api/rejections", response_model=dict[str, Any])
def rejections(
    app: App, _: Auditor,
    department: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    enterprise: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    limit: Limit = 100, offset: Offset = 0,
) -> dict[str, Any]:
    """Rejected submissions with their reasons, in the order they were recorded."""
    rows = app.list_rejections(department=department, stream=enterprise, limit=limit, offset=offset)
    return {
        "page": {"limit": limit, "offset": offset, "count": len(rows)},
        "rejections": [{"receipt": r.receipt.model_dump(mode="json"), "authenticated": r.authenticated}
                       for r in rows],
    }
