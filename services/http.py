"""The auditor and supervisor web service: a JSON read API, the HTTP gateway for signed
submissions, the repair feed for credit platforms, and three server-rendered pages.

Thin, like the CLI: every answer comes from the application (``Tongxiu``) or the audit
(``tongxiu.services.audit``); nothing here decides anything. Built by :func:`create_app`.

Access is by bearer token (``Authorization: Bearer <token>``); the pages also take the
token from the ``tongxiu_token`` cookie or a ``?token=`` parameter (which sets the cookie).
Roles:

* ``auditor``: reads everything (API, pages, feed, rejections); cannot publish.
* ``department``: publishes as its own department only; reads its own decisions and inbox.
* ``credit_platform``: the repair feed only (no personal data).
"""

import hashlib
import json
import os
import re
import stat
import threading
import tomllib
from collections.abc import Callable
from dataclasses import asdict
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, create_model, model_validator
from starlette.responses import Response

import tongxiu.services.audit as paging
from tongxiu.events.envelope import Receipt, Submission
from tongxiu.events.models import REGISTRY_STREAM, is_department_stream
from tongxiu.events.wire import MAX_SUBMISSION_BYTES, Unreadable, parse_submission
from tongxiu.projections.fold import CHINA
from tongxiu.projections.views import CreditView, Delivery, RectificationView, SupervisionCounters
from tongxiu.projections.workdays import china_day
from tongxiu.services.app import Tongxiu, period_error
from tongxiu.services.audit import replay, verify_streams
from tongxiu.services.http_guard import QUERY_TOKEN, FailedAttempts, Guard
from tongxiu.services.ports import ConcurrencyError
from tongxiu.services.sdk import FeedItem, FeedPort

HERE = Path(__file__).parent
COOKIE = "tongxiu_token"
MAX_BODY = MAX_SUBMISSION_BYTES
Role = Literal["auditor", "department", "credit_platform"]

# ---------------------------------------------------------------------------- tokens


class Grant(BaseModel):
    """What a token allows."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    role: Role
    department: str | None = Field(default=None, min_length=1, max_length=64)
    name: str = ""

    @model_validator(mode="after")
    def _department_needed(self) -> "Grant":
        if self.role == "department" and not self.department:
            raise ValueError("a department token needs 'department'")
        return self


def parse_tokens(data: dict[str, Any]) -> dict[str, Grant]:
    """``{token: {role, department}}``, at the top level or under a ``tokens`` key."""
    table = data.get("tokens", data) if isinstance(data, dict) else None
    if not isinstance(table, dict):
        raise ValueError("tokens: expected a table mapping token -> {role, department}")
    out: dict[str, Grant] = {}
    for token, grant in table.items():
        if not isinstance(token, str) or len(token) < 16:
            raise ValueError(f"tokens: token {str(token)[:4]}… is shorter than 16 characters")
        try:
            out[token] = grant if isinstance(grant, Grant) else Grant.model_validate(grant)
        except ValidationError as exc:
            raise ValueError(f"tokens: token {token[:4]}…: {exc.errors(include_url=False)[0]['msg']}") from exc
    return out


def load_tokens(path: Path | str) -> dict[str, Grant]:
    """Read a tokens file: TOML (``.toml``) or JSON. A file that its group or others may read
    is refused (the tokens are passwords): ``chmod 600`` it."""
    path = Path(path)
    if os.name == "posix":
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            raise ValueError(
                f"令牌文件 {path} 的权限为 {mode:o}，同组或其他用户可读；令牌等同口令，请执行 chmod 600 {path} "
                f"(the tokens file is readable by group/others: chmod 600 it)"
            )
    text = path.read_text(encoding="utf-8")
    data = tomllib.loads(text) if path.suffix.lower() == ".toml" else json.loads(text)
    return parse_tokens(data)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


# ---------------------------------------------------------------------------- errors & parsing

_DATETIME: TypeAdapter[datetime] = TypeAdapter(datetime)
_DEPT = r"^[0-9A-Za-z_.\-]{1,64}$"


def invalid(where: str, field: str, message: str, kind: str = "value_error") -> HTTPException:
    """A 422 in FastAPI's own validation shape: the field's location, the rule broken."""
    return HTTPException(status_code=422, detail=[{"type": kind, "loc": [where, field], "msg": message}])


def parse_when(text: str | None, field: str) -> datetime | None:
    """An ISO date (the end of that day, China time) or a date-time with a time zone."""
    if text is None or text == "":
        return None
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        try:
            day = date.fromisoformat(text)
        except ValueError:
            raise invalid("query", field, f"not a valid date: {text!r}") from None
        return datetime.combine(day, time(23, 59, 59), tzinfo=CHINA)
    try:
        value = _DATETIME.validate_python(text)
    except ValidationError:
        raise invalid("query", field, "expected an ISO date (YYYY-MM-DD) or a date-time with time zone") from None
    if value.tzinfo is None:
        raise invalid("query", field, "give a time zone, e.g. 2026-02-01T12:00:00+08:00")
    return value


def check_period(period: str | None) -> str | None:
    if period is None or period == "":
        return None
    problem = period_error(period)
    if problem is not None:
        raise invalid("query", "period", problem)
    return period


Limit = Annotated[int, Query(ge=1, le=1000, description="page size")]
Offset = Annotated[int, Query(ge=0, le=10_000_000, description="items to skip")]
After = Annotated[int | None, Query(ge=0, le=2_000_000_000, description="cursor: the seq the previous page ended on")]
TIMELINE_PAGE = 200
"""Events per timeline page."""
When = Annotated[
    str | None,
    Query(max_length=40, description="ISO date (end of that day, China time) or date-time with zone"),
]

# ---------------------------------------------------------------------------- response models


class Page(BaseModel):
    total: int
    limit: int
    offset: int
    next_after: int | None = None
    """History: pass as ``after`` for the next page (None on the last page)."""


class HistoryOut(BaseModel):
    enterprise: str
    as_of: datetime | None
    known_at: datetime | None
    page: Page
    events: list[dict[str, Any]]
    credit: CreditView
    rectification: dict[str, Any]


class VerificationOut(BaseModel):
    ok: bool
    streams: int
    events: int
    first_bad: dict[str, Any] | None = None
    problems: list[dict[str, Any]] = Field(default_factory=list)


class DeliveryOut(Delivery):
    overdue: bool


class SyncOut(BaseModel):
    enterprise: str
    decision_no: str | None
    as_of: datetime
    deliveries: list[DeliveryOut]


SupervisionOut = create_model(  # the counters, flat, plus the figures derived from them
    "SupervisionOut",
    department=(str, ...),
    period=(str | None, None),
    **{name: (f.annotation, f.default) for name, f in SupervisionCounters.model_fields.items()},  # type: ignore[call-overload]
    penalties_without_notice=(int, 0),
    notice_completeness=(float | None, Field(None, description="share of penalties served with the repair notice")),
    three_documents_completeness=(
        float | None, Field(None, description="三书同达: decision, advice and notice served together")
    ),
    repairs_within_deadline_rate=(float | None, None),
    mean_sync_ack_hours=(float | None, None),
)


class RejectionOut(BaseModel):
    receipt: Receipt
    authenticated: bool


class FeedOut(BaseModel):
    items: list[dict[str, Any]]
    consumer: str


class CommitIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)  # no "5" for a position
    consumer: str = Field(min_length=1, max_length=64, pattern=_DEPT)
    position: int | None = Field(default=None, ge=0, le=2**62)
    event_id: str | None = Field(default=None, min_length=1, max_length=64)

    @model_validator(mode="after")
    def _names_an_item(self) -> "CommitIn":
        if self.position is None and self.event_id is None:
            raise ValueError("give the item's event_id (or its position)")
        return self


class Problem(BaseModel):
    detail: str


AUTH_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": Problem, "description": "missing or unknown token"},
    403: {"model": Problem, "description": "the token's role does not allow this"},
}
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": Problem, "description": "no such enterprise / department"}}


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def supervision_out(department: str, period: str | None, c: SupervisionCounters) -> Any:
    return SupervisionOut(
        **c.model_dump(),
        department=department,
        period=period,
        penalties_without_notice=c.penalties_without_notice,
        notice_completeness=_ratio(c.served_with_notice, c.penalties),
        three_documents_completeness=_ratio(c.served_with_notice_and_advice, c.penalties),
        repairs_within_deadline_rate=_ratio(c.repairs_decided_within_deadline, c.repairs_decided),
        mean_sync_ack_hours=round(c.sync_ack_seconds_total / c.syncs_acknowledged / 3600, 2)
        if c.syncs_acknowledged
        else None,
    )


def rectification_out(view: RectificationView, day: date) -> dict[str, Any]:
    data = view.model_dump(mode="json")
    for key, item in view.items.items():
        data["items"][key]["overdue"] = item.overdue_as_of(day)
        data["items"][key]["owners"] = item.owners
    data["open_by_department"] = {
        d: [f"{i.advice_no}/{i.item_id}" for i in items] for d, items in view.open_by_department().items()
    }
    return data


# ---------------------------------------------------------------------------- the app


def create_app(
    app: Tongxiu, tokens: dict[str, Any], *, max_failed_auth: int = 30, failed_auth_window_s: float = 60.0
) -> FastAPI:
    """The FastAPI service over one ``Tongxiu``. ``tokens``: token -> {role, department}.
    A client address with ``max_failed_auth`` failed token attempts within
    ``failed_auth_window_s`` seconds is answered 429 until the window has passed."""
    grants = {_digest(t): g for t, g in parse_tokens(dict(tokens)).items()}
    write_lock = threading.RLock()
    api = FastAPI(
        title="同修 Tongxiu",
        version="0.1.0",
        description=(
            "Auditor and supervisor service of the Tongxiu ledger. Authenticate with "
            "`Authorization: Bearer <token>`; roles: auditor, department, credit_platform."
        ),
    )
    api.add_middleware(
        Guard,
        known=lambda token: _digest(token) in grants,
        cookie=COOKIE,
        max_body=MAX_BODY,
        attempts=FailedAttempts(max_failed_auth, failed_auth_window_s),
    )
    @api.exception_handler(RequestValidationError)
    async def request_invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        """FastAPI's 422 shape, without echoing the input (it may be personal data, or bytes
        that are not UTF-8)."""
        errors = [
            {"type": str(e.get("type", "")), "loc": [p if isinstance(p, int) else str(p) for p in e.get("loc", ())],
             "msg": str(e.get("msg", ""))}
            for e in exc.errors()
        ]
        return JSONResponse({"detail": errors}, status_code=422)

    templates = Jinja2Templates(directory=str(HERE / "templates"))
    templates.env.filters["cn"] = _cn_time
    templates.env.filters["pct"] = lambda v: "—" if v is None else f"{v * 100:.0f}%"
    if (HERE / "static").is_dir():
        api.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")

    def openapi() -> dict[str, Any]:
        """FastAPI's document plus the Submission schema the gateway reads by hand (so that the
        raw body, even an invalid one, reaches ``Tongxiu.submit``)."""
        if api.openapi_schema is None:
            from fastapi.openapi.utils import get_openapi

            doc = get_openapi(title=api.title, version=api.version, description=api.description, routes=api.routes)
            schema = Submission.model_json_schema(ref_template="#/components/schemas/{model}")
            components = doc.setdefault("components", {}).setdefault("schemas", {})
            for name, definition in schema.pop("$defs", {}).items():
                components.setdefault(name, definition)
            components["Submission"] = schema
            api.openapi_schema = doc
        return api.openapi_schema

    api.openapi = openapi  # type: ignore[method-assign]

    # ------------------------------------------------------------------ access

    def _grant(token: str | None, request: Request) -> Grant:
        if not token:
            raise HTTPException(401, "missing token: send 'Authorization: Bearer <token>'",
                                headers={"WWW-Authenticate": "Bearer"})
        grant = grants.get(_digest(token))
        if grant is None:
            raise HTTPException(401, "unknown token", headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
        request.state.token_digest = _digest(token)
        return grant

    def _bearer(request: Request) -> str | None:
        header = request.headers.get("authorization", "")
        scheme, _, value = header.partition(" ")
        if header and scheme.lower() != "bearer":
            raise HTTPException(401, "the Authorization header must be 'Bearer <token>'",
                                headers={"WWW-Authenticate": "Bearer"})
        return value.strip() or None

    def api_grant(request: Request) -> Grant:
        """API: the bearer header, or the pages' cookie (so the pages' scripts can call it)."""
        return _grant(_bearer(request) or request.cookies.get(COOKIE), request)

    def page_grant(request: Request) -> Grant:
        return _grant(_bearer(request) or request.scope.get(QUERY_TOKEN) or request.cookies.get(COOKIE), request)

    def need(grant: Grant, *roles: str, department: str | None = None) -> None:
        if grant.role in roles:
            return
        if department is not None and grant.role == "department" and grant.department == department:
            return
        allowed = " or ".join(roles) + (f" or department {department}" if department else "")
        raise HTTPException(403, f"role {grant.role}"
                                 f"{' (' + grant.department + ')' if grant.department else ''} "
                                 f"may not do this: needs {allowed}")

    def auditor(grant: Annotated[Grant, Depends(api_grant)]) -> Grant:
        need(grant, "auditor")
        return grant

    def page_auditor(grant: Annotated[Grant, Depends(page_grant)]) -> Grant:
        need(grant, "auditor")
        return grant

    Auditor = Annotated[Grant, Depends(auditor)]
    Any_ = Annotated[Grant, Depends(api_grant)]

    # ------------------------------------------------------------------ helpers

    def known_enterprise(code: str) -> str:
        if code == REGISTRY_STREAM or not app.log.last_seq(code):
            raise HTTPException(404, f"no enterprise {code} in the ledger")
        return code

    def known_department(dept: str) -> str:
        if dept not in app.registry().departments or dept == "ledger":
            raise HTTPException(404, f"no department {dept} in the registry")
        return dept

    def today() -> date:
        return china_day(app.now())

    def history(code: str, as_of: str | None, known_at: str | None, limit: int, offset: int,
                after: int | None = None) -> dict[str, Any]:
        """One page of the history and the views. Without a time filter the views are the
        read model (when it has every event of the stream) and only the page is read from
        the log; with one, the history is streamed once (bounded memory)."""
        known_enterprise(code)
        when, known = parse_when(as_of, "as_of"), parse_when(known_at, "known_at")
        current = app.enterprise_state(code) if when is None and known is None else None
        fold = current is not None and current.seq < app.log.last_seq(code)  # read model behind
        result = paging.history_page(app.log, app.rules, code, as_of=when, known_at=known, limit=limit, offset=offset,
                              after=after, fold=fold or current is None)
        state = result.state if result.state is not None else current
        assert state is not None
        day = china_day(when or known or app.now())
        return {
            "enterprise": code,
            "as_of": when,
            "known_at": known,
            "page": {"total": result.total, "limit": limit, "offset": offset, "next_after": result.next_after},
            "events": [json.loads(e.to_json()) for e in result.events],
            "credit": state.credit,
            "rectification": rectification_out(state.rectification, day),
            "sync": state.sync,
        }

    def sync_out(code: str, decision_no: str | None) -> SyncOut:
        known_enterprise(code)
        day = today()
        deliveries = [
            DeliveryOut(**d.model_dump(), overdue=d.overdue_as_of(day) or d.overdue_marked)
            for d in app.sync(code).deliveries.values()
            if decision_no is None or d.decision_no == decision_no
        ]
        if decision_no is not None and not deliveries:
            raise HTTPException(404, f"no repair of decision {decision_no} was propagated for {code}")
        deliveries.sort(key=lambda d: (d.delivered_at, d.subscriber))
        return SyncOut(enterprise=code, decision_no=decision_no, as_of=app.now(), deliveries=deliveries)

    def verification(code: str | None) -> VerificationOut:
        outcome = verify_streams(app.log, [code] if code else None)
        return VerificationOut(**outcome.__dict__)

    def supervision_all(period: str | None) -> list[Any]:
        return [supervision_out(d, period, app.supervision(d, period)) for d in app.departments()]

    # ------------------------------------------------------------------ read API

    @api.get("/health", tags=["service"])
    def health() -> dict[str, Any]:
        """Liveness, no token needed."""
        return {"status": "ok", "backend": app.backend}

    @api.get("/api/whoami", tags=["service"], responses=AUTH_RESPONSES)
    def whoami(grant: Any_) -> Grant:
        """The role and department of the token used."""
        return grant

    @api.get("/api/enterprises", tags=["audit"], responses=AUTH_RESPONSES)
    def enterprises(_: Auditor, limit: Limit = 100, offset: Offset = 0) -> dict[str, Any]:
        """Every enterprise the ledger holds a stream for."""
        codes = sorted(c for c in app.log.streams() if c != REGISTRY_STREAM and not is_department_stream(c))
        return {"page": {"total": len(codes), "limit": limit, "offset": offset}, "enterprises": codes[offset: offset + limit]}

    @api.get("/api/enterprises/{code}/history", tags=["audit"], response_model=HistoryOut,
             responses={**AUTH_RESPONSES, **NOT_FOUND})
    def enterprise_history(
        code: str, _: Auditor, as_of: When = None, known_at: When = None, limit: Limit = 100, offset: Offset = 0,
        after: After = None,
    ) -> Response:
        """The history across all departments and the credit and rectification views as they
        stood: ``as_of`` keeps what had happened by then, ``known_at`` what the ledger had
        recorded by then. Events are paged: ``limit`` per page, then ``after=<page.next_after>``
        (a cursor: the seq the last page ended on) or ``offset``; the views always fold every
        kept event."""
        data = history(code, as_of, known_at, limit, offset, after)
        # serialised once by pydantic (a long history's views are megabytes: FastAPI's generic
        # encoder would take several times longer)
        return Response(HistoryOut.model_validate(data).model_dump_json(), media_type="application/json")

    @api.get("/api/enterprises/{code}/credit", tags=["audit"], response_model=CreditView,
             responses={**AUTH_RESPONSES, **NOT_FOUND})
    def enterprise_credit(code: str, _: Auditor, as_of: When = None, known_at: When = None) -> CreditView:
        """Credit records and standing (now, or as they stood with ``as_of``/``known_at``)."""
        known_enterprise(code)
        if as_of or known_at:
            return replay(app.log, app.rules, code, as_of=parse_when(as_of, "as_of"),
                          known_at=parse_when(known_at, "known_at")).state.credit
        return app.credit(code)

    @api.get("/api/enterprises/{code}/rectification", tags=["audit"], responses={**AUTH_RESPONSES, **NOT_FOUND})
    def enterprise_rectification(code: str, _: Auditor, as_of: When = None, known_at: When = None) -> dict[str, Any]:
        """Rectification items with ``overdue`` judged on the day given (or today), and the open
        demands side by side per owning department."""
        known_enterprise(code)
        when, known = parse_when(as_of, "as_of"), parse_when(known_at, "known_at")
        if when or known:
            view = replay(app.log, app.rules, code, as_of=when, known_at=known).state.rectification
        else:
            view = app.rectification(code)
        return rectification_out(view, china_day(when or known or app.now()))

    @api.get("/api/enterprises/{code}/verify", tags=["audit"], response_model=VerificationOut,
             responses={**AUTH_RESPONSES, **NOT_FOUND})
    def enterprise_verify(code: str, _: Auditor) -> VerificationOut:
        """Hash chain, gap-free sequence and every signature of this enterprise (and the registry)."""
        known_enterprise(code)
        return verification(code)

    @api.get("/api/verify", tags=["audit"], response_model=VerificationOut, responses=AUTH_RESPONSES)
    def verify_all(_: Auditor) -> VerificationOut:
        """Verify every stream."""
        return verification(None)

    @api.get("/api/enterprises/{code}/sync", tags=["audit"], response_model=SyncOut,
             responses={**AUTH_RESPONSES, **NOT_FOUND})
    def enterprise_sync(
        code: str, _: Auditor,
        decision_no: Annotated[str | None, Query(min_length=1, max_length=128, description="one repair's decision")] = None,
    ) -> SyncOut:
        """Per subscriber: delivered, acknowledged (latency) or overdue — for one decision's
        repair with ``decision_no``."""
        return sync_out(code, decision_no)

    @api.get("/api/departments", tags=["supervision"], responses=AUTH_RESPONSES)
    def departments(_: Auditor) -> list[dict[str, Any]]:
        """Registered departments and credit platforms."""
        reg = app.registry()
        return [reg.departments[d].model_dump(mode="json") for d in sorted(reg.departments) if d != "ledger"]

    @api.get("/api/supervision", tags=["supervision"], response_model=list[SupervisionOut],  # type: ignore[valid-type]
             responses=AUTH_RESPONSES)
    def supervision(
        _: Auditor,
        period: Annotated[str | None, Query(max_length=16, description="YYYY, YYYY-MM or YYYY-MM..YYYY-MM")] = None,
    ) -> list[Any]:
        """Every department's supervision figures for a period (all time without one)."""
        return supervision_all(check_period(period))

    @api.get("/api/departments/{dept}/supervision", tags=["supervision"], response_model=SupervisionOut,
             responses={**AUTH_RESPONSES, **NOT_FOUND})
    def department_supervision(
        dept: str, _: Auditor,
        period: Annotated[str | None, Query(max_length=16, description="YYYY, YYYY-MM or YYYY-MM..YYYY-MM")] = None,
    ) -> Any:
        """One department's figures: 三书同达 completeness, rectification found/closed/overdue,
        repairs decided within deadline, sync acknowledgement lag."""
        known_department(dept)
        p = check_period(period)
        return supervision_out(dept, p, app.supervision(dept, p))

    @api.get("/api/departments/{dept}/decisions", tags=["department"], responses={**AUTH_RESPONSES, **NOT_FOUND})
    def department_decisions(dept: str, grant: Any_, limit: Limit = 100, offset: Offset = 0) -> dict[str, Any]:
        """The credit records of the decisions this department made (auditor, or the department itself)."""
        need(grant, "auditor", department=dept)
        known_department(dept)
        rows = [
            {"enterprise": code, **rec.model_dump(mode="json")}
            for code in sorted(app.enterprises())
            for rec in app.credit(code).records.values()
            if rec.department == dept
        ]
        return {"page": {"total": len(rows), "limit": limit, "offset": offset}, "decisions": rows[offset: offset + limit]}

    @api.get("/api/departments/{dept}/inbox", tags=["department"], responses={**AUTH_RESPONSES, **NOT_FOUND})
    def department_inbox(dept: str, grant: Any_) -> list[dict[str, Any]]:
        """Deliveries to this subscriber not yet acknowledged (auditor, or the department itself)."""
        need(grant, "auditor", department=dept)
        known_department(dept)
        return app.inbox(dept)

    @api.get("/api/rejections", tags=["audit"], response_model=dict[str, Any], responses=AUTH_RESPONSES)
    def rejections(
        _: Auditor,
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

    # ------------------------------------------------------------------ feed

    feed_lock = threading.Lock()  # a feed port (a Kafka consumer) is not thread-safe
    handed: dict[str, dict[str, FeedItem]] = {}  # consumer -> event_id -> item delivered, not committed

    def feed_consumer(request: Request, grant: Grant, consumer: str) -> str:
        """A credit platform's consumers are its own: named by its department, or — for a token
        without one — by the token (two such tokens never share a position)."""
        owner = grant.department or f"{grant.role}-{request.state.token_digest[:16]}"
        return f"http:{owner}:{consumer}"

    def feed_port() -> FeedPort:
        return app.feed

    @api.get("/feed", tags=["feed"], response_model=FeedOut, responses={**AUTH_RESPONSES})
    def feed(
        request: Request,
        grant: Any_,
        consumer: Annotated[str, Query(min_length=1, max_length=64, pattern=_DEPT,
                                       description="the consumer whose committed position the feed resumes from")]
        = "default",
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> FeedOut:
        """Repairs, revocations, withdrawals and expiries not yet committed by ``consumer``, without
        personal data. An item is delivered again until ``POST /feed/commit`` names it."""
        need(grant, "credit_platform", "auditor")
        if "after" in request.query_params:
            raise invalid("query", "after", "no longer supported: name a consumer and POST /feed/commit "
                                            "what it applied; the next GET /feed resumes after it")
        port, key = feed_port(), feed_consumer(request, grant, consumer)
        with feed_lock:
            try:
                items = port.poll(key, max_items=limit)
            except (TimeoutError, RuntimeError) as exc:  # distributed: no partitions, no topic
                raise HTTPException(503, f"the feed is not available: {exc}", headers={"Retry-After": "1"}) from exc
            pending = handed.setdefault(key, {})
            for item in items:
                pending.pop(item.event_id, None)
                pending[item.event_id] = item
            while len(pending) > 10_000:  # a consumer that never commits: forget the oldest
                pending.pop(next(iter(pending)))
        return FeedOut(items=[asdict(i) for i in items], consumer=consumer)

    @api.post("/feed/commit", tags=["feed"],
              responses={**AUTH_RESPONSES,
                         400: {"model": Problem, "description": "the body is not JSON"},
                         409: {"model": Problem, "description": "the item was not delivered to this consumer "
                                                                "(or is already committed): poll first"}})
    def feed_commit(request: Request, body: CommitIn, grant: Any_) -> dict[str, Any]:
        """Commit the last item a named consumer applied (by ``event_id``, or by ``position``
        when that is unambiguous): the next poll resumes after it."""
        need(grant, "credit_platform", "auditor")
        port, key = feed_port(), feed_consumer(request, grant, body.consumer)
        with feed_lock:
            pending = handed.get(key, {})
            if body.event_id is not None:
                found = [i for i in pending.values() if i.event_id == body.event_id]
            else:
                found = [i for i in pending.values() if i.position == body.position]
            if body.event_id is not None and body.position is not None:
                found = [i for i in found if i.position == body.position]
            if not found:
                raise HTTPException(409, f"consumer {body.consumer} has no delivered, uncommitted item "
                                         f"{body.event_id or body.position}: GET /feed first")
            if len(found) > 1:
                raise HTTPException(409, f"position {body.position} names {len(found)} items "
                                         "(one per partition): commit by event_id")
            item = found[0]
            port.commit(key, item)
            pending.pop(item.event_id, None)
        return {"consumer": body.consumer, "position": item.position, "event_id": item.event_id}

    # ------------------------------------------------------------------ gateway

    @api.post(
        "/submissions",
        tags=["gateway"],
        response_model=Receipt,
        responses={
            **AUTH_RESPONSES,
            413: {"model": Problem, "description": "body larger than 1 MB"},
            503: {"model": Problem, "description": "the stream kept changing; resend the same submission"},
            422: {"model": Receipt, "description": "rejected: the receipt lists the reasons (field and rule)"},
        },
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Submission"}}},
            }
        },
    )
    async def submit(request: Request, grant: Any_) -> JSONResponse:
        """A department's signed submission — the same JSON the SDK sends. Recorded exactly as
        ``Tongxiu.submit`` records it: 200 with the receipt when accepted, 422 with the receipt
        (its reasons name field and rule) when rejected; rejections are kept in the log."""
        if grant.role != "department":
            raise HTTPException(403, f"角色 {grant.role} 不能提交，需要部门令牌 "
                                     f"(role {grant.role} may not publish: needs a department token)")
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():  # the guard cuts a body over the limit off while it streams
            size += len(chunk)
            if size > MAX_BODY:
                raise HTTPException(413, f"请求体超过 {MAX_BODY} 字节的上限 (body larger than {MAX_BODY} bytes)")
            chunks.append(chunk)
        # parsed once, here: the department is checked on the very object the ledger decides on
        parsed = parse_submission(b"".join(chunks))
        claimed = parsed.department if isinstance(parsed, Submission) else parsed.ident.get("department")
        if claimed is not None and claimed != grant.department:
            raise HTTPException(403, f"此令牌只能以部门 {grant.department} 的名义提交，不能以 {claimed[:64]!r} 的名义"
                                     f"（字段 department）(this token publishes as {grant.department} only, "
                                     f"not as {claimed[:64]!r}, field: department)")
        body: Submission | Unreadable = (
            parsed if isinstance(parsed, Submission) else parsed.claiming(str(grant.department))
        )

        def run() -> Receipt:
            with write_lock:
                return app.submit(body)

        from starlette.concurrency import run_in_threadpool

        try:
            receipt = await run_in_threadpool(run)
        except ConcurrencyError as exc:  # distributed backend: other writers kept winning
            raise HTTPException(503, f"{exc}; send the same submission again", headers={"Retry-After": "1"}) from exc
        return JSONResponse(receipt.model_dump(mode="json"), status_code=200 if receipt.accepted else 422)

    # ------------------------------------------------------------------ pages

    PageAuditor = Annotated[Grant, Depends(page_auditor)]

    def render(request: Request, name: str, context: dict[str, Any]) -> HTMLResponse:
        response = templates.TemplateResponse(request, name, {"now": app.now(), **context})
        token = request.scope.get(QUERY_TOKEN)
        grant = grants.get(_digest(token)) if token else None
        if token and grant is not None and grant.role == "auditor":  # only a token the pages accept
            https = request.url.scheme == "https" or request.headers.get("x-forwarded-proto", "").lower() == "https"
            response.set_cookie(COOKIE, token, httponly=True, samesite="strict", secure=https)
        return response

    @api.get("/", include_in_schema=False)
    def index(request: Request, grant: PageAuditor) -> HTMLResponse:
        codes = sorted(c for c in app.log.streams() if c != REGISTRY_STREAM and not is_department_stream(c))
        return render(request, "index.html", {"enterprises": codes, "stats": app.stats()})

    @api.get("/login", include_in_schema=False)
    def login(request: Request) -> HTMLResponse:
        return render(request, "login.html", {})

    @api.get("/enterprises/{code}", include_in_schema=False)
    def timeline_page(request: Request, code: str, grant: PageAuditor,
                      as_of: When = None, known_at: When = None, before: After = None) -> HTMLResponse:
        """The views and one page of the history: the latest ``TIMELINE_PAGE`` events (or those
        before seq ``before``); what is shown is verified (chain linked to the event before it)."""
        known_enterprise(code)
        last = app.log.last_seq(code)
        end = min(before - 1, last) if before is not None else last
        first = max(end - TIMELINE_PAGE + 1, 1)
        data = history(code, as_of, known_at, 1, 0)
        when, known = data["as_of"], data["known_at"]
        page = [s.envelope for s in app.log.read_stream(code, from_seq=first, limit=end - first + 1)] if end else []
        kept = {e.event_id for e in page if paging.is_kept(e, when, known)}
        reg = app.registry()
        depts = sorted({e.department for e in page})
        palette = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"]
        colours = {d: palette[i % len(palette)] for i, d in enumerate(depts)}
        events = sorted(page, key=lambda e: (e.occurred_at, e.seq))
        return render(request, "timeline.html", {
            "code": code,
            "as_of": as_of or "",
            "known_at": known_at or "",
            "as_of_dt": when,
            "events": events,
            "kept": kept,
            "colours": colours,
            "names": {d: reg.departments[d].name if d in reg.departments else d for d in depts},
            "chart": _timeline_chart(events, kept, colours, when),
            "credit": data["credit"],
            "rect": data["rectification"],
            "verification": paging.verify_range(app.log, code, first, end) if end else verification(code),
            "window": {"first": first, "last": end, "total": last,
                       "older": first - 1 if first > 1 else None, "newer": end + TIMELINE_PAGE + 1 if end < last else None},
            "sync_decisions": sorted({d.decision_no for d in data["sync"].deliveries.values()}),
        })

    @api.get("/dashboard", include_in_schema=False)
    def dashboard_page(request: Request, grant: PageAuditor,
                       period: Annotated[str | None, Query(max_length=16)] = None) -> HTMLResponse:
        figures = supervision_all(check_period(period))
        from tongxiu.services.supervision_api import oversight_charts

        oversight = app.supervision_figures(period or None)
        return render(request, "dashboard.html", {"period": period or "", "figures": figures,
                                                  "charts": _dashboard_charts(figures), "oversight": oversight,
                                                  "oversight_charts": oversight_charts(oversight, figures)})

    @api.get("/enterprises/{code}/repairs", include_in_schema=False)
    def propagation_page(request: Request, code: str, grant: PageAuditor,
                         decision_no: Annotated[str, Query(min_length=1, max_length=128)]) -> HTMLResponse:
        out = sync_out(code, decision_no)
        return render(request, "propagation.html", {"code": code, "sync": out, "today": today()})

    @api.get("/favicon.ico", include_in_schema=False)
    def favicon() -> RedirectResponse:
        return RedirectResponse("/static/favicon.svg")

    from tongxiu.services.rules_api import (
        add_rule_routes,  # the rules' read-only routes (notice, first violation)
    )

    add_rule_routes(api, app, api_grant)
    from tongxiu.services.supervision_api import (
        add_supervision_routes,  # 执法监督 figures, oversight, inspections
    )

    add_supervision_routes(api, app, auditor, api_grant)
    from tongxiu.services.transparency_api import add_transparency_routes  # issue 9: checkpoints and proofs

    add_transparency_routes(api, app, api_grant)
    return api


# ---------------------------------------------------------------------------- charts (inline SVG)


def _cn_time(value: Any, fmt: str = "%Y-%m-%d %H:%M") -> str:
    if value is None:
        return "—"
    if isinstance(value, str):
        value = _DATETIME.validate_python(value)
    if isinstance(value, datetime):
        return value.astimezone(CHINA).strftime(fmt)
    return str(value)


def _timeline_chart(events: list[Any], kept: set[str], colours: dict[str, str], as_of: datetime | None) -> dict[str, Any]:
    """Dots on a time axis, one lane per department; events after ``as_of`` are hollow."""
    width, lane, left = 900, 28, 150
    if not events:
        return {"width": width, "height": 40, "dots": [], "lanes": [], "ticks": [], "cursor": None}
    start = min(e.occurred_at for e in events)
    end = max(e.occurred_at for e in events)
    span = max((end - start).total_seconds(), 86400.0)

    def x(t: datetime) -> float:
        return float(round(left + 10 + (t - start).total_seconds() / span * (width - left - 30), 1))

    lanes = list(colours)
    dots = [
        {
            "x": x(e.occurred_at),
            "y": 20 + lanes.index(e.department) * lane,
            "colour": colours[e.department],
            "kept": e.event_id in kept,
            "title": f"#{e.seq} {e.type} — {e.department} — {_cn_time(e.occurred_at)}",
        }
        for e in events
    ]
    ticks = []
    day = china_day(start).replace(day=1)
    while True:
        t = datetime.combine(day, time(), tzinfo=CHINA)
        if t > end:
            break
        if t >= start:
            ticks.append({"x": x(t), "label": day.strftime("%Y-%m")})
        day = (day + timedelta(days=32)).replace(day=1)
    cursor = x(max(min(as_of, end), start)) if as_of is not None else None
    height = 30 + len(lanes) * lane
    return {
        "width": width,
        "height": height + 20,
        "axis_y": height,
        "dots": dots,
        "lanes": [{"y": 20 + i * lane, "name": d, "colour": colours[d]} for i, d in enumerate(lanes)],
        "ticks": ticks,
        "cursor": cursor,
    }


def _dashboard_charts(figures: list[Any]) -> list[dict[str, Any]]:
    """Horizontal bar charts, one per figure, one bar per department."""
    specs: list[tuple[str, Callable[[Any], Any], str]] = [
        ("三书同达 completeness", lambda f: f.three_documents_completeness, "pct"),
        ("整改建议事项（企业）closed / found — advice items, not 案卷评查 findings",
         lambda f: _ratio(f.rectification_closed, f.rectification_found), "pct"),
        ("整改建议事项（企业）overdue — advice items", lambda f: f.rectification_overdue, "n"),
        ("Repairs decided within deadline", lambda f: f.repairs_within_deadline_rate, "pct"),
        ("Mean sync acknowledgement lag (hours)", lambda f: f.mean_sync_ack_hours, "n"),
        ("Syncs overdue", lambda f: f.syncs_overdue, "n"),
    ]
    charts = []
    for title, get, kind in specs:
        values = [(f.department, get(f)) for f in figures]
        top = 1.0 if kind == "pct" else max([v for _, v in values if v] or [1])
        bars = []
        for i, (dept, v) in enumerate(values):
            bars.append({
                "y": 8 + i * 24,
                "label": dept,
                "w": round(((v or 0) / top) * 260, 1) if top else 0,
                "text": "—" if v is None else (f"{v * 100:.0f}%" if kind == "pct" else f"{v:g}"),
            })
        charts.append({"title": title, "bars": bars, "height": 16 + len(values) * 24})
    return charts
