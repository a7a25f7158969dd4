"""Long histories: the cost of a submission, a page of history, the timeline, replay and
verify on ONE enterprise with N events (default 20,000), each against a baseline in the same
run; then the pages with 50,000 stored rejections against the same pages with none.

    python -m bench.long_history [--events N] [--rejections R]

(a) write: N events on one enterprise through ``app.submit`` (processors after every
    submission, as in production), in cycles of 20 events (14 submissions: three 三书同达
    bundles, fines paid, evidence and verifications; the workload of ``bench.write_replay``,
    all on one enterprise). Baseline: the first cycles; measured: the last cycles. Also the
    rows SQLite changed per cycle (``total_changes``), first vs last.
(b) reads through the HTTP service (FastAPI TestClient, auditor token): the first page of
    ``/api/enterprises/{code}/history?limit=10`` and the timeline page ``/enterprises/{code}``
    on the long enterprise vs an enterprise with 20 events (baseline), with response bytes.
(c) ``tongxiu replay CODE --json`` and ``tongxiu verify CODE`` as child processes: peak RSS
    (the child's own ``VmHWM``, ``bench/rss_child.py``) and output bytes, long vs short enterprise.
(d) 50,000 rejections recorded: the index page ``/`` and ``/api/rejections?limit=100``
    (last page too) vs the same pages before they were recorded.

Every receipt is asserted ACCEPTED. Read the ratios, not the seconds (shared machines).
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.write_replay import SAMR, _NoTransport, enterprise_codes, enterprise_steps
from tongxiu.events.envelope import Reason, Receipt, Submission
from tongxiu.infra.bootstrap import open_embedded
from tongxiu.services.app import Tongxiu
from tongxiu.services.config import Settings
from tongxiu.services.demo import DEPARTMENTS, START, demo_key, register_only
from tongxiu.services.ledger import sign_submission
from tongxiu.services.ports import ManualClock, RejectionRecord
from tongxiu.services.sdk import Producer

AUDITOR = "bench-auditor-token-000000000000"


def cycles_for(code: str, n_cycles: int, *, first: int = 0) -> list[list[Submission]]:
    keys = {d[0]: demo_key(d[0]) for d in DEPARTMENTS}
    producer = Producer(_NoTransport(), SAMR, keys[SAMR])
    occurred = (START + timedelta(days=20)).astimezone(UTC)
    out = []
    for idx in range(first, first + n_cycles):
        subs = []
        for step, (dept, events) in enumerate(enterprise_steps(producer, code, idx)):
            subs.append(sign_submission(keys[dept], department=dept, stream=code, submission_id=f"{code}/{idx}/{step}",
                                        occurred_at=occurred, events=events))
        out.append(subs)
    return out


def timed(fn: Callable[[], Any], *, collect: bool = True) -> tuple[float, float, Any]:
    if collect:
        gc.collect()
    c0, t0 = time.process_time(), time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, time.process_time() - c0, out


def submit_cycle(app: Tongxiu, subs: list[Submission]) -> int:
    n = 0
    for sub in subs:
        receipt = app.submit(sub)
        assert receipt.accepted and not receipt.duplicate, (sub.submission_id, receipt.reasons)
        n += len(receipt.events)
    return n


def changes(app: Tongxiu) -> int:
    return int(app.log.db.conn.total_changes)  # type: ignore[attr-defined]


def child(args: list[str]) -> tuple[float, float, int]:
    """(seconds, peak RSS MiB, stdout bytes) of one ``tongxiu`` command in its own process."""
    with tempfile.TemporaryDirectory() as tmp:
        peak = Path(tmp) / "peak"
        t0 = time.perf_counter()
        with (Path(tmp) / "out").open("wb") as out:
            proc = subprocess.run([sys.executable, "-m", "bench.rss_child", str(peak), *args], stdout=out,
                                  stderr=subprocess.PIPE, check=False)
            wall = time.perf_counter() - t0
            size = out.tell()
        assert proc.returncode == 0, (args, proc.returncode, proc.stderr[-500:])
        return wall, int(peak.read_text()) / 1024, size


def best(fn: Callable[[], Any], repeats: int = 3) -> tuple[float, Any]:
    runs = []
    for _ in range(repeats):
        wall, _, out = timed(fn)
        runs.append((wall, out))
    return min(runs, key=lambda r: r[0])


def line(name: str, value: float, base: float, unit: str = "s", extra: str = "") -> None:
    ratio = value / base if base else float("nan")
    print(f"  {name:<62} {value:>10.3f} {unit:<4} {base:>10.3f} {unit:<4} {ratio:>7.2f}x  {extra}")


def header(title: str) -> None:
    print(f"\n{title}")
    print(f"  {'measurement':<62} {'value':>15} {'baseline':>15} {'ratio':>8}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=20_000)
    ap.add_argument("--rejections", type=int, default=50_000)
    ap.add_argument("--window", type=int, default=3, help="cycles timed at each end")
    args = ap.parse_args(argv)
    n_cycles = max(2 * args.window, args.events // 20)

    from fastapi.testclient import TestClient

    from tongxiu.services.http import create_app

    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "ledger"
        clock = ManualClock((START + timedelta(days=20, hours=1)).astimezone(UTC))
        app = open_embedded(Settings(data_dir=data), clock=clock)
        register_only(app)
        app.process()
        long_code, short_code = enterprise_codes(2)
        print(f"signing {n_cycles} cycles ({n_cycles * 20} events) for one enterprise …", file=sys.stderr)
        work = cycles_for(long_code, n_cycles)
        short = cycles_for(short_code, 1, first=n_cycles)

        # (a) write
        per_cycle: list[tuple[float, float, int]] = []
        w = args.window
        t_start = time.perf_counter()
        for i, subs in enumerate(work):
            before = changes(app)
            wall, cpu, n = timed(lambda subs=subs: submit_cycle(app, subs), collect=i < w or i >= n_cycles - w)
            assert n == 20
            per_cycle.append((wall, cpu, changes(app) - before))
            if (i + 1) % max(1, n_cycles // 10) == 0:
                print(f"    … {(i + 1) * 20} events, {time.perf_counter() - t_start:.1f} s", file=sys.stderr)
        submit_cycle(app, short[0])
        first = per_cycle[:w]
        last = per_cycle[-w:]
        header(f"(a) write: one enterprise, {n_cycles * 20} events, cycles of 20 events / 14 submissions "
               f"(median of {w} cycles)")
        line("20 events at the end (wall) vs the first 20", statistics.median(c[0] for c in last),
             statistics.median(c[0] for c in first))
        line("20 events at the end (CPU) vs the first 20", statistics.median(c[1] for c in last),
             statistics.median(c[1] for c in first))
        line("SQLite rows changed per cycle, end vs start", statistics.median(c[2] for c in last),
             statistics.median(c[2] for c in first), "rows")

        # (b) reads over HTTP
        client = TestClient(create_app(app, {AUDITOR: {"role": "auditor"}}))
        client.headers["Authorization"] = f"Bearer {AUDITOR}"

        def get(url: str) -> Any:
            r = client.get(url)
            assert r.status_code == 200, (url, r.status_code, r.text[:300])
            return r

        header(f"(b) reads: enterprise with {n_cycles * 20} events vs one with 20 (best of 3)")
        for name, url in (("history first page (?limit=10)", "/api/enterprises/{c}/history?limit=10"),
                          ("timeline page", "/enterprises/{c}")):
            lw, lr = best(lambda url=url: get(url.format(c=long_code)))
            sw, sr = best(lambda url=url: get(url.format(c=short_code)))
            line(name, lw, sw, extra=f"{len(lr.content):,} vs {len(sr.content):,} bytes")
        page = get(f"/api/enterprises/{long_code}/history?limit=10").json()
        assert len(page["events"]) == 10 and page["page"]["next_after"] == 10, page["page"]
        app.close()

        # (c) replay and verify in child processes
        header("(c) child processes: long vs short enterprise")
        for name, extra_args in (("replay --json", ["--json"]), ("verify", [])):
            cmd = "replay" if name.startswith("replay") else "verify"
            lw, lrss, lbytes = child(["--data-dir", str(data), cmd, long_code, *extra_args])
            sw, srss, sbytes = child(["--data-dir", str(data), cmd, short_code, *extra_args])
            line(f"{name}: peak RSS", lrss, srss, "MiB", f"(output {lbytes:,} vs {sbytes:,} bytes)")
            line(f"{name}: wall", lw, sw)

        # (d) rejections
        app = open_embedded(Settings(data_dir=data), clock=clock)
        client = TestClient(create_app(app, {AUDITOR: {"role": "auditor"}}))
        client.headers["Authorization"] = f"Bearer {AUDITOR}"
        pages = (("index page /", "/"), ("/api/rejections?limit=100", "/api/rejections?limit=100"),
                 ("/api/rejections?limit=100&offset=<last page>", "/api/rejections?limit=100&offset={last}"))
        before = {name: best(lambda url=url: get(url.format(last=0)))[0] for name, url in pages}
        print(f"recording {args.rejections} rejections …", file=sys.stderr)
        now = clock.now()
        db = app.log.db  # type: ignore[attr-defined]
        with db.transaction():
            for i in range(args.rejections):
                receipt = Receipt(submission_id=f"bad-{i}", department=SAMR, stream=long_code, accepted=False,
                                  recorded_at=now, reasons=[Reason(code="schema_invalid", field="events[0]",
                                                                   message="bench")])
                app.rejections.record(RejectionRecord(receipt=receipt, submission={"submission_id": f"bad-{i}"},
                                                      authenticated=False))
        assert app.rejections.count() == args.rejections
        header(f"(d) pages with {args.rejections:,} rejections vs none (best of 3)")
        for name, url in pages:
            after, r = best(lambda url=url: get(url.format(last=args.rejections - 100)))
            line(name, after, before[name], extra=f"{len(r.content):,} bytes")
        app.close()
    print(f"\n(run at {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} CPUs, "
          f"load {os.getloadavg()[0]:.1f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
