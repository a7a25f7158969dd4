"""The distributed worker's logic, independent of the stream runtime (Faust in
``tongxiu.streams.faust_app``; a plain kafka-python loop here as the fallback engine).

* :class:`SubmissionHandler` — the ledger agent's step: the same ``Ledger.submit`` as the
  embedded backend, on Cassandra ports; returns the receipt and the envelopes to publish.
* the projection agent's step is :class:`tongxiu.streams.projector.Projector`, the same
  projector the embedded backend runs in process, one shard per partition of the events
  topic (:func:`apply_shards`).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any

from tongxiu.events.envelope import Envelope, Receipt
from tongxiu.events.models import REGISTRY_STREAM
from tongxiu.services.ledger import Ledger
from tongxiu.services.ports import ConcurrencyError, EventLog, RejectionLog, RejectionRecord, StoredEvent
from tongxiu.streams.projector import Projector

log = logging.getLogger("tongxiu.worker")

class RegistryHead:
    """The registry stream's head as the ledger agents of this worker know it (issue 11: the
    registry from the log, not a Paxos read of one row per submission). A registration this
    process appends moves it at once; others are seen by a plain (non-SERIAL) read of the
    head at most every ``refresh_s``; :meth:`latest` reads it at SERIAL (a submission the
    cached registry would reject is checked once more after it)."""

    def __init__(self, log: EventLog, refresh_s: float) -> None:
        self.log = log
        self.refresh_s = refresh_s
        self.seq = 0
        self._read_at = float("-inf")
        self._lock = threading.Lock()
        self._refreshing = threading.Lock()

    def get(self) -> int:
        now = time.monotonic()
        if now - self._read_at >= self.refresh_s and self._refreshing.acquire(blocking=False):
            try:  # one thread reads; the others go on with the head they have
                recent = getattr(self.log, "last_seq_recent", self.log.last_seq)
                seq = recent(REGISTRY_STREAM)
                with self._lock:
                    self.seq, self._read_at = max(self.seq, seq), now
            finally:
                self._refreshing.release()
        return self.seq

    def latest(self) -> None:
        seq = self.log.last_seq(REGISTRY_STREAM)
        with self._lock:
            self.seq, self._read_at = max(self.seq, seq), time.monotonic()

    def advanced(self, seq: int) -> None:
        with self._lock:
            self.seq = max(self.seq, seq)


class PrefetchedRejections(RejectionLog):
    """The rejection log, whose idempotency look-up (``get``) the :class:`RecordingLog` sends
    beside the log's own (``find_submission``), so the two reads of every submission share
    one round trip (issue 11). One look-up is held at a time (one per ledger shard, and a
    shard handles one submission at a time): ``get`` takes it when it asks for the same id,
    ``record`` drops it (a rejection recorded since makes it stale), any other call reads the
    store."""

    def __init__(self, inner: RejectionLog) -> None:
        self.inner = inner
        self._held: tuple[tuple[str, str], Callable[[], RejectionRecord | None]] | None = None
        self._ahead: dict[tuple[str, str], Callable[[], RejectionRecord | None]] = {}
        """Look-ups sent for the shard's next submissions (:meth:`prefetch_many`), by id."""

    def prefetch(self, department: str, submission_id: str) -> None:
        start = getattr(self.inner, "get_async", None)
        self._held = None if start is None else ((department, submission_id), start(department, submission_id))

    def prefetch_many(self, ids: Sequence[tuple[str, str]]) -> bool:
        """Send the look-ups of several submissions now (each answered once, by :meth:`get`
        for its id, until :meth:`record` or :meth:`drop_ahead`); False where the log cannot."""
        start = getattr(self.inner, "get_async", None)
        if start is None:
            return False
        for key in ids:
            self._ahead[key] = start(*key)
        return True

    def drop_ahead(self) -> None:
        self._ahead.clear()

    def get(self, department: str, submission_id: str) -> RejectionRecord | None:
        held, self._held = self._held, None
        if held is not None and held[0] == (department, submission_id):
            return held[1]()
        ahead = self._ahead.pop((department, submission_id), None)
        if ahead is not None:
            return ahead()
        return self.inner.get(department, submission_id)

    def record(self, rejection: RejectionRecord) -> None:
        self._held = None
        self._ahead.clear()  # sent before this rejection was recorded: stale for its id
        self.inner.record(rejection)

    def list(self, *, department: str | None = None, stream: str | None = None, limit: int = 100,
             offset: int = 0) -> list[RejectionRecord]:
        return self.inner.list(department=department, stream=stream, limit=limit, offset=offset)

    def count(self, *, department: str | None = None, stream: str | None = None) -> int:
        return self.inner.count(department=department, stream=stream)


class RecordingLog(EventLog):
    """Delegates to the real log and remembers the envelopes of the last successful append,
    so the worker publishes what it wrote without reading it back. With a
    :class:`RegistryHead`, the registry's head is answered from it; a stream the ledger folds
    is read without a Paxos round where the log allows (:meth:`read_stream`)."""

    def __init__(self, inner: EventLog, registry: RegistryHead | None = None,
                 rejections: PrefetchedRejections | None = None) -> None:
        self.inner = inner
        self.registry = registry
        self.rejections = rejections
        self.appended: list[Envelope] = []
        self._stale: set[str] = set()
        self._ahead: dict[tuple[str, str], tuple[str | None, Callable[[], list[StoredEvent]]]] = {}
        """Idempotency look-ups sent for the shard's next submissions (:meth:`prefetch_many`),
        by id: the stream they were sent for and the answer."""

    def prefetch_many(self, ids: Sequence[tuple[str, str, str | None]]) -> None:
        """Send the idempotency look-ups (the log's and the rejection log's) of the submissions
        a shard is about to handle in turn, all now: each is answered once, to the ledger's
        first ``find_submission`` / ``get`` of its id (issue 11, session 10: one round trip per
        segment instead of one per submission). ``ids``: (department, submission id, stream
        of the message), answered only to a look-up for that stream. Only for ids that no
        other submission of the batch carries (the caller's duty: an append or a rejection of
        one of them would make the other's answer stale); an append or a rejection through
        this log drops them all."""
        start = getattr(self.inner, "find_submission_async", None)
        if start is None or self.rejections is None or not ids:
            return
        if not self.rejections.prefetch_many([(d, sid) for d, sid, _ in ids]):
            return
        for department, submission_id, stream in ids:
            self._ahead[(department, submission_id)] = (
                stream, start(department, submission_id, stream=stream))

    def drop_ahead(self) -> None:
        self._ahead.clear()
        if self.rejections is not None:
            self.rejections.drop_ahead()

    def append(self, stream: str, expected_seq: int, envelopes: Sequence[Envelope]) -> None:
        for e in envelopes:  # an answer sent before this append is stale for its id
            self._ahead.pop((e.department, e.submission_id), None)
        try:
            self.inner.append(stream, expected_seq, envelopes)
        except ConcurrencyError:
            self._stale.add(stream)  # folded from a stale head: the next fold reads at SERIAL
            raise
        self.appended.extend(envelopes)
        if stream == REGISTRY_STREAM and envelopes and self.registry is not None:
            self.registry.advanced(envelopes[-1].seq)

    def last_seq(self, stream: str) -> int:
        if stream == REGISTRY_STREAM and self.registry is not None:
            return self.registry.get()
        return self.inner.last_seq(stream)

    def read_stream(self, stream: str, *, from_seq: int = 1, limit: int | None = None) -> list[StoredEvent]:
        """A whole stream the ledger folds to decide on is read from a head at the session's
        consistency where the log offers it (no Paxos round: the head LWT of the append refuses
        a decision made on a stale head, and the retry reads at SERIAL)."""
        recent = getattr(self.inner, "read_stream_recent", None)
        if recent is not None and from_seq == 1 and limit is None and stream != REGISTRY_STREAM:
            if stream in self._stale:
                self._stale.discard(stream)
            else:
                return list(recent(stream))
        return self.inner.read_stream(stream, from_seq=from_seq, limit=limit)

    def streams(self) -> list[str]:
        return self.inner.streams()

    def read_all(self, *, after: int = 0, limit: int = 1000) -> list[StoredEvent]:
        return self.inner.read_all(after=after, limit=limit)

    def find_submission(self, department: str, submission_id: str, *, stream: str | None = None) -> list[StoredEvent]:
        ahead = self._ahead.pop((department, submission_id), None)
        if ahead is not None and ahead[0] == stream:  # sent with the shard's segment (its rejection look-up too)
            return ahead[1]()
        if self.rejections is not None:  # the ledger asks the rejection log next: send both now
            self.rejections.prefetch(department, submission_id)
        return self.inner.find_submission(department, submission_id, stream=stream)


class SubmissionHandler:
    """Wraps the ledger's log with a :class:`RecordingLog` (pass the ledger built on the
    plain port; the handler swaps in the recorder)."""

    def __init__(self, ledger: Ledger, registry: RegistryHead | None = None) -> None:
        self.ledger = ledger
        if not isinstance(ledger.rejections, PrefetchedRejections):
            ledger.rejections = PrefetchedRejections(ledger.rejections)
        assert isinstance(ledger.rejections, PrefetchedRejections)
        self.recorder = ledger.log if isinstance(ledger.log, RecordingLog) else RecordingLog(
            ledger.log, registry, ledger.rejections)
        ledger.log = self.recorder
        if registry is not None:
            ledger.registry_latest = registry.latest

    def handle(self, raw: bytes | str) -> tuple[Receipt, list[tuple[str, str]]]:
        """Submit; returns the receipt and (stream, envelope JSON) to publish on the events
        topic. The envelopes are read back from the log, so a redelivered submission (worker
        died after the Cassandra append, before publishing) publishes them again; the
        projector drops the copies."""
        ledger = self.ledger
        # Another worker (or shard) may have registered a department: Ledger.registry()
        # catches up with the registry's head (RegistryHead: at most refresh_s old; the latest
        # before a rejection by the registry).
        self.recorder.appended = []
        receipt = ledger.submit(raw)
        out: list[tuple[str, str]] = []
        if receipt.accepted and receipt.events:
            if not receipt.duplicate and self.recorder.appended:
                out = [(e.stream, e.to_json()) for e in self.recorder.appended]
            else:  # a resubmission: publish again what the log holds (the worker may have
                # died between the append and the publish)
                first = min(e.seq for e in receipt.events)
                for stored in ledger.log.read_stream(receipt.stream, from_seq=first):
                    out.append((stored.envelope.stream, stored.raw or stored.envelope.to_json()))
        return receipt, out

    def handle_many(self, raws: list[bytes]) -> list[tuple[Receipt, list[tuple[str, str]]]]:
        return [self.handle(r) for r in raws]

    def handle_keyed(self, items: list[tuple[bytes | None, bytes]]) -> list[tuple[Receipt, list[tuple[str, str]]]]:
        return [self.handle(raw) for _, raw in items]

    def bootstrap_events(self) -> list[tuple[str, str]]:
        """Bootstrap the registry (written straight to the log) and return it to publish."""
        self.ledger.bootstrap()
        return [(s.envelope.stream, s.raw or s.envelope.to_json()) for s in self.ledger.log.read_stream(REGISTRY_STREAM)]


class ShardedHandler:
    """Several :class:`SubmissionHandler` (each its own ``Ledger``: own cache, own registry
    copy), one thread each; a submission goes to the shard of its stream, so each stream still
    has a single writer in order, while different enterprises' submissions are in flight at
    once (their Cassandra round trips overlap, and the transparency log commits the leaves of
    the submissions in flight in one LWT). Results come back in the order of the batch. A
    batch is cut at every registry submission (handled alone), so a registration is in force
    for the submissions after it in the same partition (the shards share one
    :class:`RegistryHead`, which the registration moves)."""

    def __init__(self, handlers: list[SubmissionHandler],
                 gathering: Callable[[int], AbstractContextManager[Callable[[], None]]] | None = None) -> None:
        """``gathering(n)``: announce the ``n`` shards about to work through a segment of a batch
        to the transparency log (it yields the ``leave`` each shard calls when done), so their
        leaves go in one group commit (``CassandraTransparencyLog.gathering``)."""
        from concurrent.futures import ThreadPoolExecutor

        self.handlers = handlers
        self.gathering = gathering
        self.ledger = handlers[0].ledger
        self.pool = ThreadPoolExecutor(max_workers=len(handlers), thread_name_prefix="ledger-shard")

    def _shard(self, stream: str) -> int:
        import zlib

        return zlib.crc32(stream.encode()) % len(self.handlers)

    def handle(self, raw: bytes | str) -> tuple[Receipt, list[tuple[str, str]]]:
        return self.handlers[0].handle(raw)

    def bootstrap_events(self) -> list[tuple[str, str]]:
        return self.handlers[0].bootstrap_events()

    def handle_keyed(self, items: list[tuple[bytes | None, bytes]]) -> list[tuple[Receipt, list[tuple[str, str]]]]:
        results: list[Any] = [None] * len(items)
        segment: list[int] = []
        ids = [_submission_id(raw) for _, raw in items]
        seen: dict[tuple[str, str], int] = {}
        for sid in ids:
            if sid is not None:
                seen[sid] = seen.get(sid, 0) + 1
        once = {sid for sid, n in seen.items() if n == 1}

        def flush() -> None:
            groups: dict[int, list[int]] = {}
            for i in segment:
                key = items[i][0]
                groups.setdefault(self._shard(key.decode() if key else ""), []).append(i)

            def run(shard: int, idx: list[int], leave: Callable[[], None]) -> None:
                handler = self.handlers[shard]
                try:
                    handler.recorder.prefetch_many([
                        (*sid, _stream_of(items[i][0])) for i in idx[1:] if (sid := ids[i]) is not None and sid in once])
                    for i in idx:
                        results[i] = handler.handle(items[i][1])
                finally:
                    handler.recorder.drop_ahead()
                    leave()

            with self.gathering(len(groups)) if self.gathering is not None else nullcontext(_stay) as leave:
                for f in [self.pool.submit(run, sh, idx, leave) for sh, idx in groups.items()]:
                    f.result()
            segment.clear()

        for i, (key, _) in enumerate(items):
            if key is not None and key.decode() == REGISTRY_STREAM:
                flush()
                results[i] = self.handlers[0].handle(items[i][1])
            else:
                segment.append(i)
        flush()
        return results


def _submission_id(raw: bytes | str) -> tuple[str, str] | None:
    """(department, submission id) of a submission's bytes, for sending its look-ups ahead;
    None when it cannot be read so (the ledger reads it, and rejects it, itself)."""
    try:
        body = json.loads(raw)
        department, submission_id = body["department"], body["submission_id"]
    except (ValueError, TypeError, KeyError):
        return None
    if isinstance(department, str) and isinstance(submission_id, str):
        return department, submission_id
    return None


def _stream_of(key: bytes | None) -> str | None:
    """The stream a submission message is keyed by (its partition key)."""
    return key.decode() if key is not None else None


def _stay() -> None:
    """The ``leave`` of a handler without a gathering transparency log: nothing to tell."""


def tune_gc(young: int) -> tuple[int, int, int]:
    """The worker's garbage collector (``Settings.worker_gc_young``): the young generation's
    threshold raised from Python's 700 allocations, the older ones left as they are; 0 leaves
    everything as it is. Returns the thresholds in force.

    A batch in flight (its submissions, envelopes, folded states, driver futures) is alive
    when a young collection runs every 700 allocations, so much of it is promoted and reaches
    the oldest generation, whose growth by a quarter triggers a full collection: a scan of
    every object of the worker (its write-model and document caches), during which every
    thread waits. Nothing is left uncollected: young collections still run, only less often."""
    import gc

    if young > 0:
        _, middle, old = gc.get_threshold()
        gc.set_threshold(young, middle, old)
    t0, t1, t2 = gc.get_threshold()
    return t0, t1, t2


@dataclass
class WorkerDeps:
    """What the agents need, built by ``tongxiu.infra.distributed.worker_deps``."""

    settings: Any
    handler: Any
    """:class:`ShardedHandler` (or a single :class:`SubmissionHandler`)."""
    projector: Projector
    closers: list[Callable[[], None]] = field(default_factory=list)

    def close(self) -> None:
        for c in self.closers:
            c()


def apply_shards(projector: Projector, by_partition: dict[int, list[Envelope]]) -> int:
    """Apply what a projection worker polled, each partition of the events topic as one shard
    (``Projector.apply(shard=...)``); returns how many events were applied."""
    return sum(projector.apply(envs, shard=str(p)) for p, envs in sorted(by_partition.items()))


# ---------------------------------------------------------------------- plain engine


def run_plain(deps: WorkerDeps, stop: threading.Event, *, poll_ms: int = 200) -> None:
    """The fallback engine: two kafka-python consumer loops (ledger, projection) in one
    process; offsets committed only after the work they cover is durable."""
    from kafka import KafkaConsumer, KafkaProducer

    from tongxiu.streams.topics import client_config, event_records, outgoing, topic_names

    settings = deps.settings
    tune_gc(settings.worker_gc_young)
    topics = topic_names(settings)
    cfg = client_config(settings)
    group = f"{settings.topic_prefix}-worker"
    producer = KafkaProducer(acks="all", enable_idempotence=True, **cfg)
    key = deps.handler.ledger.key  # signs the public repair records
    for rec in (r for stream, raw in deps.handler.bootstrap_events() for r in event_records(topics, stream, raw, key)):
        producer.send(rec.topic, key=rec.key, value=rec.value, headers=rec.headers)
    producer.flush()

    def ledger_loop() -> None:
        consumer = KafkaConsumer(topics.submissions, group_id=f"{group}-ledger", enable_auto_commit=False,
                                 auto_offset_reset="earliest", isolation_level="read_committed", **cfg)
        try:
            while not stop.is_set():
                batches = consumer.poll(timeout_ms=poll_ms, max_records=200)
                if not batches:
                    continue
                for records in batches.values():
                    for receipt, events in deps.handler.handle_keyed([(r.key, r.value) for r in records]):
                        for rec in outgoing(topics, receipt, events, deps.handler.ledger.key):  # headers, repairs copy (asyncapi)
                            producer.send(rec.topic, key=rec.key, value=rec.value, headers=rec.headers)
                producer.flush()
                consumer.commit()
        finally:
            consumer.close()

    def projection_loop() -> None:
        consumer = KafkaConsumer(topics.events, group_id=f"{group}-projection", enable_auto_commit=False,
                                 auto_offset_reset="earliest", isolation_level="read_committed", **cfg)
        try:
            while not stop.is_set():
                batches = consumer.poll(timeout_ms=poll_ms, max_records=500)
                if not batches:
                    continue
                apply_shards(deps.projector, {tp.partition: [Envelope.from_json(r.value) for r in records]
                                              for tp, records in batches.items()})
                consumer.commit()
        finally:
            consumer.close()

    threads = [threading.Thread(target=ledger_loop, name="ledger", daemon=True),
               threading.Thread(target=projection_loop, name="projection", daemon=True)]
    for t in threads:
        t.start()
    died = False
    try:
        while not stop.is_set():
            if not all(t.is_alive() for t in threads):
                died = True  # a loop raised: stop (uncommitted work is redelivered on restart)
                break
            stop.wait(0.5)
    finally:
        stop.set()
        for t in threads:
            t.join(10)
        producer.close(timeout=5)
    if died:
        raise RuntimeError("a worker loop failed (see the traceback above); restart the worker")
