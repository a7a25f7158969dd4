"""Rows b and d of issue 11's table alone, repeated on one ledger, and the decode / encode
operations they are made of (for work on the codec: parsing, validation, canonical encoding).

    python -m bench.codec [--events N] [--repeats R] [--ops] [--groups G,G] [--audit-from FILE]

Builds ``bench.write_replay``'s workload (N pre-signed events), writes it once through the
ledger (read models left behind: rows b and d read only the log) and once into the bare
baseline's table, and the same events into ``eventsourcing`` (rows c/d's peer). Then, R times,
alternating: the bare SELECT + decode + Ed25519 + SHA-256 (row b's baseline), Tongxiu's
``verify_and_replay`` (row b), ``replay`` of every enterprise (row d) and eventsourcing's
``repository.get`` of every aggregate (row d's baseline). Prints the CPU µs per event of each
repetition and the ratios of the best (min) CPU times, as ``bench.table`` marks them. CPU time
of this process only; nothing asserts on time. ``--ops``: per-operation CPU over every stored
event (parse, validate, canonical encoding, hash + signed bytes).

``--groups 1,1000``: row b's ``verify_and_replay`` with each ``group`` size (events of checked
streams held before they are folded; 1 folds each stream right after its checks, as before
session 13), alternated in this process, min and median CPU µs per event of each.

``--audit-from FILE`` (e.g. another checkout's ``services/audit.py``): row b's Tongxiu side
alternated *in this process* with that file's ``verify_and_replay`` (loaded as a module over
this tree's other modules, so it must be compatible with them), R rounds in alternating order,
min and median CPU µs per event of each — a before/after of the audit alone that does not
depend on two processes meeting the same load.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import write_replay as wr
from bench.table import DEPARTMENTS, demo_key, es_payloads, loadavg, verify_replay_all


def cpu(fn: Callable[[], Any]) -> tuple[float, Any]:
    import gc

    gc.collect()
    c0 = time.process_time()
    out = fn()
    return time.process_time() - c0, out


def es_ledger(payloads: list[tuple[str, list[dict[str, Any]]]], db: Path) -> Callable[[], int]:
    """eventsourcing's app with the same events appended (one save per submission); returns
    the replay (``repository.get`` of every aggregate on a fresh application)."""
    from bench.table import _es_classes, es_append

    _, es_app = _es_classes()
    env = {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(db)}
    ids: dict[str, Any] = {}
    es_append(es_app(env=env), payloads, ids)

    def replay() -> int:
        fresh = es_app(env=env)
        n = sum(fresh.repository.get(i).version for i in ids.values())
        fresh.close()
        return n

    return replay


def ops(app: Any) -> None:
    """Per-operation CPU µs per stored event, best of 3."""
    import hashlib
    import json

    from tongxiu.events.envelope import Envelope, canonical, stored_signing_bytes
    from tongxiu.services import audit

    raws = [r for (r,) in app.log.db.conn.execute("SELECT raw FROM events ORDER BY position")]
    bodies = [json.loads(r) for r in raws]
    n = len(raws)
    parse = getattr(audit, "parse_stored", json.loads)

    def body_hash() -> None:
        for b in bodies:
            c = audit.check_body(b)
            c.signed()

    loads_plain = getattr(audit, "loads_plain", None)

    def read_check() -> None:  # what the audit does per stored event before Ed25519: parse, hash, signed bytes
        if loads_plain is None:  # the code before events/fastjson
            for r in raws:
                c = audit.check_body(parse(r))
                c.signed()
        else:
            for r in raws:
                body, plain = loads_plain(r)
                c = audit.check_body(body, plain)
                c.signed()

    cases: dict[str, Callable[[], Any]] = {
        "json.loads": lambda: [json.loads(r) for r in raws],
        "audit.parse_stored": lambda: [parse(r) for r in raws],
        "Envelope.from_json": lambda: [Envelope.from_json(r) for r in raws],
        "Envelope.from_body": lambda: [Envelope.from_body(b) for b in bodies],
        "canonical(body)": lambda: [canonical(b) for b in bodies],
        "check_body + signed": body_hash,
        "stored_signing_bytes": lambda: [stored_signing_bytes(b) for b in bodies],
        "parse + hash + signed": read_check,
        "sha256(raw)": lambda: [hashlib.sha256(r.encode()).hexdigest() for r in raws],
    }
    for name, fn in cases.items():
        best = min(cpu(fn)[0] for _ in range(3))
        print(f"  {name:<24} {1e6 * best / n:7.2f} µs/event")


def groups_against(app: Any, n_ev: int, groups: list[int], rounds: int) -> None:
    """Row b's ``verify_and_replay`` with each ``group`` (events held before a group of streams
    is folded; 1: each stream folded right after its checks, as before session 13), alternated
    in this process: min and median CPU µs per event of each."""
    import gc
    import statistics

    from tongxiu.services.audit import verify_and_replay

    def run(group: int) -> None:
        replayed = [0]
        result = verify_and_replay(app.log, app.rules, group=group,
                                   each=lambda r: replayed.__setitem__(0, replayed[0] + len(r.events)))
        assert result.ok and replayed[0] == n_ev, (result.first_bad, replayed[0])

    times: dict[int, list[float]] = {g: [] for g in groups}
    for i in range(rounds):
        for g in groups if i % 2 == 0 else groups[::-1]:
            gc.collect()
            t, _ = cpu(lambda g=g: run(g))
            times[g].append(1e6 * t / n_ev)
    for g, ts in times.items():
        print(f"  verify_and_replay, group={g}: min {min(ts):.1f}, median {statistics.median(ts):.1f} µs CPU/event")


def audit_against(app: Any, n_ev: int, path: str, rounds: int) -> None:
    """Row b's ``verify_and_replay``, this tree's and ``path``'s, alternated in this process."""
    import gc
    import importlib.util
    import statistics

    from tongxiu.services import audit

    spec = importlib.util.spec_from_file_location("audit_other", path)
    assert spec is not None and spec.loader is not None, path
    other = importlib.util.module_from_spec(spec)
    sys.modules["audit_other"] = other  # dataclasses look their module up
    spec.loader.exec_module(other)

    def run(module: Any) -> Callable[[], None]:
        def go() -> None:
            replayed = [0]
            result = module.verify_and_replay(app.log, app.rules,
                                              each=lambda r: replayed.__setitem__(0, replayed[0] + len(r.events)))
            assert result.ok and replayed[0] == n_ev, (result.first_bad, replayed[0])
        return go

    sides = [(f"other ({path})", run(other)), ("this tree", run(audit))]
    times: dict[str, list[float]] = {name: [] for name, _ in sides}
    for i in range(rounds):
        for name, fn in sides if i % 2 == 0 else sides[::-1]:
            gc.collect()
            t, _ = cpu(fn)
            times[name].append(1e6 * t / n_ev)
    for name, ts in times.items():
        print(f"  verify_and_replay, {name}: min {min(ts):.1f}, median {statistics.median(ts):.1f} µs CPU/event")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=4000)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--ops", action="store_true", help="per-operation CPU over the stored events")
    ap.add_argument("--audit-from", metavar="FILE", help="another services/audit.py, alternated in this process")
    ap.add_argument("--groups", metavar="G,G,...", help="verify_and_replay's group sizes, alternated in this process")
    args = ap.parse_args(argv)
    print(f"bench.codec — {time.strftime('%Y-%m-%d %H:%M:%S %Z')}, load {loadavg()}")
    print(f"command: python -m bench.codec {' '.join(argv if argv is not None else sys.argv[1:])}".rstrip())
    work = wr.build_workload(args.events)
    rows_bare = wr.bare_rows(work)
    n_ev = work.events
    pubs = {d[0]: demo_key(d[0]).public_key for d in DEPARTMENTS}
    with tempfile.TemporaryDirectory(prefix="tongxiu-codec-") as d:
        tmp = Path(d)
        conn = wr.bare_connect(tmp / "bare.sqlite3", synchronous="OFF")
        wr.bare_write(conn, rows_bare)
        app, _ = wr.open_fresh(tmp, "ledger")
        wr.submit_all(app, work.submissions, ledger_only=True)
        es_replay = es_ledger(es_payloads(work.submissions), tmp / "es.sqlite3")
        if args.ops:
            ops(app)
        if args.audit_from:
            audit_against(app, n_ev, args.audit_from, max(2, 2 * args.repeats))
        if args.groups:
            groups_against(app, n_ev, [int(g) for g in args.groups.split(",")], max(2, 2 * args.repeats))
        best: dict[str, float] = {}
        for i in range(args.repeats):
            line = []
            for name, fn in (
                ("bare", lambda: wr.bare_select_verify(conn, pubs)),
                ("b", lambda: verify_replay_all(app)),
                ("d", lambda: wr.replay_all(app, work.codes)),
                ("es", es_replay),
            ):
                t, out = cpu(fn)
                if name == "b":
                    assert out[0].ok and out[1] == n_ev, (out[0].first_bad, out[1])
                elif name in ("bare", "d", "es"):
                    assert out == n_ev, (name, out, n_ev)
                best[name] = min(best.get(name, t), t)
                line.append(f"{name} {1e6 * t / n_ev:6.1f}")
            print(f"  rep {i + 1}: " + ", ".join(line) + " µs CPU/event")
        conn.close()
        app.close()
        if not best:  # --repeats 0: the operations only
            return 0
        print(
            f"best of {args.repeats} ({n_ev} events): bare {1e6 * best['bare'] / n_ev:.1f}, "
            f"b {1e6 * best['b'] / n_ev:.1f}, d {1e6 * best['d'] / n_ev:.1f}, es {1e6 * best['es'] / n_ev:.1f} µs/event"
        )
        print(f"row b CPU ratio {best['bare'] / best['b']:.3f} (at least 0.7); "
              f"row d CPU ratio {best['es'] / best['d']:.3f} (at least 2); load {loadavg()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
