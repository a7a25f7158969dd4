"""Integration test of infra/launch.py against the real servers.

Starts Kafka and Cassandra with ``tongxiu.infra.launch.up()`` (or reuses the ones already running from
the same state dir: ``$TONGXIU_SERVERS_DIR`` or ``<repo>/.tongxiu/servers``) and round-trips real
data through both. The servers are left running for the next tests; stop them with
``python -m tongxiu.infra.launch down``. On failure the server log tails are printed.
"""

from __future__ import annotations

import contextlib
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:  # infra/ is not an installed package
    sys.path.insert(0, str(REPO))

from tongxiu.infra import launch  # noqa: E402

pytestmark = pytest.mark.integration


@contextlib.contextmanager
def logs_on_failure(*components: str) -> Iterator[None]:
    """Re-raise any failure with the tails of the given servers' logs attached."""
    try:
        yield
    except Exception as exc:
        tails = "\n".join(
            f"----- {c} log tail ({launch.status(probe=False)[c]['log']}) -----\n"
            f"{launch.log_tail(c, lines=80)}"
            for c in components
        )
        raise AssertionError(f"{type(exc).__name__}: {exc}\n{tails}") from exc


@pytest.fixture(scope="module")
def launched() -> dict[str, dict[str, Any]]:
    with logs_on_failure(*launch.COMPONENTS):
        return launch.up()


def test_up_is_idempotent_and_status_reports_running(launched: dict[str, dict[str, Any]]) -> None:
    again = launch.up()
    for comp in launch.COMPONENTS:
        assert again[comp]["reused"] is True, again[comp]
        assert again[comp]["pid"] == launched[comp]["pid"]

    st = launch.status()
    for comp in launch.COMPONENTS:
        assert st[comp]["running"], st[comp]
        assert st[comp]["answering"], st[comp]
        assert st[comp]["pid"] == launched[comp]["pid"]
        assert Path(st[comp]["log"]).is_file()
    assert st["kafka"]["port"] == 9092
    assert st["cassandra"]["port"] == 9042
    assert launch.log_tail("kafka", lines=5).strip()


def test_stdlib_probes(launched: dict[str, dict[str, Any]]) -> None:
    meta = launch.kafka_ready(launched["kafka"]["port"])
    assert meta is not None
    assert meta["cluster_id"] == launched["kafka"]["cluster_id"]
    assert any(b["port"] == launched["kafka"]["port"] for b in meta["brokers"])
    version = launch.cql_ready(launched["cassandra"]["port"])
    assert version is not None and version.startswith("5.0")


def test_kafka_produce_consume_round_trip(launched: dict[str, dict[str, Any]]) -> None:
    kafka = pytest.importorskip("kafka")
    from kafka.admin import KafkaAdminClient, NewTopic

    bootstrap = f"127.0.0.1:{launched['kafka']['port']}"
    topic = f"launch-test-{uuid.uuid4().hex[:12]}"
    payload = f"hello {time.time()}".encode()
    with logs_on_failure("kafka"):
        admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=30000)
        try:
            admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])
            producer = kafka.KafkaProducer(bootstrap_servers=bootstrap, acks="all")
            try:
                meta = producer.send(topic, key=b"k", value=payload).get(timeout=30)
            finally:
                producer.close()
            assert meta.offset == 0

            consumer = kafka.KafkaConsumer(
                topic,
                bootstrap_servers=bootstrap,
                group_id=f"{topic}-group",
                auto_offset_reset="earliest",
                enable_auto_commit=False,
                consumer_timeout_ms=30000,
            )
            try:
                got = next(iter(consumer))
                consumer.commit()
            finally:
                consumer.close()
            assert (got.key, got.value) == (b"k", payload)
        finally:
            with contextlib.suppress(Exception):
                admin.delete_topics([topic])
            admin.close()


def test_cassandra_cql_round_trip(launched: dict[str, dict[str, Any]]) -> None:
    pytest.importorskip("cassandra")
    from cassandra.cluster import Cluster

    with logs_on_failure("cassandra"):
        cluster = Cluster(["127.0.0.1"], port=launched["cassandra"]["port"], connect_timeout=30)
        try:
            session = cluster.connect()
            row = session.execute("SELECT release_version FROM system.local").one()
            assert row.release_version == launched["cassandra"]["release_version"]
            assert row.release_version.startswith("5.0")
        finally:
            cluster.shutdown()
