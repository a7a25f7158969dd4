"""The web service's outer guard, a pure ASGI middleware in front of every route:

* **authentication before any body is read**: outside the public paths, a request without a
  known token is answered 401 from its headers alone — its body is never received;
* **body limits while streaming**: a declared ``Content-Length`` over the limit is refused at
  once (413), and a chunked body is counted as it arrives and cut off at the limit;
* **failed token attempts rate-limited** per client address (429 with ``Retry-After``);
* **tokens never in URLs or logs**: a ``?token=`` is taken out of the request's query string
  (so no access log records it) and refused with 400 — the pages sign in by a form that sets
  a cookie (``POST /login``), the API takes ``Authorization: Bearer``;
* **browsers are shown the way in**: a page opened without a token gets the 401 as a short
  Chinese page linking to the sign-in form;
* **security headers** on every answer: CSP, ``X-Frame-Options``, ``nosniff``,
  ``Referrer-Policy`` and ``Cache-Control: no-store`` (every answer but static files may
  carry personal data).

The client address is the one the server reports (``scope["client"]``): behind a reverse
proxy run uvicorn with ``--proxy-headers --forwarded-allow-ips=<proxy>`` so it is the real
client's, and ``X-Forwarded-Proto`` gives the scheme.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

from starlette.exceptions import HTTPException

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Any]
Send = Callable[[Message], Any]

PUBLIC = ("/health", "/healthz", "/readyz", "/metrics", "/login", "/logout", "/static/", "/favicon.ico",
          "/docs", "/docs/oauth2-redirect", "/docs-static/", "/redoc", "/openapi.json")

SECURITY_HEADERS = [
    (b"content-security-policy",
     b"default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; "
     b"frame-ancestors 'none'; base-uri 'none'; form-action 'self'"),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
]
_SECURITY_NAMES = frozenset(k for k, _ in SECURITY_HEADERS)
NO_STORE = (b"cache-control", b"no-store")
API_DOCS = ("/docs", "/redoc", "/docs/oauth2-redirect")
DOCS_CSP = (b"content-security-policy",
            b"default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
            b"script-src 'self' 'unsafe-inline'; worker-src 'self' blob:; frame-ancestors 'none'; base-uri 'none'")
"""The interactive docs run inline code that starts Swagger UI / ReDoc (served from /docs-static,
never a CDN): inline scripts allowed there, every other source still this site only."""
TOKEN_IN_URL = ("令牌不能放在网址中：页面请在 /login 登录，接口请使用 Authorization: Bearer 请求头 "
                "(tokens do not go in URLs: sign in at /login, or send 'Authorization: Bearer <token>')")


class TooLarge(HTTPException):
    """Raised from ``receive`` when a streamed body passes the limit: an HTTPException, so the
    routes' body parsing passes it on and it is answered 413."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"请求体超过 {limit} 字节的上限 (body larger than {limit} bytes)")


class FailedAttempts:
    """Failed token attempts per client address in a sliding window."""

    def __init__(self, limit: int, window_s: float) -> None:
        self.limit = limit
        self.window_s = window_s
        self._seen: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, client: str, now: float) -> deque[float]:
        times = self._seen.setdefault(client, deque())
        while times and times[0] <= now - self.window_s:
            times.popleft()
        return times

    def blocked_for(self, client: str) -> int:
        """Seconds until ``client`` may try again (0: not blocked)."""
        now = time.monotonic()
        with self._lock:
            times = self._recent(client, now)
            if len(times) < self.limit:
                return 0
            return max(1, int(times[0] + self.window_s - now) + 1)

    def failed(self, client: str) -> None:
        now = time.monotonic()
        with self._lock:
            self._recent(client, now).append(now)
            if len(self._seen) > 100_000:  # forget the quiet addresses
                for key in [k for k, v in self._seen.items() if not v][:50_000]:
                    self._seen.pop(key, None)


def _public(path: str) -> bool:
    return any(path == p or (p.endswith("/") and path.startswith(p)) for p in PUBLIC)


def _headers(scope: Scope) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in scope.get("headers", []):
        out.setdefault(key.decode("latin-1").lower(), value.decode("latin-1"))
    return out


def _cookie(header: str, name: str) -> str | None:
    for part in header.split(";"):
        key, _, value = part.strip().partition("=")
        if key == name and value:
            return value
    return None


class Guard:
    """See the module's docstring. ``known(token)`` says whether a token is one of ours."""

    def __init__(
        self,
        app: Any,
        *,
        known: Callable[[str], bool],
        cookie: str,
        max_body: int,
        attempts: FailedAttempts,
    ) -> None:
        self.app = app
        self.known = known
        self.cookie = cookie
        self.max_body = max_body
        self.attempts = attempts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        static = path.startswith("/static/") or path.startswith("/docs-static/")
        token_in_url = self._take_query_token(scope)

        async def send_secured(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [h for h in message.get("headers", []) if h[0].lower() not in _SECURITY_NAMES]
                headers += [DOCS_CSP if path in API_DOCS and h[0] == b"content-security-policy" else h
                            for h in SECURITY_HEADERS]
                if not static:
                    headers = [h for h in headers if h[0].lower() != b"cache-control"] + [NO_STORE]
                if message.get("status") in (401, 413, 429) and (b"connection", b"close") not in headers:
                    headers.append((b"connection", b"close"))  # do not go on receiving the body
                message = {**message, "headers": headers}
            await send(message)

        client = (scope.get("client") or ("unknown", 0))[0]
        headers = _headers(scope)
        if token_in_url:
            await _answer(send_secured, 400, TOKEN_IN_URL)
            return
        if not _public(path):
            wait = self.attempts.blocked_for(client)
            if wait:
                await _answer(send_secured, 429, "认证失败次数过多，请稍后再试 (too many failed token attempts)",
                              [(b"retry-after", str(wait).encode())])
                return
            token = self._token(scope, headers)
            if token is None or not self.known(token):
                self.attempts.failed(client)
                detail = ("missing token: send 'Authorization: Bearer <token>'" if token is None
                          else "the Authorization header must be 'Bearer <token>'" if token == ""
                          else "unknown token")
                if _browser(scope, headers):
                    await _sign_in_page(send_secured, path, token is not None)
                else:
                    await _answer(send_secured, 401, detail, [(b"www-authenticate", b"Bearer")])
                return
        declared = headers.get("content-length")
        if declared is not None and (not declared.strip().isdigit() or int(declared) > self.max_body):
            status = 413 if declared.strip().isdigit() else 400
            await _answer(send_secured, status, f"请求体超过 {self.max_body} 字节的上限 (body larger than {self.max_body} bytes)"
                          if status == 413 else "Content-Length 不是数字")
            return

        received = 0
        started = False

        async def counted_receive() -> Message:
            nonlocal received
            message: Message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body:
                    raise TooLarge(self.max_body)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                if message.get("status") == 401:
                    self.attempts.failed(client)
            await send_secured(message)

        try:
            await self.app(scope, counted_receive, tracking_send)
        except TooLarge:
            if not started:
                await _answer(send_secured, 413, f"请求体超过 {self.max_body} 字节的上限 (body larger than {self.max_body} bytes)")

    def _token(self, scope: Scope, headers: dict[str, str]) -> str | None:
        auth = headers.get("authorization", "")
        scheme, _, value = auth.partition(" ")
        if auth and scheme.lower() == "bearer" and value.strip():
            return value.strip()
        if auth:
            return ""  # a malformed header: unknown, not missing
        return _cookie(headers.get("cookie", ""), self.cookie)

    @staticmethod
    def _take_query_token(scope: Scope) -> bool:
        """Take ``?token=`` out of the query string (so that no access log records it); True
        when there was one."""
        raw = scope.get("query_string", b"")
        if b"token=" not in raw.lower():
            return False
        pairs = parse_qsl(raw.decode("latin-1"), keep_blank_values=True)
        if not any(k.lower() in ("token", "access_token") for k, _ in pairs):
            return False
        scope["query_string"] = urlencode(
            [(k, v) for k, v in pairs if k.lower() not in ("token", "access_token")]).encode("latin-1")
        return True


def _browser(scope: Scope, headers: dict[str, str]) -> bool:
    """A page opened in a browser (a GET that accepts HTML), not an API client."""
    return (scope.get("method") == "GET" and "text/html" in headers.get("accept", "")
            and not scope.get("path", "").startswith(("/api/", "/feed", "/submissions")))


async def _sign_in_page(send: Send, path: str, known_token: bool) -> None:
    target = quote(path, safe="/")
    why = "令牌无效或已失效" if known_token else "尚未登录"
    body = (f'<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>请登录 — 同修</title>'
            f'<link rel="stylesheet" href="/static/style.css"></head><body><main><h1>{why}</h1>'
            f'<p>此页面需要审计员令牌。<a id="sign-in" href="/login?next={target}">登录</a></p>'
            f'<p class="muted">{"unknown token" if known_token else "missing token"}: '
            f'<a href="/login?next={target}&amp;lang=en">sign in</a></p></main></body></html>').encode()
    await send({
        "type": "http.response.start",
        "status": 401,
        "headers": [(b"content-type", b"text/html; charset=utf-8"), (b"content-length", str(len(body)).encode()),
                    (b"www-authenticate", b"Bearer"), (b"connection", b"close")],
    })
    await send({"type": "http.response.body", "body": body})


async def _answer(send: Send, status: int, detail: str, headers: list[tuple[bytes, bytes]] | None = None) -> None:
    body = json.dumps({"detail": detail}, ensure_ascii=False).encode("utf-8")
    await send({
        "type": "http.response.start",
        "status": status,
        "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"), *(headers or [])],
    })
    await send({"type": "http.response.body", "body": body})
