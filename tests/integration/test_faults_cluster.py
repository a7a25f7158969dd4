"""On a dedicated loopback cluster — 3 Cassandra nodes (``tongxiu.infra.launch.up(nodes=3)``:
127.0.0.2-4, replication factor 3, QUORUM, hinted handoff on) and 3 Kafka brokers
(``kafka_nodes=3``: topics replicated 3 times, min ISR 2) — one Cassandra node, then one
broker, is killed under load and brought back: every receipt accepted, nothing lost or
doubled, ``verify`` OK, projections equal a rebuild. Figures: ``FAULT-FIGURE`` lines (``-s``)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.faults import Scenario, Servers, dedicated_servers, figure
from tests.integration.pipeline import wait_for
from tongxiu.entrypoints.supervisor import cassandra_up
from tongxiu.infra import launch
from tongxiu.services.config import Settings

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
        # readiness (the worker's supervisor) is about the worker's consistency: QUORUM is
        # achievable with 2 of 3 nodes, ALL is not
        wait_for(lambda: cassandra_up(settings), 60, "readiness at QUORUM with 2 of 3 nodes")
        assert not cassandra_up(settings.model_copy(update={"consistency": "ALL"}))
        sc.collect()
        node_down_s = time.monotonic() - t_kill  # kill -> every receipt of the 20 sent around it
        # a coordinator keeps a hint in memory and writes it to a hint file on its next flush
        # (hints_flush_period, 10 s by default); listpendinghints counts files, so it is polled
        def stored_hints() -> dict[str, int] | None:
            counts = {u: pending_hints(cluster, u) for u in ("cassandra-1", "cassandra-3")}
            return counts if any(counts.values()) else None

        hinted = wait_for(stored_hints, 60, "hints stored on node 1 or 3 for the dead node 2")
        restart_s = cluster.up("cassandra")  # reuses nodes 1 and 3, restarts node 2
        t_up = time.monotonic()
        # node 2's CQL port answers when up() returns; the other nodes see it up once gossip has
        # caught up (a read at ALL coordinated by node 1 is refused until then)
        wait_for(lambda: cassandra_up(settings.model_copy(update={"consistency": "ALL"})), 60,
                 "readiness at ALL once the restarted node is back")
        sc.send(20)
        events = sc.finish()
        assert before <= sc.accepted()
        wait_for(lambda: not any(pending_hints(cluster, u) for u in ("cassandra-1", "cassandra-3")), 240,
                 "the hints for node 2 to be replayed")
        hints_replayed_s = time.monotonic() - t_up
        rows = node_alone_has_every_row(cluster, settings, sc.codes)
        figure("cluster_node_killed", restart_s=round(restart_s, 1), node_down_receipts_s=round(node_down_s, 1),
               submissions=sc.n, during_outage=len(during), accepted_before=len(before), events=events,
               worker_restarts=sc.status().get("restarts"), hint_files=hinted,
               hints_replayed_within_s=round(hints_replayed_s, 1), rows_on_node2_alone=rows)
    except BaseException:
        print(f"----- worker log -----\n{sc.worker.tail()}\n{cluster.tails()}")
        raise
    finally:
        sc.close()


def pending_hints(cluster: Servers, unit: str) -> int:
    """Hint files ``unit`` still holds for other nodes (``nodetool listpendinghints``)."""
    out = launch.nodetool(unit, "listpendinghints", state_dir=cluster.state)
    if "does not have any pending hints" in out:
        return 0
    rows = [line.split() for line in out.splitlines() if line.strip() and not line.startswith("Host ID")]
    return sum(int(r[5]) for r in rows if len(r) > 5 and r[5].isdigit()) or len(rows)


def node_alone_has_every_row(cluster: Servers, settings: Settings, codes: list[str]) -> int:
    """Node 2 (the one that was down), queried alone at ONE with nodes 1 and 3 stopped, holds
    every event row and stream head the cluster holds (read at ALL before): what it missed
    while down came back through the hints. Nodes 1 and 3 are started again afterwards."""
    from cassandra import ConsistencyLevel
    from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile
    from cassandra.policies import WhiteListRoundRobinPolicy

    ks = settings.keyspace
    events = f"SELECT seq, raw FROM {ks}.events WHERE stream = %s AND bucket = 0"
    heads = f"SELECT last_seq FROM {ks}.stream_heads WHERE stream = %s"

    def snapshot(hosts: list[str], level: int) -> dict[str, Any]:
        profile = ExecutionProfile(load_balancing_policy=WhiteListRoundRobinPolicy(hosts), consistency_level=level,
                                   request_timeout=30)
        c = Cluster(hosts, port=settings.cassandra_port, execution_profiles={EXEC_PROFILE_DEFAULT: profile})
        try:
            s = c.connect()
            # node 2 alone: until its failure detector marks the other two down it may still
            # send the read to one of them (a timeout), so the read is polled
            return wait_for(lambda: {code: (sorted((r.seq, r.raw) for r in s.execute(events, (code,))),
                                            s.execute(heads, (code,)).one().last_seq) for code in codes},
                            120, f"a read at {ConsistencyLevel.value_to_name[level]} through {hosts}")
        finally:
            c.shutdown()

    everywhere = snapshot([launch.node_host(i) for i in (1, 2, 3)], ConsistencyLevel.ALL)
    cluster.kill("cassandra-1")
    cluster.kill("cassandra-3")
    try:
        alone = snapshot([launch.node_host(2)], ConsistencyLevel.ONE)
    finally:
        cluster.up("cassandra")
    assert alone == everywhere
    return sum(len(rows) for rows, _ in alone.values())


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
