"""The Cassandra adapters of the ports (the storage half of the distributed backend).

Schema: ``infra/cassandra/schema.cql`` (applied by :func:`migrate`). Every method keeps the
semantics of the SQLite adapters in ``infra/sqlite.py``; ``tests/contract`` runs the same suites
against both.

Event log design
================

Bounded partitions
    ``events`` is keyed ``PRIMARY KEY ((stream, bucket), seq)`` with
    ``bucket = (seq - 1) // events_per_bucket``. :data:`EVENTS_PER_BUCKET` (1000) is part of the
    data format: it must never change once a keyspace holds events, because readers compute
    the partition of a seq from it. (The constructor takes another value only so tests can
    cross buckets with a few events; always open one keyspace with one value.)

Commit point and fencing
    ``stream_heads(stream) -> last_seq, epoch`` is the single source of truth: readers only
    read rows with ``seq <= last_seq``. An append of ``k`` events after ``expected_seq = e``:

    1. reads the head with SERIAL consistency; ``last_seq != e`` -> :class:`ConcurrencyError`;
    2. writes an index row per event into ``events_by_submission`` (filtered on read, below);
    3. writes the event rows ``e+1 .. e+k`` with ``INSERT ... IF NOT EXISTS``, one conditional
       batch per bucket (a conditional batch must stay inside one partition of one table).
       Each row carries the append's random ``writer`` token, the head ``epoch`` it started
       from and the append's range ``batch_first..batch_last``;
    4. commits with an LWT on the head: ``UPDATE ... SET last_seq = e+k IF last_seq = e AND
       epoch = <epoch>`` (``INSERT ... IF NOT EXISTS`` for a new stream).

    Two writers of the same seq cannot both pass step 3 (the first ``IF NOT EXISTS`` wins) and
    cannot both pass step 4 (the head LWT): this is the fence that stops a zombie writer after
    a Kafka rebalance. A writer whose expected seq is stale fails at step 1 or 3.

All or none
    Nothing is visible before step 4, and step 4 is one LWT, so a multi-event append (even one
    crossing buckets) becomes visible all at once or not at all. A writer that finds rows above
    the head (step 3 fails on a row it did not write) resolves them:

    * rows of the current epoch forming a *complete* append that starts at ``last_seq + 1``:
      the append passed its checks and only its commit is missing (crash, or still in flight),
      so it is *rolled forward* (the head LWT is done on its behalf; the original writer, if
      alive, sees its rows committed and returns normally). The finder then raises
      ConcurrencyError, since its expected seq is now stale;
    * anything else (an incomplete append, or rows of an older epoch): the epoch is bumped
      with an LWT (so that append can never commit), its rows are deleted with
      ``DELETE ... IF writer = <its token>`` and the finder retries its own append.

    Committed rows are never deleted or overwritten (only :meth:`tamper_for_test` does).

Positions and ``read_all``
    A global, gap-free, append-ordered position would need one serialisation point for the
    whole log (one hot LWT partition): the distributed backend's global feed is Kafka
    instead. ``read_all`` here is a *snapshot* order: streams sorted by id, events by seq,
    position = 1-based index in that order. It is complete, ordered per stream and pageable
    with ``after=<last position>`` on a log nobody appends to (rebuilds, audits, the
    comparison tests), but positions are NOT stable under appends (an append to a stream that
    sorts early shifts later positions), so a processor must not tail it incrementally.
    ``read_stream``/``find_submission`` return ``position=0`` (unknown), as the port allows.

Other ports
    Rejections, read models and offsets: ``infra/cassandra_readmodels.py``; the session,
    the schema and the prepared-statement base: ``infra/cassandra_session.py``. Every name
    is re-exported here (``from tongxiu.infra.cassandra_store import connect, migrate,
    CassandraProjectionStore, ...`` keeps working).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tongxiu.events.envelope import Envelope
from tongxiu.infra.cassandra_readmodels import (
    CassandraOffsetStore,
    CassandraProjectionStore,
    CassandraRejectionLog,
)
from tongxiu.infra.cassandra_retry import retry_read
from tongxiu.infra.cassandra_session import SCHEMA_FILE, _Base, connect, migrate, schema_statements
from tongxiu.services.ports import ConcurrencyError, EventLog, StoredEvent

__all__ = [
    "EVENTS_PER_BUCKET",
    "SCHEMA_FILE",
    "CassandraEventLog",
    "CassandraOffsetStore",
    "CassandraProjectionStore",
    "CassandraRejectionLog",
    "connect",
    "migrate",
    "schema_statements",
]

log = logging.getLogger(__name__)

EVENTS_PER_BUCKET = 1000
"""Events per (stream, bucket) partition. Part of the data format: never change it once a
keyspace holds events."""
MAX_RESOLVE_ROUNDS = 8


@dataclass
class _Head:
    last_seq: int
    epoch: int
    exists: bool


# --------------------------------------------------------------------------- event log


class CassandraEventLog(_Base, EventLog):
    """See the module docstring for bucketing, fencing and atomicity."""

    def __init__(self, session: Any, keyspace: str, *, events_per_bucket: int = EVENTS_PER_BUCKET) -> None:
        super().__init__(session, keyspace)
        if events_per_bucket < 1:
            raise ValueError("events_per_bucket must be positive")
        self.per_bucket = events_per_bucket

    def bucket(self, seq: int) -> int:
        return (seq - 1) // self.per_bucket

    # ------------------------------------------------------------------ head

    def _head(self) -> Any:
        return self._serial("SELECT last_seq, epoch FROM {ks}.stream_heads WHERE stream = ?")

    def _read_head(self, stream: str) -> _Head:
        row = self.session.execute(self._head(), (stream,)).one()
        if row is None:
            return _Head(0, 0, False)
        return _Head(int(row.last_seq or 0), int(row.epoch or 0), True)

    def _commit(self, stream: str, head: _Head, new_last: int) -> bool:
        if head.exists:
            res = self.session.execute(
                self._p("UPDATE {ks}.stream_heads SET last_seq = ? WHERE stream = ? IF last_seq = ? AND epoch = ?"),
                (new_last, stream, head.last_seq, head.epoch),
            )
        else:
            res = self.session.execute(
                self._p("INSERT INTO {ks}.stream_heads (stream, last_seq, epoch) VALUES (?, ?, 0) IF NOT EXISTS"),
                (stream, new_last),
            )
        return bool(res.was_applied)

    def _bump_epoch(self, stream: str, head: _Head) -> bool:
        if head.exists:
            res = self.session.execute(
                self._p("UPDATE {ks}.stream_heads SET epoch = ? WHERE stream = ? IF last_seq = ? AND epoch = ?"),
                (head.epoch + 1, stream, head.last_seq, head.epoch),
            )
        else:
            res = self.session.execute(
                self._p("INSERT INTO {ks}.stream_heads (stream, last_seq, epoch) VALUES (?, 0, 1) IF NOT EXISTS"),
                (stream,),
            )
        return bool(res.was_applied)

    # ------------------------------------------------------------------ rows

    def _rows(self, stream: str, first: int, last: int, columns: str = "seq, raw") -> list[Any]:
        """Event rows first..last (inclusive) in seq order, whatever their visibility."""
        out: list[Any] = []
        if last < first:
            return out
        stmt = self._p(
            f"SELECT {columns} FROM {{ks}}.events WHERE stream = ? AND bucket = ? AND seq >= ? AND seq <= ?"
        )
        for b in range(self.bucket(first), self.bucket(last) + 1):
            out.extend(self.session.execute(stmt, (stream, b, first, last)))
        return out

    def _pending_rows(self, stream: str, after: int, upto_bucket: int = -1) -> list[Any]:
        """Rows above the head: every bucket from the one of ``after + 1`` through
        ``upto_bucket`` (where a conflict was seen), then following buckets while non-empty."""
        out: list[Any] = []
        stmt = self._p(
            "SELECT seq, writer, epoch, batch_first, batch_last FROM {ks}.events"
            " WHERE stream = ? AND bucket = ? AND seq > ?"
        )
        b = self.bucket(after + 1)
        while True:
            rows = list(self.session.execute(stmt, (stream, b, after)))
            if not rows and b >= upto_bucket:
                return out
            out.extend(rows)
            b += 1

    # ------------------------------------------------------------------ append

    def append(self, stream: str, expected_seq: int, envelopes: Sequence[Envelope]) -> None:
        for n, e in enumerate(envelopes):
            if e.stream != stream or e.seq != expected_seq + 1 + n:
                raise ValueError(f"envelope {e.event_id} is not seq {expected_seq + 1 + n} of {stream}")
        for _ in range(MAX_RESOLVE_ROUNDS):
            head = self._read_head(stream)
            if head.last_seq != expected_seq:
                raise ConcurrencyError(f"{stream}: expected seq {expected_seq}, found {head.last_seq}")
            if not envelopes:
                return
            if self._try_append(stream, head, envelopes):
                return
        raise ConcurrencyError(f"{stream}: pending appends kept conflicting after {MAX_RESOLVE_ROUNDS} rounds")

    def _try_append(self, stream: str, head: _Head, envelopes: Sequence[Envelope]) -> bool:
        """One attempt; True when committed, False to retry (after clearing an aborted append),
        ConcurrencyError when another append committed first."""
        from cassandra.query import BatchStatement, BatchType

        token = uuid.uuid4()
        first = head.last_seq + 1
        new_last = head.last_seq + len(envelopes)
        index = self._p(
            "INSERT INTO {ks}.events_by_submission (department, submission_id, stream, seq, writer)"
            " VALUES (?, ?, ?, ?, ?)"
        )
        idx_batch = BatchStatement(batch_type=BatchType.UNLOGGED)
        for e in envelopes:
            idx_batch.add(index, (e.department, e.submission_id, stream, e.seq, token))
        self.session.execute(idx_batch)

        insert = self._p(
            "INSERT INTO {ks}.events (stream, bucket, seq, event_id, type, department, submission_id,"
            " occurred_at, recorded_at, raw, writer, epoch, batch_first, batch_last)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?) IF NOT EXISTS"
        )
        by_bucket: dict[int, list[Envelope]] = {}
        for e in envelopes:
            by_bucket.setdefault(self.bucket(e.seq), []).append(e)
        for b, group in sorted(by_bucket.items()):
            values = [
                (
                    stream, b, e.seq, e.event_id, e.type, e.department, e.submission_id,
                    e.occurred_at.isoformat(), e.recorded_at.isoformat(), e.to_json(),
                    token, head.epoch, first, new_last,
                )
                for e in group
            ]
            if not self._insert_rows(insert, values):
                self._resolve(stream, head, b)  # raises ConcurrencyError, or returns to retry
                return False
        if self._commit(stream, head, new_last):
            return True
        # Not applied: someone else moved the head. Maybe they rolled our append forward.
        now = self._read_head(stream)
        if now.last_seq >= new_last:
            rows = self._rows(stream, first, first, "seq, writer")
            if rows and rows[0].writer == token:
                return True
        raise ConcurrencyError(f"{stream}: expected seq {head.last_seq}, found {now.last_seq}")

    def _insert_rows(self, insert: Any, values: list[tuple[Any, ...]]) -> bool:
        """Conditionally insert the rows of ONE bucket (one partition of one table, so the
        conditional batch is applied atomically): True if applied."""
        from cassandra.query import BatchStatement, BatchType

        if len(values) == 1:
            return bool(self.session.execute(insert, values[0]).was_applied)
        batch = BatchStatement(batch_type=BatchType.UNLOGGED)
        for v in values:
            batch.add(insert, v)
        return bool(self.session.execute(batch).was_applied)

    def _resolve(self, stream: str, seen: _Head, conflict_bucket: int) -> None:
        """Our conditional insert met rows we did not write. Raise ConcurrencyError if the head
        moved (or we rolled a complete pending append forward); otherwise abort the pending
        rows (bump the epoch, delete them) and return so the caller retries."""
        head = self._read_head(stream)
        if head.last_seq != seen.last_seq:
            raise ConcurrencyError(f"{stream}: expected seq {seen.last_seq}, found {head.last_seq}")
        pending = self._pending_rows(stream, head.last_seq, conflict_bucket)
        if pending and head.epoch == seen.epoch:
            lead = pending[0]
            same = [r for r in pending if r.writer == lead.writer]
            complete = (
                lead.epoch == head.epoch
                and lead.batch_first == head.last_seq + 1
                and [r.seq for r in same] == list(range(lead.batch_first, lead.batch_last + 1))
            )
            if complete:
                if self._commit(stream, head, int(lead.batch_last)):
                    log.info("%s: rolled pending append %s..%s forward", stream, lead.batch_first, lead.batch_last)
                raise ConcurrencyError(f"{stream}: expected seq {seen.last_seq}, another append committed")
        if head.epoch == seen.epoch:
            if not self._bump_epoch(stream, head):
                head = self._read_head(stream)
                if head.last_seq != seen.last_seq:
                    raise ConcurrencyError(f"{stream}: expected seq {seen.last_seq}, found {head.last_seq}")
                return  # somebody else aborted; retry with the new epoch
            head = self._read_head(stream)
        delete = self._p("DELETE FROM {ks}.events WHERE stream = ? AND bucket = ? AND seq = ? IF writer = ?")
        for r in pending:
            if r.epoch is None or r.epoch < head.epoch:
                self.session.execute(delete, (stream, self.bucket(r.seq), r.seq, r.writer))

    # ------------------------------------------------------------------ reads

    @retry_read
    def read_stream(self, stream: str, *, from_seq: int = 1, limit: int | None = None) -> list[StoredEvent]:
        head = self._read_head(stream)
        start = max(from_seq, 1)
        last = head.last_seq if limit is None else min(head.last_seq, start + max(limit, 0) - 1)
        rows = self._rows(stream, start, last)
        return [StoredEvent(envelope=Envelope.from_json(r.raw), raw=r.raw, position=0) for r in rows]

    @retry_read
    def read_stream_raw(self, stream: str, *, from_seq: int = 1, limit: int | None = None) -> list[str]:
        """read_stream without decoding (the audit decodes each event once itself)."""
        head = self._read_head(stream)
        start = max(from_seq, 1)
        last = head.last_seq if limit is None else min(head.last_seq, start + max(limit, 0) - 1)
        return [r.raw for r in self._rows(stream, start, last)]

    @retry_read
    def last_seq(self, stream: str) -> int:
        return self._read_head(stream).last_seq

    @retry_read
    def streams(self) -> list[str]:
        rows = self.session.execute(self._p("SELECT stream, last_seq FROM {ks}.stream_heads"))
        return sorted(r.stream for r in rows if (r.last_seq or 0) > 0)

    @retry_read
    def read_all(self, *, after: int = 0, limit: int = 1000) -> list[StoredEvent]:
        """Snapshot order (streams sorted, then seq); see the module docstring: positions are
        stable only while nobody appends."""
        out: list[StoredEvent] = []
        if limit <= 0:
            return out
        base = 0
        for stream in self.streams():
            last = self._read_head(stream).last_seq
            if base + last <= after:
                base += last
                continue
            start = max(after - base, 0) + 1
            for r in self._rows(stream, start, last):
                out.append(StoredEvent(envelope=Envelope.from_json(r.raw), raw=r.raw, position=base + r.seq))
                if len(out) == limit:
                    return out
            base += last
        return out

    @retry_read
    def find_submission(self, department: str, submission_id: str) -> list[StoredEvent]:
        entries = list(
            self.session.execute(
                self._p(
                    "SELECT stream, seq, writer FROM {ks}.events_by_submission"
                    " WHERE department = ? AND submission_id = ?"
                ),
                (department, submission_id),
            )
        )
        out: list[StoredEvent] = []
        heads: dict[str, int] = {}
        stmt = self._p("SELECT raw, writer FROM {ks}.events WHERE stream = ? AND bucket = ? AND seq = ?")
        for entry in entries:
            if entry.stream not in heads:
                heads[entry.stream] = self._read_head(entry.stream).last_seq
            if entry.seq > heads[entry.stream]:
                continue
            row = self.session.execute(stmt, (entry.stream, self.bucket(entry.seq), entry.seq)).one()
            if row is None:
                continue
            # The committed event itself says whose it is. (Not the index's writer id: a
            # writer that lost the race for this seq may have overwritten the index row of
            # the same submission before the winner's rows were rolled forward.)
            envelope = Envelope.from_json(row.raw)
            if envelope.department == department and envelope.submission_id == submission_id:
                out.append(StoredEvent(envelope=envelope, raw=row.raw, position=0))
        return out

    def tamper_for_test(self, stream: str, seq: int, raw: str) -> None:
        self.session.execute(
            self._p("UPDATE {ks}.events SET raw = ? WHERE stream = ? AND bucket = ? AND seq = ?"),
            (raw, stream, self.bucket(seq), seq),
        )
