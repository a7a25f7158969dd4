"""The stream processor that builds the read models from the log.

It tails the log in order, folds each event into the enterprise view (credit, rectification,
sync), the registry, the supervision figures and the subscribers' inboxes, and saves every
part of a document it changed together with the position it has read, in one atomic write. An
event at or below the saved position is skipped, so redelivery after a crash never applies an
event twice, and a batch is written only if the position is still the one it started from.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any

from tongxiu.events.envelope import Envelope
from tongxiu.events.models import REGISTRY_STREAM, PropagationScheduled
from tongxiu.projections.documents import Tracker, changed_parts
from tongxiu.projections.fold import Rules, fold_enterprise, fold_registry
from tongxiu.projections.keys import PROJECTION, enterprise_key, inbox_entry, inbox_key, supervision_key
from tongxiu.projections.views import EnterpriseState, RegistryState, SupervisionState
from tongxiu.services.ports import (
    ConcurrencyError,
    EventLog,
    PartChanges,
    ProjectionStore,
    ReadSync,
    StoredEvent,
)


class ProjectionRunner:
    """Applies batches of stored events to the read models, incrementally.

    It keeps the documents it has touched in memory (an LRU of :class:`Tracker`), mirroring
    the store at the position it last saw, and writes only the parts a batch changed
    (``ProjectionStore.write``), so the cost of a batch depends on the batch, not on how long
    the enterprise's history is.

    Several processes may run a runner on one store. A batch runs inside
    ``store.exclusive()`` (SQLite: one IMMEDIATE transaction) and is written with
    ``expected=<position it started from>``, so no event is applied twice. When another
    process has moved the store past our cache, the events in between are read from the log
    and folded into the cached documents (without writing), or the cache is dropped.
    """

    def __init__(self, store: ProjectionStore, rules: Rules, *, cache_size: int = 512,
                 replay_limit: int = 5000) -> None:
        self.store = store
        self.rules = rules
        self.log: EventLog | None = None
        self.cache_size = cache_size
        self.replay_limit = replay_limit
        self._docs: OrderedDict[str, Tracker] = OrderedDict()
        self._cached_at: int | None = None
        """The store position the cached documents reflect (None: nothing cached)."""

    def position(self) -> int:
        return self.store.position(PROJECTION)

    def apply(self, batch: Iterable[StoredEvent]) -> int:
        """Fold ``batch`` (in log order) and write the changed parts; returns how many events
        were applied (events at or below the stored position are skipped)."""
        with self.store.exclusive():
            try:
                return self._apply(list(batch))
            except BaseException:
                self.forget()
                raise

    def catch_up(self, log: EventLog, *, batch: int = 500) -> int:
        """Apply everything the log holds past the saved position."""
        self.log = log
        total = 0
        while True:
            with self.store.exclusive():
                chunk = log.read_all(after=self.position(), limit=batch)
                if not chunk:
                    return total
                try:
                    total += self.apply(chunk)
                except ConcurrencyError:  # another process applied them first: read again
                    continue

    def forget(self) -> None:
        self._docs.clear()
        self._cached_at = None

    # ------------------------------------------------------------------ applying

    def _apply(self, batch: list[StoredEvent]) -> int:
        start = self.position()
        self._sync_cache(start)
        position = start
        touched: dict[str, Tracker] = {}
        applied = 0
        for stored in batch:
            if stored.position <= position:
                continue
            position = stored.position
            applied += 1
            self._fold(stored.envelope, stored.position, touched, load=True)
        if not applied:
            return 0
        changes: dict[str, PartChanges] = {}
        for key, tracker in touched.items():
            parts, whole = changed_parts(tracker)
            changes[key] = PartChanges(parts, whole=whole)
        self.store.write(PROJECTION, changes, position, expected=start)
        for tracker in touched.values():
            tracker.start()
        self._cached_at = position
        self._trim()
        return applied

    def _sync_cache(self, position: int) -> None:
        """Make the cached documents reflect the store at ``position``."""
        if self._cached_at is None or self._cached_at == position:
            self._cached_at = position
            return
        behind = position - self._cached_at
        if self.log is None or behind < 0 or behind > self.replay_limit or not self._docs:
            self.forget()
            self._cached_at = position
            return
        after = self._cached_at
        while after < position:
            chunk = self.log.read_all(after=after, limit=min(1000, position - after))
            if not chunk:
                break
            for stored in chunk:
                if stored.position > position:
                    break
                self._fold(stored.envelope, stored.position, {}, load=False)
                after = stored.position
        for tracker in self._docs.values():
            tracker.start()
        self._cached_at = position

    def _fold(self, env: Envelope, position: int, touched: dict[str, Tracker], *, load: bool) -> None:
        """Fold one event into the documents. ``load=False`` replays an event another process
        already wrote: only cached documents are updated, and nothing is marked to write."""
        if env.stream == REGISTRY_STREAM:
            reg = self._doc("registry", touched, load)
            if reg is not None:
                fold_registry(reg.obj, env)
            return
        ent = self._doc(enterprise_key(env.stream), touched, load)
        if ent is not None and not load and ent.obj.seq != env.seq - 1:  # not the state it follows
            del self._docs[ent.key]
            ent = None
        if ent is None:  # replaying without the state: its tallies are unknown
            for key in [k for k in self._docs if k.startswith(supervision_key(""))]:
                del self._docs[key]
        else:
            for tally in fold_enterprise(ent.obj, env, self.rules):
                sup = self._doc(supervision_key(tally.department), touched, load)
                if sup is None:
                    continue
                counters = sup.obj.month(tally.month)
                setattr(counters, tally.counter, getattr(counters, tally.counter) + tally.amount)
        ev = env.event
        if isinstance(ev, PropagationScheduled):
            for subscriber in ev.subscribers:
                inbox = self._doc(inbox_key(subscriber), touched, load)
                if inbox is not None:
                    inbox.obj["pending"][f"{env.stream}/{ev.source_event_id}"] = inbox_entry(env, ev, position)
        elif ev.type == "delivery_acknowledged":
            inbox = self._doc(inbox_key(env.department), touched, load)
            if inbox is not None:
                inbox.obj["pending"].pop(f"{env.stream}/{ev.source_event_id}", None)

    def _doc(self, key: str, touched: dict[str, Tracker], load: bool) -> Tracker | None:
        tracker = self._docs.get(key)
        if tracker is None:
            if not load:
                return None
            tracker = Tracker(key, self._load(key))
            self._docs[key] = tracker
        self._docs.move_to_end(key)
        if load:
            touched[key] = tracker
        return tracker

    def _load(self, key: str) -> Any:
        raw = self.store.load(PROJECTION, key)
        if key == "registry":
            return RegistryState.model_validate(raw) if raw else RegistryState()
        if key.startswith(enterprise_key("")):
            code = key[len(enterprise_key("")):]
            return EnterpriseState.model_validate(raw) if raw else EnterpriseState.empty(code)
        if key.startswith(supervision_key("")):
            dept = key[len(supervision_key("")):]
            return SupervisionState.model_validate(raw) if raw else SupervisionState(department=dept)
        subscriber = key[len(inbox_key("")):]
        return raw or {"subscriber": subscriber, "pending": {}}

    def _trim(self) -> None:
        while len(self._docs) > self.cache_size:
            self._docs.popitem(last=False)


class InProcessProjection(ReadSync):
    """The embedded backend's :class:`ReadSync`: the runner folds the log in this process."""

    def __init__(self, runner: ProjectionRunner, log: EventLog) -> None:
        self.runner = runner
        self.log = log

    def position(self) -> int:
        return self.runner.position()

    def catch_up(self) -> int:
        return self.runner.catch_up(self.log)

    def rebuild(self, progress: Callable[[int], None] | None = None) -> int:
        return rebuild(self.runner, self.log, progress)


def rebuild(runner: ProjectionRunner, log: EventLog, progress: Callable[[int], None] | None = None) -> int:
    """Forget the read models and fold the whole log again, chunk by chunk."""
    runner.store.reset(PROJECTION)
    runner.forget()
    applied = 0
    while chunk := log.read_all(after=runner.position(), limit=1000):
        applied += runner.apply(chunk)
        if progress is not None:
            progress(len(chunk))
    return applied
