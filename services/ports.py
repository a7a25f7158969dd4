"""The ports the use cases need. Each backend (SQLite embedded, Kafka + Cassandra distributed)
implements them; ``tests/contract`` holds one suite per port that every adapter must pass.
"""

from __future__ import annotations

import abc
import contextlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tongxiu.events.envelope import Envelope, Receipt


class ConcurrencyError(Exception):
    """Another writer appended to the stream first; re-read and decide again."""


@dataclass(frozen=True)
class StoredEvent:
    """An envelope plus the exact JSON it was stored as (hashes are checked on these bytes)."""

    envelope: Envelope
    raw: str
    position: int = 0
    """Global position: gap-free order of the whole log in the embedded backend; in the
    distributed backend the Kafka offset order per partition (0 where unknown)."""


class EventLog(abc.ABC):
    """Append-only, per-stream, gap-free sequences.

    Guarantees: ``append`` stores all given envelopes or none; it raises
    :class:`ConcurrencyError` unless the stream's last sequence equals ``expected_seq``
    (0 for a new stream), so two writers can never both write sequence n.
    """

    cheap_heads: bool = False
    """``last_seq`` costs no round trip while no other writer wrote (the embedded logs): the
    ledger then checks each cached stream state against it before deciding, so a process
    sharing the file with another never decides on a state the other has moved past."""

    @abc.abstractmethod
    def append(self, stream: str, expected_seq: int, envelopes: Sequence[Envelope]) -> None: ...

    @abc.abstractmethod
    def read_stream(self, stream: str, *, from_seq: int = 1, limit: int | None = None) -> list[StoredEvent]:
        """Events of ``stream`` from ``from_seq`` in seq order, at most ``limit`` of them."""

    def read_stream_raw(self, stream: str, *, from_seq: int = 1, limit: int | None = None) -> list[str]:
        """The stored JSON of what :meth:`read_stream` returns, not decoded: for readers that
        decode each event once themselves (the audit). Adapters override it to skip decoding."""
        return [s.raw for s in self.read_stream(stream, from_seq=from_seq, limit=limit)]

    def read_stream_stored(self, stream: str, *, from_seq: int = 1, limit: int | None = None) -> Sequence[str | bytes]:
        """:meth:`read_stream_raw` as cheaply as the store gives it: UTF-8 bytes where the adapter
        reads them without decoding (pydantic-core and orjson parse UTF-8 directly, so a ``str``
        would be decoded and encoded back), else text (this default)."""
        return self.read_stream_raw(stream, from_seq=from_seq, limit=limit)

    @abc.abstractmethod
    def last_seq(self, stream: str) -> int: ...

    @abc.abstractmethod
    def streams(self) -> list[str]:
        """Every stream id, sorted."""

    def heads_recent(self) -> dict[str, int]:
        """Every stream's head (stream -> last seq) as one reader sees them: every commit
        completed before the call. A log may read them all at once (Cassandra: one plain read
        of its heads table)."""
        return {s: self.last_seq(s) for s in self.streams()}

    @abc.abstractmethod
    def read_all(self, *, after: int = 0, limit: int = 1000) -> list[StoredEvent]:
        """Events in global order after position ``after`` (the feed the processors tail)."""

    @abc.abstractmethod
    def find_submission(self, department: str, submission_id: str, *, stream: str | None = None) -> list[StoredEvent]:
        """The events an accepted submission produced (empty if none): the log itself is
        the record of accepted submissions, so a crash between append and receipt cannot
        make a resubmission append twice.

        ``stream``: the stream the submission is for. A caller about to decide whether to
        append (the ledger) passes it. Every log indexes a submission before or with its
        commit (SQLite and memory in the append's own transaction, Cassandra just before its
        head LWT), so a resend to any stream finds it; Cassandra also looks at that stream's
        last committed append when the index has no entry, for a head last committed by a
        session-13 writer (which indexed after its commit) that died in between, and
        completes the index."""

    def last_position(self) -> int | None:
        """The global position of the last event, on a log whose positions are gap-free and
        count its events (the embedded ones); None where no such order exists (Cassandra)."""
        return None

    def tamper_for_test(self, stream: str, seq: int, raw: str) -> None:  # pragma: no cover
        """Overwrite one stored event: only tests that prove ``verify`` catches tampering."""
        raise NotImplementedError


@dataclass(frozen=True)
class RejectionRecord:
    receipt: Receipt
    submission: dict[str, Any] | str
    """The submission as received (parsed JSON, or the raw text when it did not parse)."""
    authenticated: bool
    """True when the department's signature verified. Only authenticated rejections answer
    a resubmission of the same id; an unsigned or forged one must not block the real
    department from using that id."""


class RejectionLog(abc.ABC):
    """Every rejected submission with its reasons: nothing is silently dropped."""

    @abc.abstractmethod
    def record(self, rejection: RejectionRecord) -> None: ...

    @abc.abstractmethod
    def get(self, department: str, submission_id: str) -> RejectionRecord | None:
        """The first authenticated rejection of this submission id, if any."""

    @abc.abstractmethod
    def list(
        self, *, department: str | None = None, stream: str | None = None, limit: int = 100, offset: int = 0
    ) -> list[RejectionRecord]: ...

    @abc.abstractmethod
    def count(self, *, department: str | None = None, stream: str | None = None) -> int:
        """How many rejections match, without reading them."""


class ProjectionStore(abc.ABC):
    """Read models by (projection, key), each saved together with the log position the
    projection has read: a redelivered event is never applied twice.

    A document is stored as parts (``tongxiu.projections.documents``: a head plus one row per entry
    of its growing collections); ``load`` assembles it, ``write`` changes only the given
    parts, so the cost of an update does not grow with the document. SQLite writes every
    ``save``/``write`` in one transaction; Cassandra in logged batches (see its adapter)."""

    @abc.abstractmethod
    def load(self, projection: str, key: str) -> dict[str, Any] | None:
        """The whole document (assembled from its parts), or None."""

    @abc.abstractmethod
    def load_head(self, projection: str, key: str) -> dict[str, Any] | None:
        """Only the document's head part (its split collections empty), or None."""

    def load_heads(self, projection: str, keys: Sequence[str]) -> dict[str, dict[str, Any] | None]:
        """:meth:`load_head` of each key (a store may read several per request: Cassandra)."""
        return {key: self.load_head(projection, key) for key in keys}

    @abc.abstractmethod
    def save(self, projection: str, updates: dict[str, dict[str, Any]], position: int) -> None:
        """Replace each key's whole document with ``updates[key]`` and set ``position``."""

    @abc.abstractmethod
    def write(
        self, projection: str, changes: dict[str, PartChanges], position: int, *, expected: int | None = None
    ) -> None:
        """Apply part changes (key -> :class:`PartChanges`) and set ``position``; with
        ``expected``, raise :class:`ConcurrencyError` and write nothing unless the stored
        position is still ``expected`` (another processor got there first)."""

    def exclusive(self) -> contextlib.AbstractContextManager[None]:
        """Hold the store's write lock across a read-fold-write (SQLite: one IMMEDIATE
        transaction, so processes on one file apply batches one at a time). Default: none;
        ``write(expected=...)`` still refuses a stale batch."""
        return contextlib.nullcontext()

    @abc.abstractmethod
    def position(self, projection: str) -> int: ...

    @abc.abstractmethod
    def keys(self, projection: str) -> list[str]: ...

    def load_many(self, projection: str, keys: Sequence[str]) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for key in keys:
            state = self.load(projection, key)
            if state is not None:
                out[key] = state
        return out

    @abc.abstractmethod
    def reset(self, projection: str) -> None:
        """Forget a projection (for rebuilds)."""


class ShardedProjectionStore(ProjectionStore):
    """A projection store several projection workers write at once, each owning *shards*
    (on the distributed backend a shard is a partition of the events topic, so Kafka's
    consumer group gives every shard one owner at a time). Each shard has its own position
    (how many events that shard's writer applied); ``position(projection)`` is the total:
    the projection's own position plus every shard's. ``reset`` forgets the shards too."""

    @abc.abstractmethod
    def own_position(self, projection: str) -> int:
        """The position an unsharded writer (a rebuild) set, without the shards'."""

    @abc.abstractmethod
    def shard_position(self, projection: str, shard: str) -> int:
        """How many events the writer of ``shard`` applied."""

    @abc.abstractmethod
    def write_shard(
        self, projection: str, shard: str, changes: dict[str, PartChanges], position: int, *,
        expected: int | None = None,
    ) -> None:
        """As :meth:`ProjectionStore.write`, with the position (and ``expected``) of ``shard``."""


@dataclass(frozen=True)
class PartChanges:
    """The parts of one document to write: ``parts[name]`` is the new JSON value, or None to
    delete that part; ``whole`` deletes every stored part of the key first."""

    parts: dict[str, Any]
    whole: bool = False


class ReadSync(abc.ABC):
    """The read models as the application drives them, whatever runs the projector.

    Embedded: the projector runs in-process over ``EventLog.read_all``. Distributed: the
    projection agent runs it over the events topic, and ``catch_up`` waits for it.

    Guarantees: when ``catch_up`` returns, every event the log held when it was called is
    reflected in the read models (or it raises ``TimeoutError``); ``rebuild`` forgets the
    read models and folds the whole log again, with the same result as the incremental path.
    """

    @abc.abstractmethod
    def position(self) -> int:
        """How far the read models have read (for ``stats``)."""

    @abc.abstractmethod
    def catch_up(self) -> int:
        """Bring the read models up to the log; returns the events applied by this call."""

    @abc.abstractmethod
    def rebuild(self, progress: Callable[[int], None] | None = None) -> int:
        """Forget the read models and fold the whole log again; returns the events applied.
        ``progress`` is called with the size of each chunk read."""


class OffsetStore(abc.ABC):
    """Where each feed consumer stopped, so it resumes there."""

    @abc.abstractmethod
    def get(self, consumer: str) -> int: ...

    @abc.abstractmethod
    def put(self, consumer: str, position: int) -> None: ...


class Clock(abc.ABC):
    @abc.abstractmethod
    def now(self) -> datetime: ...


class SystemClock(Clock):
    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock(Clock):
    """A clock tests and the demo move by hand."""

    def __init__(self, start: datetime) -> None:
        self._now = start

    def now(self) -> datetime:
        return self._now

    def set(self, value: datetime) -> None:
        self._now = value

    def advance(self, **delta: float) -> datetime:
        from datetime import timedelta

        self._now = self._now + timedelta(**delta)
        return self._now


def iter_stream(log: EventLog, stream: str, *, from_seq: int = 1, batch: int = 1000) -> Iterator[StoredEvent]:
    """A stream in pages of ``batch`` events: bounded memory however long the stream."""
    while True:
        chunk = log.read_stream(stream, from_seq=from_seq, limit=batch)
        if not chunk:
            return
        yield from chunk
        if len(chunk) < batch:
            return
        from_seq = chunk[-1].envelope.seq + 1


def iter_all(log: EventLog, *, after: int = 0, batch: int = 1000) -> Iterator[StoredEvent]:
    while True:
        chunk = log.read_all(after=after, limit=batch)
        if not chunk:
            return
        yield from chunk
        after = chunk[-1].position
