"""The distributed pipeline against the real Kafka 4.x and Cassandra 5 (``servers`` fixture):
the Faust worker runs as a subprocess (``python -m tongxiu.entrypoints.cli worker``) pointed at this
test's own topic prefix and keyspace.

1. the demo scenario on the distributed backend gives the same views and hash chains as on
   the embedded backend (the worker's clock follows the test's manual clock via a file);
2. a worker killed with SIGKILL in the middle of a stream of submissions and restarted loses
   nothing and duplicates nothing; the projections equal a fresh rebuild from the log;
3. the Kafka repair feed resumes where its consumer group stopped.
"""

from __future__ import annotations

import json
import signal
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.integration.pipeline import (  # noqa: F401 (re-exported for test_http_distributed)
    FileDrivenClock,
    Worker,
    assert_every_stream_applied,
    assert_exactly_once,
    chains,
    differences,
    enterprise_codes,
    rebuild,
    redelivered_submissions,
    register,
    signed_submissions,
    strip,
    wait_for,
)
from tongxiu.events.envelope import Envelope
from tongxiu.events.models import (
    REGISTRY_STREAM,
    RepairGranted,
    SubscriptionAdded,
)
from tongxiu.events.signing import KeyPair
from tongxiu.infra.bootstrap import open_embedded
from tongxiu.infra.distributed import KafkaFeed, ProjectionInbox, open_distributed
from tongxiu.infra.embedded import LocalInbox, LocalTransport
from tongxiu.infra.kafka_topics import client_config, drop_topics, migrate_topics, topic_names
from tongxiu.services.app import Tongxiu
from tongxiu.services.audit import replay as services_replay
from tongxiu.services.audit import verify_streams
from tongxiu.services.config import Settings
from tongxiu.services.demo import DEPARTMENTS, ENTERPRISE, START, make_uscc, run_demo
from tongxiu.services.ports import ManualClock

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]


# ---------------------------------------------------------------------- helpers


@pytest.fixture
def distributed_settings(fresh_keyspace: Callable[..., Settings], tmp_path: Path) -> Iterator[Callable[..., Settings]]:
    made: list[Settings] = []

    def make(name: str, partitions: int = 4) -> Settings:
        base = fresh_keyspace(f"tx_{name}")
        settings = base.model_copy(update={
            "topic_prefix": f"test-{name}-{uuid.uuid4().hex[:8]}",
            "partitions": partitions,
            "data_dir": tmp_path / f"{name}-data",
        })
        migrate_topics(settings)
        made.append(settings)
        return settings

    yield make
    for settings in made:  # Faust's assignor topics: one per group (the split engine has two)
        drop_topics(settings, [f"{settings.topic_prefix}-faust{agents}-__assignor-__leader"
                               for agents in ("", "-ledger", "-projection")])


@pytest.fixture
def workers() -> Iterator[list[Worker]]:
    started: list[Worker] = []
    yield started
    for w in started:
        w.kill(signal.SIGTERM)


# ---------------------------------------------------------------------- 1. demo equality


@pytest.mark.parametrize("engine", ["faust", "plain", "faust-split"])
def test_demo_on_distributed_equals_embedded(
    engine: str,
    distributed_settings: Callable[..., Settings], workers: list[Worker], cassandra_session: Any, tmp_path: Path
) -> None:
    """``faust`` is the worker; ``plain`` is the kafka-python fallback engine, kept working;
    ``faust-split`` runs the ledger agent and the projection agent in two worker processes."""
    settings = distributed_settings(f"demo{engine.replace('-', '')}")
    key = KeyPair.generate()
    Path(settings.data_dir).mkdir(parents=True)
    (Path(settings.data_dir) / "ledger.key").write_text(key.private_key)
    clock = FileDrivenClock(START, tmp_path / "clock.txt")

    roles = ["ledger", "projection"] if engine == "faust-split" else ["all"]
    for role in roles:
        worker = Worker(settings, tmp_path / f"worker-{role}.log", clock_file=clock.path,
                        engine=engine.removesuffix("-split"), agents=role)
        workers.append(worker)
        worker.start()
    app = open_distributed(settings, clock=clock, key=key, session=cassandra_session)
    try:
        wait_for(lambda: app.log.last_seq(REGISTRY_STREAM) >= 1, 60, "the worker's bootstrap", workers[0])
        dist = run_demo(app, clock, transport=app.transport, inbox=ProjectionInbox(app), say=lambda s: None)
        app.process()

        eclock = ManualClock(START)
        emb = open_embedded(Settings(data_dir=tmp_path / "embedded"), clock=eclock, key=key)
        try:
            ref = run_demo(emb, eclock, transport=LocalTransport(emb), inbox=LocalInbox(emb), say=lambda s: None)

            dc, ec = chains(app), chains(emb)
            for stream in ec:
                for a, b in zip(dc.get(stream, []), ec[stream], strict=False):
                    if a != b:
                        da = app.log.read_stream(stream, from_seq=a[0])[0].envelope.model_dump(mode="json")
                        db = emb.log.read_stream(stream, from_seq=b[0])[0].envelope.model_dump(mode="json")
                        raise AssertionError(f"{stream} seq {a[0]}: {da} != {db}")
            assert dc == ec
            # the transparency log's part (leaf indices, checkpoint) is on both; its indices and
            # roots depend on the commit order across streams, so it is compared by the audit
            assert all(r.log is not None for r in dist.receipts.values())
            assert {k: r.model_dump(exclude={"log"}) for k, r in dist.receipts.items()} == {
                k: r.model_dump(exclude={"log"}) for k, r in ref.receipts.items()}
            for view in ("credit", "rectification", "sync"):
                assert getattr(app, view)(ENTERPRISE) == getattr(emb, view)(ENTERPRISE), view
            assert app.enterprise_state(ENTERPRISE) == emb.enterprise_state(ENTERPRISE)
            assert app.registry() == emb.registry()
            for dept, *_ in DEPARTMENTS:
                assert app.supervision(dept) == emb.supervision(dept), dept
                assert app.inbox(dept) == [] == emb.inbox(dept)
            assert app.enterprises() == emb.enterprises()
            assert sorted(c for r in app.list_rejections() for c in r.receipt.codes) == [
                "not_authorized", "repair_too_early", "signature_of_other_department"]
            assert app.stats()["projection_position"] == app.stats()["events"] == emb.stats()["events"]
            assert verify_streams(app.log).ok
            # the platform's feed (the app's KafkaFeed) saw the grant once, and resumes past it
            assert app.feed.poll("creditchina-feed") == []
            if engine == "faust":
                _cli_reads_match(settings, emb)
                _cli_log_commands(settings, list(dist.receipts.values()), tmp_path)
        finally:
            emb.close()
    except BaseException:
        for w in workers:  # what the worker saw, for whoever reads the failure
            print(f"----- worker log ({w.log_path.name}) -----\n{w.tail()}")
        raise
    finally:
        app.close()


def _cli_reads_match(settings: Settings, emb: Tongxiu) -> None:
    """The auditor's CLI with ``--backend distributed`` reads what the embedded CLI reads."""
    from typer.testing import CliRunner

    from tongxiu.entrypoints.cli import app as cli

    env = {
        "TONGXIU_TOPIC_PREFIX": settings.topic_prefix,
        "TONGXIU_KEYSPACE": settings.keyspace,
        "TONGXIU_DATA_DIR": str(settings.data_dir),
        "TONGXIU_PARTITIONS": str(settings.partitions),
        "TONGXIU_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
        "TONGXIU_CASSANDRA_PORT": str(settings.cassandra_port),
    }
    runner = CliRunner()

    def run(*args: str) -> Any:
        result = runner.invoke(cli, ["--backend", "distributed", *args], env=env)
        assert result.exit_code == 0, result.output
        return json.loads(result.output)

    assert run("verify", "--all", "--json")["ok"] is True
    assert run("credit", ENTERPRISE, "--json") == emb.credit(ENTERPRISE).model_dump(mode="json")
    replayed = run("replay", ENTERPRISE, "--as-of", "2026-02-10", "--json")
    assert replayed["credit"]["records"]["德市监处罚〔2026〕7号"]["status"] == "publicized"
    ref = services_replay(emb.log, emb.rules, ENTERPRISE, as_of=replayed_as_of("2026-02-10"))
    assert [e["hash"] for e in replayed["events"]] == [e.hash for e in ref.events]


def _cli_log_commands(settings: Settings, receipts: list[Any], tmp_path: Path) -> None:
    """Issue 9's commands against the distributed ledger: checkpoint, verify-log, audit of the
    departments' receipts, cosign, export --bundle and verify-bundle."""
    from typer.testing import CliRunner

    from tongxiu.entrypoints.cli import app as cli
    from tongxiu.services.receipt_store import ReceiptStore

    env = {"TONGXIU_TOPIC_PREFIX": settings.topic_prefix, "TONGXIU_KEYSPACE": settings.keyspace,
           "TONGXIU_DATA_DIR": str(settings.data_dir), "TONGXIU_PARTITIONS": str(settings.partitions),
           "TONGXIU_KAFKA_BOOTSTRAP": settings.kafka_bootstrap, "TONGXIU_CASSANDRA_PORT": str(settings.cassandra_port)}
    runner = CliRunner()

    def run(*args: str) -> str:
        result = runner.invoke(cli, ["--backend", "distributed", *args], env=env)
        assert result.exit_code == 0, result.output
        return str(result.output)

    cp_file = tmp_path / "cp.json"
    cp = json.loads(run("checkpoint", "--json", "--out", str(cp_file)))
    assert cp["size"] > 0
    assert json.loads(run("verify-log", "--json"))["leaves"] == cp["size"]
    store = ReceiptStore(tmp_path / "kept")
    for r in receipts:
        store.add(r)
    out = json.loads(run("audit", "--store", str(store.path), "--checkpoint", str(cp_file), "--json"))
    rejected = sum(1 for r in receipts if not r.accepted)
    assert out["ok"] and out["events"] > 0 and out["rejections"] == rejected > 0, out
    witness = KeyPair.generate()
    (tmp_path / "w.key").write_text(witness.private_key)
    run("cosign", str(cp_file), "--witness", "mof", "--key", str(tmp_path / "w.key"))
    out = json.loads(run("audit", "--store", str(store.path), "--checkpoint", str(cp_file), "--witness",
                         f"mof={witness.public_key}", "--require", "1", "--json"))
    assert out["ok"], out
    run("export", ENTERPRISE, "--bundle", str(tmp_path / "bundle.json"), "--at", str(cp_file))
    assert run("verify-bundle", str(tmp_path / "bundle.json"), "--checkpoint", str(cp_file)).startswith("通过 ")


def replayed_as_of(day: str) -> datetime:
    return datetime.fromisoformat(f"{day}T23:59:59+08:00")


# ---------------------------------------------------------------------- 2. SIGKILL mid-stream


def test_worker_killed_mid_stream_loses_and_duplicates_nothing(
    distributed_settings: Callable[..., Settings], workers: list[Worker], cassandra_session: Any, tmp_path: Path
) -> None:
    settings = distributed_settings("crash")
    # commits every 5 s: the kill leaves recorded-but-uncommitted submissions to redeliver
    worker = Worker(settings, tmp_path / "worker.log", commit_interval=5.0)
    workers.append(worker)
    worker.start()
    app = open_distributed(settings, session=cassandra_session)
    transport = app.transport
    try:
        wait_for(lambda: app.log.last_seq(REGISTRY_STREAM) >= 1, 60, "the worker's bootstrap", worker)
        register(app, transport)
        codes = enterprise_codes(12)
        subs = signed_submissions(app, codes, 240)
        keys = []
        killed_at = None
        for n, submission in enumerate(subs):
            keys.append(transport.send_async(submission))
            if n % 20 == 19:
                transport.producer.flush()
                time.sleep(0.05)
            if n == 100:
                # wait until the worker is visibly mid-stream, then kill it hard
                wait_for(lambda: (transport.pump(0.1), len(transport._received) >= 30)[1], 60, "receipts", worker)
                worker.kill(signal.SIGKILL)
                killed_at = len(transport._received)
                worker.start()
        transport.producer.flush()
        receipts = [transport.wait(k, timeout_s=120) for k in keys]
        assert killed_at is not None and 0 < killed_at < len(subs)
        redelivered = redelivered_submissions(settings)
        print(f"killed after {killed_at} receipts; {redelivered} submissions handled twice (redelivered after the kill)")
        assert redelivered > 0, "the kill should have left recorded submissions uncommitted"
        assert all(r.accepted for r in receipts), [r.reasons for r in receipts if not r.accepted][:3]
        # every receipt, also of a submission redelivered after the kill, is provable: it carries
        # its leaves and a checkpoint, and the department's audit of them all passes (issue 9)
        assert all(r.log is not None for r in receipts)
        from tongxiu.infra.audit_log import LocalLedgerView, audit_store
        from tongxiu.services.transparency import verify_log

        audit = audit_store(LocalLedgerView(app), receipts, [r.log.checkpoint for r in receipts if r.log])
        assert audit.ok and audit.events == 2 * len(subs), audit.problems[:5]
        assert app.ledger.transparency is not None
        tlog = app.ledger.transparency.tlog
        print(f"leaves completed after the kill by the sweep: {tlog.complete()}")
        check = verify_log(tlog, app.log)
        assert check.ok, check.problems[:5]
        # the log: every submission exactly once, gap-free, chains intact; the projections
        # caught up, each event applied once, equal to a fresh rebuild
        assert assert_exactly_once(app, codes, [s.submission_id for s in subs], tmp_path) == 2 * len(subs)
        assert app.supervision("samr-deqing").served_with_notice == len(subs)
    finally:
        app.close()


# ---------------------------------------------------------------------- 3. feed resumes


def _envelope(stream: str, seq: int, event: Any) -> Envelope:
    now = datetime(2026, 1, 5, tzinfo=UTC)
    return Envelope(event_id=str(uuid.uuid4()), stream=stream, seq=seq, department="samr-deqing",
                    submission_id=f"{stream}/{seq}", index=0, occurred_at=now, recorded_at=now,
                    event=event, signature="00" * 64, prev_hash="0" * 64).sealed()


def test_kafka_feed_resumes_where_it_stopped(servers: Any) -> None:
    from kafka import KafkaProducer

    settings = Settings(backend="distributed", topic_prefix=f"test-feed-{uuid.uuid4().hex[:8]}", partitions=3)
    migrate_topics(settings)
    producer = KafkaProducer(acks="all", **client_config(settings))
    feed_ids: list[str] = []
    streams = [make_uscc("91", "330521", f"MB{n:06d}") for n in range(5)]
    seqs = {s: 0 for s in streams}
    for n in range(30):
        stream = streams[n % 5]
        seqs[stream] += 1
        if n % 3 == 0:
            env = _envelope(stream, seqs[stream], SubscriptionAdded(jurisdictions=["33"]))  # not a feed event
        else:
            env = _envelope(stream, seqs[stream], RepairGranted(decision_no=f"D-{n}"))
            feed_ids.append(env.event_id)
        producer.send(topic_names(settings).events, key=stream.encode(), value=env.to_json().encode())
    producer.flush()
    producer.close()

    group = f"platform-{uuid.uuid4().hex[:6]}"
    first = KafkaFeed(settings)
    items = first.poll(group, max_items=6)
    assert len(items) == 6
    for item in items[:4]:
        first.commit(group, item)
    # not committed: delivered again by the next poll of the same instance (a commit covers its
    # partition up to the item, and items[:4] precede items[4:] in their partitions)
    committed = {i.event_id for i in items[:4]}
    again = first.poll(group, max_items=len(feed_ids))
    assert [i.event_id for i in again if i.event_id in committed] == [], "a committed item came back"
    assert {i.event_id for i in again} == set(feed_ids) - committed, "an uncommitted item was not delivered again"
    assert {i.event_id for i in items[4:6]} <= {i.event_id for i in again}
    first.close()  # the process "stops"

    second = KafkaFeed(settings)
    rest = []
    while True:
        batch = second.poll(group, max_items=5)
        if not batch:
            break
        for item in batch:
            second.commit(group, item)
        rest.extend(batch)
    second.close()
    seen_first = [i.event_id for i in items[:4]]
    seen_rest = [i.event_id for i in rest]
    assert not set(seen_first) & set(seen_rest), "a committed item was delivered again"
    assert sorted(seen_first + seen_rest) == sorted(feed_ids), "an item was lost or duplicated"
    assert all(i.type == "repair_granted" for i in rest)

    third = KafkaFeed(settings)
    assert third.poll(group) == []
    third.close()
    drop_topics(settings)
