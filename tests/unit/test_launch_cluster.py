"""The launch kit's cluster plan (pure: no server is started; the 3-node cluster itself runs
in tests/integration/test_faults_cluster.py)."""

from __future__ import annotations

import json
import string
from pathlib import Path

import pytest

from tongxiu.infra import launch


def test_three_nodes_on_their_own_loopback_addresses_with_spread_tokens() -> None:
    ports = launch._ports(9092, 9093, 9042, 7000, 7199)
    plan = launch._plan(("kafka", "cassandra"), ports, 3)
    assert [(u, h) for u, h, _, _ in plan] == [
        ("kafka", "127.0.0.1"), ("cassandra-1", "127.0.0.2"), ("cassandra-2", "127.0.0.3"), ("cassandra-3", "127.0.0.4")]
    assert [p["jmx_port"] for u, _, p, _ in plan if u != "kafka"] == [7199, 7200, 7201]
    assert {p["cql_port"] for u, _, p, _ in plan if u != "kafka"} == {9042}
    tokens = [launch.node_token(i, 3) for i in (1, 2, 3)]
    assert tokens[0] == -(2**63) and tokens == sorted(tokens)
    assert tokens[1] - tokens[0] == tokens[2] - tokens[1] == 2**64 // 3
    assert [u for u, *_ in launch._plan(("cassandra",), ports, 1)] == ["cassandra"]
    with pytest.raises(ValueError):
        launch._plan(("cassandra",), ports, 0)


def test_three_kafka_brokers_are_voters_on_their_own_addresses() -> None:
    ports = launch._ports(9092, 9093, 9042, 7000, 7199)
    plan = launch._plan(("kafka",), ports, 1, 3)
    assert [(u, h, n) for u, h, _, n in plan] == [
        ("kafka-1", "127.0.0.2", 1), ("kafka-2", "127.0.0.3", 2), ("kafka-3", "127.0.0.4", 3)]
    env = launch.kafka_cluster_settings(3, 19092)
    assert env == {"TONGXIU_KAFKA_BOOTSTRAP": "127.0.0.2:19092,127.0.0.3:19092,127.0.0.4:19092",
                   "TONGXIU_KAFKA_REPLICATION": "3"}
    tmpl = Path(launch.INFRA_DIR / "kafka" / "server.properties.tmpl").read_text()
    props = string.Template(tmpl).substitute(
        host="127.0.0.3", data_dir="/d", node_id=2, voters="1@127.0.0.2:9093,2@127.0.0.3:9093,3@127.0.0.4:9093",
        replication=3, min_isr=2, kafka_port=9092, controller_port=9093)
    assert "node.id=2" in props and "advertised.listeners=PLAINTEXT://127.0.0.3:9092" in props
    assert "offsets.topic.replication.factor=3" in props and "min.insync.replicas=2" in props


def test_cluster_settings_point_tongxiu_at_every_node_with_rf3_and_quorum() -> None:
    env = launch.cluster_settings(3, 19042)
    assert env["TONGXIU_CASSANDRA_CONTACT_POINTS"] == "127.0.0.2,127.0.0.3,127.0.0.4"
    assert json.loads(env["TONGXIU_CASSANDRA_REPLICATION"]) == {"class": "SimpleStrategy", "replication_factor": 3}
    assert env["TONGXIU_CONSISTENCY"] == "QUORUM" and env["TONGXIU_CASSANDRA_PORT"] == "19042"


def test_template_is_durable_by_default() -> None:
    tmpl = Path(launch.INFRA_DIR / "cassandra" / "cassandra.yaml.tmpl").read_text()
    values = {"host": "127.0.0.3", "data_dir": "/d", "cluster_name": launch.CLUSTER_NAME, "seeds": "127.0.0.2:7000",
              "initial_token": launch.node_token(2, 3), "cql_port": 9042, "storage_port": 7000, "jmx_port": 7200,
              "commitlog_sync": "batch", "commitlog_sync_period": "", "paxos_variant": "v2"}
    yaml = string.Template(tmpl).substitute({k: str(v) for k, v in values.items()})
    assert "commitlog_sync: batch" in yaml and "commitlog_sync_period" not in yaml
    assert "paxos_variant: v2" in yaml  # issue 11: LWTs on Paxos v2
    assert "hinted_handoff_enabled: true" in yaml
    assert 'seeds: "127.0.0.2:7000"' in yaml and "listen_address: 127.0.0.3" in yaml
    source = Path(launch.__file__).read_text()
    assert "-Dcassandra.unsafesystem" not in source and "flush_local_schema_changes=false" not in source
