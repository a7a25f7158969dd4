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


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=4000)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--periods-kept", type=int, default=None,
                    help="set tongxiu.projections.periods.DATED_KEPT (0: no periods kept by date)")
    args = ap.parse_args(argv)
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
