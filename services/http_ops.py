"""Operations: liveness (``/health``, ``/healthz``), readiness (``/readyz``: the backend answers),
Prometheus metrics (``/metrics``), the caller's grant (``/api/whoami``), and the access log of
personal-data reads for auditors (``/api/access-log``). ``/health*``, ``/readyz`` and
``/metrics`` need no token (they carry counts, never personal data)."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response

from tongxiu.events.models import REGISTRY_STREAM
from tongxiu.services.app import Tongxiu
from tongxiu.services.http_access import read_access
from tongxiu.services.http_auth import App, Auditor, Caller, Grant
from tongxiu.services.http_metrics import CONTENT_TYPE, Metrics
from tongxiu.services.http_models import AUTH_RESPONSES, Limit, Offset

router = APIRouter(tags=["service"])


@router.get("/health")
def health(app: App) -> dict[str, Any]:
    """Liveness, no token needed (kept for existing probes; see ``/healthz`` and ``/readyz``)."""
    return {"status": "ok", "backend": app.backend}


@router.get("/healthz")
def healthz(app: App) -> dict[str, Any]:
    """The process is alive and serving (touches nothing else)."""
    return {"status": "ok", "backend": app.backend}


def _kafka_servers(app: Tongxiu) -> list[str]:
    """The Kafka bootstrap servers the transport produces to (distributed backend), if any."""
    config = getattr(getattr(app.transport, "producer", None), "config", None)
    servers = config.get("bootstrap_servers") if isinstance(config, dict) else None
    if isinstance(servers, str):
        return [servers]
    return [str(s) for s in servers or []]


def _reachable(servers: list[str], timeout_s: float = 2.0) -> str | None:
    problems = []
    for server in servers:
        host, _, port = server.rpartition(":")
        try:
            with socket.create_connection((host or server, int(port or 9092)), timeout=timeout_s):
                return None
        except (OSError, ValueError) as exc:
            problems.append(f"{server}: {exc}")
    return "; ".join(problems) or None


def readiness(app: Tongxiu) -> dict[str, Any]:
    """Each check: ok and milliseconds, or the error. The log (SQLite file / Cassandra), the
    read models and rejection log (the same stores), and — distributed — Kafka reachable."""
    checks: dict[str, dict[str, Any]] = {}

    def run(name: str, probe: Callable[[], object]) -> None:
        started = time.perf_counter()
        try:
            problem = probe()
        except Exception as exc:  # noqa: BLE001 - a readiness probe reports every failure
            problem = f"{type(exc).__name__}: {exc}"
        ms = round((time.perf_counter() - started) * 1000, 1)
        checks[name] = {"ok": problem is None, "ms": ms, **({"error": str(problem)[:300]} if problem else {})}

    run("log", lambda: None if app.log.last_seq(REGISTRY_STREAM) >= 0 else "no registry")
    run("read_models", lambda: None if app.read_models.position() >= 0 else "no position")
    run("rejections", lambda: None if app.rejections.count() >= 0 else "no count")
    servers = _kafka_servers(app)
    if servers:
        run("kafka", lambda: _reachable(servers))
    return {"ready": all(c["ok"] for c in checks.values()), "backend": app.backend, "checks": checks}


@router.get("/readyz", responses={503: {"description": "a backend check failed"}})
def readyz(app: App) -> JSONResponse:
    """Ready to serve: every backend check passed (200), or which failed and why (503)."""
    out = readiness(app)
    return JSONResponse(out, status_code=200 if out["ready"] else 503)


@router.get("/metrics", response_class=Response)
def metrics(request: Request) -> Response:
    """Prometheus text format (see :mod:`tongxiu.services.http_metrics` for the series)."""
    m: Metrics = request.app.state.metrics
    return Response(m.render(), media_type=CONTENT_TYPE)


@router.get("/api/whoami", responses=AUTH_RESPONSES)
def whoami(grant: Caller) -> Grant:
    """The role and department of the token used."""
    return grant


@router.get("/api/access-log", tags=["audit"], responses=AUTH_RESPONSES)
def access_log(app: App, _: Auditor,
               enterprise: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
               limit: Limit = 100, offset: Offset = 0) -> dict[str, Any]:
    """Who read which enterprise's data, newest first: when, role, department, token name,
    what and the route (auditors only)."""
    total, rows = read_access(app, enterprise=enterprise, limit=limit, offset=offset)
    return {"page": {"total": total, "limit": limit, "offset": offset}, "reads": rows}
