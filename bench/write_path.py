"""The embedded write path alone (row a's Tongxiu side), for before/after comparisons.

    python -m bench.write_path [--submissions N] [--warm W] [--repeats R]

``bench.write_replay``'s workload and fresh embedded app (processors in process,
``synchronous=FULL``): W submissions untimed, then N through ``app.submit``; prints the CPU of
this process per event (user and system apart: the system part is mostly the WAL's writes and
syncs), the wall time per event, and the WAL pages written per commit (frames of the WAL file
after a checkpoint, over the timed part). Repeated R times on fresh ledgers. No ratio here:
alternate a base tree and this one in the same conditions (e.g. ``PYTHONPATH=<base checkout>``)
and compare the CPU figures.
"""

from __future__ import annotations

import argparse
import resource
import struct
import sys
import tempfile
import time
from pathlib import Path

from bench.write_replay import build_workload, open_fresh, submit_all


def wal_frames(path: str) -> tuple[int, int]:
    """(frames, commit frames) in the WAL file at ``path``."""
    data = Path(path).read_bytes()
    if len(data) < 32:
        return 0, 0
    page = struct.unpack(">I", data[8:12])[0]
    frames = commits = 0
    off = 32
    while off + 24 + page <= len(data):
        _, commit = struct.unpack(">II", data[off : off + 8])
        frames += 1
        commits += commit != 0
        off += 24 + page
    return frames, commits


def one_run(n: int, warm: int, tmp: Path, name: str) -> dict[str, float]:
    work = build_workload(int((n + warm) * 20 / 14) + 40)
    subs = work.submissions
    assert len(subs) >= n + warm, (len(subs), n + warm)
    app, _ = open_fresh(tmp, name)
    try:
        submit_all(app, subs[:warm])
        db = app.ledger.log.db
        db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        db.conn.execute("PRAGMA wal_autocheckpoint=0")  # the WAL keeps every frame of the timed part
        r0 = resource.getrusage(resource.RUSAGE_SELF)
        t0 = time.perf_counter()
        events = submit_all(app, subs[warm : warm + n])
        wall = time.perf_counter() - t0
        r1 = resource.getrusage(resource.RUSAGE_SELF)
        frames, commits = wal_frames(db.path + "-wal")
    finally:
        app.close()
    user, system = r1.ru_utime - r0.ru_utime, r1.ru_stime - r0.ru_stime
    return {
        "events": events,
        "cpu": (user + system) * 1e6 / events,
        "user": user * 1e6 / events,
        "system": system * 1e6 / events,
        "wall": wall * 1e6 / events,
        "pages": frames / max(commits, 1),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--submissions", type=int, default=2800, help="timed submissions (default 2800)")
    ap.add_argument("--warm", type=int, default=200, help="untimed submissions first (default 200)")
    ap.add_argument("--repeats", type=int, default=1)
    args = ap.parse_args(argv)
    from tongxiu.infra import sqlite

    print(f"tongxiu from {Path(sqlite.__file__).parents[1]}", file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="tongxiu-bench-") as d:
        for r in range(args.repeats):
            out = one_run(args.submissions, args.warm, Path(d), f"run{r}")
            print(
                f"{args.submissions} submissions, {out['events']:.0f} events: CPU {out['cpu']:.0f} µs/event "
                f"(user {out['user']:.0f}, system {out['system']:.0f}), wall {out['wall']:.0f} µs/event, "
                f"{out['pages']:.2f} WAL pages per commit"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
