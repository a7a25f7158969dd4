"""The distributed worker's logic, independent of the stream runtime (Faust in
``tongxiu.streams.faust_app``; a plain kafka-python loop here as the fallback engine).

* :class:`SubmissionHandler` — the ledger agent's step: the same ``Ledger.submit`` as the
  embedded backend, on Cassandra ports; returns the receipt and the envelopes to publish.
* :class:`Projector` — the projection agent's step: folds envelopes into the read models,
  idempotent under redelivery (see its docstring).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from tongxiu.events.envelope import Envelope, Receipt
from tongxiu.events.models import REGISTRY_STREAM, PropagationScheduled
from tongxiu.projections.fold import Rules, fold_enterprise, fold_registry
from tongxiu.projections.keys import PROJECTION, enterprise_key, inbox_entry, inbox_key, supervision_key
from tongxiu.projections.views import EnterpriseState, RegistryState, SupervisionState
from tongxiu.services.ledger import Ledger
from tongxiu.services.ports import EventLog, ProjectionStore, StoredEvent

log = logging.getLogger("tongxiu.worker")

SEEN = "_seen"
"""Per-stream watermark kept inside cross-enterprise read models (supervision, inbox)."""


class RecordingLog(EventLog):
    """Delegates to the real log and remembers the envelopes of the last successful append,
    so the worker publishes what it wrote without reading it back."""

    def __init__(self, inner: EventLog) -> None:
        self.inner = inner
        self.appended: list[Envelope] = []

    def append(self, stream: str, expected_seq: int, envelopes: Sequence[Envelope]) -> None:
        self.inner.append(stream, expected_seq, envelopes)
        self.appended.extend(envelopes)

    def read_stream(self, stream: str, *, from_seq: int = 1, limit: int | None = None) -> list[StoredEvent]:
        return self.inner.read_stream(stream, from_seq=from_seq, limit=limit)

    def last_seq(self, stream: str) -> int:
        return self.inner.last_seq(stream)

    def streams(self) -> list[str]:
        return self.inner.streams()

    def read_all(self, *, after: int = 0, limit: int = 1000) -> list[StoredEvent]:
        return self.inner.read_all(after=after, limit=limit)

    def find_submission(self, department: str, submission_id: str) -> list[StoredEvent]:
        return self.inner.find_submission(department, submission_id)


class SubmissionHandler:
    """Wraps the ledger's log with a :class:`RecordingLog` (pass the ledger built on the
    plain port; the handler swaps in the recorder)."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.recorder = ledger.log if isinstance(ledger.log, RecordingLog) else RecordingLog(ledger.log)
        ledger.log = self.recorder

    def handle(self, raw: bytes | str) -> tuple[Receipt, list[tuple[str, str]]]:
        """Submit; returns the receipt and (stream, envelope JSON) to publish on the events
        topic. The envelopes are read back from the log, so a redelivered submission (worker
        died after the Cassandra append, before publishing) publishes them again; the
        projector drops the copies."""
        ledger = self.ledger
        # Another worker (or shard) may have registered a department: Ledger.registry()
        # catches up with the registry stream's head on every call, so nothing to do here.
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
    has a single writer in order, while different enterprises' Cassandra round trips overlap.
    A batch is cut at every registry submission (handled alone), so a registration is in force
    for the submissions after it in the same partition. ``Ledger.registry()`` catches up with
    the registry stream's head, so a shard never decides with a stale registry."""

    def __init__(self, handlers: list[SubmissionHandler]) -> None:
        from concurrent.futures import ThreadPoolExecutor

        self.handlers = handlers
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

        def flush() -> None:
            groups: dict[int, list[int]] = {}
            for i in segment:
                key = items[i][0]
                groups.setdefault(self._shard(key.decode() if key else ""), []).append(i)

            def run(shard: int, idx: list[int]) -> None:
                for i in idx:
                    results[i] = self.handlers[shard].handle(items[i][1])

            for f in [self.pool.submit(run, sh, idx) for sh, idx in groups.items()]:
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


class Projector:
    """Folds envelopes from the events topic into the projection store.

    Idempotence: an enterprise event is applied only if its ``seq`` is exactly the stored
    ``EnterpriseState.seq + 1``; lower is a redelivery and is skipped; higher means the topic
    lost or reordered something, and the missing range is read from the Cassandra log (the
    truth) first. The registry is guarded the same way by ``RegistryState.seq``.

    Cross-enterprise models (supervision per department, inbox per subscriber) are written in
    the same ``save`` as the enterprise state whose seq guards them, and additionally carry a
    per-stream watermark (``_seen``: stream -> last seq applied) so a tally or delivery is
    never applied twice even if a save was only partly visible.

    The saved position is the number of events applied in total, so ``position ==
    sum(last_seq)`` over the log means "caught up". One projector process at a time: the
    read-modify-write of supervision/inbox across partitions is not safe under two
    concurrent projectors (see the report).
    """

    def __init__(self, store: ProjectionStore, log: EventLog, rules: Rules) -> None:
        self.store = store
        self.log = log
        self.rules = rules

    def _missing(self, current: int, env: Envelope) -> list[Envelope]:
        if env.seq <= current:
            return []
        if env.seq == current + 1:
            return [env]
        filled = [s.envelope for s in self.log.read_stream(env.stream, from_seq=current + 1) if s.envelope.seq <= env.seq]
        log.warning("gap in %s: had %s, got %s; filled %s from the log", env.stream, current, env.seq, len(filled))
        return filled

    def apply(self, batch: Iterable[Envelope]) -> int:
        position = self.store.position(PROJECTION)
        enterprises: dict[str, EnterpriseState] = {}
        supervision: dict[str, tuple[SupervisionState, dict[str, int]]] = {}
        inboxes: dict[str, dict[str, Any]] = {}
        registry: RegistryState | None = None
        applied = 0
        for incoming in batch:
            if incoming.stream == REGISTRY_STREAM:
                if registry is None:
                    raw = self.store.load(PROJECTION, "registry")
                    registry = RegistryState.model_validate(raw) if raw else RegistryState()
                for env in self._missing(registry.seq, incoming):
                    fold_registry(registry, env)
                    position += 1
                    applied += 1
                continue
            state = enterprises.get(incoming.stream)
            if state is None:
                raw = self.store.load(PROJECTION, enterprise_key(incoming.stream))
                state = EnterpriseState.model_validate(raw) if raw else EnterpriseState.empty(incoming.stream)
                enterprises[incoming.stream] = state
            for env in self._missing(state.seq, incoming):
                position += 1
                applied += 1
                touched: set[str] = set()
                for tally in fold_enterprise(state, env, self.rules):
                    sup, seen = self._supervision(supervision, tally.department)
                    if env.seq <= seen.get(env.stream, 0):
                        continue
                    counters = sup.month(tally.month)
                    setattr(counters, tally.counter, getattr(counters, tally.counter) + tally.amount)
                    touched.add(tally.department)
                for dept in touched:
                    supervision[dept][1][env.stream] = env.seq
                ev = env.event
                if isinstance(ev, PropagationScheduled):
                    for subscriber in ev.subscribers:
                        inbox = self._inbox(inboxes, subscriber)
                        if env.seq <= inbox[SEEN].get(env.stream, 0):
                            continue
                        inbox["pending"][f"{env.stream}/{ev.source_event_id}"] = inbox_entry(env, ev, position)
                        inbox[SEEN][env.stream] = env.seq
                elif ev.type == "delivery_acknowledged":
                    inbox = self._inbox(inboxes, env.department)
                    if env.seq > inbox[SEEN].get(env.stream, 0):
                        source = getattr(ev, "source_event_id")  # noqa: B009 (typed union)
                        inbox["pending"].pop(f"{env.stream}/{source}", None)
                        inbox[SEEN][env.stream] = env.seq
        if not applied:
            return 0
        # the documents an enterprise state guards (by its seq) are listed before it: a store
        # that writes in several batches writes them in this order (infra/cassandra_batches.py)
        updates: dict[str, dict[str, Any]] = {}
        for dept, (sup, seen) in supervision.items():
            updates[supervision_key(dept)] = {**sup.model_dump(mode="json"), SEEN: seen}
        for sub, inbox in inboxes.items():
            updates[inbox_key(sub)] = inbox
        for code, st in enterprises.items():
            updates[enterprise_key(code)] = st.model_dump(mode="json")
        if registry is not None:
            updates["registry"] = registry.model_dump(mode="json")
        self.store.save(PROJECTION, updates, position)
        return applied

    def _supervision(
        self, cache: dict[str, tuple[SupervisionState, dict[str, int]]], department: str
    ) -> tuple[SupervisionState, dict[str, int]]:
        if department not in cache:
            raw = self.store.load(PROJECTION, supervision_key(department))
            sup = SupervisionState.model_validate(raw) if raw else SupervisionState(department=department)
            cache[department] = (sup, dict((raw or {}).get(SEEN, {})))
        return cache[department]

    def _inbox(self, cache: dict[str, dict[str, Any]], subscriber: str) -> dict[str, Any]:
        inbox = cache.get(subscriber)
        if inbox is None:
            inbox = self.store.load(PROJECTION, inbox_key(subscriber)) or {"subscriber": subscriber, "pending": {}}
            inbox.setdefault(SEEN, {})
            cache[subscriber] = inbox
        return inbox


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


# ---------------------------------------------------------------------- plain engine


def run_plain(deps: WorkerDeps, stop: threading.Event, *, poll_ms: int = 200) -> None:
    """The fallback engine: two kafka-python consumer loops (ledger, projection) in one
    process; offsets committed only after the work they cover is durable."""
    from kafka import KafkaConsumer, KafkaProducer

    from tongxiu.streams.topics import client_config, topic_names

    settings = deps.settings
    topics = topic_names(settings)
    cfg = client_config(settings)
    group = f"{settings.topic_prefix}-worker"
    producer = KafkaProducer(acks="all", enable_idempotence=True, **cfg)
    for stream, raw in deps.handler.bootstrap_events():
        producer.send(topics.events, key=stream.encode(), value=raw.encode())
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
                        for stream, raw in events:
                            producer.send(topics.events, key=stream.encode(), value=raw.encode())
                        producer.send(topics.receipts, key=receipt.stream.encode(),
                                      value=receipt.model_dump_json().encode())
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
                envs = [Envelope.from_json(r.value) for records in batches.values() for r in records]
                deps.projector.apply(envs)
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
