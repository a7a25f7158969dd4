"""The transparency log on the distributed backend's storage (issue 9): what the leaf append
(an LWT on the tree head, after the stream head's LWT) costs per submission, how large
checkpoints and proofs are, and how many stored rows a proof reads — against baselines in
the same run, on the running Cassandra (``TONGXIU_SERVERS_DIR``).

    TONGXIU_SERVERS_DIR=/work/servers python -m bench.transparency_cassandra [--n 400] [--enterprises 20]

(a) write: N submissions (``penalty_decided`` + its notice, round-robin over enterprises)
    through ``Ledger.submit`` on the Cassandra adapters in two fresh keyspaces, in alternating
    chunks of 25: with the transparency log (leaf append + a signed checkpoint in every
    receipt) vs the plain adapters (no log; the distributed backend before this change).
(b) sizes at the resulting tree size: checkpoint file, a receipt's ``log`` part, inclusion
    and consistency proofs.
(c) proving: rows read and time of an inclusion proof and a consistency proof (stored
    complete-subtree nodes) vs reading one event; and the O(n) way (every leaf hash read).

Read the ratios, not the seconds (shared machine; the LWT's Paxos rounds dominate).
"""

from __future__ import annotations

import argparse
import json
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from tongxiu.events import merkle
from tongxiu.events.models import REGISTRY_STREAM
from tongxiu.events.signing import KeyPair
from tongxiu.infra import launch
from tongxiu.infra.bootstrap import load_rules
from tongxiu.infra.cassandra_merkle import (
    CassandraTransparencyLog,
    LoggedCassandraEventLog,
    LoggedCassandraRejectionLog,
)
from tongxiu.infra.cassandra_store import CassandraEventLog, CassandraRejectionLog, connect, migrate
from tongxiu.services.config import Settings
from tongxiu.services.demo import demo_key, demo_registration, make_uscc
from tongxiu.services.ledger import Ledger, sign_submission
from tongxiu.services.ports import SystemClock
from tongxiu.services.sdk import notice_for
from tongxiu.services.transparency import Transparency


def row(label: str, measured: float, baseline: float, unit: str = "ms", note: str = "") -> None:
    ratio = measured / baseline if baseline else float("inf")
    print(f"  {label:<50} {measured:>10.3f} {unit:<3} {baseline:>10.3f} {unit:<3} {ratio:>7.2f}x  {note}")


def best(fn: Any, times: int = 5) -> float:
    out = []
    for _ in range(times):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return min(out)


def prepare(session: Any, settings: Settings, *, logged: bool, n: int, enterprises: int) -> tuple[Ledger, list[Any]]:
    """A fresh keyspace with the ledger and its samr department registered, and N signed
    submissions for it."""
    from bench.write_replay import _decision

    ks = settings.keyspace
    migrate(session, settings)
    key = KeyPair.generate()
    clock = SystemClock()
    rules = load_rules(settings)
    if logged:
        tlog = CassandraTransparencyLog(session, ks)
        ledger = Ledger(LoggedCassandraEventLog(session, ks, tlog), LoggedCassandraRejectionLog(session, ks, tlog),
                        clock, rules, key, transparency=Transparency(tlog, key, clock.now))
    else:
        ledger = Ledger(CassandraEventLog(session, ks), CassandraRejectionLog(session, ks), clock, rules, key)
    ledger.bootstrap()
    ledger.emit(REGISTRY_STREAM, [demo_registration("samr-deqing")], submission_id="register:samr-deqing")
    codes = [make_uscc("91", "330521", f"MT{i:06d}") for i in range(enterprises)]
    subs = []
    for i in range(n):
        code = codes[i % len(codes)]
        d = _decision(i % enterprises, i // enterprises)
        subs.append(sign_submission(demo_key("samr-deqing"), department="samr-deqing", stream=code,
                                    submission_id=f"b-{i}", occurred_at=datetime.now(UTC),
                                    events=[d, notice_for(rules, code, d, f"{d.decision_no}-告知")]))
    return ledger, subs


def submit(ledger: Ledger, subs: list[Any], out: list[Any]) -> float:
    t0 = time.perf_counter()
    for sub in subs:
        r = ledger.submit(sub)
        assert r.accepted, r.reasons
        out.append(r)
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=400)
    parser.add_argument("--enterprises", type=int, default=20)
    args = parser.parse_args()
    port = launch.status()["cassandra"]["port"]
    base = Settings(backend="distributed", cassandra_port=port)
    session = connect(base)
    made: list[str] = []
    try:
        plain_s = Settings(backend="distributed", cassandra_port=port, keyspace=f"bench_tl_plain_{uuid.uuid4().hex[:6]}")
        logged_s = Settings(backend="distributed", cassandra_port=port, keyspace=f"bench_tl_log_{uuid.uuid4().hex[:6]}")
        made += [plain_s.keyspace, logged_s.keyspace]
        print(f"transparency log on Cassandra: {args.n} submissions (2 events each), {args.enterprises} enterprises")
        plain, plain_subs = prepare(session, plain_s, logged=False, n=args.n, enterprises=args.enterprises)
        ledger, subs = prepare(session, logged_s, logged=True, n=args.n, enterprises=args.enterprises)
        # alternating chunks of 25 submissions: both see the same load on the shared machine
        t_plain = t_log = 0.0
        receipts: list[Any] = []
        for i in range(0, args.n, 25):
            t_plain += submit(plain, plain_subs[i:i + 25], [])
            t_log += submit(ledger, subs[i:i + 25], receipts)
        t = ledger.transparency
        assert t is not None and isinstance(t.tlog, CassandraTransparencyLog)
        print("\n(a) write path (Ledger.submit on Cassandra)          with log    baseline    ratio")
        row("per submission (2 events)", t_log / args.n * 1e3, t_plain / args.n * 1e3)
        print(f"  tree LWTs tried: {t.tlog.lwt_rounds} for {args.n + 2} appends (lost rounds: "
              f"{t.tlog.lwt_rounds - args.n - 2})")

        cp = t.checkpoint()
        size = cp.size
        inc = t.inclusion(size // 2, size)
        con = t.consistency(size // 2, size)
        print(f"\n(b) sizes at {size:,} leaves")
        print(f"  checkpoint file: {len(cp.to_file().encode())} bytes; in a receipt (JSON): "
              f"{len(json.dumps(receipts[-1].model_dump(mode='json')['log']).encode())} bytes")
        print(f"  inclusion proof: {len(inc)} hashes, {len(json.dumps(inc).encode())} bytes of JSON")
        print(f"  consistency proof {size // 2}->{size}: {len(con)} hashes, {len(json.dumps(con).encode())} bytes")

        code = receipts[0].stream
        t_read = best(lambda: ledger.log.read_stream(code, from_seq=1, limit=1))
        tree = t.tree(size)
        tree.inclusion_proof(size // 2, size)
        reads_inc = tree.reads
        tree = t.tree(size)
        tree.consistency_proof(size // 2, size)
        reads_con = tree.reads
        print(f"\n(c) proving at {size:,} leaves (best of 5)            measured    baseline: read one event")
        row("inclusion proof (stored nodes)", best(lambda: t.inclusion(size // 2, size)) * 1e3, t_read * 1e3,
            note=f"{reads_inc} rows read")
        row("consistency proof (stored nodes)", best(lambda: t.consistency(size // 2, size)) * 1e3, t_read * 1e3,
            note=f"{reads_con} rows read")
        leaves = t.tlog.leaf_hashes(size)
        row("inclusion proof from every leaf hash (O(n))",
            best(lambda: merkle.Tree(t.tlog.leaf_hashes(size)).inclusion_proof(size // 2, size), 2) * 1e3,
            t_read * 1e3, note=f"{len(leaves)} rows read")
    finally:
        for ks in made:
            session.execute(f"DROP KEYSPACE IF EXISTS {ks}", timeout=120)
        session.cluster.shutdown()


if __name__ == "__main__":
    main()
