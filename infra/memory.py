"""In-memory adapters of the storage ports: the same contracts as SQLite and Cassandra (run by
the same suites in tests/contract), so decision logic and the application can be tested
without a database. Nothing is durable; not for production.

Several adapter objects over one :class:`MemoryStorage` behave like several connections to
one database (the contract suites open two to simulate two processes). Values are kept as
JSON text, as the databases keep them, so a caller never shares a mutable object with the
store.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from tongxiu.events.envelope import Envelope, Receipt
from tongxiu.projections.documents import HEAD, assemble, split
from tongxiu.services.ports import (
    ConcurrencyError,
    EventLog,
    OffsetStore,
    PartChanges,
    RejectionLog,
    RejectionRecord,
    ShardedProjectionStore,
    StoredEvent,
)


@dataclass
class _Row:
    position: int
    stream: str
    seq: int
    department: str
    submission_id: str
    raw: str


@dataclass
class MemoryStorage:
    """The shared state of one in-memory "database"."""

    lock: threading.RLock = field(default_factory=threading.RLock)
    events: list[_Row] = field(default_factory=list)
    heads: dict[str, int] = field(default_factory=dict)
    rejections: list[tuple[RejectionRecord, str]] = field(default_factory=list)
    parts: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)
    positions: dict[str, int] = field(default_factory=dict)
    offsets: dict[str, int] = field(default_factory=dict)


def _stored(row: _Row) -> StoredEvent:
    return StoredEvent(envelope=Envelope.from_json(row.raw), raw=row.raw, position=row.position)


class MemoryEventLog(EventLog):
    cheap_heads = True

    def __init__(self, storage: MemoryStorage) -> None:
        self.s = storage

    def append(self, stream: str, expected_seq: int, envelopes: Sequence[Envelope]) -> None:
        for n, e in enumerate(envelopes):
            if e.stream != stream or e.seq != expected_seq + 1 + n:
                raise ValueError(f"envelope {e.event_id} is not seq {expected_seq + 1 + n} of {stream}")
        rows = [(e, e.to_json()) for e in envelopes]
        with self.s.lock:
            last = self.s.heads.get(stream, 0)
            if last != expected_seq:
                raise ConcurrencyError(f"{stream}: expected seq {expected_seq}, found {last}")
            for e, raw in rows:
                self.s.events.append(_Row(len(self.s.events) + 1, stream, e.seq, e.department, e.submission_id, raw))
            if envelopes:
                self.s.heads[stream] = envelopes[-1].seq

    def read_stream(self, stream: str, *, from_seq: int = 1, limit: int | None = None) -> list[StoredEvent]:
        with self.s.lock:
            rows = [r for r in self.s.events if r.stream == stream and r.seq >= from_seq]
        rows.sort(key=lambda r: r.seq)
        return [_stored(r) for r in (rows if limit is None else rows[:limit])]

    def last_position(self) -> int:
        with self.s.lock:
            return len(self.s.events)

    def last_seq(self, stream: str) -> int:
        with self.s.lock:
            return self.s.heads.get(stream, 0)

    def streams(self) -> list[str]:
        with self.s.lock:
            return sorted(self.s.heads)

    def read_all(self, *, after: int = 0, limit: int = 1000) -> list[StoredEvent]:
        with self.s.lock:
            rows = self.s.events[max(0, after):max(0, after) + limit]
        return [_stored(r) for r in rows]

    def find_submission(self, department: str, submission_id: str, *, stream: str | None = None) -> list[StoredEvent]:
        with self.s.lock:
            rows = [r for r in self.s.events if r.department == department and r.submission_id == submission_id]
        return [_stored(r) for r in rows]

    def tamper_for_test(self, stream: str, seq: int, raw: str) -> None:
        with self.s.lock:
            for row in self.s.events:
                if row.stream == stream and row.seq == seq:
                    row.raw = raw


class MemoryRejectionLog(RejectionLog):
    def __init__(self, storage: MemoryStorage) -> None:
        self.s = storage

    def record(self, rejection: RejectionRecord) -> None:
        text = json.dumps(rejection.submission, ensure_ascii=False)
        with self.s.lock:
            self.s.rejections.append((rejection, text))

    @staticmethod
    def _copy(entry: tuple[RejectionRecord, str]) -> RejectionRecord:
        record, text = entry
        return RejectionRecord(receipt=Receipt.model_validate_json(record.receipt.model_dump_json()),
                               submission=json.loads(text), authenticated=record.authenticated)

    def _matching(self, department: str | None, stream: str | None) -> list[tuple[RejectionRecord, str]]:
        with self.s.lock:
            return [
                e for e in self.s.rejections
                if (not department or e[0].receipt.department == department)
                and (not stream or e[0].receipt.stream == stream)
            ]

    def get(self, department: str, submission_id: str) -> RejectionRecord | None:
        for entry in self._matching(department, None):
            if entry[0].receipt.submission_id == submission_id and entry[0].authenticated:
                return self._copy(entry)
        return None

    def list(
        self, *, department: str | None = None, stream: str | None = None, limit: int = 100, offset: int = 0
    ) -> list[RejectionRecord]:
        return [self._copy(e) for e in self._matching(department, stream)[offset:offset + limit]]

    def count(self, *, department: str | None = None, stream: str | None = None) -> int:
        return len(self._matching(department, stream))


class MemoryProjectionStore(ShardedProjectionStore):
    def __init__(self, storage: MemoryStorage) -> None:
        self.s = storage

    def load(self, projection: str, key: str) -> dict[str, Any] | None:
        with self.s.lock:
            parts = dict(self.s.parts.get((projection, key), {}))
        doc = assemble(key, {part: json.loads(text) for part, text in parts.items()})
        return None if doc is None else dict(doc)

    def load_head(self, projection: str, key: str) -> dict[str, Any] | None:
        with self.s.lock:
            text = self.s.parts.get((projection, key), {}).get(HEAD)
        return None if text is None else dict(json.loads(text))

    def save(self, projection: str, updates: dict[str, dict[str, Any]], position: int) -> None:
        self.write(projection, {k: PartChanges(split(k, v), whole=True) for k, v in updates.items()}, position)

    def write(
        self, projection: str, changes: dict[str, PartChanges], position: int, *, expected: int | None = None
    ) -> None:
        self._write(projection, projection, changes, position, expected)

    def write_shard(
        self, projection: str, shard: str, changes: dict[str, PartChanges], position: int, *,
        expected: int | None = None,
    ) -> None:
        self._write(projection, _shard_row(projection, shard), changes, position, expected)

    def own_position(self, projection: str) -> int:
        with self.s.lock:
            return self.s.positions.get(projection, 0)

    def shard_position(self, projection: str, shard: str) -> int:
        with self.s.lock:
            return self.s.positions.get(_shard_row(projection, shard), 0)

    def _write(
        self, projection: str, row: str, changes: dict[str, PartChanges], position: int, expected: int | None
    ) -> None:
        encoded = {
            key: (change.whole, {p: None if v is None else json.dumps(v, ensure_ascii=False, default=str)
                                 for p, v in change.parts.items()})
            for key, change in changes.items()
        }
        with self.s.lock:  # all or nothing: checked, then applied without anything that can fail
            have = self.s.positions.get(row, 0)
            if expected is not None and have != expected:
                raise ConcurrencyError(f"projection {row} is at {have}, not {expected}")
            for key, (whole, parts) in encoded.items():
                doc = {} if whole else self.s.parts.get((projection, key), {})
                for part, text in parts.items():
                    if text is None:
                        doc.pop(part, None)
                    else:
                        doc[part] = text
                if doc:
                    self.s.parts[(projection, key)] = doc
                else:
                    self.s.parts.pop((projection, key), None)
            self.s.positions[row] = position

    def exclusive(self) -> contextlib.AbstractContextManager[Any]:
        return self._exclusive()

    @contextlib.contextmanager
    def _exclusive(self) -> Iterator[None]:
        with self.s.lock:
            yield

    def position(self, projection: str) -> int:
        prefix = _shard_row(projection, "")
        with self.s.lock:
            return self.s.positions.get(projection, 0) + sum(
                v for k, v in self.s.positions.items() if k.startswith(prefix))

    def keys(self, projection: str) -> list[str]:
        with self.s.lock:
            return sorted(k for (p, k), parts in self.s.parts.items() if p == projection and HEAD in parts)

    def reset(self, projection: str) -> None:
        with self.s.lock:
            for k in [k for k in self.s.parts if k[0] == projection]:
                del self.s.parts[k]
            self.s.positions.pop(projection, None)
            prefix = _shard_row(projection, "")
            for row in [r for r in self.s.positions if r.startswith(prefix)]:
                del self.s.positions[row]


def _shard_row(projection: str, shard: str) -> str:
    return f"{projection}\x00shard:{shard}"


class MemoryOffsetStore(OffsetStore):
    def __init__(self, storage: MemoryStorage) -> None:
        self.s = storage

    def get(self, consumer: str) -> int:
        with self.s.lock:
            return self.s.offsets.get(consumer, 0)

    def put(self, consumer: str, position: int) -> None:
        with self.s.lock:
            self.s.offsets[consumer] = position
