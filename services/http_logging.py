"""Structured logs: one JSON object per line, never a token.

* :class:`JsonFormatter` — ``{"ts", "level", "logger", "msg", ...extra}``; any text that looks like
  a bearer header or a ``token=`` parameter is masked before it is written.
* :class:`RequestLog` — a pure ASGI middleware writing one line per request to the
  ``tongxiu.access`` logger: method, path, the query without any ``token`` parameter, status,
  duration, client, and who called (role, department, token name — never the token or the
  ``Authorization`` header). It replaces uvicorn's text access log.
* :func:`configure_json_logging` — run when the server starts: uvicorn's own loggers and
  ``tongxiu`` write JSON lines to stderr; uvicorn's access log is switched off (replaced)."""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode

ACCESS = logging.getLogger("tongxiu.access")
_SECRET = re.compile(r"(?i)(bearer\s+|token=)[^\s&\"',;]+")
_STANDARD = set(vars(logging.LogRecord("x", 0, "", 0, "", None, None))) | {"message", "asctime"}


def mask(text: str) -> str:
    """Mask what follows ``Bearer `` or ``token=``."""
    return _SECRET.sub(lambda m: m.group(1) + "***", text)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": mask(record.getMessage()),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_") and key not in ("color_message",):
                out[key] = mask(value) if isinstance(value, str) else value
        if record.exc_info:
            out["exc"] = mask(self.formatException(record.exc_info))
        return json.dumps(out, ensure_ascii=False, default=str)


_MARK = "_tongxiu_json"


def configure_json_logging(level: int = logging.INFO) -> None:
    """Idempotent: JSON lines on stderr for ``uvicorn`` (its text handlers replaced) and
    ``tongxiu`` (which still propagates, so a root handler sees its records too); uvicorn's
    text access log off (``tongxiu.access`` has the request lines, with who called)."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    setattr(handler, _MARK, True)
    uvicorn = logging.getLogger("uvicorn")
    uvicorn.handlers = [handler]
    tongxiu = logging.getLogger("tongxiu")
    if not any(isinstance(h.formatter, JsonFormatter) for h in tongxiu.handlers):  # once (UVICORN_LOG_CONFIG has one)
        tongxiu.handlers.append(handler)
    for logger in (uvicorn, tongxiu):
        if logger.level == logging.NOTSET or logger.level > level:
            logger.setLevel(level)
    logging.getLogger("uvicorn.access").disabled = True


def _query(raw: bytes) -> str:
    if not raw:  # most requests: nothing to parse
        return ""
    pairs = parse_qsl(raw.decode("latin-1"), keep_blank_values=True)
    return urlencode([(k, v) for k, v in pairs if k.lower() not in ("token", "access_token")])


class RequestLog:
    """See the module docstring. Outermost middleware: it sees every answer, 401s included."""

    def __init__(self, app: Any, *, logger: logging.Logger = ACCESS, clock: Callable[[], float] = time.perf_counter):
        self.app = app
        self.logger = logger
        self.clock = clock

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = self.clock()
        status = {"code": 500}
        query = _query(scope.get("query_string", b""))

        async def sending(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status["code"] = int(message.get("status", 500))
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            grant = (scope.get("state") or {}).get("grant")
            client = scope.get("client") or ("", 0)
            self.logger.info(
                "%s %s %s", scope.get("method", ""), scope.get("path", ""), status["code"],
                extra={
                    "method": scope.get("method", ""), "path": scope.get("path", ""), "query": query,
                    "status": status["code"], "ms": round((self.clock() - started) * 1000, 1),
                    "client": client[0],
                    "role": getattr(grant, "role", None), "department": getattr(grant, "department", None),
                    "token_name": getattr(grant, "name", None) or None,
                },
            )


#: For ``uvicorn.run(api, log_config=UVICORN_LOG_CONFIG)``: JSON from uvicorn's very first line
#: (without it the two lines before the application starts are still uvicorn's text).
UVICORN_LOG_CONFIG: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": JsonFormatter}},
    "handlers": {"json": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}},
    "loggers": {
        "uvicorn": {"handlers": ["json"], "level": "INFO", "propagate": False},
        "uvicorn.error": {"level": "INFO"},
        "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
        "tongxiu": {"handlers": ["json"], "level": "INFO"},
    },
}
