"""The Transport contract on the distributed backend: ``KafkaTransport`` to a real
``tongxiu worker`` (one per class), which runs ``Ledger.submit`` on Cassandra."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.contract.ports_sdk import enterprise_code
from tests.contract.transport import TransportContract
from tests.integration.conftest import make_keyspace
from tests.integration.pipeline import Worker, wait_for
from tongxiu.events.models import REGISTRY_STREAM, DecisionWithdrawn, RepairGranted
from tongxiu.infra.asyncapi import HEADER_NAMES, PERSONAL_DATA
from tongxiu.infra.distributed import open_distributed
from tongxiu.infra.embedded import LocalTransport
from tongxiu.infra.kafka_topics import client_config, drop_topics, migrate_topics, topic_names
from tongxiu.projections.fold import china_day
from tongxiu.services.app import Tongxiu
from tongxiu.services.config import Settings
from tongxiu.services.demo import demo_key, register_departments
from tongxiu.services.ledger import sign_submission
from tongxiu.services.ports import ManualClock
from tongxiu.services.sdk import RepairRecord, Transport

pytestmark = pytest.mark.integration


class TestKafkaTransport(TransportContract):
    @pytest.fixture(autouse=True, scope="class")
    def _worker(self, cassandra_session: Any,
                tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
        tmp: Path = tmp_path_factory.mktemp("kafka-transport")
        settings = make_keyspace("tx_transport").model_copy(update={
            "topic_prefix": f"test-transport-{uuid.uuid4().hex[:8]}", "partitions": 2, "data_dir": tmp / "data"})
        migrate_topics(settings)
        worker = Worker(settings, tmp / "worker.log")
        worker.start()
        app = open_distributed(settings, session=cassandra_session)
        try:
            wait_for(lambda: app.log.last_seq(REGISTRY_STREAM) >= 1, 60, "the worker's bootstrap", worker)
            register_departments(app, LocalTransport(app), ManualClock(datetime.now(UTC)))
            type(self).app = app
            type(self).settings = settings
            yield
        finally:
            app.close()
            worker.kill()
            drop_topics(settings, [f"{settings.topic_prefix}-faust-__assignor-__leader"])

    app: Tongxiu
    settings: Settings

    def make_transport(self) -> tuple[Transport, Tongxiu]:
        return self.app.transport, self.app

    # ---- the Kafka contract of docs/asyncapi.yaml on the real topics (issue 12)

    def _read_all(self, topic: str) -> list[Any]:
        from kafka import KafkaConsumer, TopicPartition

        c = KafkaConsumer(group_id=None, isolation_level="read_committed", **client_config(self.settings))
        try:
            tps = [TopicPartition(topic, p) for p in sorted(c.partitions_for_topic(topic) or [])]
            c.assign(tps)
            c.seek_to_beginning(*tps)
            end = c.end_offsets(tps)
            out: list[Any] = []
            while any(c.position(tp) < end[tp] for tp in tps):
                for records in c.poll(timeout_ms=500).values():
                    out.extend(records)
            return out
        finally:
            c.close()

    def test_records_carry_the_documented_keys_and_headers(self) -> None:
        code = enterprise_code("TK")
        transport, app = self.make_transport()
        assert self._send(transport, app, stream=code, sid="t-headers").accepted
        topics = topic_names(self.settings)
        for topic in (topics.submissions, topics.events, topics.receipts):
            records = self._read_all(topic)
            assert records, topic
            for rec in records:
                assert [h for h, _ in rec.headers] == list(HEADER_NAMES), (topic, rec.headers)
                assert dict(rec.headers)["content-type"] == b"application/json"
        mine = [r for r in self._read_all(topics.events) if r.key == code.encode()]
        assert [dict(r.headers)["tongxiu-type"] for r in mine] == [b"penalty_decided"]
        receipts = [json.loads(r.value) for r in self._read_all(topics.receipts) if r.key == b"samr-deqing"]
        assert any(r["submission_id"] == "t-headers" for r in receipts)
        assert all(r.key == json.loads(r.value)["department"].encode() for r in self._read_all(topics.receipts))

    def test_the_public_repairs_topic_gets_repair_facts_without_personal_data(self) -> None:
        code = enterprise_code("TR")
        transport, app = self.make_transport()
        assert self._send(transport, app, stream=code, sid="t-rep-1", no="DR1").accepted
        withdrawn = sign_submission(
            demo_key("samr-deqing"), department="samr-deqing", stream=code, submission_id="t-rep-2",
            occurred_at=app.now() - timedelta(seconds=30),
            events=[DecisionWithdrawn(decision_no="DR1", reason="复议撤销", ground="revoked",
                                      ruling_date=china_day(app.now()))])
        receipt = transport.send(withdrawn)
        assert receipt.accepted, receipt.reasons
        topic = topic_names(self.settings).repairs
        records = [r for r in self._read_all(topic) if r.key == code.encode()]
        assert [dict(r.headers)["tongxiu-type"] for r in records] == [b"decision_withdrawn"]
        value = json.loads(records[0].value)
        stored = next(s.envelope for s in app.log.read_stream(code) if s.envelope.type == "decision_withdrawn")
        assert value["event_id"] == stored.event_id and value["hash"] == stored.hash
        assert not set(PERSONAL_DATA) & set(value)
        assert RepairRecord.model_validate(value).verify(app.ledger.key.public_key)  # the ledger signed it
        for field in ("德清县某某", "张某"):
            assert field.encode() not in records[0].value

    def test_topics_keep_events_and_repairs_for_good(self) -> None:
        from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient

        admin = KafkaAdminClient(**client_config(self.settings))
        try:
            topics = topic_names(self.settings)
            found = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, t) for t in topics.all()])["topic"]
        finally:
            admin.close()
        for topic in (topics.events, topics.repairs):
            assert found[topic]["retention.ms"]["value"] == "-1", found[topic]
            assert found[topic]["retention.bytes"]["value"] == "-1"
        for topic in (topics.submissions, topics.receipts):
            assert found[topic]["retention.ms"]["value"] == str(7 * 24 * 3600 * 1000)

    def test_a_departments_transport_keeps_only_its_own_receipts(self) -> None:
        from tongxiu.infra.kafka_transport import KafkaTransport, receipt_partition

        samr = KafkaTransport(self.settings, departments=["samr-deqing"], timeout_s=60)
        try:
            assert {tp.partition for tp in samr.consumer.assignment()} == {receipt_partition("samr-deqing", 2)}
            code = enterprise_code("TU")
            # another department's rejection goes through the app's transport
            other = sign_submission(demo_key("tax-deqing"), department="tax-deqing", stream=code,
                                    submission_id="t-other", occurred_at=self.app.now() - timedelta(minutes=1),
                                    events=[RepairGranted(decision_no="NOPE")])
            assert not self.app.transport.send(other).accepted
            mine = self._send(samr, self.app, stream=code, sid="t-own")
            assert mine.accepted and mine.department == "samr-deqing"
            for _ in range(5):
                samr.pump(0.2)
            assert samr.in_flight() == [] and samr._received == {}  # nothing kept once collected
            with pytest.raises(ValueError, match="tax-deqing"):
                samr.send(other)
        finally:
            samr.close()
