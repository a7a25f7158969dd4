"""Row d's replay taken apart (issue 11, session 11): reading, decoding and folding each timed
on their own over one ledger, the fold of a penalty decision and its periods alone, and the
fold's CPU per event type.

    python -m bench.replay_parts [--events N] [--rounds R]

Writes ``bench.write_replay``'s workload (N events) through the ledger once (untimed), then,
round after round in one process: ``read`` (the stored rows of every enterprise, as text and,
where the log has it, as bytes), ``decode`` (``Envelope.from_json`` of every row read as
text), ``fold`` (every enterprise's envelopes, decoded beforehand, folded from an empty state),
``replay`` (``tongxiu.services.audit.replay`` of every enterprise: read + decode + fold, as
row d times it), ``decision fold`` (each penalty decision folded into an empty state) and
``periods_for`` (each decision's periods). Prints CPU µs per event (per decision for the last
two), min / median over the rounds, then the median CPU per event of each type (``fold``,
timed event by event with the thread's CPU clock, ~0.2 µs of which is the clock itself). Runs
on a tree without ``read_stream_bytes`` too, to be alternated with another checkout; nothing
asserts on time.
"""

from __future__ import annotations

import argparse
import collections
import gc
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import write_replay as wr
from bench.table import loadavg, open_app
from tongxiu.events.envelope import Envelope
from tongxiu.projections.fold import fold_enterprise, periods_for
from tongxiu.projections.views import EnterpriseState
from tongxiu.services.audit import replay


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=4000)
    ap.add_argument("--rounds", type=int, default=7)
    args = ap.parse_args(argv)
    print(f"bench.replay_parts — {time.strftime('%Y-%m-%d %H:%M:%S %Z')}, load {loadavg()}, "
          f"tree {Path(wr.__file__).resolve().parents[1]}")
    work = wr.build_workload(args.events)
    with tempfile.TemporaryDirectory(prefix="tongxiu-parts-") as d:
        app = open_app(Path(d), "ledger", sync="NORMAL")
        wr.submit_all(app, work.submissions, ledger_only=True)
        log: Any = app.log
        codes, rules = work.codes, app.rules
        texts = {c: log.read_stream_raw(c) for c in codes}
        n = sum(len(v) for v in texts.values())
        decoded = {c: [Envelope.from_json(r) for r in rs] for c, rs in texts.items()}
        decisions = [(c, e) for c, es in decoded.items() for e in es if e.event.type == "penalty_decided"]
        read_bytes = getattr(log, "read_stream_bytes", None)

        def fold() -> None:
            for code, envs in decoded.items():
                state = EnterpriseState.empty(code)
                for env in envs:
                    fold_enterprise(state, env, rules)

        def decision_fold(states: list[EnterpriseState]) -> None:
            for state, (_, env) in zip(states, decisions, strict=True):
                fold_enterprise(state, env, rules)

        parts: dict[str, tuple[Callable[[], Any], int]] = {
            "read (text)": (lambda: [log.read_stream_raw(c) for c in codes], n),
            "decode (from_json of text)": (lambda: [Envelope.from_json(r) for rs in texts.values() for r in rs], n),
            "fold": (fold, n),
            "replay": (lambda: [replay(log, rules, c) for c in codes], n),
            "periods_for (per decision)": (lambda: [periods_for(rules, c, e.event) for c, e in decisions],
                                           len(decisions)),
        }
        if read_bytes is not None:
            parts["read (bytes)"] = (lambda: [read_bytes(c) for c in codes], n)
        times: dict[str, list[float]] = {k: [] for k in [*parts, "decision fold (per decision)"]}
        for _ in range(args.rounds):
            for name, (fn, count) in parts.items():
                gc.collect()
                c0 = time.process_time()
                fn()
                times[name].append((time.process_time() - c0) / count * 1e6)
            states = [EnterpriseState.empty(c) for c, _ in decisions]
            gc.collect()
            c0 = time.process_time()
            decision_fold(states)
            times["decision fold (per decision)"].append((time.process_time() - c0) / len(decisions) * 1e6)
        clock = time.thread_time_ns
        per_type: dict[str, list[int]] = collections.defaultdict(list)
        for _ in range(max(1, args.rounds // 2)):
            for code, envs in decoded.items():
                state = EnterpriseState.empty(code)
                for env in envs:
                    t0 = clock()
                    fold_enterprise(state, env, rules)
                    per_type[env.event.type].append(clock() - t0)
        app.close()
    for name, ts in times.items():
        print(f"  {name:32s} CPU µs: min {min(ts):6.2f}  median {statistics.median(ts):6.2f}")
    total = sum(sum(v) for v in per_type.values())
    for kind, ns in sorted(per_type.items(), key=lambda kv: -sum(kv[1])):
        print(f"  fold of {kind:32s} median {statistics.median(ns) / 1000:6.2f} µs CPU, {sum(ns) / total:5.1%} of the fold")
    print(f"  ({n} events, {len(decisions)} penalty decisions, {args.rounds} rounds); finished "
          f"{time.strftime('%H:%M:%S')}, load {loadavg()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
