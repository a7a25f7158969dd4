"""The ledger agent's write path on a dedicated Cassandra node, no Kafka (issue 11): the
worker's ``ShardedHandler`` (``ledger_concurrency`` shards, batches of 100, as the Faust agent
hands them over) submits N two-event submissions; prints the Cassandra statements, LWTs and
SERIAL reads per submission (a conditional batch counts as a batch) and the Cassandra node's
CPU per submission (/proc; the node serves nobody else), so the Paxos variant can be compared
on one machine:

    python -m bench.ledger_cassandra --paxos v2 [--n 800] [--enterprises 100] [--jars-from DIR]

It starts its own node (state dir ``--state``, ports 19642/17600/17699; ``--jars-from`` a
``<state>/cassandra/lib`` to copy instead of resolving with Maven), with
``TONGXIU_CASSANDRA_PAXOS`` set to ``--paxos``, and stops it at the end. A JVM just started is
still compiling: compare runs made the same way, not with ``bench.distributed``.

``--servers`` uses the running node on 127.0.0.1:9042 instead (the shared servers; the
node's CPU then includes other clients' work) and starts nothing; with it ``--profile FILE``
writes a cProfile of the timed phase (the handler run in this thread: ``--shards 1``, or the
driver's and the shards' threads are missed). Either way it prints this process's CPU per
submission (the ledger agent's side of the worker CPU, without Kafka and Faust).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--paxos", choices=("v1", "v2"), default="v2")
    ap.add_argument("--n", type=int, default=800)
    ap.add_argument("--enterprises", type=int, default=100)
    ap.add_argument("--state", type=Path, default=Path(tempfile.gettempdir()) / "tongxiu-bench-ledger-cassandra")
    ap.add_argument("--jars-from", type=Path, default=None)
    ap.add_argument("--servers", action="store_true", help="use the running node on 9042; start nothing")
    ap.add_argument("--shards", type=int, default=None, help="ledger_concurrency (default: the setting)")
    ap.add_argument("--profile", type=Path, default=None, help="cProfile of the timed phase to this file")
    a = ap.parse_args(argv)

    from bench.distributed import cassandra_pid, cpu_ticks, make_submissions
    from tongxiu.events.models import REGISTRY_STREAM
    from tongxiu.infra import cassandra_store as cs
    from tongxiu.infra import launch
    from tongxiu.infra.cassandra_session import StatementCounter
    from tongxiu.infra.distributed import worker_deps
    from tongxiu.services.config import Settings
    from tongxiu.services.demo import demo_registration, make_uscc

    lib = a.state / "cassandra" / "lib"
    if not a.servers:
        if a.jars_from is not None and not lib.exists():
            shutil.copytree(a.jars_from, lib)
        os.environ["TONGXIU_CASSANDRA_PAXOS"] = a.paxos
        launch.up(["cassandra"], state_dir=a.state, cql_port=19642, storage_port=17600, jmx_port=17699)
    try:
        pid = cassandra_pid() if a.servers else int((a.state / "cassandra" / "cassandra.pid").read_text().split()[0])
        settings = Settings(backend="distributed", keyspace=f"lc_{uuid.uuid4().hex[:8]}",
                            cassandra_port=9042 if a.servers else 19642,
                            data_dir=Path(tempfile.mkdtemp(prefix="tongxiu-lc-")))
        session = cs.connect(settings)
        cs.migrate(session, settings)
        counter = StatementCounter.install(session)
        handler = worker_deps(settings, session=session, shards=a.shards).handler
        handler.bootstrap_events()
        r = handler.ledger.emit(REGISTRY_STREAM, [demo_registration("samr-deqing")], submission_id="register:samr-deqing")
        assert r.accepted, r.reasons
        codes = [make_uscc("91", "330521", f"LC{i:06d}") for i in range(a.enterprises)]

        def run(subs: list) -> None:  # type: ignore[type-arg]
            for i in range(0, len(subs), 100):
                done = handler.handle_keyed([(s.stream.encode(), s.model_dump_json().encode()) for s in subs[i:i + 100]])
                assert all(rc.accepted for rc, _ in done), [rc.reasons for rc, _ in done if not rc.accepted][:2]

        run(make_submissions(40, codes, "warm"))
        subs = make_submissions(a.n, codes, "tp")
        counter.counts.clear()
        profile = None
        if a.profile is not None:
            import cProfile

            profile = cProfile.Profile()
            profile.enable()
        c0, t0, own0 = cpu_ticks(pid), time.perf_counter(), time.process_time()
        run(subs)
        wall, cpu, own = time.perf_counter() - t0, cpu_ticks(pid) - c0, time.process_time() - own0
        if profile is not None:
            profile.disable()
            profile.dump_stats(str(a.profile))
        per = {k.removeprefix("ledger."): v / a.n for k, v in sorted(counter.counts.items())
               if k.startswith(("ledger.", "other."))}
        print(f"{'servers' if a.servers else 'paxos ' + a.paxos}: {a.n} submissions over {a.enterprises} enterprises, "
              f"{wall:.1f} s wall ({a.n / wall:.1f}/s); this process {own * 1000 / a.n:.2f} ms CPU per submission; "
              f"Cassandra CPU {cpu * 1000 / a.n:.2f} ms per submission; per submission: "
              + ", ".join(f"{k} {v:.2f}" for k, v in per.items()))
        session.execute(f"DROP KEYSPACE {settings.keyspace}", timeout=120)
        session.cluster.shutdown()
    finally:
        if not a.servers:
            launch.down(state_dir=a.state, timeout=60)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
