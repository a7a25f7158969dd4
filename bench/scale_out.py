"""Scale out, on one node: the distributed pipeline with 1 ledger + 1 projection worker, then
with 2 ledger + 2 projection workers (each `tongxiu worker --agents ledger|projection` its own
process), same broker, same Cassandra, same submissions, in one run.

    python -m bench.scale_out [--n 600] [--partitions 4] [--enterprises 200]

For each layout it prints:

* submissions/s until every receipt is back, and until the read models hold every event;
* the workers' CPU seconds per 1,000 submissions (all worker processes, from /proc);
* how many members each consumer group had (the projection workers share the events topic's
  partitions: each partition is a shard of the read models) and the events each shard applied;
* **correctness**: the read models in Cassandra equal a fresh rebuild of the same log (the
  supervision tallies added up over shards, inbox positions left out), document by document.

Then the ratio 2+2 / 1+1. On the 2-core machine the workers compete with Kafka and Cassandra
for the same cores, so the ratio shows that the split works and what it costs, not a speed-up
that needs more cores.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.distributed import make_submissions, register_after_bootstrap  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(root: int) -> float:
    """utime + stime of ``root`` and every process below it (the supervisor and its worker)."""
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry.name)] = int(fields[1])
        times[int(entry.name)] = (int(fields[11]) + int(fields[12])) / TICKS
    total, todo = 0.0, [root]
    while todo:
        pid = todo.pop()
        total += times.get(pid, 0.0)
        todo += [p for p, parent in parents.items() if parent == pid]
    return total


def group_members(settings: Any, group: str) -> int:
    from kafka.admin import KafkaAdminClient

    from tongxiu.infra.kafka_topics import client_config

    admin = KafkaAdminClient(client_id="bench-scale-out", **client_config(settings))
    try:
        described = admin.describe_groups([group])  # kafka-python 3: {group: {"members": [...], ...}}
        return len(described.get(group, {}).get("members") or [])
    finally:
        admin.close()


def run_layout(ledgers: int, projections: int, n: int, partitions: int, codes: list[str], workdir: Path,
               ) -> dict[str, Any]:
    from tongxiu.events.models import REGISTRY_STREAM
    from tongxiu.events.signing import KeyPair
    from tongxiu.infra.distributed import migrate, open_distributed
    from tongxiu.infra.sqlite import Database, SqliteProjectionStore
    from tongxiu.infra.verify_projections import comparable, differences
    from tongxiu.projections.keys import PROJECTION
    from tongxiu.services.config import Settings
    from tongxiu.streams.projector import Projector

    tag = uuid.uuid4().hex[:8]
    base = workdir / f"{ledgers}x{projections}"
    settings = Settings(backend="distributed", topic_prefix=f"bench-so-{tag}", keyspace=f"bench_so_{tag}",
                        partitions=partitions, data_dir=base / "client")
    migrate(settings)
    key = KeyPair.generate()
    workers: list[subprocess.Popen[bytes]] = []
    roles = ["ledger"] * ledgers + ["projection"] * projections
    for i, role in enumerate(roles):
        data = base / f"worker-{i}-{role}"
        data.mkdir(parents=True)
        (data / "ledger.key").write_text(key.private_key)  # one ledger key for every worker
        env = {**os.environ, "TONGXIU_BACKEND": "distributed", "TONGXIU_TOPIC_PREFIX": settings.topic_prefix,
               "TONGXIU_KEYSPACE": settings.keyspace, "TONGXIU_DATA_DIR": str(data),
               "TONGXIU_PARTITIONS": str(partitions)}
        log = open(base / f"worker-{i}-{role}.log", "ab")
        workers.append(subprocess.Popen(
            [sys.executable, "-m", "tongxiu.entrypoints.cli", "worker", "--agents", role], cwd=REPO, env=env,
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True))
    app = open_distributed(settings, key=key, wait_s=900)
    out: dict[str, Any] = {"layout": f"{ledgers}+{projections}", "settings": settings}
    try:
        transport = register_after_bootstrap(app, lambda: any(w.poll() is not None for w in workers), 120,
                                             base / "worker-*.log")
        # warm-up, and until every worker of each group has joined (the groups settle)
        deadline = time.monotonic() + 180
        round_ = 0
        while True:
            transport.send_many(make_submissions(10, codes, f"warm{round_}"))
            app.process()
            round_ += 1
            joined = (group_members(settings, f"{settings.topic_prefix}-faust-ledger"),
                      group_members(settings, f"{settings.topic_prefix}-faust-projection"))
            if joined == (ledgers, projections) or time.monotonic() > deadline:
                break
            time.sleep(2)
        out["members"] = joined

        subs = make_submissions(n, codes, "tp")
        cpu0 = sum(cpu_seconds(w.pid) for w in workers)
        t0 = time.perf_counter()
        keys = [transport.send_async(s) for s in subs]
        transport.producer.flush()
        receipts = [transport.wait(k, timeout_s=900) for k in keys]
        t_receipts = time.perf_counter() - t0
        app.process()
        t_total = time.perf_counter() - t0
        cpu = sum(cpu_seconds(w.pid) for w in workers) - cpu0
        assert all(rc.accepted and not rc.duplicate for rc in receipts), [rc.reasons for rc in receipts][:3]
        out.update(receipt_rate=n / t_receipts, rate=n / t_total, cpu_per_1000=1000 * cpu / n)

        # correctness: the live read models against a fresh rebuild of the same log
        fresh = SqliteProjectionStore(Database(base / "rebuild.sqlite3"))
        projector = Projector(fresh, app.log, app.rules)
        for stream in [REGISTRY_STREAM] + [s for s in app.log.streams() if s != REGISTRY_STREAM]:
            projector.apply([s.envelope for s in app.log.read_stream(stream)])
        live, again = ({k: comparable(k, store.load(PROJECTION, k), sharded=True) for k in store.keys(PROJECTION)}
                       for store in (app.projections, fresh))
        diff = [(k, differences(live.get(k), again.get(k))[:2]) for k in sorted(set(live) | set(again))
                if live.get(k) != again.get(k)]
        out.update(documents=len(again), differing=diff, events=sum(app.log.last_seq(s) for s in app.log.streams()),
                   applied=app.projections.position(PROJECTION))
        session = app.projections.session  # type: ignore[attr-defined]
        rows = session.execute(f"SELECT shard, position FROM {settings.keyspace}.projection_shard_positions "
                               "WHERE projection = %s", (PROJECTION,))
        out["shards"] = {r.shard: int(r.position) for r in rows}
        return out
    finally:
        app.close()
        for w in workers:
            w.send_signal(signal.SIGTERM)
        for w in workers:
            try:
                w.wait(30)
            except subprocess.TimeoutExpired:
                w.kill()
        drop(settings)  # the shared Cassandra's heap holds every keyspace: never leave one behind


def drop(settings: Any) -> None:
    from tongxiu.infra.cassandra_store import connect
    from tongxiu.infra.kafka_topics import drop_topics

    p = settings.topic_prefix
    drop_topics(settings, [f"{p}-faust-{r}-__assignor-__leader" for r in ("ledger", "projection")])
    session = connect(settings)
    session.execute(f"DROP KEYSPACE IF EXISTS {settings.keyspace}", timeout=120)
    session.cluster.shutdown()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=600)
    ap.add_argument("--partitions", type=int, default=4)
    ap.add_argument("--enterprises", type=int, default=200)
    a = ap.parse_args(argv)

    from tongxiu.services.demo import make_uscc

    codes = [make_uscc("91", "330521", f"MB{i:06d}") for i in range(a.enterprises)]
    workdir = Path(tempfile.mkdtemp(prefix="tongxiu-scale-out-"))
    print(f"bench: {a.n} submissions (decision + notice) over {a.enterprises} enterprises, {a.partitions} "
          f"partitions; 1+1 then 2+2 workers (ledger + projection), each its own process; load "
          f"{os.getloadavg()[0]:.1f}")
    results = []
    try:
        for ledgers, projections in ((1, 1), (2, 2)):
            results.append(run_layout(ledgers, projections, a.n, a.partitions, codes, workdir))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"\n{'layout':8}{'receipts/s':>12}{'to views/s':>12}{'worker CPU s/1k':>17}{'members L,P':>13}"
          f"{'equal to rebuild':>22}")
    for r in results:
        ok = "yes" if not r["differing"] else f"NO ({len(r['differing'])} docs)"
        print(f"{r['layout']:8}{r['receipt_rate']:12.1f}{r['rate']:12.1f}{r['cpu_per_1000']:17.1f}"
              f"{str(r['members']):>13}{ok + ' of ' + str(r['documents']):>22}")
    for r in results:
        print(f"  {r['layout']}: events {r['events']}, applied (sum of shard positions) {r['applied']}, "
              f"per shard {dict(sorted(r['shards'].items()))}")
        for key, diff in r["differing"][:5]:
            print(f"    differs: {key}: {diff}")
    one, two = results
    print(f"\nratio 2+2 / 1+1: receipts {two['receipt_rate'] / one['receipt_rate']:.2f}, to views "
          f"{two['rate'] / one['rate']:.2f}, worker CPU per submission {two['cpu_per_1000'] / one['cpu_per_1000']:.2f}")
    return 0 if all(not r["differing"] for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
