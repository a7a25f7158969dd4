"""Embedded group commit (issue 11): the write path when submissions arrive concurrently.

    python -m bench.group_commit [--events N] [--threads 1,2,4,8,16] [--http] [--uvicorn] [--without]
                                 [--repeats R]

The same pre-signed workload as ``bench.write_replay`` / ``bench.table`` row a (N events, N/20
enterprises), submitted on a fresh embedded ledger (``synchronous=FULL``, the default) by T
threads through ``app.submit`` as the HTTP gateway calls it (each thread takes whole enterprises,
so each enterprise stays in order), and with ``--http`` also by T threads over HTTP (FastAPI's
TestClient, one event loop, the gateway's worker threads; each request with its department's
token), and with ``--uvicorn`` over real HTTP (uvicorn on 127.0.0.1 in this process, the
clients in a child process: the CPU measured is the server's alone). ``--without`` adds each
configuration with ``embedded_group_max=1`` (rows marked g1: each submission its own commit, as
before group commit), alternated with the group runs. For each T: CPU per event (this
process), wall per event, commits (the group committer's store transactions), the mean and
largest group, and the ratios to the 1-thread run of this same process; beside them the bare baseline of row a (``bench.write_replay.bare_write``:
Ed25519 verify + SHA-256 + INSERT, one FULL commit per event, imported, not copied), so
"write path under concurrent arrival vs bare" prints beside row a's ratio (T = 1).

Every receipt is asserted accepted. CPU ratios are the ones to read on a shared machine; the
wall time of FULL commits depends on the disk.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import sqlite3
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, timedelta
from pathlib import Path
from typing import Any, TypeVar

from bench import write_replay as wr
from tongxiu.events.envelope import Submission
from tongxiu.infra.bootstrap import open_embedded
from tongxiu.infra.embedded import InProcessTransport
from tongxiu.services.app import Tongxiu
from tongxiu.services.config import Settings
from tongxiu.services.demo import DEPARTMENTS, START, register_only
from tongxiu.services.group_commit import GroupStats
from tongxiu.services.ports import ManualClock


@dataclass
class Run:
    label: str
    threads: int
    events: int
    wall: float
    cpu: float
    commits: int
    mean_group: float
    largest: int

    def us(self, what: str) -> float:
        return 1e6 * getattr(self, what) / self.events


def loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


P = TypeVar("P")


def by_enterprise(subs: Sequence[Submission], threads: int) -> list[list[Submission]]:
    """Whole enterprises per thread, each enterprise's submissions in their order."""
    codes = sorted({s.stream for s in subs})
    mine = {c: i % threads for i, c in enumerate(codes)}
    out: list[list[Submission]] = [[] for _ in range(threads)]
    for s in subs:
        out[mine[s.stream]].append(s)
    return out


def in_threads(parts: Sequence[P], send_part: Callable[[P], int]) -> int:
    """``send_part`` of every part, one thread per part; the sum of what they return (events
    accepted)."""
    counts = [0] * len(parts)
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            counts[i] = send_part(parts[i])
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(parts))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return sum(counts)


def app_sender(app: Tongxiu) -> Callable[[Submission], int]:
    def send(s: Submission) -> int:
        r = app.submit(s)
        assert r.accepted and not r.duplicate, (s.submission_id, r.reasons)
        return len(r.events)

    return send


def http_sender(client: Any) -> Callable[[Submission], int]:
    headers = {d[0]: {"Authorization": f"Bearer dept-{d[0]}-bench-token-0000", "Content-Type": "application/json"}
               for d in DEPARTMENTS}

    def send(s: Submission) -> int:
        response = client.post("/submissions", content=s.model_dump_json(), headers=headers[s.department])
        assert response.status_code == 200, (s.submission_id, response.status_code, response.text[:300])
        return len(response.json()["events"])

    return send


def open_fresh(tmp: Path, name: str, group_max: int) -> Tongxiu:
    """``bench.write_replay.open_fresh`` with the setting ``embedded_group_max``."""
    clock = ManualClock((START + timedelta(days=20, hours=1)).astimezone(UTC))
    app = open_embedded(Settings(data_dir=tmp / name, embedded_group_max=group_max), clock=clock)
    register_only(app)
    app.process()
    return app


def measure(tmp: Path, work: wr.Workload, threads: int, *, http: bool, group_max: int = 64) -> Run:
    """``group_max`` 1: no group committer (each submission its own commit, as before)."""
    app = open_fresh(tmp, f"{'http' if http else 'app'}-{threads}-{group_max}", group_max)
    transport = app.transport
    assert isinstance(transport, InProcessTransport)
    stats = transport.group.stats if transport.group is not None else GroupStats()
    parts = by_enterprise(work.submissions, threads)
    client = None
    try:
        if http:
            from fastapi.testclient import TestClient

            from tongxiu.services.http import create_app

            tokens = {f"dept-{d[0]}-bench-token-0000": {"role": "department", "department": d[0]} for d in DEPARTMENTS}
            client = TestClient(create_app(app, tokens, json_logs=False)).__enter__()
            send = http_sender(client)
        else:
            send = app_sender(app)
        groups0, items0, stats.largest = stats.groups, stats.items, 0
        gc.collect()
        c0, t0 = time.process_time(), time.perf_counter()
        n = in_threads(parts, lambda part: sum(send(s) for s in part))
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        assert n == work.events, (n, work.events)
        if transport.group is None:  # each submission committed alone
            stats.groups, stats.items, stats.largest = len(work.submissions), len(work.submissions), 1
        groups, items = stats.groups - groups0, stats.items - items0
        assert items == len(work.submissions), (items, len(work.submissions))
        label = ("HTTP" if http else "app.submit") + ("" if group_max > 1 else " g1")
        return Run(label, threads, n, wall, cpu, groups, items / groups, stats.largest)
    finally:
        if client is not None:
            client.__exit__(None, None, None)
        app.close()


def serve_and_measure(tmp: Path, work: wr.Workload, threads: int, *, group_max: int = 64) -> Run:
    """Over real HTTP: uvicorn on 127.0.0.1 in this process, the clients (``threads`` threads, one
    keep-alive connection each) in a child process, so the CPU measured is the server's alone."""
    import json
    import socket
    import subprocess

    import uvicorn

    from tongxiu.services.http import create_app

    app = open_fresh(tmp, f"uvicorn-{threads}-{group_max}", group_max)
    transport = app.transport
    assert isinstance(transport, InProcessTransport)
    stats = transport.group.stats if transport.group is not None else GroupStats()
    tokens = {f"dept-{d[0]}-bench-token-0000": {"role": "department", "department": d[0]} for d in DEPARTMENTS}
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)  # proto 0: asyncio skips TCP_NODELAY
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(app, tokens, json_logs=False), log_level="warning",
                                           access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        while not server.started:
            time.sleep(0.01)
        bodies = tmp / f"bodies-{threads}-{group_max}.json"
        bodies.write_text(json.dumps([[[s.department, s.model_dump_json()] for s in part]
                                      for part in by_enterprise(work.submissions, threads)]))
        groups0, items0, stats.largest = stats.groups, stats.items, 0
        gc.collect()
        c0, t0 = time.process_time(), time.perf_counter()
        out = subprocess.run([sys.executable, "-m", "bench.group_commit", "--client", str(port), str(bodies)],
                             capture_output=True, text=True, check=True)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        n = int(out.stdout.split()[-1])
        assert n == work.events, (n, work.events, out.stderr[-500:])
        if transport.group is None:
            stats.groups, stats.items, stats.largest = len(work.submissions), len(work.submissions), 1
        groups, items = stats.groups - groups0, stats.items - items0
        label = "uvicorn" + ("" if group_max > 1 else " g1")
        return Run(label, threads, n, wall, cpu, groups, items / groups, stats.largest)
    finally:
        server.should_exit = True
        thread.join()
        app.close()


def client(port: int, bodies: Path) -> int:
    """The child process of :func:`serve_and_measure`: one thread (and connection) per part."""
    import http.client
    import json

    parts = json.loads(bodies.read_text())

    def send_part(part: list[list[str]]) -> int:
        # http.client sends the headers and a bytes body in one write (no Nagle / delayed-ACK stall)
        n = 0
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        try:
            for dept, body in part:
                c.request("POST", "/submissions", body=body.encode(), headers={
                    "Authorization": f"Bearer dept-{dept}-bench-token-0000", "Content-Type": "application/json"})
                r = c.getresponse()
                text = r.read()
                if r.status != 200:
                    raise RuntimeError(f"{r.status}: {text[:300]!r}")
                n += len(json.loads(text)["events"])
        finally:
            c.close()
        return n

    print(in_threads(parts, send_part))
    return 0


def bare(tmp: Path, work: wr.Workload) -> tuple[float, float]:
    """Row a's bare baseline (wall, CPU seconds) on the same events."""
    rows = wr.bare_rows(work)
    conn = wr.bare_connect(tmp / "bare.sqlite3", synchronous="FULL")
    gc.collect()
    c0, t0 = time.process_time(), time.perf_counter()
    wr.bare_write(conn, rows)
    out = time.perf_counter() - t0, time.process_time() - c0
    conn.close()
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=4000)
    ap.add_argument("--threads", default="1,2,4,8,16", help="comma-separated thread counts (1 is always run)")
    ap.add_argument("--http", action="store_true", help="also over HTTP (FastAPI TestClient)")
    ap.add_argument("--repeats", type=int, default=1, help="runs of each configuration, alternated; medians")
    ap.add_argument("--without", action="store_true",
                    help="also each T with embedded_group_max=1 (no group committer: every submission its own "
                         "commit, as before), alternated with the group runs (rows marked g1)")
    ap.add_argument("--uvicorn", action="store_true",
                    help="also over real HTTP: uvicorn on 127.0.0.1 here, the clients in a child process (the CPU "
                         "measured is the server's only)")
    ap.add_argument("--client", nargs=2, metavar=("PORT", "FILE"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.client:
        return client(int(args.client[0]), Path(args.client[1]))
    counts = sorted({1, *(int(t) for t in args.threads.split(","))})
    print(
        f"bench.group_commit — {time.strftime('%Y-%m-%d %H:%M:%S %Z')}, Python {platform.python_version()}, "
        f"SQLite {sqlite3.sqlite_version}, {os.cpu_count()} CPUs, load {loadavg()}"
    )
    print(f"command: python -m bench.group_commit {' '.join(argv if argv is not None else sys.argv[1:])}".rstrip())
    work = wr.build_workload(args.events)
    print(f"workload: {work.events} events, {len(work.submissions)} submissions, {len(work.codes)} enterprises "
          "(pre-signed, untimed); synchronous=FULL")
    paths = ["app", *(["http"] if args.http else []), *(["uvicorn"] if args.uvicorn else [])]
    kinds = [(p, g) for p in paths for g in ((64, 1) if args.without else (64,))]
    runs: dict[tuple[tuple[str, int], int], list[Run]] = {}
    bares: list[tuple[float, float]] = []
    with tempfile.TemporaryDirectory(prefix="tongxiu-group-") as d:
        tmp = Path(d)
        for rep in range(args.repeats):
            sub = tmp / f"r{rep}"
            sub.mkdir()
            bares.append(bare(sub, work))
            for t in counts:
                for kind in kinds if rep % 2 == 0 else kinds[::-1]:  # the order alternated too
                    run = (serve_and_measure(sub, work, t, group_max=kind[1]) if kind[0] == "uvicorn"
                           else measure(sub, work, t, http=kind[0] == "http", group_max=kind[1]))
                    runs.setdefault((kind, t), []).append(run)
    bare_wall = median([b[0] for b in bares])
    bare_cpu = median([b[1] for b in bares])
    print(f"bare baseline of row a (Ed25519 + SHA-256 + INSERT, one FULL commit per event): "
          f"{1e6 * bare_cpu / work.events:.0f} µs CPU/event, {1e6 * bare_wall / work.events:.0f} µs wall/event")
    print(f"\n{'path':<15} {'T':>3} {'CPU µs/ev':>10} {'wall µs/ev':>11} {'commits':>8} {'mean grp':>9} "
          f"{'largest':>8} {'CPU÷T=1':>8} {'wall÷T=1':>9} {'bare÷it CPU':>12} {'bare÷it wall':>13}")
    for kind in kinds:
        one = runs[(kind, 1)]
        one_cpu, one_wall = median([r.us("cpu") for r in one]), median([r.us("wall") for r in one])
        for t in counts:
            rs = runs[(kind, t)]
            cpu, wall = median([r.us("cpu") for r in rs]), median([r.us("wall") for r in rs])
            r0 = rs[len(rs) // 2]
            print(f"{r0.label:<15} {t:>3} {cpu:>10.0f} {wall:>11.0f} {median([r.commits for r in rs]):>8.0f} "
                  f"{median([r.mean_group for r in rs]):>9.2f} {max(r.largest for r in rs):>8} "
                  f"{cpu / one_cpu:>8.2f} {wall / one_wall:>9.2f} "
                  f"{1e6 * bare_cpu / work.events / cpu:>12.3f} {1e6 * bare_wall / work.events / wall:>13.3f}")
    print("\n(T = 1 is row a's sequential arrival; 'bare÷it CPU' is row a's ratio at that arrival; "
          f"at least 0.3. g1: embedded_group_max=1, no group committer.) finished {time.strftime('%H:%M:%S')}, load {loadavg()}")
    return 0


def median(xs: Sequence[float]) -> float:
    s = sorted(xs)
    n = len(s)
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2


if __name__ == "__main__":
    raise SystemExit(main())
