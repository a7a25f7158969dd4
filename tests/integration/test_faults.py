"""Faults a province will see, on dedicated servers (own state dir and ports: killing them
cannot disturb the servers the other tests share), each with a supervised worker and an SDK
client sending signed submissions at a steady pace. After each fault every receipt is
accepted, no accepted receipt is lost, nothing is recorded twice, ``verify`` passes and the
projections equal a rebuild from the log (``pipeline.assert_exactly_once``).

1. the Kafka broker killed (SIGKILL) and restarted;
2. the broker down longer than the SDK producer's delivery timeout (6 s here): the caller sees
   ``SubmissionNotDelivered`` naming the submission, the transport replaces its producer and
   every in-flight submission gets through once the broker is back;
3. Cassandra killed and restarted (a keyspace created after it started must survive); the
   client's session opened before the kill reads at once after the restart;
4. the worker and Cassandra killed together: the restarted worker waits (its status file and
   ``/ready`` say so) and resumes by itself.

The 3-node case is in ``test_faults_cluster.py``. Figures: ``FAULT-FIGURE`` lines (``-s``).
"""

from __future__ import annotations

import json
import signal
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.faults import Scenario, Servers, dedicated_servers, figure
from tests.integration.pipeline import wait_for
from tongxiu.events.models import REGISTRY_STREAM
from tongxiu.infra import cassandra_retry
from tongxiu.infra.kafka_transport import SubmissionNotDelivered
from tongxiu.projections.keys import PROJECTION, REGISTRY_KEY

pytestmark = pytest.mark.integration

PORTS = {"kafka_port": 19392, "controller_port": 19393, "cql_port": 19342, "storage_port": 17300,
         "jmx_port": 17499}


@pytest.fixture(scope="module")
def servers() -> Iterator[Servers]:
    yield from dedicated_servers("single", PORTS)


@pytest.fixture
def scenario(servers: Servers, tmp_path: Path) -> Iterator[Any]:
    made: list[Scenario] = []

    def make(name: str, n: int, **transport_options: Any) -> Scenario:
        settings = servers.settings(name, tmp_path / "data")
        sc = Scenario(servers, settings, tmp_path, n, transport_options)
        made.append(sc)
        return sc

    yield make
    for sc in made:
        print(f"----- worker log -----\n{sc.worker.tail()}")  # shown when the test failed
        sc.close()
    servers.up()  # whatever a failed test left down


def test_broker_killed_and_restarted(servers: Servers, scenario: Any) -> None:
    sc: Scenario = scenario("broker", 60)
    sc.send(20)
    sc.collect()
    before = sc.accepted()
    sc.send(10)
    servers.kill("kafka")
    during = sc.send(10)  # into the producer's buffer while the broker is down
    time.sleep(3)
    restart_s = servers.up("kafka")
    recovery_s = sc.collect(during)  # broker answering -> every submission of the outage receipted
    sc.send(20)
    events = sc.finish()
    assert before <= sc.accepted()
    figure("broker_killed", restart_s=round(restart_s, 1), recovery_s=round(recovery_s, 1), submissions=sc.n,
           during_outage=len(during), accepted_before=len(before), events=events,
           producer_recreated=sc.transport.recreated)


def test_broker_down_longer_than_delivery_timeout(servers: Servers, scenario: Any) -> None:
    sc: Scenario = scenario("longoutage", 50, delivery_timeout_s=6.0, request_timeout_s=2.0)
    sc.send(20)
    sc.collect()
    before = sc.accepted()
    servers.kill("kafka")
    down_at = time.monotonic()
    during = sc.send(20)
    # a blocking send while the broker is down fails loudly, naming the submission
    extra = sc.subs[40]
    sc.transport.timeout_s = 8.0
    with pytest.raises(SubmissionNotDelivered) as err:
        sc.transport.send(extra)
    assert err.value.submission_id == extra.submission_id and extra.submission_id in str(err.value)
    sc.transport.timeout_s = 120.0
    while time.monotonic() - down_at < 15:  # > 2 delivery timeouts
        time.sleep(0.5)
    restart_s = servers.up("kafka")
    outage_s = time.monotonic() - down_at
    recovery_s = sc.collect(during)  # each was resent by a new producer after its delivery failed
    sc._next = 41
    sc.keys.append(sc.transport.send_async(extra))  # the caller resends what failed
    sc.send(9)
    events = sc.finish()
    assert before <= sc.accepted()
    assert sc.transport.recreated >= 1, "the producer that timed out was not replaced"
    figure("broker_down_past_delivery_timeout", outage_s=round(outage_s, 1), restart_s=round(restart_s, 1),
           recovery_s=round(recovery_s, 1), submissions=sc.n, during_outage=len(during),
           producer_recreated=sc.transport.recreated, events=events)


def test_cassandra_killed_and_restarted(servers: Servers, scenario: Any) -> None:
    # the launch kit's defaults are what is tested: no unsafe switches, durable commit log
    cmd = json.loads((servers.state / "cassandra" / "run.json").read_text())["cmd"]
    assert not [a for a in cmd if "unsafesystem" in a or "flush_local_schema_changes" in a], cmd
    assert "commitlog_sync: batch" in (servers.state / "cassandra" / "conf" / "cassandra.yaml").read_text()
    sc: Scenario = scenario("cassandra", 60)
    sc.send(20)
    sc.collect()
    before = sc.accepted()
    sc.send(10)
    servers.kill("cassandra")
    during = sc.send(10)
    wait_for(lambda: sc.status().get("unavailable") == ["cassandra"], 60, "the worker to see Cassandra gone",
             sc.worker)
    restart_s = servers.up("cassandra")
    # this client's session, opened before the kill, reads at once: its first request may
    # meet a connection that died with the node (NoHostAvailable), which the read adapters
    # retry (bounded: infra/cassandra_retry.py); no wait_for around these reads
    retried = cassandra_retry.retried
    assert sc.app.log.last_seq(REGISTRY_STREAM) >= 1
    assert sc.app.projections.load(PROJECTION, REGISTRY_KEY) is not None
    assert sc.app.rejections.count() >= 0
    read_retries = cassandra_retry.retried - retried
    recovery_s = sc.collect(during)
    sc.send(20)
    events = sc.finish()
    assert before <= sc.accepted()
    wait_for(lambda: sc.status().get("state") == "running", 60, "the worker to report running", sc.worker)
    lines = sc.supervisor_lines()
    assert len(lines) <= 12, lines  # one line per change of state, not one per retry
    figure("cassandra_killed", restart_s=round(restart_s, 1), recovery_s=round(recovery_s, 1), submissions=sc.n,
           during_outage=len(during), accepted_before=len(before), events=events,
           supervisor_log_lines=len(lines), worker_restarts=sc.status().get("restarts"),
           first_reads_retried=read_retries)


def _get(url: str) -> tuple[int, dict[str, Any]]:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_worker_and_cassandra_killed_together(servers: Servers, scenario: Any, tmp_path: Path) -> None:
    sc: Scenario = scenario("workercass", 60)
    sc.send(20)
    sc.collect()
    before = sc.accepted()
    sc.send(10)
    sc.worker.kill(signal.SIGKILL)  # the supervisor; its child dies with it
    servers.kill("cassandra")
    during = sc.send(10)
    health = servers.ports["kafka_port"] - 12  # beside this module's (shifted) ports
    sc.worker.extra_args += ["--health-port", str(health)]
    sc.worker.start()
    ready = f"http://127.0.0.1:{health}/ready"
    code, body = wait_for(lambda: (lambda r: r if r[1].get("state") == "waiting" else None)(_safe_get(ready)),
                          60, "the restarted worker to wait for Cassandra", sc.worker)
    assert code == 503 and body["unavailable"] == ["cassandra"], body
    assert sc.status()["state"] == "waiting"
    restart_s = servers.up("cassandra")
    recovery_s = sc.collect(during)
    sc.send(20)
    events = sc.finish()
    assert before <= sc.accepted()
    code, body = wait_for(lambda: (lambda r: r if r[0] == 200 else None)(_safe_get(ready)), 60,
                          "the worker to be ready", sc.worker)
    assert body["state"] == "running"
    figure("worker_and_cassandra_killed", restart_s=round(restart_s, 1), recovery_s=round(recovery_s, 1),
           submissions=sc.n, during_outage=len(during), accepted_before=len(before), events=events)


def _safe_get(url: str) -> tuple[int, dict[str, Any]]:
    try:
        return _get(url)
    except OSError:
        return 0, {}
