"""Support for the fault tests (``test_faults*.py``): dedicated servers per test module (own
state dir and ports, so killing them never touches the servers other tests use), and a
scenario driver: a supervised worker, an SDK transport, signed submissions sent at a steady
pace while a fault is injected, and the figures (recovery seconds, counts) printed as
``FAULT-FIGURE {json}`` lines for docs/faults.md."""

from __future__ import annotations

import json
import shutil
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.integration.pipeline import (
    REPO,
    Worker,
    assert_exactly_once,
    enterprise_codes,
    register,
    signed_submissions,
    wait_for,
)
from tongxiu.events.envelope import Receipt, Submission
from tongxiu.events.models import REGISTRY_STREAM
from tongxiu.infra import launch
from tongxiu.infra.distributed import migrate, open_distributed
from tongxiu.infra.kafka_transport import KafkaTransport
from tongxiu.services.app import Tongxiu
from tongxiu.services.config import Settings

STATE_ROOT = REPO / ".tongxiu" / "fault-servers"


@dataclass
class Servers:
    state: Path
    ports: dict[str, int]
    nodes: int = 1
    kafka_nodes: int = 1

    def up(self, *components: str) -> float:
        """Start (again) what is down; the seconds it took until the servers answered."""
        t0 = time.monotonic()
        launch.up(components or launch.COMPONENTS, state_dir=self.state, nodes=self.nodes,
                  kafka_nodes=self.kafka_nodes, **self.ports)
        return time.monotonic() - t0

    def kill(self, unit: str) -> None:
        assert launch.kill(unit, state_dir=self.state) is not None, f"{unit} was not running"

    def tails(self) -> str:
        units = launch.status(state_dir=self.state, probe=False)
        return "\n".join(f"----- {u} -----\n{launch.log_tail(u, self.state, 40)}" for u in units
                         if Path(units[u]["log"]).exists())

    def settings(self, name: str, data_dir: Path, **overrides: Any) -> Settings:
        tag = uuid.uuid4().hex[:8]
        base: dict[str, Any] = {
            "backend": "distributed",
            "kafka_bootstrap": f"127.0.0.1:{self.ports['kafka_port']}",
            "cassandra_port": self.ports["cql_port"],
            "keyspace": f"fault_{name}_{tag}",
            "topic_prefix": f"fault-{name}-{tag}",
            "partitions": 4,
            "data_dir": data_dir,
        }
        if self.kafka_nodes > 1:
            base.update(
                kafka_bootstrap=",".join(f"{launch.node_host(i)}:{self.ports['kafka_port']}"
                                         for i in range(1, self.kafka_nodes + 1)),
                kafka_replication=min(3, self.kafka_nodes),
            )
        if self.nodes > 1:
            base.update(
                cassandra_contact_points=[launch.node_host(i) for i in range(1, self.nodes + 1)],
                cassandra_replication={"class": "SimpleStrategy", "replication_factor": min(3, self.nodes)},
                consistency="QUORUM",
            )
        settings = Settings(**{**base, **overrides})
        # the keyspace is created after the servers started: the case the unsafe flags lost
        migrate(settings)
        return settings


def free_ports(ports: dict[str, int], nodes: int) -> dict[str, int]:
    """``ports`` shifted by k × 1000 (k = 0..9) so that none is in use: several checkouts on one
    machine run the fault tests at the same time (each its own servers), and fixed ports made
    the second one fail to start. k starts from a hash of this checkout's path, so two
    checkouts usually differ even when they choose at the same moment. (No two ports of the
    fault modules differ by a multiple of 1000, so shifted sets never overlap.)"""
    import socket
    import zlib

    hosts = ["127.0.0.1", *(launch.node_host(i) for i in range(1, nodes + 1))]

    def busy(port: int) -> bool:
        for host in hosts:
            with socket.socket() as s:
                s.settimeout(0.2)
                if s.connect_ex((host, port)) == 0:
                    return True
        return False

    first = zlib.crc32(str(REPO).encode()) % 10
    for step in range(10):
        k = (first + step) % 10
        shifted = {key: port + 1000 * k for key, port in ports.items()}
        wanted = list(shifted.values()) + [shifted["jmx_port"] + i for i in range(1, nodes)]
        if not any(busy(p) for p in wanted):
            return shifted
    raise AssertionError(f"no free port set for the fault servers near {ports}")


def dedicated_servers(name: str, ports: dict[str, int], nodes: int = 1, kafka_nodes: int = 1) -> Iterator[Servers]:
    """Fresh servers (data wiped, jars kept) for one test module, on ports nobody else uses
    (:func:`free_ports`); stopped at the end."""
    state = STATE_ROOT / name
    launch.down(state_dir=state, timeout=30)  # left over from an interrupted run
    ports = free_ports(ports, max(nodes, kafka_nodes))
    for sub in state.glob("*/data"):
        shutil.rmtree(sub, ignore_errors=True)
    for cid in [*state.glob("kafka/cluster.id"), *state.glob("cluster.id")]:
        cid.unlink()
    servers = Servers(state, ports, nodes, kafka_nodes)
    t = servers.up()
    figure("servers_up", name=name, nodes=nodes, kafka_nodes=kafka_nodes, seconds=round(t, 1))
    try:
        yield servers
    finally:
        launch.down(state_dir=state, timeout=30)


def figure(what: str, **values: Any) -> None:
    print("FAULT-FIGURE " + json.dumps({"what": what, **values}, ensure_ascii=False), flush=True)


@dataclass
class Scenario:
    """A supervised worker and a client sending ``n`` submissions; the test injects a fault."""

    servers: Servers
    settings: Settings
    tmp: Path
    n: int
    transport_options: dict[str, Any] = field(default_factory=dict)
    worker: Worker = field(init=False)
    transport: KafkaTransport = field(init=False)
    app: Tongxiu = field(init=False)
    codes: list[str] = field(init=False)
    subs: list[Submission] = field(init=False)
    keys: list[tuple[str, str]] = field(default_factory=list)
    receipts: dict[tuple[str, str], Receipt] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.status_file = self.tmp / "worker-status.json"
        self.worker = Worker(self.settings, self.tmp / "worker.log",
                             extra_args=["--status-file", str(self.status_file)])
        self.worker.start()
        self.transport = KafkaTransport(self.settings, timeout_s=120, **self.transport_options)
        self.app = open_distributed(self.settings, transport=self.transport)
        wait_for(lambda: self.app.log.last_seq(REGISTRY_STREAM) >= 1, 120, "the worker's bootstrap", self.worker)
        register(self.app, self.transport)
        self.codes = enterprise_codes(8)
        self.subs = signed_submissions(self.app, self.codes, self.n)
        self._next = 0

    def send(self, count: int, pace_s: float = 0.05) -> list[tuple[str, str]]:
        """Send the next ``count`` submissions without waiting for their receipts."""
        sent = []
        for sub in self.subs[self._next:self._next + count]:
            sent.append(self.transport.send_async(sub))
            time.sleep(pace_s)
        self._next += count
        self.keys.extend(sent)
        return sent

    def collect(self, keys: list[tuple[str, str]] | None = None, timeout_s: float = 240) -> float:
        """Wait for the receipts of ``keys`` (default: every one not yet collected); returns
        the seconds until the last of them arrived."""
        t0 = time.monotonic()
        for key in self.keys if keys is None else keys:
            if key not in self.receipts:
                self.receipts[key] = self.transport.wait(key, timeout_s=timeout_s)
        return time.monotonic() - t0

    def accepted(self) -> set[tuple[str, str]]:
        return {k for k, r in self.receipts.items() if r.accepted}

    def status(self) -> dict[str, Any]:
        try:
            return json.loads(self.status_file.read_text())  # type: ignore[no-any-return]
        except (OSError, ValueError):
            return {}

    def supervisor_lines(self) -> list[str]:
        return [line for line in self.worker.tail_all().splitlines() if "tongxiu.supervisor" in line]

    def finish(self) -> int:
        """Every receipt accepted; the exactly-once checks; returns the events checked."""
        self.collect()
        assert len(self.receipts) == self.n
        assert all(r.accepted for r in self.receipts.values()), [
            r.reasons for r in self.receipts.values() if not r.accepted][:3]
        # checked as an auditor would afterwards: a new client with its own Cassandra session
        # (this client's session may still hold a connection that died with a node)
        auditor = open_distributed(self.settings)
        try:
            return assert_exactly_once(auditor, self.codes, [s.submission_id for s in self.subs], self.tmp)
        finally:
            auditor.close()

    def close(self) -> None:
        import signal

        self.worker.kill(signal.SIGTERM)
        self.app.close()
