"""The launch kit's Cassandra: a node per unit (``cassandra.yaml`` rendered from
``infra/cassandra/cassandra.yaml.tmpl``), the stdlib CQL probe (native protocol v4, any
consistency level), ``nodetool`` over a node's local JMX port, and the client settings of a
cluster."""

from __future__ import annotations

import json
import os
import socket
import struct
import subprocess
from collections.abc import Sequence
from pathlib import Path

from tongxiu.infra.launch_base import (
    CASSANDRA_MAIN,
    CLUSTER_NAME,
    HOST,
    INFRA_DIR,
    LaunchError,
    StrPath,
    _comp_dir,
    _read_run,
    _recv_exact,
    _render,
    _state,
    node_host,
    node_token,
)
from tongxiu.infra.launch_fetch import resolve

HEAP_ENV = "TONGXIU_CASSANDRA_HEAP"
"""The heap of the Cassandra nodes started (``-Xms`` = ``-Xmx``; default 2g for a single node,
512m for each node of a cluster)."""
PAXOS_ENV = "TONGXIU_CASSANDRA_PAXOS"
"""``v1`` or ``v2`` (default): Cassandra's Paxos implementation for the lightweight transactions
(every append's head commit, the transparency log's group commit). v2 (Cassandra 4.1+) takes
two round trips per LWT where v1 takes four, and its SERIAL reads do not write Paxos state."""

# JDK 17 flags from Cassandra 5.0's conf/jvm17-server.options.
_CASSANDRA_ADD_EXPORTS = (
    "java.base/jdk.internal.misc",
    "java.management.rmi/com.sun.jmx.remote.internal.rmi",
    "java.rmi/sun.rmi.registry",
    "java.rmi/sun.rmi.server",
    "java.sql/java.sql",
    "java.base/java.lang.ref",
    "jdk.unsupported/sun.misc",
    "jdk.compiler/com.sun.tools.javac.file",
    "jdk.attach/sun.tools.attach",
)
_CASSANDRA_ADD_OPENS = (
    "java.base/java.lang.module",
    "java.base/jdk.internal.loader",
    "java.base/jdk.internal.ref",
    "java.base/jdk.internal.reflect",
    "java.base/jdk.internal.math",
    "java.base/jdk.internal.module",
    "java.base/jdk.internal.util.jar",
    "jdk.management/com.sun.management.internal",
    "java.base/sun.nio.ch",
    "java.base/java.io",
    "java.base/java.lang.reflect",
    "jdk.compiler/com.sun.tools.javac",
    "java.base/java.lang",
    "java.base/java.util",
)


def _cassandra_prepare(
    state: Path, ports: dict[str, int], java: Path, *, unit: str = "cassandra", host: str = HOST,
    node: int = 1, nodes: int = 1, commitlog_sync: str = "batch",
) -> list[str]:
    cdir = _comp_dir(state, unit)
    lib = resolve("cassandra", state_dir=state)  # one lib for every node of the state dir
    data = cdir / "data"
    data.mkdir(parents=True, exist_ok=True)
    cluster = nodes > 1
    yaml = _render(
        INFRA_DIR / "cassandra" / "cassandra.yaml.tmpl",
        cdir / "conf" / "cassandra.yaml",
        {
            "host": host,
            "data_dir": data,
            "cluster_name": CLUSTER_NAME if cluster else "Tongxiu Test Cluster",
            "seeds": f"{node_host(1) if cluster else host}:{ports['storage_port']}",
            "initial_token": node_token(node, nodes) if cluster else 0,
            "commitlog_sync": commitlog_sync,
            "commitlog_sync_period": "commitlog_sync_period: 10000ms" if commitlog_sync == "periodic" else "",
            "paxos_variant": os.environ.get(PAXOS_ENV) or "v2",
            **ports,
        },
    )
    triggers = cdir / "conf" / "triggers"
    triggers.mkdir(parents=True, exist_ok=True)
    jamm = sorted(lib.glob("jamm-*.jar"))
    if not jamm:
        raise LaunchError(f"no jamm-*.jar in {lib}; delete it and resolve again")
    # The heap is fixed (-Xms = -Xmx): each table costs the node its metrics (histograms,
    # MBeans) and memtable whether it is used or not (~0.4 MiB each, measured), and a node that holds
    # the keyspaces of several test suites (1,239 tables measured on the shared servers) had
    # ~500 MiB live in a 1 GiB heap: G1 then kept a ~48 MiB young generation and marked
    # concurrently without pause. 2g for a single node (issue 11, session 12, figures in
    # docs/benchmarks.md); cluster: ~1 GiB RSS per node on a small machine.
    heap = os.environ.get(HEAP_ENV) or ("512m" if cluster else "2g")
    cmd = [
        str(java),
        "-Xms" + heap,
        "-Xmx" + heap,
        "-Xss512k",
        "-XX:+UseG1GC",
        "-XX:+ParallelRefProcEnabled",
        "-XX:MaxTenuringThreshold=1",
        "-XX:+UseThreadPriorities",
        "-XX:+PerfDisableSharedMem",
        "-XX:+ExitOnOutOfMemoryError",
        "-Djava.net.preferIPv4Stack=true",
        "-Djava.awt.headless=true",
        f"-javaagent:{jamm[-1]}",
        "-cp",
        f"{lib}/*",
        f"-Dcassandra.config=file://{yaml}",
        f"-Dcassandra.storagedir={data}",
        f"-Dcassandra.logdir={cdir / 'logs'}",
        f"-Dcassandra.triggers_dir={triggers}",
        f"-Dlogback.configurationFile={INFRA_DIR / 'cassandra' / 'logback.xml'}",
        "-Dcassandra-foreground=yes",
        f"-Dcassandra.jmx.local.port={ports['jmx_port']}",
        "-Djdk.attach.allowAttachSelf=true",
        "-Dio.netty.tryReflectionSetAccessible=true",
        # fast start; nothing here trades durability (no unsafesystem, schema changes are
        # flushed as Cassandra does by default: a kill -9 must not lose a keyspace)
        "-Dcassandra.skip_wait_for_gossip_to_settle=0",
        "-Dcassandra.ring_delay_ms=1000",
        "-Dcassandra.superuser_setup_delay_ms=0",
        "-Dcassandra.test.ignore_sigar=true",
    ]
    for mod in _CASSANDRA_ADD_EXPORTS:
        cmd += ["--add-exports", f"{mod}=ALL-UNNAMED"]
    for mod in _CASSANDRA_ADD_OPENS:
        cmd += ["--add-opens", f"{mod}=ALL-UNNAMED"]
    cmd.append(CASSANDRA_MAIN)
    return cmd


def nodetool(unit: str, *args: str, state_dir: StrPath | None = None, timeout: float = 120.0) -> str:
    """Run ``nodetool <args>`` against a running Cassandra unit of the state dir (over its
    local JMX port, with the server's own JDK and jars); its standard output.
    ``nodetool("cassandra-1", "listpendinghints")``."""
    state = _state(state_dir)
    run = _read_run(state, unit)
    cmd = run.get("cmd") or []
    if not cmd or "-cp" not in cmd or "jmx_port" not in run.get("ports", {}):
        raise LaunchError(f"{unit} has no run record in {state}; start it with up")
    tool_dir = _comp_dir(state, unit) / "nodetool"
    tool_dir.mkdir(parents=True, exist_ok=True)
    argv = [cmd[0], "-Xmx128m", "-XX:+UseSerialGC", f"-Dcassandra.logdir={tool_dir}", f"-Duser.home={tool_dir}"]
    argv += [f"--add-exports={m}=ALL-UNNAMED" for m in _CASSANDRA_ADD_EXPORTS]
    argv += [f"--add-opens={m}=ALL-UNNAMED" for m in _CASSANDRA_ADD_OPENS]
    argv += ["-cp", cmd[cmd.index("-cp") + 1], "org.apache.cassandra.tools.NodeTool",
             "-h", HOST, "-p", str(run["ports"]["jmx_port"]), *args]
    res = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    out = "\n".join(line for line in res.stdout.splitlines() if " DEBUG " not in line)
    if res.returncode != 0:
        raise LaunchError(f"nodetool {' '.join(args)} on {unit} failed ({res.returncode}): "
                          f"{(res.stderr or out)[-800:]}")
    return out


def _cql_frame(opcode: int, body: bytes, stream: int) -> bytes:
    return struct.pack(">BBhBi", 0x04, 0, stream, opcode, len(body)) + body


class CqlError(ConnectionError):
    """An ERROR frame: ``code`` is the protocol's error code (0x1000 Unavailable, 0x1200 read
    timeout, 0x2200 invalid query, ...)."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"CQL error 0x{code:04x}: {message}")
        self.code = code


CQL_CONSISTENCY = {"ANY": 0x0000, "ONE": 0x0001, "TWO": 0x0002, "THREE": 0x0003, "QUORUM": 0x0004,
                   "ALL": 0x0005, "LOCAL_QUORUM": 0x0006, "EACH_QUORUM": 0x0007, "SERIAL": 0x0008,
                   "LOCAL_SERIAL": 0x0009, "LOCAL_ONE": 0x000A}


def _cql_read(sock: socket.socket) -> tuple[int, bytes]:
    _ver, _flags, _stream, opcode, length = struct.unpack(">BBhBi", _recv_exact(sock, 9))
    body = _recv_exact(sock, length)
    if opcode == 0x00:
        code, ml = struct.unpack_from(">ih", body, 0)
        raise CqlError(code, body[6 : 6 + ml].decode(errors="replace"))
    return opcode, body


def _cql_skip_option(body: bytes, off: int) -> int:
    (tid,) = struct.unpack_from(">H", body, off)
    off += 2
    if tid == 0x0000:  # custom: [string]
        (n,) = struct.unpack_from(">H", body, off)
        return int(off + 2 + n)
    if tid in (0x0020, 0x0022):  # list, set
        return _cql_skip_option(body, off)
    if tid == 0x0021:  # map
        return _cql_skip_option(body, _cql_skip_option(body, off))
    if tid in (0x0030, 0x0031):  # udt, tuple: not needed for the readiness query
        raise ValueError("CQL udt/tuple columns are not supported by this tiny client")
    return off


def _cql_string(body: bytes, off: int) -> tuple[str, int]:
    (n,) = struct.unpack_from(">H", body, off)
    return body[off + 2 : off + 2 + n].decode(), off + 2 + n


def cql_query_first(
    query: str, port: int = 9042, host: str = HOST, timeout: float = 3.0, consistency: str = "ONE"
) -> list[str | None]:
    """Run one CQL query over native protocol v4 (stdlib only) at ``consistency``; the first
    row as text values. An error answer raises :class:`CqlError`."""
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.settimeout(timeout)
        startup = {"CQL_VERSION": "3.0.0"}
        body = struct.pack(">H", len(startup))
        for k, v in startup.items():
            body += struct.pack(">H", len(k)) + k.encode() + struct.pack(">H", len(v)) + v.encode()
        sock.sendall(_cql_frame(0x01, body, 1))
        opcode, _ = _cql_read(sock)
        if opcode != 0x02:  # READY (0x03 AUTHENTICATE would need credentials)
            raise ConnectionError(f"CQL STARTUP answered opcode 0x{opcode:02x}, not READY")
        q = query.encode()
        level = CQL_CONSISTENCY[consistency.upper()]
        sock.sendall(_cql_frame(0x07, struct.pack(">i", len(q)) + q + struct.pack(">HB", level, 0), 2))
        opcode, body = _cql_read(sock)
    if opcode != 0x08:
        raise ConnectionError(f"CQL QUERY answered opcode 0x{opcode:02x}, not RESULT")
    kind, flags, ncols = struct.unpack_from(">iii", body, 0)
    if kind != 2:
        return []
    off = 12
    if flags & 0x0002:  # has_more_pages: [bytes] paging state
        (n,) = struct.unpack_from(">i", body, off)
        off += 4 + max(n, 0)
    if not flags & 0x0004:  # metadata present
        if flags & 0x0001:  # global table spec
            _, off = _cql_string(body, off)
            _, off = _cql_string(body, off)
        for _ in range(ncols):
            if not flags & 0x0001:
                _, off = _cql_string(body, off)
                _, off = _cql_string(body, off)
            _, off = _cql_string(body, off)
            off = _cql_skip_option(body, off)
    (nrows,) = struct.unpack_from(">i", body, off)
    off += 4
    if nrows < 1:
        return []
    row: list[str | None] = []
    for _ in range(ncols):
        (n,) = struct.unpack_from(">i", body, off)
        off += 4
        row.append(None if n < 0 else body[off : off + n].decode(errors="replace"))
        off += max(n, 0)
    return row


def cql_ready(port: int = 9042, host: str = HOST, timeout: float = 3.0) -> str | None:
    """Cassandra's release_version if a CQL query round-trips, else None."""
    try:
        row = cql_query_first("SELECT release_version FROM system.local", port, host, timeout)
    except (OSError, ConnectionError, ValueError, struct.error):
        return None
    return row[0] if row else None


def cql_sees_peers(peers: Sequence[str], port: int = 9042, host: str = HOST, timeout: float = 3.0) -> bool:
    """Whether the node at ``host`` knows every address in ``peers`` (its ``system.peers``): a
    node answers CQL before gossip has told it of the others, and a keyspace created through
    it then is made for a cluster of one (``replication factor 3 ... higher than the number
    of nodes 1``), its tables sent to a node that has not got the keyspace yet."""
    try:
        return all(cql_query_first(f"SELECT peer FROM system.peers WHERE peer = '{p}'", port, host, timeout)
                   for p in peers)
    except (OSError, ConnectionError, ValueError, struct.error):
        return False


def cluster_settings(nodes: int, cql_port: int = 9042) -> dict[str, str]:
    """The ``TONGXIU_*`` settings that point Tongxiu at a cluster started with ``--nodes``:
    every node a contact point, replication factor = nodes (at most 3), QUORUM."""
    rf = min(nodes, 3)
    return {
        "TONGXIU_CASSANDRA_CONTACT_POINTS": ",".join(node_host(i) for i in range(1, nodes + 1)),
        "TONGXIU_CASSANDRA_PORT": str(cql_port),
        "TONGXIU_CASSANDRA_REPLICATION": json.dumps({"class": "SimpleStrategy", "replication_factor": rf}),
        "TONGXIU_CONSISTENCY": "QUORUM",
    }
