"""The launch kit's common ground (``infra/launch.py`` is the front): constants, the state
directory layout, pid/run files, spawning, signalling and stopping server processes, logs.

Pure standard library, like the rest of the launch kit.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import socket
import string
import subprocess
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Union

StrPath = Union[str, "os.PathLike[str]"]

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


# Popen objects of servers started by this process, so that a server that dies while we are
# still alive is reaped (no zombie that looks alive) and Popen.__del__ does not warn.
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}


class LaunchError(RuntimeError):
    """A server could not be resolved, started, reached or stopped."""


# --------------------------------------------------------------------------- paths


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


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("connection closed by peer")
        buf += chunk
    return bytes(buf)


def _components(components: Iterable[str]) -> tuple[str, ...]:
    if isinstance(components, str):
        components = (components,)
    return tuple(_check_component(c) for c in components)


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


# --------------------------------------------------------------------------- units and ports


def _ports(
    kafka_port: int, controller_port: int, cql_port: int, storage_port: int, jmx_port: int
) -> dict[str, dict[str, int]]:
    return {
        "kafka": {"kafka_port": kafka_port, "controller_port": controller_port},
        "cassandra": {"cql_port": cql_port, "storage_port": storage_port, "jmx_port": jmx_port},
    }


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
