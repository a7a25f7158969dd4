"""A rebuild of the read models split into parts that run side by side (processes, machines)
and resume where they stopped: ``tongxiu rebuild --reset`` once, then ``tongxiu rebuild
--part i/n`` for every ``i`` in ``0..n-1`` (each as often as it takes).

* **Split by stream.** Part ``i`` of ``n`` folds the streams whose CRC-32 modulo ``n`` is
  ``i``, each stream read on its own (``EventLog.read_stream`` in pages), not the whole log in
  one order: the Cassandra log has no cheap global order, and every stream's events are
  independent of every other's (the projector's guard is each stream's seq). The parts write
  one store at once as shards of the projection (``Projector.apply(shard="r<i>of<n>")``):
  the shared documents take each part's rows (per-stream watermarks and inbox entries, the
  part's own monthly tallies), so two parts never overwrite each other's updates.
* **Resumable.** After the events of whole streams are written, the part records the last
  of those streams (in name order) in its checkpoint, a document of the ``rebuild``
  projection (``part:<i>/<n>``). A part started again skips the streams up to it; what it
  applies again of the stream it was in when it stopped is skipped by the seq guard. A
  killed part therefore costs at most one page of events again.

Run it with the workers' projection agents stopped (as any rebuild); what the log received
meanwhile is applied by the workers when they start again (their Kafka offsets are behind).
Streams created while the parts run whose names sort before a part's checkpoint are left to
them as well.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from typing import Any

from tongxiu.events.envelope import Envelope
from tongxiu.projections.documents import HEAD
from tongxiu.projections.keys import PROJECTION
from tongxiu.services.ports import EventLog, PartChanges, ProjectionStore, ShardedProjectionStore, iter_stream
from tongxiu.streams.processor import FORMAT_KEY, READ_MODEL_FORMAT
from tongxiu.streams.projector import Projector, bulk

CHECKPOINTS = "rebuild"
"""The projection holding each part's checkpoint (kept apart from the read models)."""


def parse_part(text: str) -> tuple[int, int]:
    """``"i/n"`` -> (i, n), with ``0 <= i < n``."""
    first, sep, second = text.partition("/")
    if not sep or not first.isdigit() or not second.isdigit() or not 0 <= int(first) < int(second):
        raise ValueError(f"a part is i/n with 0 <= i < n (e.g. 0/4), got {text!r}")
    return int(first), int(second)


def part_of(stream: str, parts: int) -> int:
    return zlib.crc32(stream.encode()) % parts


def checkpoint_key(part: int, parts: int) -> str:
    return f"part:{part}/{parts}"


def shard_label(part: int, parts: int) -> str:
    return f"r{part}of{parts}"


def reset(store: ProjectionStore) -> None:
    """Forget the read models and every part's checkpoint: the first step of a split rebuild
    (which writes the read models in the current format: recorded here)."""
    store.reset(PROJECTION)
    store.reset(CHECKPOINTS)
    store.save(FORMAT_KEY, {}, READ_MODEL_FORMAT)


def checkpoint(store: ProjectionStore, part: int, parts: int) -> dict[str, Any]:
    """``{"after": the last stream done, "" for none}``."""
    return store.load(CHECKPOINTS, checkpoint_key(part, parts)) or {"after": ""}


def rebuild_part(
    projector: Projector, log: EventLog, part: int, parts: int, *, page: int = 1000,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Fold part ``part`` of ``parts`` into the store from its checkpoint on; returns how many
    events this part has applied in all (this run and the earlier ones: its shard's position)."""
    store = projector.store
    if not isinstance(store, ShardedProjectionStore):
        raise TypeError(f"{type(store).__name__} cannot be rebuilt in parts (the distributed backend's store can)")
    key = checkpoint_key(part, parts)
    label = shard_label(part, parts)
    done = checkpoint(store, part, parts)
    streams = sorted(s for s in log.streams() if part_of(s, parts) == part and s > done["after"])
    pending: list[Envelope] = []
    finished = ""  # the last stream whose every event is in ``pending`` or applied

    def flush() -> None:
        if pending:
            projector.apply(pending, shard=label)
            if progress is not None:
                progress(len(pending))
            pending.clear()
        if finished:
            store.write(CHECKPOINTS, {key: PartChanges({HEAD: {"after": finished}})}, 0)

    with bulk():  # the process's other objects left out of the collector's scans meanwhile
        for stream in streams:
            for stored in iter_stream(log, stream, batch=page):
                pending.append(stored.envelope)
                if len(pending) >= page:
                    flush()
            finished = stream
        flush()
    return store.shard_position(PROJECTION, label)
