"""Keeps the distributed worker running through Kafka and Cassandra outages (issue 14).

``tongxiu worker`` runs this supervisor by default. It runs the real worker (``tongxiu
worker --no-supervise``, the Faust app) as a child process and:

* before (re)starting it, waits until Kafka and Cassandra answer a real request (the launch
  kit's wire probes: Kafka Metadata, a CQL query; for Cassandra also a read at the
  consistency levels the worker writes with, so "ready" means a quorum is up, not just one
  node: :func:`cassandra_quorum`), checking every ``probe_interval`` seconds;
* restarts it when it exits, after a bounded backoff (0.5 s doubling to 5 s, back to 0.5 s
  once a child has run for a minute). The child exits on purpose when an agent fails (e.g. a
  Cassandra write times out): Kafka then redelivers from the last committed offset, and both
  agents are idempotent, so nothing is lost or doubled;
* logs one line per change of state (not one per retry);
* reports its state: a JSON status file (``<data_dir>/worker-status.json`` by default) and, with
  ``--health-port``, HTTP ``GET /health`` (200 while the supervisor lives) and ``GET /ready``
  (200 only while the worker runs with both servers answering, else 503), both with the JSON.

The child dies with the supervisor (``PR_SET_PDEATHSIG``), so a killed supervisor leaves no
orphan consuming in the group. SIGTERM/SIGINT stop the child (SIGTERM, then SIGKILL after
``stop_timeout`` s) and then the supervisor.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from tongxiu.services.config import Settings

log = logging.getLogger("tongxiu.supervisor")

STATES = ("starting", "waiting", "running", "degraded", "restarting", "stopping", "stopped")


def _host_port(addr: str, default: int) -> tuple[str, int]:
    host, _, port = addr.strip().rpartition(":")
    return (host or addr.strip(), int(port)) if host else (addr.strip(), default)


def _tcp(host: str, port: int, timeout: float = 2.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def kafka_up(settings: Settings) -> bool:
    """Some bootstrap broker answers a Metadata request (a TCP connect when not PLAINTEXT)."""
    from tongxiu.infra.launch import kafka_ready

    for addr in settings.kafka_bootstrap.split(","):
        host, port = _host_port(addr, 9092)
        if settings.kafka_security_protocol != "PLAINTEXT":
            if _tcp(host, port):
                return True
        elif kafka_ready(port, host=host, timeout=2.0):
            return True
    return False


def cassandra_up(settings: Settings) -> bool:
    """Cassandra can take the worker's writes: a contact point answers a CQL query *and*
    accepts a read at the consistency levels the worker needs (:func:`cassandra_quorum`). With
    a password only a TCP connect is checked (the stdlib probe does not authenticate)."""
    from tongxiu.infra.launch import cql_ready

    for host in settings.cassandra_contact_points:
        if settings.cassandra_username:
            if _tcp(host, settings.cassandra_port):
                return True
        elif cql_ready(settings.cassandra_port, host=host, timeout=2.0):
            return cassandra_quorum(settings, host)
    return False


PROBE_KEY = "tongxiu-ready-probe"


def probe_levels(settings: Settings) -> list[str]:
    """The consistency levels a readiness read must achieve: the worker's writes
    (``consistency``; EACH_QUORUM, write-only in Cassandra, is probed as QUORUM) and its
    appends' LWTs (a Paxos round needs a quorum: QUORUM for SERIAL, LOCAL_QUORUM for
    LOCAL_SERIAL) unless the first already needs at least as many replicas."""
    write = "QUORUM" if settings.consistency == "EACH_QUORUM" else settings.consistency
    paxos = "QUORUM" if settings.serial_consistency == "SERIAL" else "LOCAL_QUORUM"
    stronger = {"ALL", "QUORUM", paxos}
    return [write] if write in stronger else [write, paxos]


def cassandra_quorum(settings: Settings, host: str) -> bool:
    """A single-partition read of the keyspace's ``stream_heads`` at each of
    :func:`probe_levels`, coordinated by ``host``: the coordinator answers Unavailable (or
    times out, while its failure detector has not yet seen a node die) when too few replicas
    of that partition are up. With a replication factor equal to the number of nodes (the
    launch kit's cluster) every partition has the same replicas, so this is exact; on a larger
    ring it proves it for the probe partition's replicas only. A keyspace not created yet
    (invalid query) leaves nothing to check: ready."""
    import struct

    from tongxiu.infra.launch import CqlError, cql_query_first

    query = f"SELECT stream FROM {settings.keyspace}.stream_heads WHERE stream = '{PROBE_KEY}'"
    for level in probe_levels(settings):
        try:
            cql_query_first(query, settings.cassandra_port, host, timeout=3.0, consistency=level)
        except CqlError as exc:
            return exc.code == 0x2200
        except (OSError, ValueError, struct.error):
            return False
    return True


def _die_with_parent() -> None:  # runs in the child between fork and exec
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


class Supervisor:
    def __init__(
        self,
        settings: Settings,
        child_argv: Sequence[str],
        *,
        status_file: Path | None = None,
        health_port: int | None = None,
        probe_interval: float = 1.0,
        backoff_min: float = 0.5,
        backoff_max: float = 5.0,
        healthy_after: float = 60.0,
        stop_timeout: float = 30.0,
        probes: dict[str, Callable[[Settings], bool]] | None = None,
    ) -> None:
        self.settings = settings
        self.child_argv = list(child_argv)
        self.status_file = status_file if status_file is not None else Path(settings.data_dir) / "worker-status.json"
        self.health_port = health_port
        self.probe_interval = probe_interval
        self.backoff_min = backoff_min
        self.backoff_max = backoff_max
        self.healthy_after = healthy_after
        self.stop_timeout = stop_timeout
        self.probes = probes or {"kafka": kafka_up, "cassandra": cassandra_up}
        self.stop = threading.Event()
        self.child: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()
        self._status: dict[str, Any] = {"state": "starting", "unavailable": [], "restarts": 0}
        self._key: tuple[str, tuple[str, ...]] | None = None
        self.http: ThreadingHTTPServer | None = None

    # ------------------------------------------------------------------ state

    def status(self) -> dict[str, Any]:
        with self._lock:
            return dict(self._status)

    def _set(self, state: str, unavailable: Sequence[str] = (), **extra: Any) -> None:
        key = (state, tuple(unavailable))
        with self._lock:
            self._status.update(
                state=state,
                unavailable=list(unavailable),
                child_pid=self.child.pid if self.child is not None and self.child.poll() is None else None,
                pid=os.getpid(),
                **extra,
            )
            changed = key != self._key
            if changed:
                self._key = key
                self._status["since"] = datetime.now(UTC).isoformat()
            snapshot = dict(self._status)
        if not changed:
            return
        what = f" ({', '.join(unavailable)} unavailable)" if unavailable else ""
        detail = f" [{extra['detail']}]" if extra.get("detail") else ""
        log.warning("worker %s%s%s", state, what, detail)
        self._write(snapshot)

    def _write(self, snapshot: dict[str, Any]) -> None:
        with contextlib.suppress(OSError):
            self.status_file.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.status_file.with_name(self.status_file.name + ".tmp")
            tmp.write_text(json.dumps(snapshot, ensure_ascii=False, indent=2) + "\n")
            os.replace(tmp, self.status_file)

    def unavailable(self) -> list[str]:
        return [name for name, probe in self.probes.items() if not probe(self.settings)]

    # ------------------------------------------------------------------ health endpoint

    def _serve_health(self) -> None:
        sup = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                st = sup.status()
                if self.path.startswith("/ready"):
                    code = 200 if st["state"] == "running" else 503
                elif self.path.startswith("/health"):
                    code = 200
                else:
                    code = 404
                body = json.dumps(st, ensure_ascii=False).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                return None

        assert self.health_port is not None
        self.http = ThreadingHTTPServer(("127.0.0.1", self.health_port), Handler)
        threading.Thread(target=self.http.serve_forever, name="health", daemon=True).start()

    # ------------------------------------------------------------------ loop

    def _spawn(self) -> subprocess.Popen[bytes]:
        return subprocess.Popen(self.child_argv, preexec_fn=_die_with_parent, close_fds=True)  # noqa: PLW1509

    def _stop_child(self) -> int | None:
        child = self.child
        if child is None or child.poll() is not None:
            return child.returncode if child is not None else None
        child.send_signal(signal.SIGTERM)
        try:
            return child.wait(self.stop_timeout)
        except subprocess.TimeoutExpired:
            child.kill()
            return child.wait(10)

    def run(self) -> int:
        """Until SIGTERM/SIGINT (or :attr:`stop` is set); returns the exit code (0)."""
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, lambda *_: self.stop.set())
        if self.health_port is not None:
            self._serve_health()
        backoff = self.backoff_min
        try:
            while not self.stop.is_set():
                missing = self.unavailable()
                if missing:
                    self._set("waiting", missing)
                    self.stop.wait(self.probe_interval)
                    continue
                self._set("starting")
                self.child = self._spawn()
                started = time.monotonic()
                while not self.stop.is_set() and self.child.poll() is None:
                    missing = self.unavailable()
                    self._set("degraded" if missing else "running", missing)
                    self.stop.wait(self.probe_interval)
                if self.stop.is_set():
                    break
                code = self.child.returncode
                if time.monotonic() - started >= self.healthy_after:
                    backoff = self.backoff_min
                with self._lock:
                    self._status["restarts"] += 1
                    self._status["last_exit"] = code
                self._set("restarting", detail=f"worker exited with code {code}; again in {backoff:.1f}s")
                self.stop.wait(backoff)
                backoff = min(backoff * 2, self.backoff_max)
        finally:
            self._set("stopping")
            self._stop_child()
            if self.http is not None:
                self.http.shutdown()
            self._set("stopped")
        return 0


def child_argv(argv: Sequence[str] | None = None) -> list[str]:
    """The command line of the supervised worker: this CLI call with ``--no-supervise``."""
    args = list(sys.argv[1:] if argv is None else argv)
    return [sys.executable, "-m", "tongxiu.entrypoints.cli", *args, "--no-supervise"]
