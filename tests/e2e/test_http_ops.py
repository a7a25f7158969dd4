"""The service as a government data centre runs it: the bearer scheme declared in OpenAPI,
API docs served from this site only, Prometheus metrics, health and readiness, a Kafka
delivery failure answered 503, and the access log of who read which enterprise's data."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from tests.support import decision
from tongxiu.infra.kafka_transport import SubmissionNotDelivered
from tongxiu.services.app import Tongxiu
from tongxiu.services.demo import ENTERPRISE, demo_key
from tongxiu.services.http import create_app
from tongxiu.services.ledger import sign_submission

AUDITOR = "auditor-token-0000000000"
OTHER_AUDITOR = "auditor-token-1111111111"
TAX = "dept-token-tax-deqing-00000"
PLATFORM = "platform-token-000000000"
TOKENS: dict[str, Any] = {
    AUDITOR: {"role": "auditor", "name": "审计一处 王"},
    OTHER_AUDITOR: {"role": "auditor", "name": "审计二处 李"},
    TAX: {"role": "department", "department": "tax-deqing", "name": "税务对接"},
    PLATFORM: {"role": "credit_platform", "department": "creditchina"},
}


def client(app: Tongxiu, token: str | None = AUDITOR, *, service: Any = None) -> TestClient:
    c = TestClient(service or create_app(app, TOKENS, json_logs=False))
    if token:
        c.headers["Authorization"] = f"Bearer {token}"
    return c


def test_openapi_declares_the_bearer_scheme_and_protected_routes_use_it(demo_app: Tongxiu) -> None:
    doc = client(demo_app, None).get("/openapi.json").json()
    assert doc["components"]["securitySchemes"]["bearer"] == {
        "type": "http", "scheme": "bearer", "description": doc["components"]["securitySchemes"]["bearer"]["description"]}
    secured, public = [], []
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            (secured if {"bearer": []} in op.get("security", []) else public).append(f"{method.upper()} {path}")
    for route in ["GET /api/enterprises/{code}/history", "POST /submissions", "GET /feed", "POST /feed/commit",
                  "GET /api/departments/{dept}/inbox", "GET /api/log/checkpoint", "POST /api/notice",
                  "GET /api/supervision/figures", "GET /api/access-log", "GET /api/whoami"]:
        assert route in secured, route
    assert sorted(public) == ["GET /health", "GET /healthz", "GET /metrics", "GET /readyz"]


def test_api_docs_load_nothing_from_another_host(demo_app: Tongxiu) -> None:
    anon = client(demo_app, None)
    for path in ("/docs", "/redoc"):
        page = anon.get(path)
        assert page.status_code == 200
        assert not re.search(r"(src|href)=[\"']?(https?:)?//", page.text), page.text
        assets = re.findall(r"(?:src|href)=[\"']?(/[^\"' >]+)", page.text)
        assert any(a.endswith(".js") for a in assets), assets
        for asset in assets:
            got = anon.get(asset)
            assert got.status_code == 200 and len(got.content) > 100, asset
        csp = page.headers["content-security-policy"]
        assert "default-src 'self'" in csp and "http" not in csp
    assert "SwaggerUIBundle" in anon.get("/docs").text


def _signed(app: Tongxiu, sid: str) -> str:
    return sign_submission(demo_key("tax-deqing"), department="tax-deqing", stream=ENTERPRISE, submission_id=sid,
                           occurred_at=app.now(), events=[decision(f"税-OPS-{sid}", rule_set="gbf-2025-22")]
                           ).model_dump_json()


def test_kafka_delivery_failure_is_503_with_the_reason_and_submission_id(
        demo_app: Tongxiu, monkeypatch: pytest.MonkeyPatch) -> None:
    def down(raw: object) -> object:
        raise SubmissionNotDelivered(("tax-deqing", "ops-1"), "submission 'ops-1' of tax-deqing was not "
                                     "acknowledged by Kafka within 10s (broker unreachable?)")

    monkeypatch.setattr(demo_app, "submit", down)
    c = client(demo_app, TAX)
    r = c.post("/submissions", content=_signed(demo_app, "ops-1"))
    assert r.status_code == 503 and int(r.headers["retry-after"]) >= 1
    body = r.json()
    assert body["reason"] == "submission_not_delivered" and body["submission_id"] == "ops-1"
    assert "broker unreachable" in body["detail"] and "重新提交" in body["detail"]
    metrics = _metrics(c)
    assert metrics[("tongxiu_submissions_unavailable_total", (("cause", "not_delivered"),))] == 1


def _metrics(c: TestClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    r = c.get("/metrics", headers={"Authorization": ""})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(r.text) for s in family.samples}


def test_metrics_count_submissions_by_result_and_reason_and_read_the_backend(demo_app: Tongxiu) -> None:
    c = client(demo_app, TAX)
    assert c.post("/submissions", content=_signed(demo_app, "ops-2")).status_code == 200
    bad = c.post("/submissions", content=b'{"a":1,"a":2}')
    assert bad.status_code == 422
    m = _metrics(c)
    assert m[("tongxiu_submissions_total", (("reason", ""), ("result", "accepted")))] == 1
    assert m[("tongxiu_submissions_total", (("reason", "duplicate_key"), ("result", "rejected")))] == 1
    assert m[("tongxiu_append_seconds_count", ())] == 2
    events = sum(demo_app.log.last_seq(s) for s in demo_app.log.streams())
    assert m[("tongxiu_log_events", ())] == events
    assert m[("tongxiu_projection_lag_events", ())] == events - demo_app.read_models.position() >= 0
    assert m[("tongxiu_rejections_recorded", ())] == demo_app.rejections.count() >= 1
    # the demo leaves ema-deqing's sync of the repair overdue, and every subscriber's inbox pending count
    overdue = {k[1][0][1]: v for k, v in m.items() if k[0] == "tongxiu_sync_overdue"}
    assert overdue == {d: demo_app.supervision(d).syncs_overdue for d in demo_app.departments()}
    assert sum(overdue.values()) >= 1
    pending = {dict(k[1])["subscriber"]: v for k, v in m.items() if k[0] == "tongxiu_inbox_pending"}
    assert pending == {d: len(demo_app.inbox(d)) for d in demo_app.departments()}
    # the HTTP feed's handed-but-uncommitted items, per consumer
    platform = client(demo_app, PLATFORM, service=c.app)
    items = platform.get("/feed").json()["items"]
    uncommitted = {dict(k[1])["consumer"]: v for k, v in _metrics(c).items() if k[0] == "tongxiu_feed_uncommitted"}
    assert uncommitted == {"http:creditchina:default": len(items)} and items


def test_healthz_and_readyz(demo_app: Tongxiu, monkeypatch: pytest.MonkeyPatch) -> None:
    anon = client(demo_app, None)
    assert anon.get("/healthz").json() == {"status": "ok", "backend": "embedded"}
    ready = anon.get("/readyz")
    assert ready.status_code == 200 and ready.json()["ready"] is True
    assert set(ready.json()["checks"]) == {"log", "read_models", "rejections"}

    def broken(stream: str) -> int:
        raise OSError("disk I/O error")

    monkeypatch.setattr(demo_app.log, "last_seq", broken)
    down = anon.get("/readyz")
    assert down.status_code == 503 and down.json()["checks"]["log"] == {
        "ok": False, "ms": down.json()["checks"]["log"]["ms"], "error": "OSError: disk I/O error"}
    assert anon.get("/healthz").status_code == 200  # alive, not ready


def test_readyz_checks_kafka_is_reachable(demo_app: Tongxiu, monkeypatch: pytest.MonkeyPatch) -> None:
    """Distributed: the transport's producer names Kafka's bootstrap servers; nothing listens
    on the port given here, so the service is not ready."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # free, and closed again: nothing listens

    class Producer:
        config = {"bootstrap_servers": [f"127.0.0.1:{port}"]}

    monkeypatch.setattr(demo_app.transport, "producer", Producer(), raising=False)
    r = client(demo_app, None).get("/readyz")
    assert r.status_code == 503 and r.json()["checks"]["kafka"]["ok"] is False
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        Producer.config = {"bootstrap_servers": [f"127.0.0.1:{server.getsockname()[1]}"]}
        assert client(demo_app, None).get("/readyz").json()["checks"]["kafka"]["ok"] is True


def test_access_log_records_who_read_which_enterprise(demo_app: Tongxiu) -> None:
    c, other = client(demo_app), client(demo_app, OTHER_AUDITOR)
    assert c.get("/api/access-log").json()["reads"] == []
    assert c.get(f"/api/enterprises/{ENTERPRISE}/history").status_code == 200
    assert other.get(f"/api/enterprises/{ENTERPRISE}/credit").status_code == 200
    assert other.get(f"/enterprises/{ENTERPRISE}/history.csv").status_code == 200
    assert c.get("/api/enterprises").status_code == 200  # a list of codes is no one's personal data
    assert c.get("/api/enterprises/91330000000000000X/history").status_code == 404  # nothing read
    log = c.get("/api/access-log").json()
    assert log["page"]["total"] == 3
    reads = log["reads"]  # newest first
    assert [(r["name"], r["what"], r["enterprise"]) for r in reads] == [
        ("审计二处 李", "history csv", ENTERPRISE), ("审计二处 李", "credit", ENTERPRISE),
        ("审计一处 王", "history", ENTERPRISE)]
    assert all(r["role"] == "auditor" and len(r["token"]) == 12 for r in reads)
    assert all(AUDITOR not in str(r) and OTHER_AUDITOR not in str(r) for r in reads)
    assert c.get("/api/access-log", params={"enterprise": "X"}).json()["reads"] == []
    # durable: a new service over the same ledger still has them; only auditors read them
    assert client(demo_app).get("/api/access-log").json()["page"]["total"] == 3
    assert client(demo_app, TAX).get("/api/access-log").status_code == 403
    page = c.get("/access-log")
    assert page.status_code == 200 and page.text.count('class="read"') == 3 and "审计二处 李" in page.text


def test_access_log_covers_inspections_and_first_violation(demo_app: Tongxiu) -> None:
    c, tax = client(demo_app), client(demo_app, TAX)
    assert c.get(f"/api/enterprises/{ENTERPRISE}/inspections").status_code == 200
    assert tax.get(f"/api/enterprises/{ENTERPRISE}/first-violation", params={"kind": "标签瑕疵"}).status_code == 200
    reads = c.get("/api/access-log", params={"enterprise": ENTERPRISE}).json()["reads"]
    assert [(r["what"], r["role"], r["department"], r["name"]) for r in reads] == [
        ("first violation", "department", "tax-deqing", "税务对接"), ("inspections", "auditor", None, "审计一处 王")]
