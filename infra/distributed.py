"""Composition of the distributed backend: Cassandra ports for storage, Kafka for transport,
the Faust worker (``tongxiu worker``) for the ledger and the projections.

Client side (:func:`open_distributed`): the :class:`tongxiu.services.app.Tongxiu` facade reads the read
models and the log from Cassandra; its transport is :class:`KafkaTransport`, so ``submit`` (and
``emit``, used by registrations and the scheduler) goes through Kafka to the single writer per
partition, which runs the same ``Ledger.submit``; ``process()`` waits until the projection
worker has caught up with the log (:class:`WorkerProjection`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tongxiu.events.envelope import Envelope
from tongxiu.events.models import REGISTRY_STREAM
from tongxiu.events.signing import KeyPair
from tongxiu.infra.common import ledger_key, load_rules
from tongxiu.infra.kafka_topics import client_config, topic_names
from tongxiu.infra.kafka_transport import KafkaTransport
from tongxiu.projections.fold import Rules
from tongxiu.projections.keys import PROJECTION, REGISTRY_KEY, enterprise_key
from tongxiu.services.app import Tongxiu
from tongxiu.services.config import Settings
from tongxiu.services.ledger import Ledger
from tongxiu.services.ports import Clock, EventLog, ProjectionStore, ReadSync, SystemClock
from tongxiu.services.sdk import FeedItem, FeedPort, InboxPort, feed_item, is_feed_event
from tongxiu.services.sized_cache import MIB
from tongxiu.services.transparency import Transparency
from tongxiu.streams.processor import rebuild
from tongxiu.streams.projector import Projector
from tongxiu.streams.worker import RegistryHead, ShardedHandler, SubmissionHandler, WorkerDeps

log = logging.getLogger("tongxiu.distributed")


# ---------------------------------------------------------------------- storage


class Storage:
    def __init__(self, settings: Settings, session: Any | None = None) -> None:
        from tongxiu.infra import cassandra_store as cs

        self.owns_session = session is None
        self.session = session if session is not None else cs.connect(settings)
        ks = settings.keyspace
        from tongxiu.infra.cassandra_merkle import (  # issue 9: the transparency log
            CassandraTransparencyLog,
            LoggedCassandraEventLog,
            LoggedCassandraRejectionLog,
        )

        self.tlog = CassandraTransparencyLog(self.session, ks)
        self.log = LoggedCassandraEventLog(self.session, ks, self.tlog)
        self.rejections = LoggedCassandraRejectionLog(self.session, ks, self.tlog)
        self.projections = cs.CassandraProjectionStore(self.session, ks)
        self.offsets = cs.CassandraOffsetStore(self.session, ks)

    def transparency(self, key: KeyPair, clock: Clock) -> Transparency:
        return Transparency(self.tlog, key, clock.now)

    def close(self) -> None:
        if self.owns_session:
            self.session.cluster.shutdown()


def distributed_key(settings: Settings) -> KeyPair:
    """The ledger key of the distributed backend, kept in a file under ``data_dir`` (the
    worker and the clients on this machine read the same file)."""
    return ledger_key(Path(settings.data_dir), settings.ledger_key_file)


def migrate(settings: Settings, session: Any | None = None) -> list[str]:
    """Keyspace, tables and topics (idempotent). Returns the topics created."""
    from tongxiu.infra import cassandra_store as cs
    from tongxiu.infra.kafka_topics import migrate_topics

    own = session is None
    session = session if session is not None else cs.connect(settings)
    try:
        cs.migrate(session, settings)
    finally:
        if own:
            session.cluster.shutdown()
    return migrate_topics(settings)


# ---------------------------------------------------------------------- worker side


def worker_deps(
    settings: Settings,
    *,
    clock: Clock | None = None,
    key: KeyPair | None = None,
    session: Any | None = None,
    shards: int | None = None,
) -> WorkerDeps:
    """``shards``: submissions in flight at once in the ledger agent (default: the setting
    ``ledger_concurrency``)."""
    storage = Storage(settings, session)
    rules = load_rules(settings)
    clock = clock or SystemClock()
    key = key or distributed_key(settings)
    shards = max(1, shards or settings.ledger_concurrency)
    budget = settings.cache_mib * MIB  # each cache's: the ledger shards share theirs
    registry = RegistryHead(storage.log, settings.registry_refresh_ms / 1000)
    handlers = [
        SubmissionHandler(Ledger(storage.log, storage.rejections, clock, rules, key, cache_bytes=budget // shards,
                                 transparency=storage.transparency(key, clock)), registry)
        for _ in range(shards)
    ]
    return WorkerDeps(
        settings=settings,
        handler=ShardedHandler(handlers, storage.tlog.gathering),
        projector=Projector(storage.projections, storage.log, rules, cache_bytes=budget),
        closers=[storage.close],
    )


# ---------------------------------------------------------------------- client side


class WorkerProjection(ReadSync):
    """The distributed backend's :class:`ReadSync`: the projection agent of ``tongxiu worker``
    folds the events topic; ``catch_up`` waits until it has applied every event the log holds
    (its saved position is the count of events applied). ``rebuild`` folds the Cassandra log
    here, with the same projector the worker runs (stop the worker first)."""

    def __init__(self, store: ProjectionStore, log_: EventLog, rules: Rules, *, timeout_s: float = 60.0,
                 settle_s: float = 2.0, cache_bytes: int = 128 * MIB) -> None:
        self.cache_bytes = cache_bytes
        self.store = store
        self.log = log_
        self.rules = rules
        self.timeout_s = timeout_s
        self.settle_s = settle_s

    def position(self) -> int:
        return self.store.position(PROJECTION)

    def rebuild(self, progress: Callable[[int], None] | None = None) -> int:
        return rebuild(Projector(self.store, self.log, self.rules, cache_bytes=self.cache_bytes), self.log, progress)

    def catch_up(self) -> int:
        """Waits for the applied-count to reach the log's size. The exact per-stream test
        alone is accepted once the count has stopped moving for ``settle_s`` (it can stay
        below the log's size after an interrupted split save); without that pause, a reader
        could see every head written before the save's position, which is written last."""
        deadline = time.monotonic() + self.timeout_s
        last, since = -1, time.monotonic()
        # every head in one read (Cassandra: a plain read, issue 11 session 11 — one SERIAL read
        # per stream every 50 ms competed with the worker for the node while it caught up)
        while True:
            heads = self.log.heads_recent()
            have = self.position()
            if have != last:
                last, since = have, time.monotonic()
            if have >= sum(heads.values()):
                return 0
            if time.monotonic() - since >= self.settle_s and self._every_stream_caught_up(heads):
                return 0
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"projections at {have} of {sum(heads.values())} events after {self.timeout_s}s: "
                    "is the worker running?"
                )
            time.sleep(0.05)

    def _every_stream_caught_up(self, heads: dict[str, int]) -> bool:
        """The exact test (the applied-count can stay below the log's size if a split save
        was interrupted and the guard then skipped the already-written events)."""
        keys = {stream: REGISTRY_KEY if stream == REGISTRY_STREAM else enterprise_key(stream) for stream in heads}
        docs = self.store.load_heads(PROJECTION, list(keys.values()))  # Cassandra: 100 documents per read
        for stream, head in heads.items():
            raw = docs[keys[stream]]
            if raw is None or int(raw.get("seq", 0)) < head:
                return False
        return True


class ProjectionInbox(InboxPort):
    """A subscriber's pending deliveries, from the projection store."""

    def __init__(self, app: Tongxiu, *, wait: bool = True) -> None:
        self.app = app
        self.wait = wait

    def pending(self, subscriber: str) -> list[dict[str, Any]]:
        if self.wait:  # read your writes: the deliveries of what the log holds now
            self.app.process()
        return self.app.inbox(subscriber)


class KafkaFeed(FeedPort):
    """The repair feed from the events topic: one kafka-python consumer group per feed
    consumer (group id = consumer name), read_committed, no auto-commit. Every ``poll``
    starts from the group's committed offsets, so an item is delivered again until it is
    committed; ``commit`` stores the offset after the item's message. A restarted process
    resumes where the group stopped (offsets live in Kafka)."""

    def __init__(self, settings: Settings, *, poll_timeout_s: float = 1.0) -> None:
        self.settings = settings
        self.topic = topic_names(settings).events
        self.poll_timeout_s = poll_timeout_s
        self._consumers: dict[str, Any] = {}
        self._where: dict[tuple[str, str], tuple[int, int]] = {}

    def _consumer(self, consumer: str) -> Any:
        from kafka import KafkaConsumer

        c = self._consumers.get(consumer)
        if c is None:
            c = KafkaConsumer(
                group_id=consumer,
                client_id=f"feed-{consumer}",
                enable_auto_commit=False,
                auto_offset_reset="earliest",
                isolation_level="read_committed",
                **client_config(self.settings),
            )
            deadline = time.monotonic() + 30
            while not c.partitions_for_topic(self.topic):  # metadata first, or the group may
                if time.monotonic() > deadline:             # be assigned nothing until refresh
                    raise RuntimeError(f"topic {self.topic} does not exist: run `tongxiu migrate`")
                time.sleep(0.2)
            c.subscribe([self.topic])
            self._consumers[consumer] = c
        return c

    def _assigned(self, c: Any, timeout_s: float = 30.0) -> set[Any]:
        deadline = time.monotonic() + timeout_s
        while not c.assignment():
            c.poll(timeout_ms=100, max_records=1)  # joins the group; positions are reset below
            if time.monotonic() > deadline:
                raise TimeoutError("feed consumer got no partitions")
        return set(c.assignment())

    def poll(self, consumer: str, *, max_items: int = 100) -> list[FeedItem]:
        c = self._consumer(consumer)
        tps = self._assigned(c)
        # rewind to the committed offsets: uncommitted items are delivered again
        committed = {tp: c.committed(tp) for tp in tps}
        beginning = c.beginning_offsets(list(tps))
        for tp in tps:
            c.seek(tp, committed[tp] if committed[tp] is not None else beginning[tp])
        end = c.end_offsets(list(tps))
        out: list[FeedItem] = []
        deadline = time.monotonic() + max(self.poll_timeout_s, 30.0)
        while len(out) < max_items and any(c.position(tp) < end[tp] for tp in tps):
            batches = c.poll(timeout_ms=int(self.poll_timeout_s * 1000), max_records=500)
            for tp, records in sorted(batches.items(), key=lambda kv: kv[0].partition):
                for rec in records:
                    env = Envelope.from_json(rec.value)
                    if is_feed_event(env) and len(out) < max_items:
                        # position: the offset in the partition (per-partition order)
                        item = feed_item(env, rec.offset)
                        if all(o.event_id != item.event_id for o in out):
                            out.append(item)
                            self._where[(consumer, item.event_id)] = (tp.partition, rec.offset)
            if time.monotonic() > deadline:
                break
        return out

    def commit(self, consumer: str, item: FeedItem) -> None:
        """Mark ``item`` (and everything before it in its partition) done; never moves back."""
        from kafka import TopicPartition
        from kafka.structs import OffsetAndMetadata

        where = self._where.pop((consumer, item.event_id), None)
        if where is None:
            # Already committed, or polled by an earlier instance of this consumer: nothing to
            # do. An item not yet committed is simply delivered again (at least once).
            return
        partition, offset = where
        c = self._consumer(consumer)
        tp = TopicPartition(self.topic, partition)
        current = c.committed(tp)
        if current is None or current < offset + 1:
            c.commit({tp: OffsetAndMetadata(offset + 1, "", -1)})

    def close(self) -> None:
        for c in self._consumers.values():
            c.close()
        self._consumers.clear()


class FileClock(Clock):
    """A clock read from a file holding an ISO datetime (tests drive a worker process's
    clock from the test process with it); the system clock when the file is empty."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def now(self) -> Any:
        from datetime import datetime

        try:
            text = self.path.read_text().strip()
        except FileNotFoundError:
            text = ""
        return datetime.fromisoformat(text) if text else SystemClock().now()


def open_distributed(
    settings: Settings,
    *,
    clock: Clock | None = None,
    key: KeyPair | None = None,
    session: Any | None = None,
    transport: KafkaTransport | None = None,
    wait_s: float = 60.0,
) -> Tongxiu:
    """The client app: reads from Cassandra; submissions go through Kafka to the worker, which
    runs ``Ledger.submit`` (the client's ledger only parses at the edge and folds the log for
    the scheduler, with no cache: another process writes). ``wait_s``: how long ``process()``
    waits for the projection worker."""
    storage = Storage(settings, session)
    clock = clock or SystemClock()
    key = key or distributed_key(settings)
    rules = load_rules(settings)
    transport = transport or KafkaTransport(settings)
    feed = KafkaFeed(settings)
    return Tongxiu(
        log=storage.log,
        rejections=storage.rejections,
        projections=storage.projections,
        offsets=storage.offsets,
        clock=clock,
        rules=rules,
        ledger=Ledger(storage.log, storage.rejections, clock, rules, key, cache_size=0,
                      transparency=storage.transparency(key, clock)),
        transport=transport,
        read_models=WorkerProjection(storage.projections, storage.log, rules, timeout_s=wait_s,
                                     cache_bytes=settings.cache_mib * MIB),
        feed=feed,
        backend="distributed",
        closers=[feed.close, transport.close, storage.close],
    )
