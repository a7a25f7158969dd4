"""Launch kit for the real servers Tongxiu's integration tests need.

Apache Kafka 4.x (KRaft, one combined broker+controller node) and Apache Cassandra 5.0
(one node) are resolved from Maven Central with ``mvn`` and started with the JDK 17 ``java``,
detached, with pid files and logs under a project-local state directory::

    <state>/                                default <repo>/.tongxiu/servers
      kafka/lib/*.jar                       resolved by `mvn dependency:copy-dependencies`
      kafka/conf/server.properties          rendered from infra/kafka/server.properties.tmpl
      kafka/data/                           log.dirs (formatted once)
      kafka/logs/server.log                 stdout+stderr of the broker
      kafka/logs/resolve.log                output of the last mvn run
      kafka/kafka.pid, kafka/run.json       pid file and what the process was started with
      cassandra/...                         the same layout

Pure standard library: nothing outside it is imported, at module level or in functions.
Readiness is checked on the wire: a Kafka ApiVersions + Metadata round trip (the broker must
list itself), and a CQL STARTUP + ``SELECT release_version FROM system.local`` round trip.

CLI::

    python -m tongxiu.infra.launch up|down|status|resolve|logs [--state-dir DIR] [components...]

This module is the front (``up``, ``status`` and the CLI) and re-exports the kit's public
names; the parts: ``launch_base`` (state dir, processes, ``down``/``kill``, logs),
``launch_fetch`` (JDK 17, jars from Maven), ``launch_kafka`` and ``launch_cassandra`` (each
server's configuration and wire probe; ``nodetool``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from tongxiu.infra.launch_base import (
    _PORT_KEY,
    CASSANDRA_MAIN,
    CLUSTER_NAME,
    COMPONENTS,
    DEFAULT_JDK17,
    HOST,
    INFRA_DIR,
    KAFKA_MAIN,
    MAX_NODES,
    REPO_DIR,
    STATE_DIR_ENV,
    LaunchError,
    StrPath,
    _base,
    _clear_pid,
    _comp_dir,
    _components,
    _locked,
    _log_file,
    _pid_alive,
    _pid_file,
    _plan,
    _port_open,
    _ports,
    _read_pid,
    _read_run,
    _running_pid,
    _spawn,
    _state,
    _units,
    default_state_dir,
    down,
    kill,
    log_tail,
    node_host,
    node_token,
)
from tongxiu.infra.launch_cassandra import (
    CQL_CONSISTENCY,
    CqlError,
    _cassandra_prepare,
    cluster_settings,
    cql_query_first,
    cql_ready,
    cql_sees_peers,
    nodetool,
)
from tongxiu.infra.launch_fetch import _has_jars, find_java17, resolve
from tongxiu.infra.launch_kafka import _kafka_prepare, kafka_cluster_settings, kafka_ready

__all__ = [
    "CASSANDRA_MAIN",
    "CLUSTER_NAME",
    "COMPONENTS",
    "CQL_CONSISTENCY",
    "DEFAULT_JDK17",
    "HOST",
    "INFRA_DIR",
    "KAFKA_MAIN",
    "MAX_NODES",
    "REPO_DIR",
    "STATE_DIR_ENV",
    "CqlError",
    "LaunchError",
    "StrPath",
    "default_state_dir",
    "find_java17",
    "resolve",
    "up",
    "down",
    "status",
    "kill",
    "cluster_settings",
    "kafka_cluster_settings",
    "node_host",
    "node_token",
    "log_tail",
    "kafka_ready",
    "cql_query_first",
    "cql_ready",
    "nodetool",
    "main",
]


# --------------------------------------------------------------------------- up / status


def _probe(component: str, ports: dict[str, int], timeout: float = 3.0, host: str = HOST) -> Any:
    if _base(component) == "kafka":
        return kafka_ready(ports["kafka_port"], host=host, timeout=timeout)
    return cql_ready(ports["cql_port"], host=host, timeout=timeout)


def up(
    components: Iterable[str] = COMPONENTS,
    *,
    state_dir: StrPath | None = None,
    kafka_port: int = 9092,
    controller_port: int = 9093,
    cql_port: int = 9042,
    storage_port: int = 7000,
    jmx_port: int = 7199,
    timeout: float = 240,
    nodes: int = 1,
    commitlog_sync: str = "batch",
    kafka_nodes: int = 1,
) -> dict[str, dict[str, Any]]:
    """Start (or reuse) the servers and wait until each answers a real request (a node of a
    Cassandra cluster: and knows every other node of it).

    Idempotent: a server whose pid file names a live process of ours is reused (waited for if
    it is still starting); a crashed one (stale pid file) is started again; Kafka storage is
    formatted once. Servers are detached (own session) and outlive the caller.
    Raises LaunchError (with the log tail) if a server dies, a port is held by something else,
    or it is not ready within ``timeout`` seconds (the process is then left running).

    ``nodes > 1`` runs Cassandra as a cluster of that many nodes (units ``cassandra-<i>`` on
    127.0.0.2, 127.0.0.3, ...; see :func:`cluster_settings` for the client side). Bringing
    back one killed node is ``up(("cassandra",), nodes=N)`` again: the live nodes are reused.

    ``commitlog_sync``: ``batch`` (default: a write is acknowledged after its commit log is
    fsynced) or ``periodic`` (fsync every 10 s; faster, loses the last seconds of acknowledged
    writes on power loss — for throw-away nodes only). Applies when a node is (re)started.

    Returns ``{unit: {"pid", "port", "ports", "host", "log", "reused", "ready_s", ...}}``.
    """
    comps = _components(components)
    state = _state(state_dir)
    state.mkdir(parents=True, exist_ok=True)
    all_ports = _ports(kafka_port, controller_port, cql_port, storage_port, jmx_port)
    if commitlog_sync not in ("batch", "periodic"):
        raise ValueError(f"commitlog_sync must be batch or periodic, got {commitlog_sync!r}")
    plan = _plan(comps, all_ports, nodes, kafka_nodes)
    where = {unit: (host, ports, node) for unit, host, ports, node in plan}
    deadline = time.monotonic() + timeout
    result: dict[str, dict[str, Any]] = {}

    # Phase 1, holding every unit's lock (a concurrent up() waits here, then reuses):
    # decide reuse/start, resolve all jars first, then spawn, so start-up times do not overlap
    # with maven and ready_s measures the server alone.
    with contextlib.ExitStack() as locks:
        for unit, *_ in plan:
            locks.enter_context(_locked(state, unit))
        to_start: list[str] = []
        for unit, host, ports, _node in plan:
            pid = _running_pid(state, unit)
            if pid is not None:
                running_ports = _read_run(state, unit).get("ports", {})
                if running_ports and running_ports != ports:
                    raise LaunchError(
                        f"{unit} is running (pid {pid}) with ports {running_ports}, not {ports}; "
                        f"call down() first"
                    )
                result[unit] = {"pid": pid, "reused": True, "restarted": False}
                continue
            busy = [p for k, p in ports.items() if k != "jmx_port" and _port_open(p, host)]
            busy += [ports["jmx_port"]] if "jmx_port" in ports and _port_open(ports["jmx_port"]) else []
            if busy:
                raise LaunchError(
                    f"cannot start {unit}: port(s) {busy} on {host} are held by a process that "
                    f"this state dir ({state}) did not start; stop it or choose other ports"
                )
            # a pid file whose process is gone means the server crashed (or was killed)
            result[unit] = {"reused": False, "restarted": _read_pid(state, unit) is not None}
            _clear_pid(state, unit)
            to_start.append(unit)
        if to_start:
            java = find_java17()
            for comp in sorted({_base(u) for u in to_start}):
                t0 = time.monotonic()
                resolve(comp, state_dir=state)
                for u in to_start:
                    if _base(u) == comp:
                        result[u]["resolve_s"] = round(time.monotonic() - t0, 2)
            for unit in to_start:
                host, ports, node = where[unit]
                if _base(unit) == "cassandra" and node > 1 and "cassandra-1" in to_start:
                    # a joining node needs the seed's gossip port
                    seed_host, seed_ports, _ = where["cassandra-1"]
                    while not _port_open(seed_ports["storage_port"], seed_host):
                        if time.monotonic() > deadline or not _pid_alive(result["cassandra-1"]["pid"]):
                            break  # phase 2 reports it
                        time.sleep(0.2)
                t0 = time.monotonic()
                if _base(unit) == "kafka":
                    cmd = _kafka_prepare(state, ports, java, unit=unit, host=host, node=node, nodes=kafka_nodes)
                else:
                    cmd = _cassandra_prepare(state, ports, java, unit=unit, host=host, node=node, nodes=nodes,
                                             commitlog_sync=commitlog_sync)
                spawned = time.monotonic()
                result[unit]["prepare_s"] = round(spawned - t0, 2)  # render config, format storage
                result[unit]["pid"] = _spawn(unit, cmd, state, ports, host)
                result[unit]["_since"] = spawned

    # Phase 2: wait until every server answers a real request (a cluster's Cassandra node: and
    # has every other node in its system.peers).
    now = time.monotonic()
    for info in result.values():
        info.setdefault("_since", now)
    pending = [unit for unit, *_ in plan]
    while pending:
        for unit in list(pending):
            info = result[unit]
            host, ports, _node = where[unit]
            answer = _probe(unit, ports, host=host)
            if answer and _base(unit) == "cassandra" and nodes > 1:
                # a cluster node is ready when it also knows every other node (gossip), not only
                # when it answers CQL: a schema change made through it before that is made for
                # a cluster of one
                others = [h for u, (h, _p, _n) in where.items() if _base(u) == "cassandra" and u != unit]
                answer = answer if cql_sees_peers(others, ports["cql_port"], host=host) else None
            if answer:
                pending.remove(unit)
                info.update(
                    {
                        "running": True,
                        "port": ports[_PORT_KEY[_base(unit)]],
                        "ports": ports,
                        "host": host,
                        "log": str(_log_file(state, unit)),
                        "ready_s": round(time.monotonic() - info.pop("_since"), 2),
                    }
                )
                if _base(unit) == "kafka":
                    info["cluster_id"] = answer.get("cluster_id")
                else:
                    info["release_version"] = answer
            elif not _pid_alive(info["pid"]):
                with _locked(state, unit):
                    if _read_pid(state, unit) == info["pid"]:
                        _clear_pid(state, unit)
                raise LaunchError(
                    f"{unit} (pid {info['pid']}) exited before it was ready; "
                    f"log {_log_file(state, unit)}:\n{log_tail(unit, state, 60)}"
                )
        if not pending:
            break
        if time.monotonic() > deadline:
            unit = pending[0]
            raise LaunchError(
                f"{', '.join(pending)} not ready after {timeout:.0f}s (left running); "
                f"log {_log_file(state, unit)}:\n{log_tail(unit, state, 60)}"
            )
        time.sleep(0.5)
    return result


def status(*, state_dir: StrPath | None = None, probe: bool = True) -> dict[str, dict[str, Any]]:
    """Per unit (``kafka``, ``cassandra``, and ``cassandra-<i>`` for cluster nodes that this
    state dir holds): running (our live pid), pid, port, ports, host, answering, log, pid_file.

    ``answering`` is the result of a real request (Kafka Metadata / CQL query) when ``probe``,
    else whether the main port accepts TCP connections.
    """
    state = _state(state_dir)
    out: dict[str, dict[str, Any]] = {}
    defaults = _ports(9092, 9093, 9042, 7000, 7199)
    for comp in _units(state, COMPONENTS):
        pid = _running_pid(state, comp)
        run = _read_run(state, comp)
        ports = run.get("ports") or defaults[_base(comp)]
        host = run.get("host") or (node_host(int(comp.split("-")[1])) if "-" in comp else HOST)
        port = ports[_PORT_KEY[_base(comp)]]
        if probe:
            answering = bool(_probe(comp, ports, timeout=2.0, host=host))
        else:
            answering = _port_open(port, host)
        out[comp] = {
            "running": pid is not None,
            "pid": pid,
            "stale_pid_file": pid is None and _read_pid(state, comp) is not None,
            "port": port,
            "ports": ports,
            "host": host,
            "answering": answering,
            "log": str(_log_file(state, comp)),
            "pid_file": str(_pid_file(state, comp)),
            "resolved": _has_jars(_comp_dir(state, _base(comp)) / "lib"),
        }
    return out


# --------------------------------------------------------------------------- CLI


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m tongxiu.infra.launch", description="Run the Kafka and Cassandra servers for Tongxiu's tests."
    )
    p.add_argument("command", choices=("up", "down", "status", "resolve", "logs"))
    p.add_argument(
        "components",
        nargs="*",
        default=[],
        metavar="component",
        help="kafka and/or cassandra (default: both)",
    )
    p.add_argument(
        "--state-dir", type=Path, default=None, help=f"default: ${STATE_DIR_ENV} or <repo>/.tongxiu/servers"
    )
    p.add_argument("--kafka-port", type=int, default=9092)
    p.add_argument("--controller-port", type=int, default=9093)
    p.add_argument("--cql-port", type=int, default=9042)
    p.add_argument("--storage-port", type=int, default=7000)
    p.add_argument("--jmx-port", type=int, default=7199)
    p.add_argument("--timeout", type=float, default=None, help="seconds (up: 240, down: 60)")
    p.add_argument(
        "--nodes", type=int, default=1,
        help="up: Cassandra nodes (>1: a cluster on 127.0.0.2..; replication factor 3, QUORUM)",
    )
    p.add_argument(
        "--kafka-nodes", type=int, default=1,
        help="up: Kafka brokers (>1: KRaft brokers+controllers on 127.0.0.2..; replication 3, min ISR 2)",
    )
    p.add_argument(
        "--commitlog-sync", choices=("batch", "periodic"), default="batch",
        help="up: Cassandra commit-log sync (batch: durable, default; periodic: throw-away nodes)",
    )
    p.add_argument("--lines", type=int, default=80, help="logs: how many lines")
    a = p.parse_args(argv)
    comps = tuple(a.components) or COMPONENTS
    bad = [c for c in comps if c not in COMPONENTS]
    if bad:
        p.error(f"unknown component(s) {bad}; choose from {list(COMPONENTS)}")
    try:
        if a.command == "up":
            res = up(
                comps,
                state_dir=a.state_dir,
                kafka_port=a.kafka_port,
                controller_port=a.controller_port,
                cql_port=a.cql_port,
                storage_port=a.storage_port,
                jmx_port=a.jmx_port,
                timeout=a.timeout if a.timeout is not None else 240,
                nodes=a.nodes,
                commitlog_sync=a.commitlog_sync,
                kafka_nodes=a.kafka_nodes,
            )
            if a.nodes > 1 and "cassandra" in comps:
                res["settings"] = cluster_settings(a.nodes, a.cql_port)
            if a.kafka_nodes > 1 and "kafka" in comps:
                res.setdefault("settings", {}).update(
                    kafka_cluster_settings(a.kafka_nodes, a.kafka_port))
            print(json.dumps(res, indent=2))
        elif a.command == "down":
            down(comps, state_dir=a.state_dir, timeout=a.timeout if a.timeout is not None else 60)
            print(json.dumps(status(state_dir=a.state_dir, probe=False), indent=2))
        elif a.command == "status":
            st = status(state_dir=a.state_dir)
            print(json.dumps(st, indent=2))
            units = [u for u in st if _base(u) in comps]
            for comp in comps:  # a cluster state dir: its nodes, not the single node
                if any(_base(u) == comp and "-" in u for u in units) and not st[comp]["running"]:
                    units.remove(comp)
            return 0 if all(st[u]["running"] and st[u]["answering"] for u in units) else 3
        elif a.command == "resolve":
            for c in comps:
                t0 = time.monotonic()
                lib = resolve(c, state_dir=a.state_dir)
                print(f"{c}: {lib} ({time.monotonic() - t0:.1f}s)")
        else:
            for c in comps:
                print(f"===== {c}: {_log_file(_state(a.state_dir), c)}")
                print(log_tail(c, a.state_dir, a.lines))
    except LaunchError as exc:
        print(f"tongxiu.infra.launch: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
