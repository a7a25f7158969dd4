"""An LRU cache bounded by a byte budget as well as by a number of entries: the write model's
folded states (:class:`tongxiu.services.ledger.Ledger`) and the projector's read-model
documents (:class:`tongxiu.streams.projector.Projector`) are kept in it, so a worker's memory is
bounded by configuration (``cache_mib``) however many enterprises it sees.

An entry's size is the length of its JSON (pydantic-core's serializer, which takes models and
plain dicts alike), measured when it is put and again after a number of reads: the cached
objects are folded in place, so they grow, and the count may lag behind by the growth of the
last reads. The number of reads between two measures doubles from :data:`REMEASURE_AFTER` up
to :data:`REMEASURE_EVERY` (and is at least one per :data:`REMEASURE_BYTES` of the size, within
that cap): an entry just created is measured again soon, a long-lived one every
:data:`REMEASURE_EVERY` reads (it was every :data:`REMEASURE_AFTER` reads for the small documents
of the write path, where measuring cost about 3 % of a submission: issue 11). Its size in
memory as Python objects is a few times that; the budget is on the JSON size.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

from pydantic_core import to_json

K = TypeVar("K")
V = TypeVar("V")

REMEASURE_EVERY = 32
"""An entry's size is measured again after at most this many reads (or changes) of it ..."""

REMEASURE_BYTES = 2048
"""... after at least one read per this many bytes of its last size (within that cap) ..."""

REMEASURE_AFTER = 4
"""... and the first time after this many reads, then after twice as many reads as the time
before: a small entry (a document just created, still growing) is measured again soon, a
long-lived one rarely, and no entry stays counted at the size it had when it was empty."""

MIB = 1 << 20


def json_size(value: Any) -> int:
    """Bytes of the JSON form of ``value`` (a pydantic model, or JSON-able dicts and lists)."""
    return len(to_json(value, fallback=str))


class SizedCache(Generic[K, V]):
    """Least recently used first out, when there are more than ``max_entries`` entries or their
    sizes add up to more than ``max_bytes``. The byte budget keeps at least the most
    recently used entry, even alone over it. ``size_of`` measures an entry (default :func:`json_size`);
    ``on_evict`` is told of every eviction."""

    def __init__(
        self,
        *,
        max_entries: int,
        max_bytes: int,
        size_of: Callable[[V], int] = json_size,
        on_evict: Callable[[K, V], None] | None = None,
    ) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.size_of = size_of
        self.on_evict = on_evict
        self._items: OrderedDict[K, V] = OrderedDict()
        self._sizes: dict[K, int] = {}
        self._uses: dict[K, int] = {}
        self._gaps: dict[K, int] = {}
        """Reads until an entry is measured again."""
        self.bytes = 0
        """The sum of the entries' sizes, as last measured."""

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def __iter__(self) -> Iterator[K]:
        return iter(self._items)

    def get(self, key: K) -> V | None:
        """The entry (now the most recently used), or None."""
        value = self._items.get(key)
        if value is not None:
            self._items.move_to_end(key)
            self.used(key)
        return value

    def used(self, key: K) -> None:
        """``key``'s value was (or may have been) changed: measure it again once this has been
        called as many times as its gap says (:data:`REMEASURE_AFTER` after a put, then
        doubling, at most :data:`REMEASURE_EVERY`)."""
        uses = self._uses.get(key, 0) + 1
        if uses >= self._gaps.get(key, REMEASURE_AFTER):
            self._measure(key, again=True)
            uses = 0
        self._uses[key] = uses

    def put(self, key: K, value: V) -> None:
        """Add or replace ``key`` (measured now, most recently used). Nothing is evicted
        until :meth:`trim` (a caller may hold entries it has not saved yet). Putting back the
        very object already held (folded in place by its holder: the write path does so after
        every submission) only makes it the most recently used: it was read by :meth:`get`
        before it was folded, and is measured again on the reads' schedule."""
        if self._items.get(key) is value:
            self._items.move_to_end(key)
            return
        self._items[key] = value
        self._items.move_to_end(key)
        self._uses[key] = 0
        self._measure(key, again=False)

    def pop(self, key: K) -> V | None:
        self._uses.pop(key, None)
        self._gaps.pop(key, None)
        self.bytes -= self._sizes.pop(key, 0)
        return self._items.pop(key, None)

    def clear(self) -> None:
        self._items.clear()
        self._sizes.clear()
        self._uses.clear()
        self._gaps.clear()
        self.bytes = 0

    def trim(self) -> None:
        """Evict least recently used entries until within both bounds (the byte budget
        never evicts the most recently used one; ``max_entries=0`` keeps nothing)."""
        while len(self._items) > self.max_entries or (len(self._items) > 1 and self.bytes > self.max_bytes):
            key = next(iter(self._items))
            value = self.pop(key)
            if self.on_evict is not None and value is not None:
                self.on_evict(key, value)

    def _measure(self, key: K, *, again: bool) -> None:
        size = self.size_of(self._items[key])
        self.bytes += size - self._sizes.get(key, 0)
        self._sizes[key] = size
        gap = 2 * self._gaps.get(key, REMEASURE_AFTER) if again else REMEASURE_AFTER
        self._gaps[key] = min(REMEASURE_EVERY, max(gap, size // REMEASURE_BYTES))
