"""The fold and the replays of rows b and d, timed several times in one process (issue 11).

``bench.table`` times each row once; at a few thousand events the fold's share of rows b and d
is a few hundredths of a second and moves with the machine's load. This writes the table's
workload once (untimed), then times, round after round, in this order: the enterprise fold
alone over envelopes decoded beforehand, row d's Tongxiu side (``replay`` of every
enterprise), row d's baseline (eventsourcing's ``repository.get`` of every aggregate, the same
events, on SQLite) and row b's Tongxiu side (``verify_and_replay``). It prints CPU µs per event
(min and median over the rounds) and row d's CPU ratio (eventsourcing ÷ Tongxiu, from the
minima). Compare two trees by running the same file with each on the path, alternately:

    .venv/bin/python -m bench.fold_replay --events 4000 --rounds 7

``--against TREE`` (another checkout of the repository, e.g. ``git archive main | tar -x -C
/tmp/base``): rows d and b of that tree (its ``replay`` and ``verify_and_replay`` with the folds,
models and decoding they import) are loaded into this process beside this tree's, and the two
are alternated round by round (A = that tree, B = this one, the order swapped every round) over
the same ledger: min and median CPU µs per event of each and the median of the paired
differences A − B, a before/after that does not depend on two processes meeting the same load.

``--periods-kept 0``: a decision shape keeps no periods by date (``periods.DATED_KEPT``, issue 11
session 14), so every decision's periods are worked out at each fold, as for a decision folded
for the first time whose shape has met no decision of the same dates (this workload's decisions
all have one shape and the same dates, so by default every fold after the first finds them kept).
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import write_replay as wr
from bench.table import _es_classes, es_append, es_payloads, loadavg, open_app, verify_replay_all
from tongxiu.projections.fold import fold_enterprise
from tongxiu.projections.views import EnterpriseState
from tongxiu.services.audit import iter_envelopes


def cpu(fn: Callable[[], Any]) -> float:
    gc.collect()
    c0 = time.process_time()
    fn()
    return time.process_time() - c0


def es_app(work: list[tuple[str, list[dict[str, Any]]]], db: Path) -> tuple[Any, list[Any]]:
    """eventsourcing's ledger with the workload appended (one ``save`` per submission), opened
    afresh; returns (application, aggregate ids)."""
    _, EsLedger = _es_classes()
    env = {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(db)}
    ids: dict[str, Any] = {}
    es_append(EsLedger(env=env), work, ids)
    return EsLedger(env=env), list(ids.values())


def load_tree(tree: Path) -> Any:
    """``tongxiu.services.audit`` of another checkout, imported beside this tree's: this
    process's ``tongxiu`` modules are set aside, the other tree's imported (with the modules
    the fold loads when first used), then this tree's put back. Each tree's functions keep
    their own modules (their models, folds and caches)."""
    import importlib
    import os

    links = Path(tempfile.mkdtemp(prefix="tongxiu-against-"))
    os.symlink(tree.resolve(), links / "tongxiu")
    ours = {name: mod for name, mod in sys.modules.items() if name == "tongxiu" or name.startswith("tongxiu.")}
    for name in ours:
        del sys.modules[name]
    sys.path.insert(0, str(links))
    try:
        audit = importlib.import_module("tongxiu.services.audit")
        importlib.import_module("tongxiu.projections.supervision")
        importlib.import_module("tongxiu.projections.fold")._load_fold_step()
        if not Path(audit.__file__).resolve().is_relative_to(tree.resolve()):
            raise SystemExit(f"--against: imported {audit.__file__}, not from {tree}")
    finally:
        sys.path.remove(str(links))
        for name in [n for n in sys.modules if n == "tongxiu" or n.startswith("tongxiu.")]:
            del sys.modules[name]
        sys.modules.update(ours)
    return audit


def against(other: Any, app: Any, codes: list[str], rounds: int) -> None:
    """Rows d and b of ``other`` (A) and of this tree (B), alternated over ``app``'s ledger."""
    from tongxiu.services import audit

    log, rules = app.log, app.rules
    for code in codes:  # the same states
        if other.replay(log, rules, code).state.model_dump(mode="json") != audit.replay(log, rules, code).state.model_dump(mode="json"):
            raise SystemExit(f"--against: the trees' replays of {code} differ")

    def d_of(a: Any) -> Callable[[], int]:
        return lambda: sum(len(a.replay(log, rules, c).events) for c in codes)

    def b_of(a: Any) -> Callable[[], int]:
        def run() -> int:
            n = [0]
            if not a.verify_and_replay(log, rules, each=lambda r: n.__setitem__(0, n[0] + len(r.events))).ok:
                raise SystemExit("--against: verification failed")
            return n[0]
        return run

    fns = {("d", "A"): d_of(other), ("d", "B"): d_of(audit), ("b", "A"): b_of(other), ("b", "B"): b_of(audit)}
    times: dict[tuple[str, str], list[float]] = {k: [] for k in fns}
    for i in range(rounds):
        for row in ("d", "b"):
            for side in (("A", "B") if i % 2 == 0 else ("B", "A")):
                gc.collect()
                c0 = time.process_time()
                n = fns[row, side]()
                times[row, side].append((time.process_time() - c0) / n * 1e6)
    names = {"d": "d: replay", "b": "b: verify_and_replay"}
    for row in ("d", "b"):
        a, b = times[row, "A"], times[row, "B"]
        paired = statistics.median([x - y for x, y in zip(a, b, strict=True)])
        print(f"  {names[row]:22s} CPU µs/event: A (--against) min {min(a):6.2f} median {statistics.median(a):6.2f}"
              f" | B (this tree) min {min(b):6.2f} median {statistics.median(b):6.2f} | paired median A−B {paired:5.2f}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=4000)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--periods-kept", type=int, default=None,
                    help="set tongxiu.projections.periods.DATED_KEPT (0: no periods kept by date)")
    ap.add_argument("--against", type=Path, default=None, metavar="TREE",
                    help="another checkout: its rows d and b alternated with this tree's in this process")
    args = ap.parse_args(argv)
    other = load_tree(args.against) if args.against is not None else None
    if args.periods_kept is not None:
        from tongxiu.projections import periods

        if not hasattr(periods, "DATED_KEPT"):
            ap.error("--periods-kept: this tree keeps no periods by date")
        periods.DATED_KEPT = args.periods_kept
    print(f"bench.fold_replay — {time.strftime('%Y-%m-%d %H:%M:%S %Z')}, load {loadavg()}, "
          f"tree {Path(wr.__file__).resolve().parents[1]}"
          + (f", periods kept by date: {args.periods_kept}" if args.periods_kept is not None else ""))
    work = wr.build_workload(args.events)
    with tempfile.TemporaryDirectory(prefix="tongxiu-fold-") as d:
        tmp = Path(d)
        app = open_app(tmp, "ledger", sync="NORMAL")
        wr.submit_all(app, work.submissions)
        es, ids = es_app(es_payloads(work.submissions), tmp / "es.sqlite3")
        if other is not None:
            print(f"  A = {args.against.resolve()}, B = this tree; {args.rounds} rounds alternated, load {loadavg()}")
            against(other, app, work.codes, args.rounds)
            es.close()
            app.close()
            print(f"finished {time.strftime('%H:%M:%S')}, load {loadavg()}")
            return 0
        decoded = {code: list(iter_envelopes(app.log, code)) for code in work.codes}
        n = sum(len(v) for v in decoded.values())

        def fold() -> None:
            for code, envs in decoded.items():
                state = EnterpriseState.empty(code)
                for env in envs:
                    fold_enterprise(state, env, app.rules)

        parts: dict[str, Callable[[], Any]] = {
            "fold alone": fold,
            "d: replay (Tongxiu)": lambda: wr.replay_all(app, work.codes),
            "d: eventsourcing get": lambda: sum(es.repository.get(i).version for i in ids),
            "b: verify_and_replay (Tongxiu)": lambda: verify_replay_all(app),
        }
        times: dict[str, list[float]] = {k: [] for k in parts}
        for _ in range(args.rounds):
            for name, fn in parts.items():
                times[name].append(cpu(fn) / n * 1e6)
        es.close()
        app.close()
    for name, ts in times.items():
        print(f"  {name:32s} CPU µs/event: min {min(ts):6.1f}  median {statistics.median(ts):6.1f}")
    es_t, tx_t = times["d: eventsourcing get"], times["d: replay (Tongxiu)"]
    print(f"  row d CPU ratio (eventsourcing ÷ Tongxiu): minima {min(es_t) / min(tx_t):.3f}, medians "
          f"{statistics.median(es_t) / statistics.median(tx_t):.3f}   ({n} events, {args.rounds} rounds)")
    print(f"finished {time.strftime('%H:%M:%S')}, load {loadavg()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
