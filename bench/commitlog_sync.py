"""What durable commit-log sync costs: the ledger's own write path (``Ledger.submit`` on the
Cassandra ports: LWT append of a signed 决定书 + 告知书 submission, its index rows) against a
Cassandra node with ``commitlog_sync: periodic`` (the baseline: fsync every 10 s) and one with
``batch`` (the launch kit's default: acknowledged after fsync), both started by this run on
their own ports and state dirs, one after the other, same machine, same workload.

    python -m bench.commitlog_sync [--n 300] [--enterprises 20] [--rounds 2]

Prints submissions/s and per-submission latency for each mode and the batch/periodic ratios.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

PORTS = {"cql_port": 19742, "storage_port": 17700, "jmx_port": 17899}


def run_mode(mode: str, n: int, enterprises: int, rounds: int, root: Path) -> dict[str, Any]:
    from tests.integration.pipeline import decision_no
    from tongxiu.events.models import REGISTRY_STREAM
    from tongxiu.events.signing import KeyPair
    from tongxiu.infra import launch
    from tongxiu.infra.bootstrap import load_rules
    from tongxiu.infra.cassandra_store import connect, migrate
    from tongxiu.infra.distributed import Storage
    from tongxiu.services.config import Settings
    from tongxiu.services.demo import demo_key, demo_registration, make_uscc
    from tongxiu.services.ledger import Ledger, sign_submission
    from tongxiu.services.ports import SystemClock
    from tongxiu.services.sdk import notice_for

    state = root / mode
    launch.up(("cassandra",), state_dir=state, commitlog_sync=mode, **PORTS)
    try:
        times: list[float] = []
        for r in range(rounds):
            settings = Settings(backend="distributed", cassandra_port=PORTS["cql_port"],
                                keyspace=f"bench_cl_{mode}_{r}_{uuid.uuid4().hex[:6]}", data_dir=root / "data")
            session = connect(settings)
            migrate(session, settings)
            storage = Storage(settings, session)
            rules = load_rules(settings)
            ledger = Ledger(storage.log, storage.rejections, SystemClock(), rules, KeyPair.generate())
            ledger.bootstrap()
            ledger.emit(REGISTRY_STREAM, [demo_registration("samr-deqing")], submission_id="register:samr-deqing")
            codes = [make_uscc("91", "330521", f"MC{i:06d}") for i in range(enterprises)]
            subs = []
            for i in range(n):
                code = codes[i % len(codes)]
                d = decision_no(i)
                subs.append(sign_submission(
                    demo_key("samr-deqing"), department="samr-deqing", stream=code, submission_id=f"b-{i}",
                    occurred_at=datetime.now(UTC),
                    events=[d, notice_for(rules, code, d, f"{d.decision_no}-告知")]))
            lat = []
            t0 = time.perf_counter()
            for sub in subs:
                t = time.perf_counter()
                receipt = ledger.submit(sub)
                lat.append(time.perf_counter() - t)
                assert receipt.accepted, receipt.reasons
            times.append(time.perf_counter() - t0)
            lat.sort()
            session.execute(f"DROP KEYSPACE {settings.keyspace}", timeout=120)
            session.cluster.shutdown()
        best = min(times)
        return {"mode": mode, "per_s": n / best, "p50_ms": lat[len(lat) // 2] * 1000,
                "p99_ms": lat[int(len(lat) * 0.99) - 1] * 1000, "seconds": best}
    finally:
        launch.down(("cassandra",), state_dir=state)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--n", type=int, default=300)
    p.add_argument("--enterprises", type=int, default=20)
    p.add_argument("--rounds", type=int, default=2)
    a = p.parse_args()
    root = Path(tempfile.mkdtemp(prefix="tongxiu-bench-commitlog-"))
    try:
        base = run_mode("periodic", a.n, a.enterprises, a.rounds, root)
        durable = run_mode("batch", a.n, a.enterprises, a.rounds, root)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(f"{a.n} submissions (2 events each) through Ledger.submit on one Cassandra node, best of {a.rounds}")
    print(f"{'':12}{'subm/s':>10}{'p50 ms':>10}{'p99 ms':>10}")
    for r in (base, durable):
        print(f"{r['mode']:12}{r['per_s']:>10.1f}{r['p50_ms']:>10.2f}{r['p99_ms']:>10.2f}")
    print(f"batch/periodic: throughput x{durable['per_s'] / base['per_s']:.2f}, "
          f"p50 x{durable['p50_ms'] / base['p50_ms']:.2f}, p99 x{durable['p99_ms'] / base['p99_ms']:.2f}")


if __name__ == "__main__":
    main()
