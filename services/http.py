"""The auditor and supervisor web service: a JSON read API, the HTTP gateway for signed
submissions, the repair feed for credit platforms, the pages, and the operations endpoints.

Thin, like the CLI: every answer comes from the application (``Tongxiu``) or the audit
(``tongxiu.services.audit``); nothing here decides anything. :func:`create_app` builds the
service from routers, one ``APIRouter`` per area, each in its own module (modules beside this
one rather than a subpackage, so the wheel's package list needs no change):

========================  ==============================================================
``http_gateway``          ``POST /submissions`` (departments)
``http_enterprises``      enterprises, history, credit, rectification, sync, verify, rejections
``http_feed``             the repair feed and its commits, a subscriber's inbox, a department's decisions
``http_supervision``      departments and their supervision figures (+ ``supervision_api``)
``transparency_api``      the transparency log: checkpoints and proofs
``rules_api``             the notice the ledger expects, 首违
``http_pages``            the pages (Chinese by default), print view, CSV export, sign-in (+ ``http_charts``)
``http_ops``              ``/health``, ``/healthz``, ``/readyz``, ``/metrics``, whoami, the access log
========================  ==============================================================

Shared: ``http_models`` (shapes, parameters, read helpers), ``http_access`` (who read what),
``http_metrics`` (Prometheus), ``http_logging`` (JSON lines).

Access: :mod:`tongxiu.services.http_auth` (one role dependency over ``HTTPBearer``). Outer
guard: :mod:`tongxiu.services.http_guard`. Logs: :mod:`tongxiu.services.http_logging`.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline
from starlette.exceptions import HTTPException as StarletteHTTPException

from tongxiu.events.envelope import Submission
from tongxiu.events.wire import MAX_SUBMISSION_BYTES
from tongxiu.services import http_enterprises, http_feed, http_gateway, http_ops, http_pages, http_supervision
from tongxiu.services.app import Tongxiu
from tongxiu.services.http_auth import COOKIE, Access, Grant, load_tokens, parse_tokens, role
from tongxiu.services.http_guard import FailedAttempts, Guard
from tongxiu.services.http_logging import RequestLog, configure_json_logging
from tongxiu.services.http_metrics import Metrics
from tongxiu.services.http_models import TIMELINE_PAGE
from tongxiu.services.platform_feed import PlatformFeedService

__all__ = ["COOKIE", "MAX_BODY", "TIMELINE_PAGE", "Grant", "create_app", "load_tokens", "parse_tokens"]

HERE = Path(__file__).parent
MAX_BODY = MAX_SUBMISSION_BYTES


def create_app(
    app: Tongxiu, tokens: dict[str, Any], *, max_failed_auth: int = 30, failed_auth_window_s: float = 60.0,
    json_logs: bool = True,
) -> FastAPI:
    """The FastAPI service over one ``Tongxiu``. ``tokens``: token -> {role, department}.
    A client address with ``max_failed_auth`` failed token attempts within
    ``failed_auth_window_s`` seconds is answered 429 until the window has passed. With
    ``json_logs`` the server's logs become JSON lines when it starts."""
    access = Access(tokens)

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if json_logs:
            configure_json_logging()
        yield

    api = FastAPIOffline(
        title="同修 Tongxiu",
        version="0.1.0",
        description=(
            "同修账本的审计与监督服务 — auditor and supervisor service of the Tongxiu ledger. "
            "Authenticate with `Authorization: Bearer <token>`; roles: auditor, department, credit_platform."
        ),
        static_url="/docs-static",
        favicon_url="/static/favicon.svg",
        lifespan=lifespan,
    )
    api.state.tongxiu = app
    api.state.access = access
    api.state.feed_state = PlatformFeedService(app)
    api.state.metrics = Metrics(app, lambda: {k: len(v) for k, v in api.state.feed_state.handed.items()})
    api.add_middleware(
        Guard,
        known=access.known,
        cookie=COOKIE,
        max_body=MAX_BODY,
        attempts=FailedAttempts(max_failed_auth, failed_auth_window_s),
    )
    api.add_middleware(RequestLog)  # outermost: logs every answer, the guard's 401s included

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

    @api.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        """JSON for the API; a short page in the page's language for a browser (401, 403, 404)."""
        if exc.status_code in (401, 403, 404) and isinstance(exc.detail, str) and http_pages.wants_page(request):
            response: Response = http_pages.error_page(request, exc.status_code, exc.detail)
            for key, value in (exc.headers or {}).items():
                response.headers[key] = value
            return response
        return await http_exception_handler(request, exc)

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
            # the guard answers any path with a token in its query 400 (``http_guard``), before routing
            token_in_url = {"description": "a token in the URL (?token=): send it in the Authorization header",
                            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}
            for operations in doc.get("paths", {}).values():
                for operation in operations.values():
                    operation.setdefault("responses", {}).setdefault("400", token_in_url)
            api.openapi_schema = doc
        return api.openapi_schema

    api.openapi = openapi  # type: ignore[method-assign]

    for area in (http_ops, http_enterprises, http_supervision, http_feed, http_gateway, http_pages):
        api.include_router(area.router)

    from tongxiu.services.rules_api import add_rule_routes  # the notice the ledger expects, 首违
    from tongxiu.services.supervision_api import (
        add_supervision_routes,  # 执法监督 figures, oversight, inspections
    )
    from tongxiu.services.transparency_api import add_transparency_routes  # checkpoints and proofs

    add_rule_routes(api, app, role())
    add_supervision_routes(api, app, role("auditor"), role())
    add_transparency_routes(api, app, role())
    return api
