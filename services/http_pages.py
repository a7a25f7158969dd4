"""The server-rendered pages for auditors, in Chinese by default (English with ``?lang=en``,
the language switch on every page, or an ``Accept-Language`` that prefers English): the
enterprises, an enterprise's timeline (its print view and CSV export), the supervision
dashboard, a repair's propagation, and the access log. Sign-in is a form (``POST /login``)
that sets an HttpOnly cookie: a token never appears in a URL."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qs, quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

import tongxiu.services.audit as paging
from tongxiu.events.labels import event_type_name
from tongxiu.services import presenters
from tongxiu.services.http_access import read_access, record_read
from tongxiu.services.http_auth import COOKIE, Access, App, Auditor
from tongxiu.services.http_charts import dashboard_charts, timeline_chart
from tongxiu.services.http_models import (
    TIMELINE_PAGE,
    After,
    Limit,
    Offset,
    When,
    check_period,
    enterprise_codes,
    history,
    known_enterprise,
    supervision_all,
    sync_out,
    today,
    verification,
)

router = APIRouter(include_in_schema=False)
HERE = Path(__file__).resolve().parent
LANG_COOKIE = "tongxiu_lang"
PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"]


def _when(value: Any, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """China time without seconds by default (``| cn("%Y-%m-%d %H:%M:%S")`` with them)."""
    return presenters.when(value, seconds="%S" in fmt)


templates = Jinja2Templates(directory=str(HERE / "templates"))
templates.env.filters["cn"] = _when
templates.env.filters["pct"] = lambda v: "—" if v is None else f"{v * 100:.0f}%"


def page_lang(request: Request) -> str:
    """``?lang=`` first, then the cookie the switch set, then ``Accept-Language`` (English only
    when it is preferred over Chinese), else Chinese."""
    asked = request.query_params.get("lang") or request.cookies.get(LANG_COOKIE)
    if asked in ("zh", "en"):
        return asked
    for part in request.headers.get("accept-language", "").split(","):
        tag = part.split(";")[0].strip().lower()
        if tag.startswith("zh"):
            return "zh"
        if tag.startswith("en"):
            return "en"
    return "zh"


def render(request: Request, name: str, context: dict[str, Any], status_code: int = 200) -> HTMLResponse:
    lang = page_lang(request)
    app = request.app.state.tongxiu

    def t(zh: str, en: str) -> str:
        return en if lang == "en" else zh

    others = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"]
    switch = {code: request.url.path + "?" + "&".join(f"{quote(k)}={quote(v)}" for k, v in [*others, ("lang", code)])
              for code in ("zh", "en")}
    response = templates.TemplateResponse(request, name, {
        "now": app.now(), "lang": lang, "t": t, "switch": switch,
        "event_name": lambda type_: event_type_name(type_, lang),
        "value_name": lambda group, value: presenters.value_name(group, value, lang),
        **context,
    }, status_code=status_code)
    if request.query_params.get("lang") in ("zh", "en"):
        response.set_cookie(LANG_COOKIE, lang, samesite="strict", max_age=365 * 86400)
    return response


@router.get("/")
def index(request: Request, app: App, _: Auditor) -> HTMLResponse:
    return render(request, "index.html", {"enterprises": enterprise_codes(app), "stats": app.stats()})


@router.get("/login")
def login(request: Request) -> HTMLResponse:
    return render(request, "login.html", {"next": _next(request.query_params.get("next")), "error": None})


def _next(target: str | None) -> str:
    """Only a path on this site (never ``//host`` or a scheme)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


@router.post("/login")
async def login_form(request: Request) -> Response:
    """The sign-in form: an auditor token in the body sets the HttpOnly cookie, then back to
    the page asked for. The token is never put in a URL or a log."""
    form = parse_qs((await request.body()).decode("utf-8", "replace"), keep_blank_values=True)
    token = (form.get("token") or [""])[0].strip()
    target = _next((form.get("next") or ["/"])[0])
    access: Access = request.app.state.access
    grant = access.grant(token)
    if grant is None or grant.role != "auditor":
        error = ("令牌无效" if grant is None else "页面需要审计员令牌") if page_lang(request) == "zh" else \
                ("unknown token" if grant is None else "the pages need an auditor token")
        return render(request, "login.html", {"next": target, "error": error}, status_code=401)
    response = RedirectResponse(target, status_code=303)
    https = request.url.scheme == "https" or request.headers.get("x-forwarded-proto", "").lower() == "https"
    response.set_cookie(COOKIE, token, httponly=True, samesite="strict", secure=https)
    return response


@router.post("/logout")
def logout() -> Response:
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE)
    return response


def _timeline(request: Request, app: App, code: str, as_of: str | None, known_at: str | None,
              before: int | None) -> dict[str, Any]:
    known_enterprise(app, code)
    lang = page_lang(request)
    last = app.log.last_seq(code)
    end = min(before - 1, last) if before is not None else last
    first = max(end - TIMELINE_PAGE + 1, 1)
    data = history(app, code, as_of, known_at, 1, 0)
    when, known = data["as_of"], data["known_at"]
    page = [s.envelope for s in app.log.read_stream(code, from_seq=first, limit=end - first + 1)] if end else []
    kept = {e.event_id for e in page if paging.is_kept(e, when, known)}
    reg = app.registry()
    depts = sorted({e.department for e in page})
    colours = {d: PALETTE[i % len(PALETTE)] for i, d in enumerate(depts)}
    events = sorted(page, key=lambda e: (e.occurred_at, e.seq))
    names = {d: reg.departments[d].name if d in reg.departments else d for d in depts}
    return {
        "code": code, "as_of": as_of or "", "known_at": known_at or "", "as_of_dt": when,
        "events": events, "kept": kept, "colours": colours, "names": names,
        "rows": presenters.timeline(events, lang, code=code).rows,
        "chart": timeline_chart(events, kept, colours, when, lang),
        "credit": data["credit"], "rect": data["rectification"],
        "verification": paging.verify_range(app.log, code, first, end) if end else verification(app, code),
        "window": {"first": first, "last": end, "total": last,
                   "older": first - 1 if first > 1 else None, "newer": end + TIMELINE_PAGE + 1 if end < last else None},
        "sync_decisions": sorted({d.decision_no for d in data["sync"].deliveries.values()}),
    }


def _names(app: App) -> dict[str, str]:
    """Department id -> its registered name (德清县市场监督管理局 …), as people know them."""
    return {d: info.name for d, info in app.registry().departments.items()}


@router.get("/enterprises/{code}")
def timeline_page(request: Request, code: str, app: App, _: Auditor,
                  as_of: When = None, known_at: When = None, before: After = None) -> HTMLResponse:
    """The views and one page of the history: the latest ``TIMELINE_PAGE`` events (or those
    before seq ``before``); what is shown is verified (chain linked to the event before it)."""
    context = _timeline(request, app, code, as_of, known_at, before)
    record_read(request, code, "timeline page")
    return render(request, "timeline.html", context)


@router.get("/enterprises/{code}/print")
def print_page(request: Request, code: str, app: App, _: Auditor,
               as_of: When = None, known_at: When = None) -> HTMLResponse:
    """The whole history and the views on one page laid out for paper (A4, no navigation)."""
    known_enterprise(app, code)
    lang = page_lang(request)
    data = history(app, code, as_of, known_at, 1, 0)
    when, known = data["as_of"], data["known_at"]
    events = [s.envelope for s in app.log.read_stream(code, from_seq=1)]
    events = [e for e in events if paging.is_kept(e, when, known)]
    state = app.enterprise_state(code)
    day = today(app)
    record_read(request, code, "print view")
    return render(request, "print.html", {
        "code": code, "as_of_dt": when, "known_dt": known,
        "summary": presenters.enterprise_summary(state, day, lang) if when is None and known is None else None,
        "timeline": presenters.timeline(events, lang, code=code, names=_names(app)),
        "credit": presenters.credit_records(data["credit"], lang),
        "verification": verification(app, code),
    })


@router.get("/enterprises/{code}/history.csv")
def history_csv(request: Request, code: str, app: App, _: Auditor,
                as_of: When = None, known_at: When = None) -> Response:
    """The history as CSV, UTF-8 with a byte-order mark so Excel opens the Chinese correctly."""
    known_enterprise(app, code)
    data = history(app, code, as_of, known_at, 1, 0)
    events = [e for e in (s.envelope for s in app.log.read_stream(code, from_seq=1))
              if paging.is_kept(e, data["as_of"], data["known_at"])]
    record_read(request, code, "history csv")
    body = presenters.csv_bytes(presenters.timeline(events, page_lang(request), code=code, names=_names(app)))
    return Response(body, media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f"attachment; filename=\"{code}-history.csv\"; filename*=UTF-8''{quote(code)}-history.csv"})


@router.get("/dashboard")
def dashboard_page(request: Request, app: App, _: Auditor,
                   period: Annotated[str | None, Query(max_length=16)] = None) -> HTMLResponse:
    from tongxiu.services.supervision_api import oversight_charts

    figures = supervision_all(app, check_period(period))
    oversight = app.supervision_figures(period or None)
    return render(request, "dashboard.html", {
        "period": period or "", "figures": figures, "charts": dashboard_charts(figures, page_lang(request)),
        "oversight": oversight, "oversight_charts": oversight_charts(oversight, figures)})


@router.get("/enterprises/{code}/repairs")
def propagation_page(request: Request, code: str, app: App, _: Auditor,
                     decision_no: Annotated[str, Query(min_length=1, max_length=128)]) -> HTMLResponse:
    out = sync_out(app, code, decision_no)
    record_read(request, code, "repair propagation page")
    return render(request, "propagation.html", {"code": code, "sync": out, "today": today(app)})


@router.get("/access-log")
def access_page(request: Request, app: App, _: Auditor,
                enterprise: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
                limit: Limit = 200, offset: Offset = 0) -> HTMLResponse:
    total, rows = read_access(app, enterprise=enterprise, limit=limit, offset=offset)
    return render(request, "access_log.html", {"rows": rows, "total": total, "enterprise": enterprise or ""})


def wants_page(request: Request) -> bool:
    """A browser opening a page (a GET that accepts HTML, outside the API)."""
    return (request.method == "GET" and "text/html" in request.headers.get("accept", "")
            and not request.url.path.startswith(("/api/", "/feed", "/submissions", "/metrics", "/docs")))


def error_page(request: Request, status: int, detail: str) -> HTMLResponse:
    """An error a browser shows as a page, in the page's language (the API keeps its JSON)."""
    zh, en = {401: ("尚未登录", "Not signed in"), 403: ("无权访问", "Not allowed"),
              404: ("未找到", "Not found")}.get(status, ("请求有误", "Bad request"))
    return render(request, "error.html", {"status": status, "detail": detail,
                                          "heading": en if page_lang(request) == "en" else zh}, status_code=status)


@router.get("/favicon.ico")
def favicon() -> RedirectResponse:
    return RedirectResponse("/static/favicon.svg")
