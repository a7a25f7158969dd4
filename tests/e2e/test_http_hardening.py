"""The gateway and web hygiene findings of issue 8, each against a real uvicorn server where
the wire matters (auth before the body, streaming limits, the access log) and through the
ASGI client otherwise."""

from __future__ import annotations

import json
import logging
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from tests.support import decision
from tongxiu.events.wire import MAX_SUBMISSION_BYTES
from tongxiu.infra.embedded import LocalTransport
from tongxiu.services.app import Tongxiu
from tongxiu.services.demo import ENTERPRISE, demo_key
from tongxiu.services.http import create_app, load_tokens
from tongxiu.services.ledger import sign_submission
from tongxiu.services.sdk import Producer

AUDITOR = "auditor-token-0000000000"
SAMR = "dept-token-samr-deqing-0000"
TAX = "dept-token-tax-deqing-00000"
PLATFORM_A = "platform-token-a-00000000"
PLATFORM_B = "platform-token-b-00000000"
TOKENS = {
    AUDITOR: {"role": "auditor"},
    SAMR: {"role": "department", "department": "samr-deqing"},
    TAX: {"role": "department", "department": "tax-deqing"},
    PLATFORM_A: {"role": "credit_platform"},
    PLATFORM_B: {"role": "credit_platform"},
}


class Live:
    def __init__(self, app: Tongxiu, **kw: object) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)  # TCP_NODELAY (live_server)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        config = uvicorn.Config(create_app(app, TOKENS, **kw), log_config=None, access_log=True,  # type: ignore[arg-type]
                                log_level="info", lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    def __enter__(self) -> Live:
        self.thread.start()
        while not self.server.started:
            self.thread.join(0.05)
            assert self.thread.is_alive(), "server did not start"
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)

    def connect(self) -> socket.socket:
        s = socket.create_connection(("127.0.0.1", self.port), timeout=20)
        return s


def _response(s: socket.socket) -> tuple[int, str]:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1")
    return int(head.split(" ", 2)[1]), head


@pytest.fixture
def live(demo_app: Tongxiu) -> Iterator[Live]:
    with Live(demo_app) as server:
        yield server


@pytest.mark.parametrize("path", ["/feed/commit", "/submissions", "/api/enterprises", "/nowhere"])
def test_no_token_is_refused_before_any_body_is_read(live: Live, path: str) -> None:
    """Headers announce a chunked body that never comes: the 401 arrives anyway, so the body
    cannot have been read (let alone buffered)."""
    with live.connect() as s:
        s.sendall(f"POST {path} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                  "Content-Type: application/json\r\n\r\n".encode())
        status, _ = _response(s)
    assert status == 401


def test_200_mb_chunked_body_without_token_is_not_taken_in(live: Live) -> None:
    chunk = b"%x\r\n%s\r\n" % (1 << 20, b"a" * (1 << 20))
    sent = 0
    with live.connect() as s:
        s.sendall(b"POST /feed/commit HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
        try:
            for _ in range(200):
                s.sendall(chunk)
                sent += 1
        except OSError:  # the server answered and closed: it stopped taking the body
            pass
        status, _ = _response(s)
    assert status == 401
    assert sent < 200, "the server kept reading a 200 MB body from a caller without a token"


@pytest.mark.parametrize(("path", "token"), [("/submissions", SAMR), ("/feed/commit", PLATFORM_A)])
def test_body_limit_is_enforced_while_streaming(live: Live, path: str, token: str) -> None:
    chunk = b"%x\r\n%s\r\n" % (1 << 16, b" " * (1 << 16))
    sent = 0
    with live.connect() as s:
        s.sendall(f"POST {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n"
                  "Transfer-Encoding: chunked\r\nContent-Type: application/json\r\n\r\n".encode())
        try:
            for _ in range(3200):  # 200 MB
                s.sendall(chunk)
                sent += 1
        except OSError:
            pass
        status, _ = _response(s)
    assert status == 413
    assert sent < 3200


def test_declared_oversize_body_is_refused_at_once(live: Live) -> None:
    with live.connect() as s:
        s.sendall(f"POST /submissions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {SAMR}\r\n"
                  f"Content-Length: {200 * 1024 * 1024}\r\n\r\n".encode())
        status, _ = _response(s)
    assert status == 413


def test_tokens_never_reach_the_logs_nor_a_url(live: Live, caplog: pytest.LogCaptureFixture) -> None:
    """A ``?token=`` is refused (400) and taken out of the query before any log; the sign-in
    form sets the cookie; the request log (JSON lines) names who called, never the token."""
    from tongxiu.services.http_logging import JsonFormatter

    caplog.set_level(logging.INFO)
    with live.connect() as s:
        s.sendall(f"GET /dashboard?token={AUDITOR}&period=2026 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        status, head = _response(s)
    assert status == 400 and "tongxiu_token=" not in head
    body = f"token={AUDITOR}&next=%2Fdashboard%3Fperiod%3D2026".encode()
    with live.connect() as s:
        s.sendall(b"POST /login HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                  b"Content-Type: application/x-www-form-urlencoded\r\n"
                  + f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
        status, head = _response(s)
    assert status == 303 and "location: /dashboard?period=2026" in head.lower()
    assert "tongxiu_token=" in head and "HttpOnly" in head and "Secure" not in head  # plain http: no Secure flag
    with live.connect() as s:
        s.sendall(f"GET /dashboard?period=2026 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                  f"Authorization: Bearer {AUDITOR}\r\n\r\n".encode())
        status, _ = _response(s)
    assert status == 200
    live.server.should_exit = True
    live.thread.join(10)
    lines = [JsonFormatter().format(r) for r in caplog.records]
    access = [json.loads(line) for line, r in zip(lines, caplog.records, strict=True) if r.name == "tongxiu.access"]
    assert [(a["method"], a["path"], a["status"]) for a in access] == [
        ("GET", "/dashboard", 400), ("POST", "/login", 303), ("GET", "/dashboard", 200)]
    assert access[0]["query"] == "period=2026" and access[2]["query"] == "period=2026"
    assert access[2]["role"] == "auditor" and access[0]["role"] is None
    assert not any(AUDITOR in line for line in lines), lines
    assert not any(AUDITOR in r.getMessage() for r in caplog.records)


def test_json_formatter_masks_tokens() -> None:
    from tongxiu.services.http_logging import JsonFormatter

    record = logging.LogRecord("tongxiu.x", logging.WARNING, "", 0, "sent Authorization: Bearer %s to /?token=%s",
                               (AUDITOR, AUDITOR), None)
    out = json.loads(JsonFormatter().format(record))
    assert out["level"] == "warning" and out["logger"] == "tongxiu.x"
    assert AUDITOR not in out["msg"] and "Bearer ***" in out["msg"] and "token=***" in out["msg"]


def test_cookie_is_secure_behind_https(demo_app: Tongxiu) -> None:
    c = TestClient(create_app(demo_app, TOKENS))
    r = c.post("/login", data={"token": AUDITOR}, headers={"X-Forwarded-Proto": "https"}, follow_redirects=False)
    assert r.status_code == 303
    cookie = r.headers["set-cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie
    https = TestClient(create_app(demo_app, TOKENS), base_url="https://testserver")
    assert "Secure" in https.post("/login", data={"token": AUDITOR}, follow_redirects=False).headers["set-cookie"]


def test_security_headers(demo_app: Tongxiu) -> None:
    c = TestClient(create_app(demo_app, TOKENS))
    c.headers["Authorization"] = f"Bearer {AUDITOR}"
    for path in ["/", "/api/enterprises", f"/api/enterprises/{ENTERPRISE}/history", "/dashboard", "/nowhere"]:
        r = c.get(path)
        assert "default-src 'self'" in r.headers["content-security-policy"], path
        assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
        assert r.headers["x-frame-options"] == "DENY"
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["cache-control"] == "no-store", path
    anon = TestClient(create_app(demo_app, TOKENS))
    r = anon.get("/api/enterprises")
    assert r.status_code == 401 and r.headers["cache-control"] == "no-store"
    static = anon.get("/static/app.js")
    assert static.status_code == 200 and static.headers.get("cache-control") != "no-store"
    assert static.headers["x-content-type-options"] == "nosniff"


def test_failed_token_attempts_are_rate_limited(demo_app: Tongxiu) -> None:
    c = TestClient(create_app(demo_app, TOKENS, max_failed_auth=5, failed_auth_window_s=3600))
    for i in range(5):
        assert c.get("/api/enterprises", headers={"Authorization": f"Bearer wrong-token-{i:08d}"}).status_code == 401
    r = c.get("/api/enterprises", headers={"Authorization": "Bearer wrong-token-again"})
    assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
    # blocked means blocked: not even a right guess is tried from that address now
    assert c.get("/api/enterprises", headers={"Authorization": f"Bearer {AUDITOR}"}).status_code == 429
    assert c.get("/health").status_code == 200


def test_tokens_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    path.write_text(json.dumps({AUDITOR: {"role": "auditor"}}), encoding="utf-8")
    path.chmod(0o644)
    with pytest.raises(ValueError, match="chmod 600"):
        load_tokens(path)
    from tongxiu.entrypoints.cli import app as cli

    result = CliRunner().invoke(cli, ["--data-dir", str(tmp_path / "d"), "serve", "--tokens", str(path)])
    assert result.exit_code == 2 and "chmod 600" in result.output
    path.chmod(0o600)
    assert load_tokens(path)[AUDITOR].role == "auditor"


def test_each_credit_platform_token_has_its_own_feed_consumer(demo_app: Tongxiu) -> None:
    a = TestClient(create_app(demo_app, TOKENS), headers={"Authorization": f"Bearer {PLATFORM_A}"})
    app_b = create_app(demo_app, TOKENS)
    b = TestClient(app_b, headers={"Authorization": f"Bearer {PLATFORM_B}"})
    items = a.get("/feed").json()["items"]
    assert items, "the demo puts repairs on the feed"
    last = items[-1]
    assert a.post("/feed/commit", json={"consumer": "default", "event_id": last["event_id"]}).status_code == 200
    assert a.get("/feed").json()["items"] == []
    # strict bodies: a position written as a string is not coerced
    r = a.post("/feed/commit", json={"consumer": "default", "position": str(last["position"])})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "position"]
    # B's "default" is not A's: B still sees every item
    assert [i["event_id"] for i in b.get("/feed").json()["items"]] == [i["event_id"] for i in items]


# ---------------------------------------------------------------------------- the gateway


def _tax_signed_bundle_json(app: Tongxiu, sid: str) -> str:
    sub = sign_submission(demo_key("tax-deqing"), department="tax-deqing", stream=ENTERPRISE, submission_id=sid,
                          occurred_at=app.now(), events=[decision("税-GW-1", rule_set="gbf-2025-22")])
    return sub.model_dump_json()


@pytest.mark.parametrize("shadow", [b'"department":"samr-deqing\xff",', b'"department":"samr-deqing",',
                                    b'"department":"samr-deqing","x\xff":1,'])
def test_gateway_cannot_be_bypassed_by_a_shadowed_duplicate_key(demo_app: Tongxiu, shadow: bytes) -> None:
    """samr's token with tax's signed submission, a duplicate (shadowed) ``department`` key
    and an invalid UTF-8 byte: never published as tax, never filed under tax's name."""
    c = TestClient(create_app(demo_app, TOKENS), headers={"Authorization": f"Bearer {SAMR}"})
    genuine = _tax_signed_bundle_json(demo_app, "gw-1").encode()
    body = genuine.replace(b'"submission_id"', shadow + b'"submission_id"', 1)
    before = demo_app.log.last_seq(ENTERPRISE)
    r = c.post("/submissions", content=body, headers={"Content-Type": "application/json"})
    assert r.status_code in (403, 422), r.text
    assert demo_app.log.last_seq(ENTERPRISE) == before
    assert not demo_app.log.find_submission("tax-deqing", "gw-1")
    assert demo_app.rejections.get("tax-deqing", "gw-1") is None
    if r.status_code == 422:
        assert r.json()["department"] == "samr-deqing"
        assert r.json()["reasons"][0]["code"] in {"encoding_invalid", "duplicate_key"}
    # tax itself, with its own token, publishes it
    t = TestClient(create_app(demo_app, TOKENS), headers={"Authorization": f"Bearer {TAX}"})
    ok = t.post("/submissions", content=genuine, headers={"Content-Type": "application/json"})
    assert ok.status_code == 200, ok.text


def test_gateway_hands_the_parsed_submission_to_the_ledger(demo_app: Tongxiu, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[object] = []
    original = demo_app.submit

    def spy(raw: object) -> object:
        seen.append(raw)
        return original(raw)  # type: ignore[arg-type]

    monkeypatch.setattr(demo_app, "submit", spy)
    c = TestClient(create_app(demo_app, TOKENS), headers={"Authorization": f"Bearer {TAX}"})
    assert c.post("/submissions", content=_tax_signed_bundle_json(demo_app, "gw-2")).status_code == 200
    from tongxiu.events.envelope import Submission

    assert len(seen) == 1 and isinstance(seen[0], Submission) and seen[0].department == "tax-deqing"


def test_gateway_records_unreadable_bodies_under_the_caller(demo_app: Tongxiu) -> None:
    c = TestClient(create_app(demo_app, TOKENS), headers={"Authorization": f"Bearer {SAMR}"})
    for body, code in [(b"\xff\xfe", "encoding_invalid"), (b'{"a":1,"a":2}', "duplicate_key"),
                       (b"[" * 100_000, "too_deep"), (b'"\\ud800"', "encoding_invalid"),
                       (b"{" + b" " * (MAX_SUBMISSION_BYTES - 10) + b"}", "schema_invalid")]:
        r = c.post("/submissions", content=body)
        assert r.status_code == 422, (code, r.text[:200])
        assert r.json()["reasons"][0]["code"] == code and r.json()["department"] == "samr-deqing"


def test_producer_sdk_over_http_still_publishes(demo_app: Tongxiu) -> None:
    from tongxiu.services.http_client import HttpTransport

    http = TestClient(create_app(demo_app, TOKENS))
    receipt = Producer(HttpTransport(client=http, token=TAX), "tax-deqing", demo_key("tax-deqing")).publish(
        ENTERPRISE, [decision("税-GW-3", rule_set="gbf-2025-22")], occurred_at=demo_app.now())
    assert receipt.accepted, receipt.reasons
    local = Producer(LocalTransport(demo_app), "tax-deqing", demo_key("tax-deqing")).publish(
        ENTERPRISE, [decision("税-GW-3", rule_set="gbf-2025-22")], submission_id="x", occurred_at=demo_app.now())
    assert not local.accepted and local.codes == ["duplicate_reference"]


def test_http_transport_resends_after_503(demo_app: Tongxiu, monkeypatch: pytest.MonkeyPatch) -> None:
    import httpx

    from tongxiu.services.http_client import HttpTransport

    monkeypatch.setattr("tongxiu.services.http_client.time.sleep", lambda s: None)
    asgi = TestClient(create_app(demo_app, TOKENS))
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        if len(calls) == 1:
            return httpx.Response(503, json={"detail": "busy"}, headers={"Retry-After": "1"})
        r = asgi.post("/submissions", content=request.content, headers=dict(request.headers))
        return httpx.Response(r.status_code, content=r.content, headers={"content-type": "application/json"})

    transport = HttpTransport(client=httpx.Client(transport=httpx.MockTransport(handler), base_url="http://x"),
                              token=TAX)
    receipt = Producer(transport, "tax-deqing", demo_key("tax-deqing")).publish(
        ENTERPRISE, [decision("税-GW-4", rule_set="gbf-2025-22")], occurred_at=demo_app.now())
    assert receipt.accepted and len(calls) == 2


def test_json_logging_is_configured_once(capsys: pytest.CaptureFixture[str]) -> None:
    import logging.config

    from tongxiu.services.http_logging import UVICORN_LOG_CONFIG, configure_json_logging

    logging.config.dictConfig(UVICORN_LOG_CONFIG)
    configure_json_logging()
    configure_json_logging()
    logging.getLogger("tongxiu.access").info("GET / 200", extra={"status": 200})
    logging.getLogger("uvicorn.error").info("started")
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
    assert [(x["logger"], x["msg"]) for x in lines] == [("tongxiu.access", "GET / 200"), ("uvicorn.error", "started")]
    assert lines[0]["status"] == 200
