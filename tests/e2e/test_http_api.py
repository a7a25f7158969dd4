"""The web service's JSON API, gateway and feed, in process (FastAPI's TestClient) on the
embedded ledger after the demo scenario; and the whole demo driven over HTTP."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from tongxiu.events.models import PenaltyFulfilled, RepairGranted
from tongxiu.infra.bootstrap import open_embedded
from tongxiu.infra.embedded import LocalInbox, LocalTransport
from tongxiu.services.app import Tongxiu
from tongxiu.services.config import Settings
from tongxiu.services.demo import DEPARTMENTS, ENTERPRISE, START, demo_key, run_demo
from tongxiu.services.http import create_app, load_tokens, parse_tokens
from tongxiu.services.http_client import HttpError, HttpFeed, HttpInbox, HttpTransport
from tongxiu.services.ports import ManualClock
from tongxiu.services.sdk import FeedItem, Producer, RepairRecord
from tongxiu.streams.topics import event_records, topic_names

AUDITOR = "auditor-token-0000000000"
PLATFORM = "platform-token-000000000"
DECISION = "德市监处罚〔2026〕7号"


def dept_token(dept: str) -> str:
    return f"dept-token-{dept}-0000"


TOKENS: dict[str, Any] = {
    AUDITOR: {"role": "auditor", "name": "审计"},
    PLATFORM: {"role": "credit_platform", "department": "creditchina"},
    **{dept_token(d[0]): {"role": "department", "department": d[0]} for d in DEPARTMENTS},
}
SAMR = dept_token("samr-deqing")


def client(app: Tongxiu, token: str | None = AUDITOR) -> TestClient:
    c = TestClient(create_app(app, TOKENS))
    if token:
        c.headers["Authorization"] = f"Bearer {token}"
    return c


@pytest.fixture
def auditor(demo_app: Tongxiu) -> TestClient:
    return client(demo_app)


def fields(response: Any) -> list[str]:
    return [".".join(str(p) for p in d["loc"]) for d in response.json()["detail"]]


# ---------------------------------------------------------------------------- access


def test_missing_unknown_and_malformed_tokens_are_401(demo_app: Tongxiu) -> None:
    anon = client(demo_app, None)
    r = anon.get("/api/enterprises")
    assert r.status_code == 401
    assert r.json() == {"detail": "missing token: send 'Authorization: Bearer <token>'"}
    assert r.headers["www-authenticate"] == "Bearer"
    assert client(demo_app, "no-such-token-0000000").get("/api/enterprises").json() == {"detail": "unknown token"}
    r = anon.get("/api/enterprises", headers={"Authorization": f"Basic {AUDITOR}"})
    assert r.status_code == 401 and "Bearer" in r.json()["detail"]
    assert anon.get("/health").status_code == 200
    assert anon.get("/dashboard").status_code == 401


def test_roles(demo_app: Tongxiu) -> None:
    samr, platform = client(demo_app, SAMR), client(demo_app, PLATFORM)
    assert client(demo_app).get("/api/whoami").json()["role"] == "auditor"
    for c in (samr, platform):
        r = c.get(f"/api/enterprises/{ENTERPRISE}/history")
        assert r.status_code == 403
        assert "needs auditor" in r.json()["detail"]
        assert c.get("/dashboard").status_code == 403
    # a department reads its own decisions and inbox, nobody else's
    own = samr.get("/api/departments/samr-deqing/decisions").json()
    assert [d["decision_no"] for d in own["decisions"]] == [DECISION]
    assert samr.get("/api/departments/tax-deqing/decisions").status_code == 403
    assert samr.get("/api/departments/samr-deqing/inbox").json() == []
    assert samr.get("/api/departments/tax-deqing/inbox").status_code == 403
    assert client(demo_app).get("/api/departments/tax-deqing/decisions").json()["decisions"] == []
    # the credit platform reads the feed only; departments may not
    assert platform.get("/feed").status_code == 200
    assert platform.get("/api/departments/creditchina/inbox").status_code == 403
    assert samr.get("/feed").status_code == 403
    # only department tokens publish
    for c in (client(demo_app), platform):
        r = c.post("/submissions", json={})
        assert r.status_code == 403 and "department token" in r.json()["detail"]


def test_pages_sign_in_by_form_then_cookie_never_by_url(demo_app: Tongxiu) -> None:
    anon = client(demo_app, None)
    r = anon.get("/", params={"token": AUDITOR})  # a token in a URL is refused, and sets nothing
    assert r.status_code == 400 and "/login" in r.json()["detail"]
    assert anon.cookies.get("tongxiu_token") is None
    assert anon.get("/login").status_code == 200
    r = anon.post("/login", data={"token": AUDITOR, "next": "/dashboard"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/dashboard"
    assert AUDITOR not in r.headers["location"]
    assert anon.cookies.get("tongxiu_token") == AUDITOR
    assert anon.get("/").status_code == 200 and ENTERPRISE in anon.get("/").text  # the cookie alone now
    assert anon.get("/dashboard").status_code == 200
    # only an auditor token signs in; an open redirect is not offered
    other = client(demo_app, None)
    assert other.post("/login", data={"token": SAMR}, follow_redirects=False).status_code == 401
    assert other.post("/login", data={"token": "no-such-token-000000"}, follow_redirects=False).status_code == 401
    assert other.cookies.get("tongxiu_token") is None
    r = other.post("/login", data={"token": AUDITOR, "next": "//evil.example/x"}, follow_redirects=False)
    assert r.headers["location"] == "/"
    # a browser without a token is shown the way in (401, in Chinese)
    r = client(demo_app, None).get("/dashboard", headers={"Accept": "text/html"})
    assert r.status_code == 401 and "登录" in r.text and "/login?next=/dashboard" in r.text


def test_tokens_file_formats(tmp_path: Path) -> None:
    toml = tmp_path / "tokens.toml"
    toml.write_text(f'[tokens."{AUDITOR}"]\nrole = "auditor"\n[tokens."{SAMR}"]\nrole = "department"\n'
                    'department = "samr-deqing"\n', encoding="utf-8")
    as_json = tmp_path / "tokens.json"
    as_json.write_text(json.dumps({AUDITOR: {"role": "auditor"}}), encoding="utf-8")
    toml.chmod(0o600)
    as_json.chmod(0o600)
    assert load_tokens(toml)[SAMR].department == "samr-deqing"
    assert load_tokens(as_json)[AUDITOR].role == "auditor"
    with pytest.raises(ValueError, match="shorter than 16"):
        parse_tokens({"short": {"role": "auditor"}})
    with pytest.raises(ValueError, match="needs 'department'"):
        parse_tokens({SAMR: {"role": "department"}})
    with pytest.raises(ValueError):
        parse_tokens({SAMR: {"role": "root"}})


def test_serve_needs_a_tokens_file(tmp_path: Path) -> None:
    from tongxiu.entrypoints.cli import app as cli

    result = CliRunner().invoke(cli, ["--lang", "en", "--data-dir", str(tmp_path), "serve"], env={"TONGXIU_TOKENS_FILE": None})  # type: ignore[dict-item]
    assert result.exit_code == 2
    assert "no tokens file" in result.output


# ---------------------------------------------------------------------------- reads


def test_history_as_of_known_at_and_pages(auditor: TestClient) -> None:
    url = f"/api/enterprises/{ENTERPRISE}/history"
    now = auditor.get(url).json()
    assert now["credit"]["records"][DECISION]["status"] == "repaired"
    assert {i["status"] for i in now["rectification"]["items"].values()} == {"closed"}
    total = now["page"]["total"]
    assert len(now["events"]) == total > 10

    past = auditor.get(url, params={"as_of": "2026-01-20"}).json()
    assert past["as_of"] == "2026-01-20T23:59:59+08:00"
    assert past["credit"]["records"][DECISION]["status"] == "publicized"
    assert {i["status"] for i in past["rectification"]["items"].values()} == {"evidence_submitted"}
    assert past["page"]["total"] < total
    assert auditor.get(url, params={"known_at": "2026-01-05T10:30:00+08:00"}).json()["page"]["total"] == 3

    first = auditor.get(url, params={"limit": 5}).json()
    second = auditor.get(url, params={"limit": 5, "offset": 5}).json()
    assert [e["seq"] for e in first["events"]] == [1, 2, 3, 4, 5]
    assert [e["seq"] for e in second["events"]] == [6, 7, 8, 9, 10]

    credit = auditor.get(f"/api/enterprises/{ENTERPRISE}/credit", params={"as_of": "2026-01-20"}).json()
    assert credit["records"][DECISION]["status"] == "publicized"
    rect = auditor.get(f"/api/enterprises/{ENTERPRISE}/rectification", params={"as_of": "2026-03-20"}).json()
    assert all(not i["overdue"] for i in rect["items"].values())
    assert rect["open_by_department"] == {}


@pytest.mark.parametrize(
    ("url", "params", "field"),
    [
        ("/api/enterprises/{code}/history", {"as_of": "2026-13-01"}, "query.as_of"),
        ("/api/enterprises/{code}/history", {"known_at": "2026-02-01T10:00"}, "query.known_at"),
        ("/api/enterprises/{code}/history", {"limit": "0"}, "query.limit"),
        ("/api/enterprises/{code}/history", {"offset": "-1"}, "query.offset"),
        ("/api/enterprises/{code}/credit", {"as_of": "yesterday"}, "query.as_of"),
        ("/api/supervision", {"period": "2026-13"}, "query.period"),
        ("/api/supervision", {"period": "2026-04..2026-01"}, "query.period"),
        ("/api/departments/samr-deqing/supervision", {"period": "26"}, "query.period"),
        ("/api/rejections", {"limit": "x"}, "query.limit"),
        ("/feed", {"after": "5"}, "query.after"),  # paging by log position is gone: consumers commit
        ("/feed", {"consumer": "no spaces"}, "query.consumer"),
        ("/feed", {"limit": "0"}, "query.limit"),
    ],
)
def test_bad_input_is_422_naming_the_field(auditor: TestClient, url: str, params: dict[str, str], field: str) -> None:
    r = auditor.get(url.format(code=ENTERPRISE), params=params)
    assert r.status_code == 422
    assert field in fields(r)
    assert all(d["msg"] for d in r.json()["detail"])


def test_unknown_things_are_404(auditor: TestClient) -> None:
    for url in ("/api/enterprises/91330521XXXXXXXXXX/history", "/api/enterprises/registry/credit",
                "/api/departments/nobody/supervision", f"/api/enterprises/{ENTERPRISE}/sync?decision_no=nope"):
        r = auditor.get(url)
        assert r.status_code == 404, url
        assert r.json()["detail"]


def test_verify_and_tampering(demo_app: Tongxiu, auditor: TestClient) -> None:
    ok = auditor.get(f"/api/enterprises/{ENTERPRISE}/verify").json()
    assert ok["ok"] is True and ok["events"] > 10 and ok["first_bad"] is None
    assert auditor.get("/api/verify").json()["ok"] is True
    stored = demo_app.log.read_stream(ENTERPRISE)[3]
    demo_app.log.tamper_for_test(ENTERPRISE, 4, stored.raw.replace("62000", "6200"))
    bad = auditor.get(f"/api/enterprises/{ENTERPRISE}/verify").json()
    assert bad["ok"] is False
    assert bad["first_bad"]["seq"] == 4 and bad["first_bad"]["code"] == "hash_mismatch"
    assert bad["first_bad"]["problem"] == "哈希与事件内容不符（已被改动）"
    assert "altered" in bad["first_bad"]["problem_en"]
    page = auditor.get(f"/enterprises/{ENTERPRISE}")
    assert 'data-ok="false"' in page.text and "校验失败" in page.text and "哈希与事件内容不符" in page.text
    english = auditor.get(f"/enterprises/{ENTERPRISE}", params={"lang": "en"})
    assert "Verification FAILED" in english.text and "hash does not match the stored event" in english.text


def test_repair_sync_status(auditor: TestClient) -> None:
    r = auditor.get(f"/api/enterprises/{ENTERPRISE}/sync", params={"decision_no": DECISION}).json()
    rows = {d["subscriber"]: d for d in r["deliveries"]}
    assert sorted(rows) == ["creditchina", "eco-huzhou", "ema-deqing", "tax-deqing"]
    assert all(d["status"] == "acknowledged" for d in rows.values())
    assert [s for s, d in rows.items() if d["overdue"]] == ["ema-deqing"]
    assert rows["tax-deqing"]["latency_seconds"] == 3 * 3600


def test_supervision_periods(auditor: TestClient) -> None:
    every = {f["department"]: f for f in auditor.get("/api/supervision").json()}
    samr = every["samr-deqing"]
    assert (samr["penalties"], samr["three_documents_completeness"], samr["penalties_without_notice"]) == (1, 1.0, 0)
    assert (samr["rectification_found"], samr["rectification_closed"], samr["rectification_overdue"]) == (2, 2, 0)
    assert (samr["repairs_decided"], samr["repairs_within_deadline_rate"]) == (1, 1.0)
    assert every["ema-deqing"]["syncs_overdue"] == 1
    assert every["tax-deqing"]["mean_sync_ack_hours"] == 3.0
    one = auditor.get("/api/departments/samr-deqing/supervision", params={"period": "2026-01..2026-04"}).json()
    assert one["penalties"] == 1 and one["period"] == "2026-01..2026-04"
    assert auditor.get("/api/departments/samr-deqing/supervision", params={"period": "2025"}).json()["penalties"] == 0
    assert auditor.get("/api/departments/samr-deqing/supervision", params={"period": "2026-01"}).json()["penalties"] == 1


def test_rejections_log(auditor: TestClient) -> None:
    rows = auditor.get("/api/rejections").json()["rejections"]
    assert sorted(c["code"] for r in rows for c in r["receipt"]["reasons"]) == [
        "not_authorized", "repair_too_early", "signature_of_other_department"]
    only = auditor.get("/api/rejections", params={"department": "tax-deqing"}).json()["rejections"]
    assert [r["receipt"]["reasons"][0]["code"] for r in only] == ["not_authorized"]
    assert len(auditor.get("/api/rejections", params={"limit": 1, "offset": 1}).json()["rejections"]) == 1


def test_openapi_documents_the_api(auditor: TestClient) -> None:
    doc = auditor.get("/openapi.json").json()
    for path in ("/api/enterprises/{code}/history", "/api/enterprises/{code}/credit",
                 "/api/enterprises/{code}/rectification", "/api/enterprises/{code}/verify",
                 "/api/enterprises/{code}/sync", "/api/departments/{dept}/supervision", "/api/rejections",
                 "/submissions", "/feed"):
        assert path in doc["paths"], path
    body = doc["paths"]["/submissions"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/Submission"}
    assert "Submission" in doc["components"]["schemas"]


# ---------------------------------------------------------------------------- gateway


def test_gateway_accepts_rejects_and_records(demo_app: Tongxiu) -> None:
    http = client(demo_app, SAMR)
    samr = Producer(HttpTransport(client=http, token=SAMR), "samr-deqing", demo_key("samr-deqing"))
    paid = PenaltyFulfilled(decision_no=DECISION, amount_paid_yuan=62000, fulfilled_on="2026-04-10")  # type: ignore[arg-type]
    receipt = samr.publish(ENTERPRISE, [paid], submission_id="http-1", occurred_at=demo_app.now())
    assert receipt.accepted and receipt.events[0].seq == demo_app.log.last_seq(ENTERPRISE)
    again = samr.publish(ENTERPRISE, [paid], submission_id="http-1", occurred_at=demo_app.now())
    assert again.accepted and again.duplicate and again.events == receipt.events

    # forged: tax's key signing as market regulation — the ledger's rejection, with reasons
    forged = Producer(HttpTransport(client=http, token=SAMR), "samr-deqing", demo_key("tax-deqing"))
    bad = forged.publish(ENTERPRISE, [RepairGranted(decision_no=DECISION)], submission_id="http-forged")
    assert not bad.accepted and bad.codes == ["signature_of_other_department"]

    # the raw status codes and the schema errors, named by field, kept in the rejections log
    r = http.post("/submissions", json={"department": "samr-deqing", "stream": ENTERPRISE, "events": []})
    assert r.status_code == 422
    reasons = r.json()["reasons"]
    assert {x["field"] for x in reasons} >= {"submission_id", "occurred_at", "events"}
    r = http.post("/submissions", content=b"{not json", headers={"Content-Type": "application/json"})
    assert r.status_code == 422 and r.json()["reasons"][0]["code"] == "json_invalid"
    codes = [r.receipt.codes for r in demo_app.list_rejections(limit=100)]
    assert ["signature_of_other_department"] in codes and sum("schema_invalid" in c for c in codes) >= 1

    # publishing as another department is refused at the gate and not recorded
    before = len(demo_app.list_rejections(limit=1000))
    r = http.post("/submissions", json={"department": "tax-deqing", "submission_id": "x"})
    assert r.status_code == 403 and "publishes as samr-deqing only" in r.json()["detail"]
    assert len(demo_app.list_rejections(limit=1000)) == before
    with pytest.raises(HttpError) as err:
        Producer(HttpTransport(client=http, token=SAMR), "tax-deqing", demo_key("tax-deqing")).publish(
            ENTERPRISE, [paid])
    assert err.value.status == 403


def test_feed_has_no_personal_data_and_resumes(demo_app: Tongxiu) -> None:
    platform = client(demo_app, PLATFORM)
    data = platform.get("/feed", params={"consumer": "crm"}).json()
    assert data["consumer"] == "crm"
    (item,) = data["items"]
    assert item["type"] == "repair_granted" and item["decision_no"] == DECISION
    assert item["stream"] == ENTERPRISE and item["department"] == "samr-deqing"
    grant = next(s.envelope for s in demo_app.log.read_stream(ENTERPRISE) if s.envelope.type == "repair_granted")
    assert item["event_id"] == grant.event_id
    text = json.dumps(data, ensure_ascii=False)
    for personal in ("德清县某某化工有限公司", "张某", "武康街道", "party_name", "legal_representative"):
        assert personal not in text
    # the item is the repair topic's record of the grant, byte for byte, signed by the ledger
    # (the demo's platform already acknowledged the grant with its own feed's commit)
    parsed = FeedItem.model_validate(item)
    assert parsed.acknowledge is False
    (kafka,) = [r for r in event_records(topic_names(Settings()), ENTERPRISE, grant.to_json(), demo_app.ledger.key)
                if r.topic.endswith(".repairs")]
    assert parsed.record().model_dump_json().encode() == kafka.value
    assert RepairRecord.model_validate_json(kafka.value).verify(demo_app.ledger.key.public_key)
    assert parsed.verify(demo_app.ledger.key.public_key) and item["ledger_key"] == demo_app.ledger.key.public_key
    # not committed: delivered again; committed: not again, for this consumer only
    assert platform.get("/feed", params={"consumer": "crm"}).json()["items"] == [item]
    r = platform.post("/feed/commit", json={"consumer": "crm", "event_id": item["event_id"]})
    assert r.status_code == 200
    assert r.json() == {"consumer": "crm", "position": item["position"], "event_id": item["event_id"],
                        "receipts": [], "already_acknowledged": []}
    assert platform.get("/feed", params={"consumer": "crm"}).json()["items"] == []
    assert platform.get("/feed", params={"consumer": "other"}).json()["items"] == [item]
    # an item this consumer was not handed (or already committed) is refused, not guessed at
    for body in ({"consumer": "crm", "event_id": item["event_id"]}, {"consumer": "never-polled", "position": 1}):
        r = platform.post("/feed/commit", json=body)
        assert r.status_code == 409 and "GET /feed first" in r.json()["detail"]
    assert platform.post("/feed/commit", json={"consumer": "crm"}).status_code == 422
    # positions are per token department: the auditor's "crm" is another consumer
    assert client(demo_app).get("/feed", params={"consumer": "crm"}).json()["items"] == [item]

    # the SDK over HTTP: poll, commit by position, resume
    feed = HttpFeed(client=platform, token=PLATFORM)
    (polled,) = feed.poll("sdk")
    assert polled.event_id == item["event_id"]
    feed.commit("sdk", polled)
    assert feed.poll("sdk") == []
    assert len(HttpFeed(client=platform, token=PLATFORM).poll("sdk-other")) == 1

    # the positions live in the application's feed port, not in the HTTP process
    assert demo_app.feed.poll("http:creditchina:crm") == []
    assert [i.event_id for i in demo_app.feed.poll("http:creditchina:other")] == [item["event_id"]]


def test_whole_demo_over_http_matches_the_embedded_run(app: Tongxiu, clock: ManualClock, tmp_path: Path) -> None:
    http = client(app, None)
    tokens = {d[0]: dept_token(d[0]) for d in DEPARTMENTS}
    run_demo(app, clock, transport=HttpTransport(client=http, token=tokens), inbox=HttpInbox(client=http, token=tokens),
             feed=HttpFeed(client=http, token=PLATFORM), say=lambda s: None)

    other_clock = ManualClock(START)
    local = open_embedded(Settings(data_dir=tmp_path / "local"), clock=other_clock)
    try:
        run_demo(local, other_clock, transport=LocalTransport(local), inbox=LocalInbox(local),
                 say=lambda s: None)
        # the same views and the same events; only the ledger's own signatures (and so the
        # hashes) differ, because each ledger folder has its own ledger key
        assert app.enterprise_state(ENTERPRISE).model_dump(exclude={"last_hash"}) == local.enterprise_state(
            ENTERPRISE).model_dump(exclude={"last_hash"})

        def facts(t: Tongxiu) -> list[Any]:
            return [(e.seq, e.type, e.department, e.event_id, e.occurred_at, e.recorded_at, e.event,
                     e.signature if e.department != "ledger" else "")
                    for e in (s.envelope for s in t.log.read_stream(ENTERPRISE))]

        assert facts(app) == facts(local)
        assert {d: app.supervision(d) for d in app.departments()} == {d: local.supervision(d) for d in local.departments()}
    finally:
        local.close()


def test_pages_are_chinese_unless_english_is_asked_for(demo_app: Tongxiu) -> None:
    c = client(demo_app)
    assert "执法监督看板" in c.get("/dashboard").text
    assert '<html lang="zh-CN">' in c.get("/").text
    assert "Supervision dashboard" in c.get("/dashboard", headers={"Accept-Language": "en-US,en;q=0.9"}).text
    assert "执法监督看板" in c.get("/dashboard", headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"}).text
    r = c.get("/dashboard", params={"lang": "en"})
    assert "Supervision dashboard" in r.text and c.cookies.get("tongxiu_lang") == "en"
    assert "Supervision dashboard" in c.get("/dashboard").text  # the switch is remembered
    assert "执法监督看板" in c.get("/dashboard", params={"lang": "zh"}).text
    csv_en = c.get(f"/enterprises/{ENTERPRISE}/history.csv", params={"lang": "en"})
    assert csv_en.content.decode("utf-8-sig").splitlines()[0].startswith("seq,occurred at,recorded at,department,event")
    assert "Penalty decision" in csv_en.text
    csv_zh = c.get(f"/enterprises/{ENTERPRISE}/history.csv", params={"lang": "zh"})
    assert csv_zh.headers["content-type"].startswith("text/csv") and "attachment" in csv_zh.headers["content-disposition"]
    assert "德清县市场监督管理局" in csv_zh.content.decode("utf-8-sig")  # departments by their names
    past = c.get(f"/enterprises/{ENTERPRISE}/history.csv", params={"as_of": "2026-01-20"}).content.decode("utf-8-sig")
    total = c.get(f"/api/enterprises/{ENTERPRISE}/history", params={"as_of": "2026-01-20"}).json()["page"]["total"]
    assert len(past.splitlines()) == total + 1


def test_page_errors_are_pages_for_browsers_and_json_for_the_api(demo_app: Tongxiu) -> None:
    html = {"Accept": "text/html,application/xhtml+xml"}
    samr = client(demo_app, SAMR)
    r = samr.get("/dashboard", headers=html)
    assert r.status_code == 403 and r.headers["content-type"].startswith("text/html")
    assert "无权访问" in r.text and "needs auditor" in r.text
    assert samr.get("/dashboard").json()["detail"].endswith("needs auditor)")  # not a browser: JSON
    r = client(demo_app).get("/enterprises/91330000000000000X", headers=html)
    assert r.status_code == 404 and "未找到" in r.text
    assert client(demo_app).get("/api/enterprises/91330000000000000X/history", headers=html).json()["detail"]
