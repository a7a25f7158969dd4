"""``tongxiu serve`` on the distributed backend, against the real Kafka and Cassandra: the
Faust worker runs as a subprocess on this test's own topic prefix and keyspace (its clock
follows the test's through a file), the web service is ``create_app`` over
``open_distributed`` in FastAPI's TestClient, and the test acts as its users: departments
POST signed submissions, an auditor reads the views, a credit platform reads the repair feed
(``KafkaFeed`` behind ``GET /feed``), commits, and is not handed the item again.
"""

from __future__ import annotations

import json
import signal
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.integration.test_distributed_pipeline import FileDrivenClock, Worker, wait_for
from tongxiu.events.models import (
    REGISTRY_STREAM,
    PenaltyFulfilled,
    RectificationEvidenceSubmitted,
    RectificationVerified,
    RepairApplied,
    RepairGranted,
)
from tongxiu.events.signing import KeyPair
from tongxiu.infra.distributed import KafkaFeed, open_distributed
from tongxiu.infra.kafka_topics import client_config, drop_topics, migrate_topics, topic_names
from tongxiu.services import scheduler
from tongxiu.services.app import Tongxiu
from tongxiu.services.config import Settings
from tongxiu.services.demo import (
    DEPARTMENTS,
    ENTERPRISE,
    START,
    demo_decision_and_advice,
    demo_key,
    register_departments,
)
from tongxiu.services.http import create_app
from tongxiu.services.http_client import HttpFeed, HttpTransport
from tongxiu.services.repair_feed import RepairFeed
from tongxiu.services.sdk import FeedItem, Producer

pytestmark = pytest.mark.integration

AUDITOR = "auditor-token-0000000000"
PLATFORM = "platform-token-000000000"
DECISION = "德市监处罚〔2026〕7号"
ADVICE = "德市监合规〔2026〕7号"


def dept_token(dept: str) -> str:
    return f"dept-token-{dept}-0000"


TOKENS: dict[str, Any] = {
    AUDITOR: {"role": "auditor"},
    PLATFORM: {"role": "credit_platform", "department": "creditchina"},
    **{dept_token(d[0]): {"role": "department", "department": d[0]} for d in DEPARTMENTS},
}


@pytest.fixture
def settings(fresh_keyspace: Callable[..., Settings], tmp_path: Path) -> Iterator[Settings]:
    base = fresh_keyspace("tx_http")
    s = base.model_copy(
        update={
            "topic_prefix": f"test-http-{uuid.uuid4().hex[:8]}",
            "partitions": 2,
            "data_dir": tmp_path / "data",
        }
    )
    migrate_topics(s)
    yield s
    drop_topics(s, [f"{s.topic_prefix}-faust-__assignor-__leader"])


def repair_topic(settings: Settings) -> list[bytes]:
    """Every record value of the public repairs topic, as a platform on Kafka reads it."""
    from kafka import KafkaConsumer

    consumer = KafkaConsumer(topic_names(settings).repairs, auto_offset_reset="earliest", enable_auto_commit=False,
                             consumer_timeout_ms=5000, **client_config(settings))
    try:
        return [rec.value for rec in consumer]
    finally:
        consumer.close()


def test_serve_on_the_distributed_backend(settings: Settings, cassandra_session: Any, tmp_path: Path) -> None:
    key = KeyPair.generate()
    Path(settings.data_dir).mkdir(parents=True)
    (Path(settings.data_dir) / "ledger.key").write_text(key.private_key)
    clock = FileDrivenClock(START, tmp_path / "clock.txt")
    worker = Worker(settings, tmp_path / "worker.log", clock_file=clock.path)
    worker.start()
    app: Tongxiu | None = None
    try:
        app = open_distributed(settings, clock=clock, key=key, session=cassandra_session)
        assert isinstance(app.feed, KafkaFeed)
        wait_for(lambda: app.log.last_seq(REGISTRY_STREAM) >= 1, 60, "the worker's bootstrap", worker)
        service = create_app(app, TOKENS)
        auditor = TestClient(service, headers={"Authorization": f"Bearer {AUDITOR}"})
        platform = TestClient(service, headers={"Authorization": f"Bearer {PLATFORM}"})
        http = TestClient(service)
        tokens = {d[0]: dept_token(d[0]) for d in DEPARTMENTS}
        transport = HttpTransport(client=http, token=tokens)
        assert auditor.get("/health").json() == {"status": "ok", "backend": "distributed"}

        def at(delta: timedelta) -> Any:
            clock.set(START + delta)
            return clock.now()

        # ① registrations by the ledger (through Kafka), subscriptions as POST /submissions
        producers = register_departments(app, transport, clock)
        samr, platform_dept = producers["samr-deqing"], producers["creditchina"]
        departments = auditor.get("/api/departments").json()
        assert {d["department_id"] for d in departments} >= {d[0] for d in DEPARTMENTS}

        # ② 三书同达 as one signed submission, posted raw like any department's client would
        decision, advice = demo_decision_and_advice()
        served = samr.serve(
            ENTERPRISE, decision, advice, submission_id="serve-7", occurred_at=at(timedelta(hours=1))
        )
        assert served.accepted, served.reasons
        assert [e.seq for e in served.events] == [1, 2, 3]
        # issue 9: the receipt carries its leaves and a checkpoint; the proof routes serve the log
        from tongxiu.events import merkle
        from tongxiu.events.tlog import Checkpoint, event_leaf_data

        assert served.log is not None
        cp = Checkpoint.model_validate(auditor.get("/api/log/checkpoint").json())
        assert cp.verify({key.public_key}) and cp.size >= served.log.checkpoint.size
        first = served.events[0]
        proof = auditor.get("/api/log/proof/inclusion", params={"leaf": served.log.leaves[0], "size": cp.size}).json()
        leaf = merkle.leaf_hash(event_leaf_data(stream=ENTERPRISE, seq=1, event_id=first.event_id, hash=first.hash))
        assert merkle.verify_inclusion(leaf, served.log.leaves[0], cp.size,
                                       [bytes.fromhex(h) for h in proof["inclusion"]], bytes.fromhex(cp.root))
        kept = served.log.checkpoint
        con = auditor.get("/api/log/proof/consistency", params={"first": kept.size, "size": cp.size}).json()
        assert merkle.verify_consistency(kept.size, cp.size, bytes.fromhex(kept.root), bytes.fromhex(cp.root),
                                         [bytes.fromhex(h) for h in con["consistency"]])
        again = samr.serve(ENTERPRISE, decision, advice, submission_id="serve-7", occurred_at=clock.now())
        assert again.accepted and again.duplicate and again.events == served.events
        # a forged one (tax's key signing as market regulation): a 422 receipt, recorded by the worker
        forged = HttpTransport(client=http, token=tokens["samr-deqing"])
        r = Producer(forged, "samr-deqing", demo_key("tax-deqing")).publish(
            ENTERPRISE, [RepairGranted(decision_no=DECISION)], submission_id="forged", occurred_at=clock.now()
        )
        assert not r.accepted and r.codes == ["signature_of_other_department"]
        # publishing as another department is refused at the gate
        assert (
            http.post(
                "/submissions",
                json={"department": "tax-deqing"},
                headers={"Authorization": f"Bearer {tokens['samr-deqing']}"},
            ).status_code
            == 403
        )

        app.process()  # distributed: waits until the projection worker has caught up
        credit = auditor.get(f"/api/enterprises/{ENTERPRISE}/credit").json()
        assert credit["records"][DECISION]["status"] == "publicized"
        assert credit["records"][DECISION]["department"] == "samr-deqing"
        rect = auditor.get(f"/api/enterprises/{ENTERPRISE}/rectification").json()
        assert sorted(rect["items"]) == [f"{ADVICE}/1", f"{ADVICE}/2"]
        assert {i["status"] for i in rect["items"].values()} == {"open"}
        assert rect["open_by_department"]["samr-deqing"]
        history = auditor.get(f"/api/enterprises/{ENTERPRISE}/history").json()
        assert history["page"]["total"] == 3
        assert [e["event"]["type"] for e in history["events"]] == [
            "penalty_decided",
            "compliance_advice_issued",
            "credit_repair_notice_issued",
        ]
        assert auditor.get(f"/api/enterprises/{ENTERPRISE}/verify").json()["ok"] is True
        rejections = auditor.get("/api/rejections").json()["rejections"]
        assert [x["receipt"]["reasons"][0]["code"] for x in rejections] == ["signature_of_other_department"]
        assert platform.get("/feed", params={"consumer": "crm"}).json() == {"items": [], "consumer": "crm"}

        # ③ paid, evidence in, verified by the joint team; ⑥ eligible, applied for, granted
        at(timedelta(days=10))
        assert samr.publish(
            ENTERPRISE,
            [
                PenaltyFulfilled(
                    decision_no=DECISION, amount_paid_yuan=Decimal("62000"), fulfilled_on=clock.now().date()
                )
            ],
            submission_id="paid-7",
            occurred_at=clock.now(),
        ).accepted
        for item_id in ("1", "2"):
            assert platform_dept.publish(
                ENTERPRISE,
                [RectificationEvidenceSubmitted(advice_no=ADVICE, item_id=item_id, evidence="整改材料")],
                submission_id=f"evidence-{item_id}",
                occurred_at=clock.now(),
            ).accepted
        at(timedelta(days=20))
        for dept, item_id in (
            ("samr-deqing", "1"),
            ("eco-huzhou", "2"),
            ("ema-deqing", "2"),
            ("samr-deqing", "2"),
        ):
            receipt = producers[dept].publish(
                ENTERPRISE,
                [RectificationVerified(advice_no=ADVICE, item_id=item_id)],
                submission_id=f"verify-{dept}-{item_id}",
                occurred_at=clock.now(),
            )
            assert receipt.accepted, receipt.reasons
        at(timedelta(days=95))
        app.process()
        scheduler.tick(app)
        assert platform_dept.publish(
            ENTERPRISE,
            [
                RepairApplied(
                    decision_no=DECISION,
                    credit_commitment="本企业承诺依法诚信经营",
                    applied_on=clock.now().date(),
                )
            ],
            submission_id="apply-7",
            occurred_at=clock.now(),
        ).accepted
        granted = samr.publish(
            ENTERPRISE,
            [RepairGranted(decision_no=DECISION, note="准予修复")],
            submission_id="grant-7",
            occurred_at=at(timedelta(days=96)),
        )
        assert granted.accepted, granted.reasons
        grant_id = granted.events[0].event_id

        app.process()
        credit = auditor.get(f"/api/enterprises/{ENTERPRISE}/credit").json()
        assert credit["records"][DECISION]["status"] == "repaired"
        rect = auditor.get(f"/api/enterprises/{ENTERPRISE}/rectification").json()
        assert {i["status"] for i in rect["items"].values()} == {"closed"} and rect[
            "open_by_department"
        ] == {}
        history = auditor.get(f"/api/enterprises/{ENTERPRISE}/history").json()
        assert history["page"]["total"] == app.log.last_seq(ENTERPRISE) >= granted.events[0].seq == 13
        assert history["events"][12]["event_id"] == grant_id
        assert [e["seq"] for e in history["events"]] == list(range(1, history["page"]["total"] + 1))
        past = auditor.get(f"/api/enterprises/{ENTERPRISE}/credit", params={"as_of": "2026-01-20"}).json()
        assert past["records"][DECISION]["status"] == "publicized"
        assert auditor.get("/api/verify").json()["ok"] is True
        sync = auditor.get(f"/api/enterprises/{ENTERPRISE}/sync", params={"decision_no": DECISION}).json()
        assert "creditchina" in {d["subscriber"] for d in sync["deliveries"]}

        # the repair feed from Kafka: seen, not again until committed, then never again
        data = platform.get("/feed", params={"consumer": "crm"}).json()
        assert data["consumer"] == "crm"
        (item,) = data["items"]
        assert (item["event_id"], item["type"], item["decision_no"], item["stream"]) == (
            grant_id,
            "repair_granted",
            DECISION,
            ENTERPRISE,
        )
        for personal in ("德清县某某化工有限公司", "张某", "武康街道"):
            assert personal not in str(data)
        assert [i["event_id"] for i in platform.get("/feed", params={"consumer": "crm"}).json()["items"]] == [
            grant_id
        ]
        # the item is the repairs topic's record the worker published, byte for byte, signed
        assert item["acknowledge"] is True  # delivered to creditchina, not yet acknowledged
        (record,) = [r for r in repair_topic(settings) if json.loads(r)["event_id"] == grant_id]
        assert FeedItem.model_validate(item).record().model_dump_json().encode() == record
        assert FeedItem.model_validate(item).verify(key.public_key)
        # committing is the acknowledgement: without the platform's signed one, nothing moves
        r = platform.post("/feed/commit", json={"consumer": "crm", "event_id": grant_id})
        assert r.status_code == 409 and "一处修复、处处同步" in r.json()["detail"], r.text
        assert [d["source_event_id"] for d in app.inbox("creditchina")] == [grant_id]
        # the SDK: poll (verified with the ledger's key), apply, commit = one signed acknowledgement
        repairs = RepairFeed(HttpFeed(client=platform, token=PLATFORM, ledger_key=key.public_key), "crm",
                             platform=platform_dept)
        (polled,) = repairs.poll()
        assert polled.event_id == grant_id and polled.acknowledge
        (ack,) = repairs.commit(polled, occurred_at=at(timedelta(days=96, hours=3)))
        assert ack.accepted and [e.type for e in ack.events] == ["delivery_acknowledged"], ack.reasons
        assert platform.get("/feed", params={"consumer": "crm"}).json()["items"] == []
        app.process()
        assert app.inbox("creditchina") == []  # the inbox path sees the one fact
        assert app.supervision("creditchina").syncs_acknowledged == 1
        acks = [e for e in auditor.get(f"/api/enterprises/{ENTERPRISE}/history").json()["events"]
                if e["event"]["type"] == "delivery_acknowledged"]
        assert [(e["department"], e["event"]["source_event_id"]) for e in acks] == [("creditchina", grant_id)]
        # another consumer of the platform: nothing owed any more, a plain commit resumes
        feed = HttpFeed(client=platform, token=PLATFORM, ledger_key=key.public_key)
        (polled,) = feed.poll("sdk")
        assert polled.event_id == grant_id and not polled.acknowledge
        assert feed.commit("sdk", polled) == []
        assert feed.poll("sdk") == []
        app.process()
        assert app.supervision("creditchina").syncs_acknowledged == 1  # counted once
        # the committed positions live in Kafka: a new service (a restarted `serve`) resumes there
        assert app.feed is not None
        app.feed.close()
        again_service = TestClient(create_app(app, TOKENS), headers={"Authorization": f"Bearer {PLATFORM}"})
        assert again_service.get("/feed", params={"consumer": "crm"}).json()["items"] == []
        assert [
            i["event_id"] for i in again_service.get("/feed", params={"consumer": "fresh"}).json()["items"]
        ] == [grant_id]
        # operations on this backend: ready (Cassandra answers, Kafka reachable), metrics read
        # from Cassandra, and the access log of the reads above kept in Cassandra
        ready = http.get("/readyz")
        assert ready.status_code == 200, ready.text
        assert set(ready.json()["checks"]) == {"log", "read_models", "rejections", "kafka"}
        metrics = http.get("/metrics").text
        assert f"tongxiu_log_events {float(sum(app.log.last_seq(s) for s in app.log.streams()))}" in metrics
        assert 'tongxiu_submissions_total{reason="",result="accepted"}' in metrics
        reads = TestClient(create_app(app, TOKENS), headers={"Authorization": f"Bearer {AUDITOR}"}).get(
            "/api/access-log", params={"enterprise": ENTERPRISE, "limit": 1000}).json()
        whats = [r["what"] for r in reads["reads"]]
        assert whats.count("credit") == 3 and whats.count("history") == 3 and whats.count("sync") == 1
        assert whats.count("rectification") == 2 and {r["role"] for r in reads["reads"]} == {"auditor"}
    except BaseException:
        print(worker.tail())
        raise
    finally:
        if app is not None:
            app.close()
        worker.kill(signal.SIGTERM)


def test_malformed_submission_is_a_recorded_rejection(settings: Settings, cassandra_session: Any) -> None:
    app = open_distributed(settings, session=cassandra_session)
    try:
        http = TestClient(
            create_app(app, TOKENS),
            raise_server_exceptions=False,
            headers={"Authorization": f"Bearer {dept_token('samr-deqing')}"},
        )
        r = http.post("/submissions", content=b"{not json", headers={"Content-Type": "application/json"})
        assert r.status_code == 422, r.status_code
        assert r.json()["reasons"][0]["code"] == "json_invalid"
        recorded = app.list_rejections(limit=1000)
        assert any(x.submission == "{not json" and x.receipt.codes == ["json_invalid"]
                   and x.receipt.department == "samr-deqing" for x in recorded)
    finally:
        app.close()
