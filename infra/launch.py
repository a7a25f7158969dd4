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
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import signal
import socket
import string
import struct
import subprocess
import sys
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Union

StrPath = Union[str, "os.PathLike[str]"]

__all__ = [
    "COMPONENTS",
    "LaunchError",
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
    "log_tail",
    "kafka_ready",
    "cql_ready",
    "main",
]

INFRA_DIR = Path(__file__).resolve().parent
REPO_DIR = INFRA_DIR.parent
COMPONENTS = ("kafka", "cassandra")
HOST = "127.0.0.1"
STATE_DIR_ENV = "TONGXIU_SERVERS_DIR"
DEFAULT_JDK17 = Path("/usr/lib/jvm/java-17-openjdk-amd64")

KAFKA_MAIN = "kafka.Kafka"
CASSANDRA_MAIN = "org.apache.cassandra.service.CassandraDaemon"
_MAIN_CLASS = {"kafka": KAFKA_MAIN, "cassandra": CASSANDRA_MAIN}
_PORT_KEY = {"kafka": "kafka_port", "cassandra": "cql_port"}
# Cluster mode: node i of N listens on 127.0.0.(1+i); its unit (state sub-dir) is cassandra-<i>.
CLUSTER_NAME = "Tongxiu Cluster"
MAX_NODES = 9

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

# Popen objects of servers started by this process, so that a server that dies while we are
# still alive is reaped (no zombie that looks alive) and Popen.__del__ does not warn.
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}


class LaunchError(RuntimeError):
    """A server could not be resolved, started, reached or stopped."""


# --------------------------------------------------------------------------- paths & java


def default_state_dir() -> Path:
    """``$TONGXIU_SERVERS_DIR`` if set, else ``<repo>/.tongxiu/servers``.

    (``<repo>`` is the checkout holding this file; if infra/ was installed outside a checkout,
    the current directory is used instead.)
    """
    env = os.environ.get(STATE_DIR_ENV)
    if env:
        return Path(env)
    base = REPO_DIR if (REPO_DIR / "pyproject.toml").is_file() else Path.cwd()
    return base / ".tongxiu" / "servers"


def _state(state_dir: StrPath | None) -> Path:
    return Path(state_dir).resolve() if state_dir is not None else default_state_dir().resolve()


def _check_component(component: str) -> str:
    if component not in COMPONENTS:
        raise ValueError(f"unknown component {component!r}; expected one of {COMPONENTS}")
    return component


def _comp_dir(state: Path, component: str) -> Path:
    return state / component


def _base(unit: str) -> str:
    """``cassandra`` for a cluster node's unit ``cassandra-<i>``; the component otherwise."""
    return unit.split("-", 1)[0]


def node_host(i: int) -> str:
    """Loopback address of cluster node ``i`` (1-based): 127.0.0.2, 127.0.0.3, ..."""
    return f"127.0.0.{1 + i}"


def node_token(i: int, nodes: int) -> int:
    """Evenly spaced Murmur3 tokens, one per node (``num_tokens: 1``)."""
    return -(2**63) + (i - 1) * (2**64 // nodes)


def _cluster_units(state: Path, component: str = "cassandra") -> list[str]:
    """The cluster-node units of a component this state dir holds (``cassandra-1`` ...,
    ``kafka-1`` ...), in node order."""
    units = [d.name for d in state.glob(f"{component}-*") if d.is_dir() and d.name.split("-", 1)[1].isdigit()]
    return sorted(units, key=lambda u: int(u.split("-", 1)[1]))


def _log_file(state: Path, component: str) -> Path:
    return _comp_dir(state, component) / "logs" / "server.log"


def _pid_file(state: Path, component: str) -> Path:
    return _comp_dir(state, component) / f"{component}.pid"


def _run_file(state: Path, component: str) -> Path:
    return _comp_dir(state, component) / "run.json"


def _java_major(java_home: Path) -> int | None:
    release = java_home / "release"
    try:
        for line in release.read_text().splitlines():
            if line.startswith("JAVA_VERSION="):
                ver = line.split("=", 1)[1].strip().strip('"')
                head = ver.split(".")[0]
                return int(head if head != "1" else ver.split(".")[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def find_java17() -> Path:
    """The ``java`` binary of a JDK 17: ``$JAVA_HOME`` if it is a 17, else the Debian one.

    Cassandra 5.0 runs on 11 or 17 only (not 21/25); Kafka 4.x brokers need 17+.
    """
    candidates = []
    if os.environ.get("JAVA_HOME"):
        candidates.append(Path(os.environ["JAVA_HOME"]))
    candidates.append(DEFAULT_JDK17)
    candidates.extend(sorted(Path("/usr/lib/jvm").glob("*17*")))
    for home in candidates:
        java = home / "bin" / "java"
        if java.is_file() and os.access(java, os.X_OK) and _java_major(home) == 17:
            return java
    raise LaunchError(
        "no JDK 17 found (looked at $JAVA_HOME, /usr/lib/jvm/java-17-openjdk-amd64, "
        "/usr/lib/jvm/*17*); install openjdk-17-jdk-headless"
    )


# --------------------------------------------------------------------------- resolve


def _pom(component: str) -> Path:
    return INFRA_DIR / component / "pom.xml"


def _pom_digest(component: str) -> str:
    return hashlib.sha256(_pom(component).read_bytes()).hexdigest()


def _has_jars(lib: Path) -> bool:
    return lib.is_dir() and any(lib.glob("*.jar"))


def resolve(component: str, *, state_dir: StrPath | None = None) -> Path:
    """Put the component's jars in ``<state>/<component>/lib`` and return that directory.

    Runs ``mvn -q -B -f infra/<component>/pom.xml dependency:copy-dependencies`` unless the lib
    directory already holds jars resolved from the same pom (a ``.pom.sha256`` stamp; a lib
    without a stamp but with jars is kept as is). Resolves into a temporary directory and renames
    it, so an interrupted run never leaves a half-filled lib behind.
    """
    _check_component(component)
    state = _state(state_dir)
    cdir = _comp_dir(state, component)
    lib = cdir / "lib"
    stamp = lib / ".pom.sha256"
    digest = _pom_digest(component)
    if _has_jars(lib) and (not stamp.exists() or stamp.read_text().strip() == digest):
        return lib

    mvn = shutil.which("mvn")
    if not mvn:
        raise LaunchError("mvn not found on PATH; install maven (apt-get install maven)")
    (cdir / "logs").mkdir(parents=True, exist_ok=True)
    partial = cdir / "lib.partial"
    shutil.rmtree(partial, ignore_errors=True)
    env = dict(os.environ)
    with contextlib.suppress(LaunchError):
        env["JAVA_HOME"] = str(find_java17().parent.parent)
    cmd = [
        mvn,
        "-q",
        "-B",
        "-f",
        str(_pom(component)),
        "dependency:copy-dependencies",
        f"-DoutputDirectory={partial}",
    ]
    resolve_log = cdir / "logs" / "resolve.log"
    with open(resolve_log, "w") as out:
        out.write("$ " + " ".join(cmd) + "\n")
        out.flush()
        proc = subprocess.run(
            cmd,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=str(INFRA_DIR / component),
            env=env,
        )
    if proc.returncode != 0 or not _has_jars(partial):
        raise LaunchError(
            f"resolving {component} with maven failed (exit {proc.returncode}); "
            f"see {resolve_log}:\n{_tail_text(resolve_log, 40)}"
        )
    (partial / ".pom.sha256").write_text(digest + "\n")
    shutil.rmtree(lib, ignore_errors=True)
    os.replace(partial, lib)
    return lib


# --------------------------------------------------------------------------- processes


def _proc_cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _pid_alive(pid: int) -> bool:
    child = _CHILDREN.get(pid)
    if child is not None:
        if child.poll() is not None:
            _CHILDREN.pop(pid, None)
            return False
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie still answers kill(0)
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except (OSError, IndexError):
        return True


def _is_ours(pid: int, component: str, state: Path) -> bool:
    """The pid runs this component's main class with a config under this state dir."""
    cmd = _proc_cmdline(pid)
    return _MAIN_CLASS[_base(component)] in cmd and f"{_comp_dir(state, component)}/conf/" in cmd


def _read_pid(state: Path, component: str) -> int | None:
    try:
        return int(_pid_file(state, component).read_text().strip())
    except (OSError, ValueError):
        return None


def _read_run(state: Path, component: str) -> dict[str, Any]:
    try:
        data = json.loads(_run_file(state, component).read_text())
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def _running_pid(state: Path, component: str) -> int | None:
    pid = _read_pid(state, component)
    if pid is not None and _pid_alive(pid) and _is_ours(pid, component, state):
        return pid
    return None


def _clear_pid(state: Path, component: str) -> None:
    for f in (_pid_file(state, component), _run_file(state, component)):
        with contextlib.suppress(FileNotFoundError):
            f.unlink()


@contextlib.contextmanager
def _locked(state: Path, component: str) -> Iterator[None]:
    """Serialise up/down of one component across processes (e.g. pytest-xdist workers)."""
    cdir = _comp_dir(state, component)
    cdir.mkdir(parents=True, exist_ok=True)
    with open(cdir / ".lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _port_open(port: int, host: str = HOST, timeout: float = 0.5) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        try:
            s.connect((host, port))
            return True
        except OSError:
            return False


def _rotate(log: Path, max_bytes: int = 20 * 1024 * 1024) -> None:
    with contextlib.suppress(OSError):
        if log.stat().st_size > max_bytes:
            os.replace(log, log.with_name(log.name + ".1"))


def _spawn(component: str, cmd: Sequence[str], state: Path, ports: dict[str, int], host: str = HOST) -> int:
    cdir = _comp_dir(state, component)
    log = _log_file(state, component)
    log.parent.mkdir(parents=True, exist_ok=True)
    _rotate(log)
    env = dict(os.environ)
    env.pop("CLASSPATH", None)
    env.pop("JAVA_TOOL_OPTIONS", None)
    with open(log, "ab") as out:
        stamp = time.strftime("%Y-%m-%d %H:%M:%S")
        out.write(f"\n===== infra.launch: starting {component} at {stamp} =====\n".encode())
        out.write(("$ " + " ".join(cmd) + "\n").encode())
        out.flush()
        proc = subprocess.Popen(
            list(cmd),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=str(cdir),
            env=env,
            start_new_session=True,
            close_fds=True,
        )
    _CHILDREN[proc.pid] = proc
    _pid_file(state, component).write_text(f"{proc.pid}\n")
    _run_file(state, component).write_text(
        json.dumps(
            {
                "pid": proc.pid,
                "component": component,
                "ports": ports,
                "host": host,
                "started_at": time.time(),
                "log": str(log),
                "cmd": list(cmd),
            },
            indent=2,
        )
        + "\n"
    )
    return proc.pid


def _render(template: Path, target: Path, values: dict[str, Any]) -> Path:
    text = string.Template(template.read_text()).substitute({k: str(v) for k, v in values.items()})
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, target)
    return target


# --------------------------------------------------------------------------- kafka


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


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("connection closed by peer")
        buf += chunk
    return bytes(buf)


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


# --------------------------------------------------------------------------- cassandra


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
            **ports,
        },
    )
    triggers = cdir / "conf" / "triggers"
    triggers.mkdir(parents=True, exist_ok=True)
    jamm = sorted(lib.glob("jamm-*.jar"))
    if not jamm:
        raise LaunchError(f"no jamm-*.jar in {lib}; delete it and resolve again")
    cmd = [
        str(java),
        "-Xms512m",
        "-Xmx512m" if cluster else "-Xmx1g",  # cluster: ~1 GiB RSS per node on a small machine
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


def _cql_frame(opcode: int, body: bytes, stream: int) -> bytes:
    return struct.pack(">BBhBi", 0x04, 0, stream, opcode, len(body)) + body


def _cql_read(sock: socket.socket) -> tuple[int, bytes]:
    _ver, _flags, _stream, opcode, length = struct.unpack(">BBhBi", _recv_exact(sock, 9))
    body = _recv_exact(sock, length)
    if opcode == 0x00:
        code, ml = struct.unpack_from(">ih", body, 0)
        raise ConnectionError(f"CQL error 0x{code:04x}: {body[6 : 6 + ml].decode(errors='replace')}")
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


def cql_query_first(query: str, port: int = 9042, host: str = HOST, timeout: float = 3.0) -> list[str | None]:
    """Run one CQL query over native protocol v4 (stdlib only); the first row as text values."""
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
        sock.sendall(_cql_frame(0x07, struct.pack(">i", len(q)) + q + struct.pack(">HB", 0x0001, 0), 2))
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


# --------------------------------------------------------------------------- up / down / status


def _ports(
    kafka_port: int, controller_port: int, cql_port: int, storage_port: int, jmx_port: int
) -> dict[str, dict[str, int]]:
    return {
        "kafka": {"kafka_port": kafka_port, "controller_port": controller_port},
        "cassandra": {"cql_port": cql_port, "storage_port": storage_port, "jmx_port": jmx_port},
    }


def _probe(component: str, ports: dict[str, int], timeout: float = 3.0, host: str = HOST) -> Any:
    if _base(component) == "kafka":
        return kafka_ready(ports["kafka_port"], host=host, timeout=timeout)
    return cql_ready(ports["cql_port"], host=host, timeout=timeout)


def _components(components: Iterable[str]) -> tuple[str, ...]:
    if isinstance(components, str):
        components = (components,)
    return tuple(_check_component(c) for c in components)


def _plan(
    comps: Sequence[str], all_ports: dict[str, dict[str, int]], nodes: int, kafka_nodes: int = 1
) -> list[tuple[str, str, dict[str, int], int]]:
    """(unit, host, ports, node number) for each process to run. With ``nodes > 1`` Cassandra
    is N units ``cassandra-<i>`` on 127.0.0.(1+i), the same CQL and storage ports on each
    address and JMX ports ``jmx_port + i - 1`` (local JMX always binds 127.0.0.1)."""
    if not 1 <= nodes <= MAX_NODES or not 1 <= kafka_nodes <= MAX_NODES:
        raise ValueError(f"nodes and kafka_nodes must be 1..{MAX_NODES}, got {nodes}, {kafka_nodes}")
    plan = []
    for comp in comps:
        if comp == "cassandra" and nodes > 1:
            for i in range(1, nodes + 1):
                ports = dict(all_ports[comp], jmx_port=all_ports[comp]["jmx_port"] + i - 1)
                plan.append((f"cassandra-{i}", node_host(i), ports, i))
        elif comp == "kafka" and kafka_nodes > 1:
            for i in range(1, kafka_nodes + 1):
                plan.append((f"kafka-{i}", node_host(i), all_ports[comp], i))
        else:
            plan.append((comp, HOST, all_ports[comp], 1))
    return plan


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


def kafka_cluster_settings(brokers: int, kafka_port: int = 9092) -> dict[str, str]:
    """The ``TONGXIU_*`` settings for a Kafka cluster started with ``kafka_nodes``: every
    broker a bootstrap server, topics replicated 3 times (min ISR 2, set by ``migrate``)."""
    return {
        "TONGXIU_KAFKA_BOOTSTRAP": ",".join(f"{node_host(i)}:{kafka_port}" for i in range(1, brokers + 1)),
        "TONGXIU_KAFKA_REPLICATION": str(min(brokers, 3)),
    }


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
    """Start (or reuse) the servers and wait until each answers a real request.

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

    # Phase 2: wait until every server answers a real request.
    now = time.monotonic()
    for info in result.values():
        info.setdefault("_since", now)
    pending = [unit for unit, *_ in plan]
    while pending:
        for unit in list(pending):
            info = result[unit]
            host, ports, _node = where[unit]
            answer = _probe(unit, ports, host=host)
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


def _units(state: Path, comps: Sequence[str]) -> list[str]:
    """Every unit of these components in the state dir (cassandra: the single node and any
    cluster nodes)."""
    units: list[str] = []
    for comp in comps:
        units.append(comp)
        units.extend(_cluster_units(state, comp))
    return units


def down(
    components: Iterable[str] = COMPONENTS,
    *,
    state_dir: StrPath | None = None,
    timeout: float = 60,
) -> None:
    """Stop the servers: SIGTERM (clean shutdown), SIGKILL after ``timeout`` s; remove pid files.

    Only processes whose pid file is in this state dir and whose command line matches are
    signalled; a stale pid file is just removed. ``cassandra`` includes every cluster node.
    """
    comps = _components(components)
    state = _state(state_dir)
    stopping: dict[str, int] = {}
    for comp in _units(state, comps):
        if not _comp_dir(state, comp).exists():
            continue
        pid = _running_pid(state, comp)
        if pid is None:
            _clear_pid(state, comp)
            continue
        _signal(pid, signal.SIGTERM)
        stopping[comp] = pid
    deadline = time.monotonic() + timeout
    for comp, pid in stopping.items():
        while _pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        if _pid_alive(pid):
            _signal(pid, signal.SIGKILL)
            kill_deadline = time.monotonic() + 10
            while _pid_alive(pid) and time.monotonic() < kill_deadline:
                time.sleep(0.1)
        _CHILDREN.pop(pid, None)
        with _locked(state, comp):
            if _read_pid(state, comp) == pid:
                _clear_pid(state, comp)


def kill(unit: str, *, state_dir: StrPath | None = None, sig: int = signal.SIGKILL) -> int | None:
    """Send ``sig`` (default SIGKILL: a crash) to one running unit (``kafka``, ``cassandra``,
    ``cassandra-2`` ...) and wait until it is gone; the pid file stays, so the next ``up``
    reports ``restarted``. Returns the pid, or None if it was not running. For fault tests."""
    if _base(unit) not in COMPONENTS:
        raise ValueError(f"unknown unit {unit!r}")
    state = _state(state_dir)
    pid = _running_pid(state, unit)
    if pid is None:
        return None
    _signal(pid, sig)
    deadline = time.monotonic() + 30
    while _pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return pid


def _signal(pid: int, sig: int) -> None:
    try:
        if os.getpgid(pid) == pid:  # started with start_new_session: signal its whole group
            os.killpg(pid, sig)
        else:
            os.kill(pid, sig)
    except ProcessLookupError:
        pass


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


def _tail_text(path: Path, lines: int) -> str:
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            block = 8192
            data = b""
            while size > 0 and data.count(b"\n") <= lines:
                step = min(block, size)
                size -= step
                fh.seek(size)
                data = fh.read(step) + data
                block *= 2
    except OSError as exc:
        return f"<no log at {path}: {exc.strerror}>"
    return "\n".join(data.decode(errors="replace").splitlines()[-lines:])


def log_tail(component: str, state_dir: StrPath | None = None, lines: int = 80) -> str:
    """The last ``lines`` lines of the unit's server log (for failing tests to print)."""
    _check_component(_base(component))
    state = _state(state_dir)
    log = _log_file(state, component)
    if not log.exists():
        resolve_log = _comp_dir(state, component) / "logs" / "resolve.log"
        if resolve_log.exists():
            return _tail_text(resolve_log, lines)
    return _tail_text(log, lines)


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
