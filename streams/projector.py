"""The one projector: folds envelopes into the read models, on both backends.

It is fed through a port and does not know by which: the embedded backend feeds it in
process what the ledger has just appended and folded, inside the submission's transaction
(:class:`tongxiu.streams.processor.InProcessProjection`; ``apply(..., folded=...)`` reuses the
ledger's fold when the ledger holds this projector's own state object), or the log's global
order when it is behind; the distributed backend's Faust agent feeds it the events topic
(``tongxiu.streams.faust_app``), and a rebuild feeds it the whole log.

Idempotence, one rule on both backends: **each stream's seq**.

* An event of a stream is applied only if its ``seq`` is exactly the stored state's
  ``seq + 1`` (``EnterpriseState.seq``; ``RegistryState.seq`` for the registry). Lower is a
  redelivery and is skipped; higher means the feed lost or reordered something, and the
  missing range is read from the log (the truth) first. This works with a partitioned log,
  where no global order exists.
* The cross-enterprise read models (supervision per department, inbox per subscriber) carry a
  watermark per stream (``seen``: stream -> last seq applied to this document), so a tally or
  delivery is never applied twice even when a write reached them and not the enterprise state
  that guards the event (Cassandra writes documents in several batches). The documents are
  written in that order: watermarked documents first, the guarding states last, each
  document's head (which holds its guard) after its parts.

The saved ``position`` means one thing on both backends: how many events have been applied.
On the embedded backend, whose log positions are gap-free and which applies every event in
log order, that is also the log position read up to (existing SQLite ledgers keep working
without a rebuild: their saved position was that log position, and watermarks missing from
older documents only mean "nothing of that stream applied yet here").

**Shards** (the distributed backend; ``apply(batch, shard=...)``): any number of projection
workers share the partitions of the events topic, each partition a shard with its own
position (``ShardedProjectionStore``). A stream's documents belong to its shard; a shared
document takes from each shard only rows no other shard writes: per-stream watermarks and
inbox entries, the shard's own monthly tallies (``<month>@<shard>``, added up by readers),
per-stream rows of the due-date index (``tongxiu.projections.due``, kept after every event).
A shard this cache has not written yet, or one another writer moved, drops the cached shared
documents (or everything) first. See docs/scaling.md.

Only the parts a batch changed are written (:class:`tongxiu.projections.documents.Tracker`),
and the documents touched recently stay in memory (an LRU) while the store's position is the
one the cache reflects; the cost of a batch depends on the batch, not on history.
"""

from __future__ import annotations

import contextlib
import copy
import gc
import logging
import zlib
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from pydantic import BaseModel

from tongxiu.events.envelope import Envelope
from tongxiu.events.models import REGISTRY_STREAM, PropagationScheduled
from tongxiu.projections.documents import HEAD, Tracker, all_parts, changed_parts, held_in_head
from tongxiu.projections.due import DUE_DAYS, DUE_FIELD, DUE_PREFIX, due_key, next_due
from tongxiu.projections.fold import Rules, Tally, fold_enterprise, fold_registry
from tongxiu.projections.keys import (
    PROJECTION,
    REGISTRY_KEY,
    SEEN,
    enterprise_key,
    inbox_entry,
    inbox_key,
    supervision_key,
)
from tongxiu.projections.views import EnterpriseState, RegistryState, SupervisionState, shard_month
from tongxiu.projections.views_supervision import add
from tongxiu.services.gcpause import thresholds_at_least
from tongxiu.services.ledger import Folded
from tongxiu.services.ports import (
    ConcurrencyError,
    EventLog,
    PartChanges,
    ProjectionStore,
    ShardedProjectionStore,
)
from tongxiu.services.sized_cache import MIB, REMEASURE_AFTER, SizedCache, json_size

log = logging.getLogger("tongxiu.projector")

OLD_SEEN = "_seen"
"""Where the distributed projector kept the watermarks before they became a split part."""

MAX_RETRIES = 8

SHARD_STRIDE = 1024
"""Inbox positions of a shard are its count of applied events times this plus its index (a
partition number from 0 up, a rebuild part from 1,023 down: unique while partitions and parts
together are at most 1,024; docs/scaling.md)."""


class Projector:
    """Applies envelopes to the read models, idempotent by each stream's seq (module docstring).

    Several processes may feed one store (embedded: processes on one SQLite file). A batch runs
    inside ``store.exclusive()`` and is written with ``expected=<position it started from>``;
    if another writer moved the store first, the cache is dropped and the batch applied again
    (what the other writer applied is then skipped by the seq guard)."""

    def __init__(
        self, store: ProjectionStore, log: EventLog, rules: Rules, *, cache_size: int = 100_000,
        cache_bytes: int = 128 * MIB,
    ) -> None:
        self.store = store
        self.log = log
        self.rules = rules
        self._docs: SizedCache[str, Tracker] = SizedCache(
            max_entries=cache_size, max_bytes=cache_bytes, size_of=_tracked_size, on_evict=self._evicted
        )
        """The documents touched recently (an LRU bounded by entries and by the JSON size of
        the documents; trimmed only after a batch is written)."""
        self._whole: set[str] = set()
        """Keys loaded in an older layout: written whole (every part) next time."""
        self._cached_at: dict[str | None, int] = {}
        """Per shard (None: unsharded), the store position the cached documents reflect."""
        self._shard: str | None = None
        self._due_of: dict[str, str | None] = {}
        """Enterprise key -> its day in the due-date index, as stored (for the loaded ones)."""
        self._batch: dict[str, Tracker] = {}
        """The documents the batch being applied has reached, and ..."""
        self._hits: dict[str, int] = {}
        """... how often: a document is taken from the LRU once per batch (its reads are
        counted there once a batch is written, :meth:`_counted`), not once per event."""
        self._heads: dict[str, Any] = {}
        """The heads of the batch being written, by key (unsharded)."""

    def position(self) -> int:
        """How many events the read models have applied (every shard's, on a sharded store)."""
        return self.store.position(PROJECTION)

    def forget(self) -> None:
        self._docs.clear()
        self._batch.clear()
        self._hits.clear()
        self._whole.clear()
        self._due_of.clear()
        self._cached_at.clear()

    def drop(self, stream: str) -> None:
        """Forget the cached document of one stream (its state was folded ahead of the store)."""
        key = REGISTRY_KEY if stream == REGISTRY_STREAM else enterprise_key(stream)
        self._docs.pop(key)
        self._batch.pop(key, None)
        self._whole.discard(key)
        self._due_of.pop(key, None)

    def cached_state(self, stream: str) -> EnterpriseState | None:
        """The enterprise state this projector holds for ``stream`` (None if not cached)."""
        tracker = self._docs.get(enterprise_key(stream))
        return tracker.obj if tracker is not None and isinstance(tracker.obj, EnterpriseState) else None

    def _drop_shared(self) -> None:
        for key in [k for k in self._docs if k.startswith((supervision_key(""), inbox_key(""), DUE_PREFIX, DUE_DAYS))]:
            self._docs.pop(key)
            self._batch.pop(key, None)
            self._whole.discard(key)

    def apply(self, batch: Iterable[Envelope], *, folded: Folded | None = None, shard: str | None = None) -> int:
        """Fold ``batch`` and write the changed parts; returns how many events were applied
        (redelivered ones are skipped, missing ones read from the log and applied).

        ``folded`` (the embedded write path): ``batch`` is one enterprise stream's events,
        which the ledger has already folded into ``folded.state``. When that object is this
        projector's own document for the stream (the ledger keeps the object the projector
        holds), the events are not folded again: the document's tracked parts already show the
        change, and only the tallies, inbox deliveries and the due-date index are applied.
        Otherwise it folds as usual.

        ``shard``: the batch is one shard's (on the distributed backend, one partition of the
        events topic, which Kafka's consumer group gives one worker at a time); see
        :meth:`_position_of` and the tallies in :meth:`_fold`. Documents of one stream are in
        one shard; the cross-enterprise ones are shared, and each shard writes only its own
        parts of them (per-stream watermarks and inbox entries, its own monthly tallies)."""
        envelopes = list(batch)
        if shard is not None and not isinstance(self.store, ShardedProjectionStore):
            raise TypeError(f"{type(self.store).__name__} cannot be written by shards")
        with _bulk(len(envelopes)):
            for _ in range(MAX_RETRIES):
                with self.store.exclusive():
                    try:
                        return self._apply(envelopes, folded, shard)
                    except ConcurrencyError:
                        self.forget()  # another writer got there first: fold again from the store
                    except BaseException:
                        self.forget()  # the cached documents were folded ahead of the store
                        raise
        raise ConcurrencyError(f"projection {PROJECTION} kept moving; gave up after {MAX_RETRIES} tries")

    # ------------------------------------------------------------------ applying

    def _position_of(self, shard: str | None) -> int:
        store = self.store
        if isinstance(store, ShardedProjectionStore):
            return store.own_position(PROJECTION) if shard is None else store.shard_position(PROJECTION, shard)
        return store.position(PROJECTION)

    def _apply(self, batch: Sequence[Envelope], folded: Folded | None = None, shard: str | None = None) -> int:
        start = self._position_of(shard)
        known = self._cached_at.get(shard)
        if known is None:
            # A shard not written from this cache yet: the shared documents cached may hold
            # its parts as they were when loaded, not as its last writer left them.
            self._drop_shared()
        elif known != start:
            self.forget()  # another writer moved this shard (a rebalance, a rebuild)
        self._shard = shard
        touched: dict[str, Tracker] = {}
        applied = 0
        if folded is not None and batch and batch[0].stream != REGISTRY_STREAM:
            ent = self._doc(enterprise_key(batch[0].stream))
            if ent.obj is folded.state and len(folded.tallies) == len(batch):
                for env, tallies in zip(batch, folded.tallies, strict=True):
                    applied += 1
                    touched[ent.key] = ent
                    self._folded(env, tallies, self._delivery_position(start + applied), touched)
                    self._index_due(ent, touched)
                batch = []
        for incoming in batch:
            if incoming.stream == REGISTRY_STREAM:
                registry = self._doc(REGISTRY_KEY)
                for env in self._missing(registry.obj.seq, incoming):
                    fold_registry(registry.obj, env)
                    touched[registry.key] = registry
                    applied += 1
                continue
            ent = self._doc(enterprise_key(incoming.stream))
            for env in self._missing(ent.obj.seq, incoming):
                applied += 1
                touched[ent.key] = ent
                self._fold(ent.obj, env, self._delivery_position(start + applied), touched)
                self._index_due(ent, touched)
        if not applied:
            self._counted()
            return 0
        if start == 0 and self.store.position(PROJECTION) == 0:
            touched[DUE_DAYS] = self._doc(DUE_DAYS)  # a projection from scratch: a complete index
        if shard is None:
            self.store.write(PROJECTION, self._changes(touched), start + applied, expected=start)
        else:
            assert isinstance(self.store, ShardedProjectionStore)
            self.store.write_shard(PROJECTION, shard, self._changes(touched), start + applied, expected=start)
        heads = self._heads
        for key, tracker in touched.items():
            tracker.fresh = False
            tracker.start()
            head = heads.get(key)
            if head is not None:  # what the store now holds
                tracker.stored_head = head if isinstance(tracker.obj, BaseModel) else _snapshot(head)
        heads.clear()
        self._whole.difference_update(touched)
        self._cached_at[shard] = start + applied
        self._counted()
        self._trim()
        return applied

    def _index_due(self, ent: Tracker, touched: dict[str, Tracker]) -> None:
        """Move the enterprise to the day it is next due in the due-date index
        (``tongxiu.projections.due``), listing the day in ``due-days``; after every event, so
        the index documents do not depend on how the events were batched."""
        day = next_due(ent.obj)
        new = None if day is None else day.isoformat()
        old = self._due_of.get(ent.key)
        if new == old:
            return
        stream = ent.key[len(enterprise_key("")):]
        if old is not None:
            index = self._doc(due_key(old))
            index.obj["streams"].pop(stream, None)
            touched[index.key] = index
        if new is not None:
            index = self._doc(due_key(new))
            index.obj["streams"][stream] = 1
            touched[index.key] = index
            days = self._doc(DUE_DAYS)
            if new not in days.obj["days"]:
                days.obj["days"][new] = 1
                touched[days.key] = days
        self._due_of[ent.key] = new

    def _missing(self, current: int, env: Envelope) -> list[Envelope]:
        """What to apply for ``env`` when the state is at ``current``: nothing (a redelivery),
        ``env``, or the gap up to it read from the log first."""
        if env.seq <= current:
            return []
        if env.seq == current + 1:
            return [env]
        filled = [s.envelope for s in self.log.read_stream(env.stream, from_seq=current + 1, limit=env.seq - current)]
        log.warning("gap in %s: had %s, got %s; read %s from the log", env.stream, current, env.seq, len(filled))
        return [e for e in filled if e.seq <= env.seq]

    def _delivery_position(self, applied: int) -> int:
        """An inbox entry's ``position`` (``tongxiu inbox`` orders by it, ``tongxiu ack`` takes
        it): the count of events applied; on a shard, that shard's count times
        :data:`SHARD_STRIDE` plus the shard's index, so two shards never give the same one."""
        if self._shard is None:
            return applied
        label = self._shard
        if label.isdigit():  # a partition of the events topic: from the bottom of the range
            index = int(label)
        elif label.startswith("r") and label[1:].split("of")[0].isdigit():  # rebuild part r<i>of<n>: from the top
            index = SHARD_STRIDE - 1 - int(label[1:].split("of")[0])
        else:
            index = zlib.crc32(label.encode())
        return applied * SHARD_STRIDE + index % SHARD_STRIDE

    def _fold(self, state: EnterpriseState, env: Envelope, position: int, touched: dict[str, Tracker]) -> None:
        """One enterprise event: its state, the departments' tallies and the inboxes."""
        self._folded(env, fold_enterprise(state, env, self.rules), position, touched)

    def _folded(self, env: Envelope, tallies: list[Tally], position: int, touched: dict[str, Tracker]) -> None:
        """What follows an enterprise event's fold: the departments' tallies and the inboxes."""
        tallied: dict[str, Tracker] = {}
        for tally in tallies:
            sup = self._doc(supervision_key(tally.department))
            if env.seq <= sup.obj.seen.get(env.stream, 0):
                continue  # this document already has it (a write that reached it alone)
            counters = sup.obj.month(tally.month if self._shard is None else shard_month(tally.month, self._shard))
            add(counters, tally.counter, tally.amount)
            tallied[sup.key] = sup
        for sup in tallied.values():  # the watermark once all of the event's tallies are in
            sup.obj.seen[env.stream] = env.seq
            touched[sup.key] = sup
        ev = env.event
        if isinstance(ev, PropagationScheduled):
            for subscriber in ev.subscribers:
                inbox = self._inbox(subscriber, env, touched)
                if inbox is not None:
                    inbox["pending"][f"{env.stream}/{ev.source_event_id}"] = inbox_entry(env, ev, position)
        elif ev.type == "delivery_acknowledged":
            inbox = self._inbox(env.department, env, touched)
            if inbox is not None:
                source = getattr(ev, "source_event_id")  # noqa: B009 - typed union
                inbox["pending"].pop(f"{env.stream}/{source}", None)

    def _inbox(self, subscriber: str, env: Envelope, touched: dict[str, Tracker]) -> dict[str, Any] | None:
        """The subscriber's inbox to change for ``env`` (its watermark moved), or None if
        the inbox already has ``env``."""
        inbox = self._doc(inbox_key(subscriber))
        seen = inbox.obj[SEEN]
        if env.seq <= seen.get(env.stream, 0):
            return None
        seen[env.stream] = env.seq
        touched[inbox.key] = inbox
        doc: dict[str, Any] = inbox.obj
        return doc

    def _changes(self, touched: dict[str, Tracker]) -> dict[str, PartChanges]:
        """The parts to write: watermarked documents first, the guarding states (enterprise
        and registry, whose seq decides whether an event is applied) last; in each document
        its head (which holds the guard) after its parts."""
        order = sorted(touched, key=lambda k: 1 if k == REGISTRY_KEY or k.startswith(enterprise_key("")) else 0)
        changes: dict[str, PartChanges] = {}
        heads = self._heads
        heads.clear()
        for key in order:
            tracker = touched[key]
            if key in self._whole:
                parts, whole = all_parts(tracker), True
            elif tracker.fresh and self._shard is None:
                # nothing stored, and no other writer since (the store is where this cache
                # left it): every part, from one dump, nothing to delete. Not on a shard,
                # whose shared documents other shards write meanwhile.
                parts, whole = all_parts(tracker), False
            else:
                parts, whole = changed_parts(tracker)
            head = parts.pop(HEAD)
            if key in self._due_of:
                head[DUE_FIELD] = self._due_of[key]
            if self._shard is not None:
                parts[HEAD] = head
            else:
                # unsharded (one writer of every document; any other writer makes this cache
                # forget): a head equal to the one this cache last wrote is left as stored
                # (a due-date day's, a department's supervision head: only their rows move)
                if whole or head != tracker.stored_head:
                    parts[HEAD] = head
                heads[key] = head
            if parts or whole:
                changes[key] = PartChanges(parts, whole=whole)
        return changes

    # ------------------------------------------------------------------ documents

    def _doc(self, key: str) -> Tracker:
        tracker = self._batch.get(key)
        if tracker is not None:
            self._hits[key] += 1
            return tracker
        tracker = self._docs.get(key)
        if tracker is None:
            raw = self.store.load(PROJECTION, key)
            tracker = Tracker(key, self._load(key, raw), fresh=raw is None)
            self._docs.put(key, tracker)
        self._batch[key] = tracker
        self._hits[key] = 0
        return tracker

    def _counted(self) -> None:
        """The batch is over: count the LRU's reads of the documents it reached again (the
        first was counted when it was taken); one read :data:`REMEASURE_AFTER` times or more,
        which the LRU would have measured again during the batch, is measured once, now (a
        supervision document through a rebuild's batch: once, not every few events)."""
        docs = self._docs
        for key, hits in self._hits.items():
            if not hits or key not in docs:
                continue
            if hits >= REMEASURE_AFTER:
                docs.put(key, self._batch[key])
            else:
                for _ in range(hits):
                    docs.used(key)
        self._batch.clear()
        self._hits.clear()

    def _load(self, key: str, raw: dict[str, Any] | None) -> Any:
        if raw is not None and OLD_SEEN in raw:  # the distributed projector's older layout
            raw[SEEN] = {**raw.pop(OLD_SEEN), **raw.get(SEEN, {})}
            self._whole.add(key)
        if key not in self._whole and held_in_head(key, raw) and held_in_head(
                key, self.store.load_head(PROJECTION, key)):
            self._whole.add(key)  # written before these collections became rows: rewrite it whole
        if key == REGISTRY_KEY:
            return RegistryState.model_validate(raw) if raw else RegistryState()
        if key.startswith(enterprise_key("")):
            code = key[len(enterprise_key("")):]
            self._due_of[key] = raw.pop(DUE_FIELD, None) if raw else None
            return EnterpriseState.model_validate(raw) if raw else EnterpriseState.empty(code)
        if key.startswith(DUE_PREFIX):
            return raw or {"day": key[len(DUE_PREFIX):], "streams": {}}
        if key == DUE_DAYS:
            # complete: this index will list every stream (it is started with the projection);
            # a projection older than the index needs a rebuild before tick relies on it
            return raw or {"days": {}, "complete": self.store.position(PROJECTION) == 0}
        if key.startswith(supervision_key("")):
            dept = key[len(supervision_key("")):]
            return SupervisionState.model_validate(raw) if raw else SupervisionState(department=dept)
        subscriber = key[len(inbox_key("")):]
        doc = raw or {"subscriber": subscriber, "pending": {}}
        doc.setdefault(SEEN, {})
        return doc

    def _trim(self) -> None:
        self._docs.trim()

    def _evicted(self, key: str, tracker: Tracker) -> None:
        self._whole.discard(key)
        self._due_of.pop(key, None)


BULK_EVENTS = 1000
"""A batch of at least this many events (a long catch-up's, a rebuild part's) is applied
under :func:`bulk`."""


BULK_FULL_EVERY = 100
"""Under :func:`bulk`, a full collection comes at most once per this many collections of the
middle generation (10 by default)."""


@contextlib.contextmanager
def bulk() -> Iterator[None]:
    """For a bulk job (a rebuild, a big batch): the objects the process already holds are left
    out of the cyclic garbage collector's scans until it ends, and full collections come at
    most once per :data:`BULK_FULL_EVERY` middle ones.

    A rebuild allocates what it keeps (the documents, the envelopes of a batch read at once),
    so full collections come often during it, and each scans every object of the process (a
    worker's caches, a server's heap) to free nothing of it. ``gc.freeze()`` moves the objects
    already there out of the collector's generations; ``gc.unfreeze()`` puts them back (in the
    oldest) when the job ends; the young collections, which free short-lived cycles, go on as
    usual. Measured in the table's setting (``bench/table.py`` row e, after the heap rows a-d
    leave behind): full collections were ~50 us of the ~130 us a rebuilt event cost, none
    under this. Nested, it leaves the freezing to the outer one; it does nothing when the
    process froze objects itself (nothing in Tongxiu does) or the collector is off."""
    # asked only outside a bulk of ours: ``gc.get_freeze_count()`` walks every frozen object
    if _in_bulk or not gc.isenabled() or gc.get_freeze_count():
        yield
        return
    _in_bulk.append(True)
    gc.freeze()
    try:
        with thresholds_at_least(old=BULK_FULL_EVERY):  # shared with other jobs (an audit): nesting-safe
            yield
    finally:
        gc.unfreeze()
        _in_bulk.clear()


_in_bulk: list[bool] = []
"""Not empty while :func:`bulk` has the heap frozen."""


def _bulk(events: int) -> contextlib.AbstractContextManager[None]:
    return bulk() if events >= BULK_EVENTS else contextlib.nullcontext()


def _snapshot(head: dict[str, Any]) -> dict[str, Any]:
    """A plain document's head as written, kept to compare the next one with: its values are
    the live document's (``Tracker.head`` copies the top level only), so a non-empty container
    among them is copied (none in today's documents: their heads hold text, numbers and the
    emptied split collections)."""
    return {k: copy.deepcopy(v) if isinstance(v, (dict, list)) and v else v for k, v in head.items()}


def _tracked_size(tracker: Tracker) -> int:
    return json_size(tracker.obj)
