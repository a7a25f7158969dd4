"""The embedded write path alone (row a's Tongxiu side), for before/after comparisons.

    python -m bench.write_path [--submissions N] [--warm W] [--repeats R] [--sections]
                               [--checkpoints off|ledger|every:N] [--pages]

``bench.write_replay``'s workload and fresh embedded app (processors in process,
``synchronous=FULL``): W submissions untimed, then N through ``app.submit``; prints the CPU of
this process per event (user and system apart: the system part is mostly the WAL's writes and
syncs), the wall time per event, and the WAL pages written per commit (frames of the WAL file
after a checkpoint, over the timed part). Repeated R times on fresh ledgers. No ratio here:
alternate a base tree and this one in the same conditions (e.g. ``PYTHONPATH=<base checkout>``)
and compare the CPU figures.

``--checkpoints ledger``: the ledger's own WAL checkpoints run in the timed part, as in
``bench.table`` and in service (the WAL file is then written over in place, not grown: ~40-60 µs
of system CPU per event less than ``off``, the default, which keeps every frame to count the
pages per commit).

``--checkpoints every:N``: no automatic checkpoint; a PASSIVE one after every N commits, its CPU
printed apart (so ``--sections``' COMMIT is the WAL write and sync alone). ``--pages`` (with
``--checkpoints off``): the WAL pages per commit by the b-tree they belong to.

``--sections``: the CPU of each step of a submission (µs per event, this process's CPU clock
read around each call; a step's figure includes the steps it calls, listed below it), to see
where a change should go; the clock reads add a few µs per event to the total.
"""

from __future__ import annotations

import argparse
import resource
import struct
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.write_replay import build_workload, open_fresh, submit_all

SECTIONS: list[tuple[str, str, str, str]] = [
    # (label, indent, module, attribute path): what the submission's steps are made of
    ("Tongxiu.submit", "", "tongxiu.services.app", "Tongxiu.submit"),
    ("edge parse", "  ", "tongxiu.services.ledger", "Ledger.parse"),
    ("Ledger.submit", "  ", "tongxiu.services.ledger", "Ledger.submit"),
    ("idempotency: find_submission", "    ", "tongxiu.infra.sqlite", "SqliteEventLog.find_submission"),
    ("idempotency: rejections.get", "    ", "tongxiu.infra.sqlite", "SqliteRejectionLog.get"),
    ("authenticate (Ed25519 verify inside)", "    ", "tongxiu.services.ledger", "authenticate"),
    ("decide and append", "    ", "tongxiu.services.ledger", "Ledger._decide_and_append"),
    ("write model (cache, caught up)", "      ", "tongxiu.services.ledger", "Ledger.enterprise"),
    ("event ids (uuid5)", "      ", "tongxiu.services.ledger", "event_id_for"),
    ("envelopes sealed", "      ", "tongxiu.events.envelope", "Envelope.recorded"),
    ("check_event (rules)", "      ", "tongxiu.services.ledger", "check_event"),
    ("fold (write model)", "      ", "tongxiu.services.ledger", "fold_enterprise"),
    ("write model kept (cache put)", "      ", "tongxiu.services.ledger", "Ledger._remember"),
    ("log.append (SQL)", "      ", "tongxiu.infra.sqlite", "SqliteEventLog.append"),
    ("transparency leaves", "        ", "tongxiu.infra.sqlite_merkle", "add_leaves"),
    ("Merkle nodes (one statement or none)", "          ", "tongxiu.infra.sqlite_merkle", "put_nodes"),
    ("projector (read models)", "      ", "tongxiu.streams.processor", "InProcessProjection.appended"),
    ("parts changed", "        ", "tongxiu.streams.projector", "Projector._changes"),
    ("changed parts of a kept document", "          ", "tongxiu.streams.projector", "changed_parts"),
    ("heads dumped", "            ", "tongxiu.projections.documents", "Tracker.head"),
    ("store.write (SQL)", "        ", "tongxiu.infra.sqlite", "SqliteProjectionStore.write"),
    ("due-date index", "        ", "tongxiu.streams.projector", "Projector._index_due"),
    ("receipt", "      ", "tongxiu.services.ledger", "receipt_for"),
    ("receipt's log part", "    ", "tongxiu.services.ledger", "Ledger._logged"),
    ("checkpoint signed", "      ", "tongxiu.services.transparency", "Transparency.checkpoint"),
    ("tree root (frontier)", "        ", "tongxiu.events.merkle", "frontier_root"),
    ("checkpoint built and signed", "        ", "tongxiu.services.transparency", "sign_checkpoint"),
    ("Ed25519 sign", "          ", "nacl.bindings", "crypto_sign"),
]


def instrument() -> tuple[dict[str, float], list[str]]:
    """Wrap each step of :data:`SECTIONS` with a CPU clock; returns (seconds by label, order)
    and adds the outer transaction's COMMIT (the WAL write and sync at FULL) as a step."""
    import functools
    import importlib

    spent: dict[str, float] = {}
    clock = time.process_time
    order: list[str] = []
    for label, indent, module, path in SECTIONS:
        owner: Any = importlib.import_module(module)
        names = path.split(".")
        for name in names[:-1]:
            owner = getattr(owner, name)
        inner = getattr(owner, names[-1])

        def timed(*a: Any, _inner: Any = inner, _label: str = label, **k: Any) -> Any:
            t = clock()
            try:
                return _inner(*a, **k)
            finally:
                spent[_label] = spent.get(_label, 0.0) + clock() - t

        setattr(owner, names[-1], functools.wraps(inner)(timed))
        order.append(indent + label)
    from tongxiu.infra import sqlite

    exit_ = sqlite._Transaction.__exit__

    def commit(self: Any, *a: Any) -> None:
        if self.db._depth != 1:
            return exit_(self, *a)
        t = clock()
        try:
            return exit_(self, *a)
        finally:
            spent["COMMIT (WAL write + sync)"] = spent.get("COMMIT (WAL write + sync)", 0.0) + clock() - t

    sqlite._Transaction.__exit__ = commit  # type: ignore[method-assign]
    order.insert(1, "  COMMIT (WAL write + sync)")
    return spent, order


def wal_frames(path: str) -> tuple[list[int], int]:
    """(the page number of each frame, commit frames) in the WAL file at ``path``."""
    data = Path(path).read_bytes()
    if len(data) < 32:
        return [], 0
    page = struct.unpack(">I", data[8:12])[0]
    pages: list[int] = []
    commits = 0
    off = 32
    while off + 24 + page <= len(data):
        number, commit = struct.unpack(">II", data[off : off + 8])
        pages.append(number)
        commits += commit != 0
        off += 24 + page
    return pages, commits


def pages_by_btree(conn: Any, pages: list[int], commits: int) -> list[tuple[float, str]]:
    """WAL frames per commit by the b-tree (table or index, leaf / internal / overflow page)
    their page belongs to now (SQLite's ``dbstat``; page 1 is also the database header, written
    when the file grows or its free list changes)."""
    import collections

    owner = {int(n): f"{name} ({kind})" for name, n, kind in conn.execute("SELECT name, pageno, pagetype FROM dbstat")}
    counted = collections.Counter(owner.get(n, "free / not in a b-tree now") for n in pages)
    return [(c / max(commits, 1), what) for what, c in counted.most_common()]


def one_run(
    n: int, warm: int, tmp: Path, name: str, spent: dict[str, float] | None = None, checkpoints: str = "off",
    by_btree: list[tuple[float, str]] | None = None,
) -> dict[str, float]:
    """``checkpoints``: "off" (none in the timed part: every frame stays in the WAL, to count),
    "ledger" (the ledger's own automatic checkpoints, inside the COMMITs that trigger them) or
    "every:N" (a PASSIVE checkpoint after every N commits, timed apart as ``checkpoint``)."""
    work = build_workload(int((n + warm) * 20 / 14) + 40)
    subs = work.submissions
    assert len(subs) >= n + warm, (len(subs), n + warm)
    app, _ = open_fresh(tmp, name)
    try:
        submit_all(app, subs[:warm])
        db = app.ledger.log.db
        db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        if checkpoints != "ledger":
            db.conn.execute("PRAGMA wal_autocheckpoint=0")
        every = int(checkpoints.split(":")[1]) if checkpoints.startswith("every:") else 0
        checkpoint_cpu = [0.0]
        if every:
            from tongxiu.infra import sqlite

            inner = sqlite._Transaction.__exit__
            commits_seen = [0]

            def exit_and_checkpoint(self: Any, *a: Any) -> None:
                outer = self.db._depth == 1
                inner(self, *a)
                if outer:
                    commits_seen[0] += 1
                    if commits_seen[0] % every == 0:
                        t = time.process_time()
                        with self.db.lock:
                            self.db.conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
                        checkpoint_cpu[0] += time.process_time() - t

            sqlite._Transaction.__exit__ = exit_and_checkpoint  # type: ignore[method-assign]
        if spent is not None:
            spent.clear()
        try:
            r0 = resource.getrusage(resource.RUSAGE_SELF)
            t0 = time.perf_counter()
            events = submit_all(app, subs[warm : warm + n])
            wall = time.perf_counter() - t0
            r1 = resource.getrusage(resource.RUSAGE_SELF)
        finally:
            if every:
                sqlite._Transaction.__exit__ = inner  # type: ignore[method-assign]
        pages, commits = wal_frames(db.path + "-wal") if checkpoints == "off" else ([], 0)
        if by_btree is not None and pages:
            by_btree[:] = pages_by_btree(db.conn, pages, commits)
    finally:
        app.close()
    user, system = r1.ru_utime - r0.ru_utime, r1.ru_stime - r0.ru_stime
    return {
        "events": events,
        "cpu": (user + system) * 1e6 / events,
        "user": user * 1e6 / events,
        "system": system * 1e6 / events,
        "wall": wall * 1e6 / events,
        "pages": len(pages) / max(commits, 1),
        "checkpoint": checkpoint_cpu[0] * 1e6 / events,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--submissions", type=int, default=2800, help="timed submissions (default 2800)")
    ap.add_argument("--warm", type=int, default=200, help="untimed submissions first (default 200)")
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--sections", action="store_true", help="CPU of each step of a submission")
    ap.add_argument(
        "--checkpoints", default="off",
        help="off (default): no WAL checkpoint in the timed part, so its WAL pages per commit can be "
        "counted; ledger: the ledger's own checkpointing runs as in the table (pages not counted); "
        "every:N: a PASSIVE checkpoint after every N commits, its CPU printed apart",
    )
    ap.add_argument("--pages", action="store_true", help="with --checkpoints off: WAL pages per commit by b-tree")
    args = ap.parse_args(argv)
    if args.checkpoints not in ("off", "ledger") and not (
        args.checkpoints.startswith("every:") and args.checkpoints[6:].isdigit() and int(args.checkpoints[6:]) > 0
    ):
        ap.error("--checkpoints: off, ledger or every:N")
    spent, order = instrument() if args.sections else (None, [])
    from tongxiu.infra import sqlite

    print(f"tongxiu from {Path(sqlite.__file__).parents[1]}", file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="tongxiu-bench-") as d:
        for r in range(args.repeats):
            by_btree: list[tuple[float, str]] = []
            out = one_run(args.submissions, args.warm, Path(d), f"run{r}", spent, args.checkpoints, by_btree)
            how = {
                "off": f", {out['pages']:.2f} WAL pages per commit (no checkpoint)",
                "ledger": ", the ledger's WAL checkpoints included",
            }.get(args.checkpoints, f", of which checkpoints ({args.checkpoints}) {out['checkpoint']:.1f} µs/event")
            print(
                f"{args.submissions} submissions, {out['events']:.0f} events: CPU {out['cpu']:.0f} µs/event "
                f"(user {out['user']:.0f}, system {out['system']:.0f}), wall {out['wall']:.0f} µs/event{how}"
            )
            if args.pages:
                for per_commit, what in by_btree:
                    print(f"  {per_commit:6.2f} pages/commit  {what}")
            if spent is not None:
                for line in order:
                    label = line.strip()
                    print(f"  {1e6 * spent.get(label, 0.0) / out['events']:8.1f} µs/event  {line}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
