"""The launch kit's Kafka: a KRaft broker+controller per unit (``server.properties`` rendered
from ``infra/kafka/server.properties.tmpl``, storage formatted once), and the stdlib wire
probe (ApiVersions + Metadata)."""

from __future__ import annotations

import base64
import socket
import struct
import subprocess
import uuid
from pathlib import Path
from typing import Any

from tongxiu.infra.launch_base import (
    HOST,
    INFRA_DIR,
    KAFKA_MAIN,
    LaunchError,
    _comp_dir,
    _recv_exact,
    _render,
    _tail_text,
    node_host,
)
from tongxiu.infra.launch_fetch import resolve


def _kafka_cluster_id(cdir: Path) -> str:
    f = cdir / "cluster.id"
    if f.exists():
        return f.read_text().strip()
    while True:  # same shape as kafka.tools.StorageTool random-uuid (Uuid.randomUuid)
        cid = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cid.startswith("-"):
            break
    f.write_text(cid + "\n")
    return cid


def _kafka_prepare(
    state: Path, ports: dict[str, int], java: Path, *, unit: str = "kafka", host: str = HOST, node: int = 1,
    nodes: int = 1,
) -> list[str]:
    cdir = _comp_dir(state, unit)
    lib = resolve("kafka", state_dir=state)  # one lib for every broker of the state dir
    data = cdir / "data"
    data.mkdir(parents=True, exist_ok=True)
    cluster = nodes > 1
    rf = min(nodes, 3)
    voters = (
        ",".join(f"{i}@{node_host(i)}:{ports['controller_port']}" for i in range(1, nodes + 1))
        if cluster else f"1@{host}:{ports['controller_port']}"
    )
    props = _render(
        INFRA_DIR / "kafka" / "server.properties.tmpl",
        cdir / "conf" / "server.properties",
        {"host": host, "data_dir": data, "node_id": node, "voters": voters, "replication": rf,
         "min_isr": min(2, rf), **ports},
    )
    cp = f"{lib}/*"
    log4j = INFRA_DIR / "kafka" / "log4j2.properties"
    if not (data / "meta.properties").exists():
        fmt = [
            str(java),
            "-Xmx256m",
            f"-Dlog4j2.configurationFile={log4j}",
            "-cp",
            cp,
            "kafka.tools.StorageTool",
            "format",
            "-t",
            _kafka_cluster_id(state if cluster else cdir),  # one id for every broker
            "-c",
            str(props),
            "--ignore-formatted",
        ]
        flog = cdir / "logs" / "format.log"
        flog.parent.mkdir(parents=True, exist_ok=True)
        with open(flog, "w") as out:
            res = subprocess.run(
                fmt, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=str(cdir)
            )
        if res.returncode != 0 or not (data / "meta.properties").exists():
            raise LaunchError(f"kafka storage format failed (exit {res.returncode}):\n{_tail_text(flog, 40)}")
    return [
        str(java),
        "-Xms256m",
        "-Xmx512m",
        "-XX:+ExitOnOutOfMemoryError",
        "-XX:+UseG1GC",
        "-XX:MaxGCPauseMillis=20",
        "-XX:InitiatingHeapOccupancyPercent=35",
        "-XX:+ExplicitGCInvokesConcurrent",
        "-Djava.awt.headless=true",
        f"-Dlog4j2.configurationFile={log4j}",
        f"-Dkafka.logs.dir={cdir / 'logs'}",
        "-cp",
        cp,
        KAFKA_MAIN,
        str(props),
    ]


def _kafka_call(sock: socket.socket, api_key: int, version: int, corr: int, body: bytes) -> bytes:
    client_id = b"tongxiu-launch"
    msg = struct.pack(">hhih", api_key, version, corr, len(client_id)) + client_id + body
    sock.sendall(struct.pack(">i", len(msg)) + msg)
    (size,) = struct.unpack(">i", _recv_exact(sock, 4))
    data = _recv_exact(sock, size)
    (rcorr,) = struct.unpack_from(">i", data, 0)
    if rcorr != corr:
        raise ConnectionError(f"kafka: correlation id {rcorr} != {corr}")
    return data[4:]


def kafka_ready(port: int = 9092, host: str = HOST, timeout: float = 3.0) -> dict[str, Any] | None:
    """One ApiVersions + Metadata round trip; the metadata if the broker lists itself, else None."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.settimeout(timeout)
            # ApiVersions v0: error_code, [api_key, min_version, max_version]
            r = _kafka_call(sock, 18, 0, 1, b"")
            err, n = struct.unpack_from(">hi", r, 0)
            if err != 0:
                return None
            versions = {}
            for i in range(n):
                key, lo, hi = struct.unpack_from(">hhh", r, 6 + 6 * i)
                versions[key] = (lo, hi)
            lo, hi = versions.get(3, (0, -1))
            v = max(lo, 4)  # Metadata v4..v8 share the non-flexible layout parsed below
            if v > min(hi, 8):
                return None
            body = struct.pack(">ib", -1, 0)  # all topics, allow_auto_topic_creation=false
            r = _kafka_call(sock, 3, v, 2, body)
    except (OSError, ConnectionError, struct.error):
        return None
    try:
        off = 4  # throttle_time_ms
        (nb,) = struct.unpack_from(">i", r, off)
        off += 4
        brokers = []
        for _ in range(nb):
            node_id, hl = struct.unpack_from(">ih", r, off)
            off += 6
            bhost = r[off : off + hl].decode()
            off += hl
            (bport, rl) = struct.unpack_from(">ih", r, off)
            off += 6 + max(rl, 0)
            brokers.append({"node_id": node_id, "host": bhost, "port": bport})
        (cl,) = struct.unpack_from(">h", r, off)
        off += 2
        cluster_id = r[off : off + cl].decode() if cl >= 0 else None
        off += max(cl, 0)
        (controller_id,) = struct.unpack_from(">i", r, off)
    except (struct.error, UnicodeDecodeError):
        return None
    if controller_id < 0 or not any(b["port"] == port for b in brokers):
        return None
    return {
        "brokers": brokers,
        "cluster_id": cluster_id,
        "controller_id": controller_id,
        "metadata_version": v,
    }


def kafka_cluster_settings(brokers: int, kafka_port: int = 9092) -> dict[str, str]:
    """The ``TONGXIU_*`` settings for a Kafka cluster started with ``kafka_nodes``: every
    broker a bootstrap server, topics replicated 3 times (min ISR 2, set by ``migrate``)."""
    return {
        "TONGXIU_KAFKA_BOOTSTRAP": ",".join(f"{node_host(i)}:{kafka_port}" for i in range(1, brokers + 1)),
        "TONGXIU_KAFKA_REPLICATION": str(min(brokers, 3)),
    }
