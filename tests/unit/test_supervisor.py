"""The worker's supervisor (entrypoints/supervisor.py) with stand-in probes and a stand-in child
process (a real subprocess, not the Faust worker), and the filter that keeps a Kafka outage
from filling the log (streams/faust_app.QuietRepeats)."""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tongxiu.entrypoints.supervisor import Supervisor, child_argv
from tongxiu.services.config import Settings
from tongxiu.streams.faust_app import QuietRepeats


def wait_until(check: Callable[[], Any], timeout_s: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError("condition not reached")


class Switch:
    def __init__(self, up: bool) -> None:
        self.up = up

    def __call__(self, settings: Settings) -> bool:
        return self.up


@pytest.fixture
def run_supervisor(tmp_path: Path) -> Iterator[Callable[..., tuple[Supervisor, threading.Thread]]]:
    started: list[tuple[Supervisor, threading.Thread]] = []

    def start(argv: list[str], **kw: Any) -> tuple[Supervisor, threading.Thread]:
        sup = Supervisor(Settings(data_dir=tmp_path), argv, probe_interval=0.02, backoff_min=0.05,
                         backoff_max=0.2, stop_timeout=5, **kw)
        t = threading.Thread(target=sup.run, daemon=True)
        t.start()
        started.append((sup, t))
        return sup, t

    yield start
    for sup, t in started:
        sup.stop.set()
        t.join(15)


def test_waits_for_the_servers_then_starts_and_restarts_with_one_line_per_change(
    run_supervisor: Callable[..., tuple[Supervisor, threading.Thread]], tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="tongxiu.supervisor")
    kafka, cassandra = Switch(True), Switch(False)
    marker = tmp_path / "runs.txt"
    # the child appends a line and fails like an agent that hit a Cassandra error
    argv = [sys.executable, "-c", f"open({str(marker)!r}, 'a').write('x\\n'); raise SystemExit(70)"]
    sup, _ = run_supervisor(argv, probes={"kafka": kafka, "cassandra": cassandra})
    wait_until(lambda: sup.status()["state"] == "waiting")
    time.sleep(0.5)  # ~25 probes while Cassandra is down
    assert not marker.exists(), "started the worker while Cassandra was down"
    status = json.loads((tmp_path / "worker-status.json").read_text())
    assert status["state"] == "waiting" and status["unavailable"] == ["cassandra"]
    waiting_lines = [r for r in caplog.records if "waiting" in r.getMessage()]
    assert len(waiting_lines) == 1, [r.getMessage() for r in waiting_lines]

    cassandra.up = True
    wait_until(lambda: sup.status()["restarts"] >= 3)  # exits with 70, restarted each time
    assert sup.status()["last_exit"] == 70
    assert len(marker.read_text().splitlines()) >= 3


def test_reports_ready_over_http_and_stops_its_child(
    run_supervisor: Callable[..., tuple[Supervisor, threading.Thread]], tmp_path: Path
) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    kafka = Switch(True)
    argv = [sys.executable, "-c", "import time; time.sleep(600)"]
    sup, thread = run_supervisor(argv, probes={"kafka": kafka}, health_port=port)

    def get(path: str) -> tuple[int, dict[str, Any]]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())
        except OSError:
            return 0, {}

    code, body = wait_until(lambda: (lambda r: r if r[0] == 200 else None)(get("/ready")))
    assert body["state"] == "running" and body["child_pid"]
    child = sup.child
    assert child is not None and child.poll() is None
    kafka.up = False  # the worker keeps running (its clients reconnect), but it is not ready
    code, body = wait_until(lambda: (lambda r: r if r[0] == 503 else None)(get("/ready")))
    assert body["state"] == "degraded" and body["unavailable"] == ["kafka"]
    assert get("/health")[0] == 200
    assert child.poll() is None
    sup.stop.set()
    thread.join(15)
    assert child.poll() is not None, "the child outlived its supervisor"
    assert sup.status()["state"] == "stopped"


def test_child_command_line_is_this_call_without_supervision() -> None:
    argv = child_argv(["--backend", "distributed", "worker", "--agents", "ledger"])
    assert argv[1:] == ["-m", "tongxiu.entrypoints.cli", "--backend", "distributed", "worker", "--agents", "ledger",
                        "--no-supervise"]


def test_quiet_repeats_lets_one_line_through_per_interval_and_counts_the_rest() -> None:
    quiet = QuietRepeats(interval=30)

    def rec(msg: str, *args: Any) -> logging.LogRecord:
        return logging.LogRecord("aiokafka.conn", logging.ERROR, __file__, 1, msg, args, None)

    passed = [quiet.filter(rec("Unable connect to node with id %s: %s", 1, "refused")) for _ in range(500)]
    assert passed.count(True) == 1
    assert quiet.filter(rec("Group Coordinator Request failed: %s", "x"))  # another message passes
    # once the interval is over the next one passes, saying how many were held back
    key = ("aiokafka.conn", logging.ERROR, "Unable connect to node with id %s: %s")
    last, held = quiet._last[key]
    quiet._last[key] = (last - 31, held)
    r = rec("Unable connect to node with id %s: %s", 1, "refused")
    assert quiet.filter(r)
    assert "499 more like it" in r.getMessage()
