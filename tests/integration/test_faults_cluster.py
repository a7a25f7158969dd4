"""On a dedicated loopback cluster — 3 Cassandra nodes (``tongxiu.infra.launch.up(nodes=3)``:
127.0.0.2-4, replication factor 3, QUORUM, hinted handoff on) and 3 Kafka brokers
(``kafka_nodes=3``: topics replicated 3 times, min ISR 2) — one Cassandra node, then one
broker, is killed under load and brought back: every receipt accepted, nothing lost or
doubled, ``verify`` OK, projections equal a rebuild. Figures: ``FAULT-FIGURE`` lines (``-s``)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.faults import Scenario, Servers, dedicated_servers, figure

pytestmark = pytest.mark.integration

PORTS = {"kafka_port": 19592, "controller_port": 19593, "cql_port": 19542, "storage_port": 17500,
         "jmx_port": 17699}


@pytest.fixture(scope="module")
def cluster() -> Iterator[Servers]:
    yield from dedicated_servers("cluster", PORTS, nodes=3, kafka_nodes=3)


def test_one_of_three_cassandra_nodes_killed_under_load(cluster: Servers, tmp_path: Path) -> None:
    settings = cluster.settings("node", tmp_path / "data")
    assert settings.consistency == "QUORUM" and settings.cassandra_replication["replication_factor"] == 3
    for i in (1, 2, 3):
        yaml = (cluster.state / f"cassandra-{i}" / "conf" / "cassandra.yaml").read_text()
        assert "hinted_handoff_enabled: true" in yaml and f"listen_address: 127.0.0.{1 + i}" in yaml
    sc = Scenario(cluster, settings, tmp_path, 60)
    peers = sc.app.log.session.execute("SELECT peer FROM system.peers").all()  # type: ignore[attr-defined]
    assert len(peers) == 2, peers
    repl = sc.app.log.session.execute(  # type: ignore[attr-defined]
        "SELECT replication FROM system_schema.keyspaces WHERE keyspace_name = %s", (settings.keyspace,)).one()
    assert repl.replication["replication_factor"] == "3", repl
    try:
        sc.send(20)
        sc.collect()
        before = sc.accepted()
        sc.send(5)
        cluster.kill("cassandra-2")
        t_kill = time.monotonic()
        during = sc.send(15)  # under load with one node down: QUORUM is 2 of 3
        sc.collect()
        node_down_s = time.monotonic() - t_kill  # kill -> every receipt of the 20 sent around it
        restart_s = cluster.up("cassandra")  # reuses nodes 1 and 3, restarts node 2
        sc.send(20)
        events = sc.finish()
        assert before <= sc.accepted()
        figure("cluster_node_killed", restart_s=round(restart_s, 1), node_down_receipts_s=round(node_down_s, 1),
               submissions=sc.n, during_outage=len(during), accepted_before=len(before), events=events,
               worker_restarts=sc.status().get("restarts"))
    except BaseException:
        print(f"----- worker log -----\n{sc.worker.tail()}\n{cluster.tails()}")
        raise
    finally:
        sc.close()


def test_one_of_three_kafka_brokers_killed_under_load(cluster: Servers, tmp_path: Path) -> None:
    settings = cluster.settings("broker3", tmp_path / "data")
    assert settings.kafka_replication == 3 and len(settings.kafka_bootstrap.split(",")) == 3
    sc = Scenario(cluster, settings, tmp_path, 60)
    try:
        sc.send(20)
        sc.collect()
        before = sc.accepted()
        sc.send(5)
        cluster.kill("kafka-2")
        t_kill = time.monotonic()
        during = sc.send(15)  # acks=all with 2 of 3 in sync
        sc.collect()
        broker_down_s = time.monotonic() - t_kill
        restart_s = cluster.up("kafka")  # reuses brokers 1 and 3, restarts broker 2
        sc.send(20)
        events = sc.finish()
        assert before <= sc.accepted()
        figure("cluster_broker_killed", restart_s=round(restart_s, 1), broker_down_receipts_s=round(broker_down_s, 1),
               submissions=sc.n, during_outage=len(during), accepted_before=len(before), events=events,
               worker_restarts=sc.status().get("restarts"), producer_recreated=sc.transport.recreated)
    except BaseException:
        print(f"----- worker log -----\n{sc.worker.tail()}\n{cluster.tails()}")
        raise
    finally:
        sc.close()
