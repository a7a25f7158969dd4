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
    ``stream_heads(stream) -> last_seq, epoch, pending_events, pending_writer`` is the single source
    of truth: readers only see seqs ``<= last_seq``. An append of ``k`` events after
    ``expected_seq = e`` costs ONE consensus write (issue 11):

    1. the head: the one this instance committed or read last for the stream (cached: a
       stale head can only make step 3 fail, never succeed wrongly), else a SERIAL read;
       ``last_seq != e`` -> :class:`ConcurrencyError`. Unless this instance wrote them itself,
       the rows and index rows of the head's last append (``pending``) may be missing (their
       writer died after committing): they are written out first, so an append leaves
       ``pending`` only when its rows and index rows are stored. If that append holds this
       append's submission, it is not appended again: :class:`ConcurrencyError` (the ledger
       asks ``find_submission`` again, which finds it);
    2. writes the index rows of the append's events in ``events_by_submission`` (one
       request, waited for), so a submission is in the index before it can be accepted;
    3. commits with ONE LWT on the head, which carries the append's events:
       ``UPDATE ... SET last_seq = e+k, pending_events = [raw...], pending_writer = <token>
       IF last_seq = e AND epoch = <epoch>`` (``INSERT ... IF NOT EXISTS`` for a new stream);
    4. only then writes the event rows ``e+1 .. e+k`` unconditionally (unlogged batches of at
       most :data:`ROWS_BATCH_BYTES` of rows each), and waits for them before returning (the
       receipt follows).
       They are a function of the committed head, so a late, repeated or concurrent write of
       them (a reader or the next writer completing a dead writer's rows, with their index
       rows) writes the same bytes.

    The last append's events are one frozen cell, ``pending_events`` (session 13: replacing a
    non-frozen list by an LWT wrote a tombstone plus a cell per event). A head written before
    holds them in the list ``pending``: read from there (:func:`_current_pending`), and the
    next commit clears it.

    Session 13 moved the index rows from before the commit to the rows' batch after it; a
    writer dead between its commit and that batch left an accepted submission without index
    row. The look-up with the submission's stream found it in that stream's last append, but
    a resend of the same id to ANOTHER stream found nothing and was accepted (a second
    submission under one id, instead of ``submission_id_conflict``). Session 14 writes the
    index rows before the commit again (step 2). ``find_submission`` still takes the stream
    (the ledger passes it) and, when the index has no entry, looks in that stream's last
    append (``pending`` of the head this instance holds, else of a head read at the
    session's consistency) and completes its rows and index rows: a head last committed by
    a session-13 writer that died after its commit.

    A writer that lost (stale cache, a zombie after a Kafka rebalance, an epoch bump) fails at
    step 3 and has written no event row (only index rows, which count for nothing without
    the committed event they point at): rows are never written before their commit, so a
    fenced-out writer can never overwrite a committed row, and there is nothing to roll
    forward or abort. The epoch stays in the condition: bumping it (an LWT) fences every
    writer that read the head before.

All or none
    Step 3 is one LWT, so a multi-event append (even one crossing buckets) becomes visible all
    at once or not at all; until its rows are written, readers take the missing rows of the
    last append from the head's ``pending`` (only seqs ``<= last_seq``, only where no row is
    stored). Committed rows are never deleted or overwritten with other bytes (only
    :meth:`tamper_for_test` does). Rows above the head (appends of the earlier protocol that
    never committed) are ignored and overwritten by the next commit of that seq.

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
import threading
import uuid
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from tongxiu.events.envelope import Envelope
from tongxiu.infra.cassandra_batches import row_cost
from tongxiu.infra.cassandra_readmodels import (
    CassandraOffsetStore,
    CassandraProjectionStore,
    CassandraRejectionLog,
)
from tongxiu.infra.cassandra_retry import retry_read
from tongxiu.infra.cassandra_session import (
    SCHEMA_FILE,
    _Base,
    connect,
    migrate,
    schema_statements,
    was_applied,
)
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
    pending: list[str] = field(default_factory=list)
    """Raw JSON of the events of the last committed append (until replaced by the next); empty
    in a cached head whose last append's rows and index rows this instance knows are stored."""
    writer: uuid.UUID | None = None
    legacy: bool = False
    """The stored head still holds events in its ``pending`` list column (the layout before
    session 13): the next commit clears it."""


def _current_pending(last_seq: int, cell: list[str], legacy: list[str]) -> list[str]:
    """The last append's events of a head read with both layouts: the frozen cell
    ``pending_events`` (written since session 13) or the ``pending`` list (before). A commit
    in the new layout clears the list, so both hold events only if a writer of the earlier
    layout committed after one of the new (a rolling upgrade): the one ending at ``last_seq``."""
    if not legacy or not cell:
        return cell or legacy
    return legacy if Envelope.from_json(legacy[-1]).seq == last_seq else cell


ROWS_BATCH_BYTES = 32 * 1024
"""Event rows written in one unlogged batch: at most this many bytes of raw JSON (with the
index rows the first batch carries, counted by :func:`row_cost` plus :data:`INDEX_ROW_BYTES`)."""
INDEX_ROW_BYTES = 24
"""An index row's seq and writer token, beyond its texts."""


@dataclass
class _Written:
    """A committed append whose rows are in flight."""

    head: _Head
    rows: list[Any]
    error: BaseException | None = None


HEAD_CACHE = 100_000
"""Heads this instance committed or read, kept to skip the SERIAL read of the next append
(an entry: the stream id and two ints, ~200 bytes; at most this many)."""


# --------------------------------------------------------------------------- event log


class CassandraEventLog(_Base, EventLog):
    """See the module docstring for bucketing, fencing and atomicity."""

    def __init__(self, session: Any, keyspace: str, *, events_per_bucket: int = EVENTS_PER_BUCKET,
                 head_cache: int = HEAD_CACHE) -> None:
        super().__init__(session, keyspace)
        if events_per_bucket < 1:
            raise ValueError("events_per_bucket must be positive")
        self.per_bucket = events_per_bucket
        self._heads: OrderedDict[str, _Head] = OrderedDict()
        self._head_cache = head_cache
        self._heads_lock = threading.Lock()

    def bucket(self, seq: int) -> int:
        return (seq - 1) // self.per_bucket

    # ------------------------------------------------------------------ head

    _HEAD = "SELECT last_seq, epoch, pending_events, pending, pending_writer FROM {ks}.stream_heads WHERE stream = ?"

    def _head(self) -> Any:
        return self._serial(self._HEAD)

    def _read_head(self, stream: str, *, serial: bool = True) -> _Head:
        """The head at SERIAL (a Paxos read: it sees, and completes, a commit in progress), or
        at the session's consistency (every commit completed before the read)."""
        return self._head_of(self.session.execute(self._head() if serial else self._head_plain(), (stream,)).one())

    def _head_plain(self) -> Any:
        return self._p(self._HEAD)

    @staticmethod
    def _head_of(row: Any) -> _Head:
        if row is None:
            return _Head(0, 0, False)
        last_seq, legacy = int(row.last_seq or 0), list(row.pending or [])
        pending = _current_pending(last_seq, list(row.pending_events or []), legacy)
        return _Head(last_seq, int(row.epoch or 0), True, pending, row.pending_writer, bool(legacy))

    def _cached_head(self, stream: str) -> _Head | None:
        with self._heads_lock:
            head = self._heads.get(stream)
            if head is not None:
                self._heads.move_to_end(stream)
            return head

    def _cache_head(self, stream: str, head: _Head | None, *, stored: bool = False) -> None:
        """Remember ``head`` for the next append and ``find_submission``; ``stored``: the rows
        and index rows of its last append are known to be stored (then its events are not
        kept), else they stay (the next append writes them again first)."""
        with self._heads_lock:
            if head is None or self._head_cache <= 0:
                self._heads.pop(stream, None)
                return
            pending = [] if stored else list(head.pending)
            self._heads[stream] = _Head(head.last_seq, head.epoch, head.exists, pending, head.writer, head.legacy)
            self._heads.move_to_end(stream)
            while len(self._heads) > self._head_cache:
                self._heads.popitem(last=False)

    def _commit(self, stream: str, head: _Head, new_last: int, raws: list[str], token: uuid.UUID) -> bool:
        """The commit point: one LWT on the head, carrying the append's events in one frozen
        cell (a non-frozen list replaced by an update is a tombstone plus a cell per event);
        a head still holding events in the earlier list column has it cleared (once)."""
        if head.exists:
            clear = ", pending = null" if head.legacy else ""
            res = self.session.execute(
                self._p(f"UPDATE {{ks}}.stream_heads SET last_seq = ?, pending_events = ?, pending_writer = ?{clear}"
                        " WHERE stream = ? IF last_seq = ? AND epoch = ?"),
                (new_last, raws, token, stream, head.last_seq, head.epoch),
            )
        else:
            res = self.session.execute(
                self._p("INSERT INTO {ks}.stream_heads (stream, last_seq, epoch, pending_events, pending_writer)"
                        " VALUES (?, ?, 0, ?, ?) IF NOT EXISTS"),
                (stream, new_last, raws, token),
            )
        return was_applied(res)

    def bump_epoch(self, stream: str) -> int:
        """Fence every writer that read the head before (their commits fail): the new epoch."""
        for _ in range(MAX_RESOLVE_ROUNDS):
            head = self._read_head(stream)
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
            if was_applied(res):
                self._cache_head(stream, None)
                return head.epoch + 1
        raise ConcurrencyError(f"{stream}: could not bump the epoch")

    # ------------------------------------------------------------------ rows

    def _rows(self, stream: str, first: int, last: int, columns: str = "seq, raw") -> list[Any]:
        """Event rows first..last (inclusive) in seq order, as stored (whatever their visibility)."""
        out: list[Any] = []
        if last < first:
            return out
        stmt = self._p(
            f"SELECT {columns} FROM {{ks}}.events WHERE stream = ? AND bucket = ? AND seq >= ? AND seq <= ?"
        )
        for b in range(self.bucket(first), self.bucket(last) + 1):
            out.extend(self.session.execute(stmt, (stream, b, first, last)))
        return out

    def _visible(self, stream: str, head: _Head, first: int, last: int) -> list[tuple[int, str]]:
        """(seq, raw) of the committed events first..last (``last <= head.last_seq``)."""
        return self._visible_rows(stream, head, first, last)[0]

    def _visible_rows(self, stream: str, head: _Head, first: int, last: int) -> tuple[list[tuple[int, str]], bool]:
        """(seq, raw) of the committed events first..last (``last <= head.last_seq``): the stored
        rows, except where a row of the head's last append is not written yet (or is a leftover
        of an append that never committed): there, its copy in the head. Also whether such a
        copy was needed."""
        rows = self._rows(stream, first, last, "seq, raw, writer")
        out = {int(r.seq): str(r.raw) for r in rows}
        if not head.pending:
            return sorted(out.items()), False
        lo = head.last_seq - len(head.pending) + 1
        suspect = len(out) != last - first + 1 or any(int(r.seq) >= lo and r.writer != head.writer for r in rows)
        overlaid = False
        if suspect:
            writers = {int(r.seq): r.writer for r in rows}
            for raw in head.pending:
                seq = Envelope.from_json(raw).seq
                if first <= seq <= min(last, head.last_seq) and (seq not in out or writers[seq] != head.writer):
                    out[seq] = raw
                    overlaid = True
        return sorted(out.items()), overlaid

    @staticmethod
    def _last_append(head: _Head) -> list[tuple[Envelope, str]]:
        """The events of the head's last append, decoded, with their raw JSON."""
        return [(e, r) for r in head.pending if (e := Envelope.from_json(r)).seq <= head.last_seq]

    def _index_insert(self) -> Any:
        return self._p("INSERT INTO {ks}.events_by_submission (department, submission_id, stream, seq, writer)"
                       " VALUES (?, ?, ?, ?, ?)")

    def _write_index(self, stream: str, envelopes: Sequence[Envelope], token: uuid.UUID) -> None:
        """Step 2 of the append, before its commit: the index rows of the events about to be
        committed (one request: an append is one submission's events, one partition of the
        index), waited for. A submission is thus in the index before it can be accepted, so a
        resend of its id to another stream is refused whatever happens to this writer after
        its commit (session 14; session 13 wrote them after the commit, and a writer dying in
        between left the id unknown to every stream but its own). Rows of a commit that then
        fails are leftovers: an entry counts only when the committed event at (stream, seq) is
        that submission's."""
        insert = self._index_insert()
        self._send_rows([(insert, (e.department, e.submission_id, stream, e.seq, token))
                         for e in envelopes]).result()

    def _write_rows(self, stream: str, head: _Head, envelopes: Sequence[Envelope] | None = None, *,
                    wait: bool = True, index: bool = True) -> list[Any]:
        """Write the rows of the head's last append and their index rows (unconditionally: they
        are a function of the committed head), in batches of one bucket's rows (the index rows
        with the first), the batches concurrently; ``wait=False``: return the requests in
        flight instead of waiting for them. ``index=False``: the rows only (the append's own,
        whose index rows went before its commit)."""

        if envelopes is None:
            pairs = self._last_append(head)
        else:
            pairs = [(e, r) for e, r in zip(envelopes, head.pending, strict=True) if e.seq <= head.last_seq]
        if not pairs:
            return []
        first, last = pairs[0][0].seq, pairs[-1][0].seq
        insert = self._p(
            "INSERT INTO {ks}.events (stream, bucket, seq, event_id, type, department, submission_id,"
            " occurred_at, recorded_at, raw, writer, epoch, batch_first, batch_last)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
        )
        by_bucket: dict[int, list[tuple[Envelope, str]]] = {}
        for e, r in pairs:
            by_bucket.setdefault(self.bucket(e.seq), []).append((e, r))
        chunk: list[tuple[Any, tuple[Any, ...]]] = []
        size = 0
        if index:  # the index rows (a small partition per submission) go in the first batch
            insert_index = self._index_insert()
            chunk = [(insert_index, (e.department, e.submission_id, stream, e.seq, head.writer)) for e, _ in pairs]
            size = sum(row_cost(e.department, e.submission_id, stream) + INDEX_ROW_BYTES for e, _ in pairs)
        futures = []
        for b, group in sorted(by_bucket.items()):
            # each batch under ROWS_BATCH_BYTES (the server refuses a batch above
            # batch_size_fail_threshold, 50 KiB by default); a larger row goes alone (with the
            # index rows if it is the first)
            for e, raw in group:
                values = (stream, b, e.seq, e.event_id, e.type, e.department, e.submission_id,
                          e.occurred_at.isoformat(), e.recorded_at.isoformat(), raw,
                          head.writer, head.epoch, first, last)
                if size and size + len(raw) > ROWS_BATCH_BYTES:
                    futures.append(self._send_rows(chunk))
                    chunk, size = [], 0
                chunk.append((insert, values))
                size += len(raw)
            futures.append(self._send_rows(chunk))  # a bucket's rows are one partition's batch
            chunk, size = [], 0
        if wait:
            for f in futures:
                f.result()
        return futures

    def _send_rows(self, rows: list[tuple[Any, tuple[Any, ...]]]) -> Any:
        from cassandra.query import BatchStatement, BatchType

        if len(rows) == 1:
            return self.session.execute_async(*rows[0])
        batch = BatchStatement(batch_type=BatchType.UNLOGGED)
        for statement, values in rows:
            batch.add(statement, values)
        return self.session.execute_async(batch)

    # ------------------------------------------------------------------ append

    def append(self, stream: str, expected_seq: int, envelopes: Sequence[Envelope]) -> None:
        self._finish(stream, self._commit_append(stream, expected_seq, envelopes))

    def _commit_append(self, stream: str, expected_seq: int, envelopes: Sequence[Envelope]) -> _Written | None:
        """Steps 1-3 and the start of step 4 (the rows in flight): see the module docstring.
        Returns None for an empty append; raises ConcurrencyError when not committed."""
        for n, e in enumerate(envelopes):
            if e.stream != stream or e.seq != expected_seq + 1 + n:
                raise ValueError(f"envelope {e.event_id} is not seq {expected_seq + 1 + n} of {stream}")
        head = self._cached_head(stream)
        if head is None or head.last_seq != expected_seq:
            head = self._read_head(stream)
        if head.pending:  # its writer may have died between its commit and its rows / index rows
            last = self._last_append(head)
            self._write_rows(stream, head)
            self._cache_head(stream, head, stored=True)
            mine = {(e.department, e.submission_id) for e in envelopes}
            if any((e.department, e.submission_id) in mine for e, _ in last):
                # committed already (its receipt may not have gone out): not a second time
                raise ConcurrencyError(f"{stream}: this submission is the last append, committed by another writer")
            head = _Head(head.last_seq, head.epoch, head.exists, [], head.writer, head.legacy)
        if head.last_seq != expected_seq:
            self._cache_head(stream, None)
            raise ConcurrencyError(f"{stream}: expected seq {expected_seq}, found {head.last_seq}")
        if not envelopes:
            return None
        token = uuid.uuid4()
        new_last = expected_seq + len(envelopes)
        raws = [e.to_json() for e in envelopes]
        self._write_index(stream, envelopes, token)
        try:
            applied = self._commit(stream, head, new_last, raws, token)
        except Exception as exc:  # noqa: BLE001 - a CAS of unknown outcome: read the head and see
            from cassandra import WriteTimeout

            if not isinstance(exc, WriteTimeout):
                self._cache_head(stream, None)
                raise
            log.warning("%s: head commit outcome unknown (%s); re-reading", stream, exc)
            now = self._read_head(stream)
            applied = now.last_seq == new_last and now.writer == token
        if not applied:
            self._cache_head(stream, None)
            raise ConcurrencyError(f"{stream}: expected seq {expected_seq}, another append committed first")
        new = _Head(new_last, head.epoch, True, raws, token)
        try:
            return _Written(new, self._write_rows(stream, new, envelopes, wait=False, index=False))
        except Exception as exc:  # noqa: BLE001 - committed: readers take the rows from the head
            return _Written(new, [], exc)

    def _finish(self, stream: str, written: _Written | None) -> None:
        """Wait for the rows of a committed append; if they could not be written, the append
        is still committed (readers and the next writer take them from the head)."""
        if written is None:
            return
        error = written.error
        for f in written.rows:
            try:
                f.result()
            except Exception as exc:  # noqa: BLE001 - committed: see above
                error = error or exc
        if error is not None:
            log.warning("%s: events up to %s committed, rows not yet written (%s); the next append or a reader "
                        "of the head writes them", stream, written.head.last_seq, error)
            self._cache_head(stream, None)
            return
        self._cache_head(stream, written.head, stored=True)

    # ------------------------------------------------------------------ reads

    @retry_read
    def read_stream(self, stream: str, *, from_seq: int = 1, limit: int | None = None) -> list[StoredEvent]:
        return self._read_stream(stream, self._read_head(stream), from_seq, limit)

    @retry_read
    def read_stream_recent(self, stream: str) -> list[StoredEvent]:
        """The whole stream up to the head this instance holds (it committed or read it last),
        else to a head read at the session's consistency, not SERIAL (no Paxos round): for a
        writer folding the stream it is about to append to, whose head LWT refuses the append
        if this head was stale (then it reads again with :meth:`read_stream`)."""
        head = self._cached_head(stream)
        return self._read_stream(stream, head if head is not None else self._read_head(stream, serial=False), 1, None)

    def _read_stream(self, stream: str, head: _Head, from_seq: int, limit: int | None) -> list[StoredEvent]:
        start = max(from_seq, 1)
        last = head.last_seq if limit is None else min(head.last_seq, start + max(limit, 0) - 1)
        rows, _ = self._visible_rows(stream, head, start, last)
        if last == head.last_seq:
            # the next append may start from this head (it writes the last append's rows and
            # index rows first: this read cannot tell whether they are all stored)
            self._cache_head(stream, head)
        return [StoredEvent(envelope=Envelope.from_json(raw), raw=raw, position=0) for _, raw in rows]

    @retry_read
    def read_stream_raw(self, stream: str, *, from_seq: int = 1, limit: int | None = None) -> list[str]:
        """read_stream without decoding (the audit decodes each event once itself)."""
        head = self._read_head(stream)
        start = max(from_seq, 1)
        last = head.last_seq if limit is None else min(head.last_seq, start + max(limit, 0) - 1)
        # As read_stream sees them: a row of the head's last append not written yet (its writer
        # died between the commit and the rows) is taken from the head, a leftover of an append
        # that never committed is replaced by the committed event.
        return [raw for _, raw in self._visible(stream, head, start, last)]

    @retry_read
    def last_seq(self, stream: str) -> int:
        return self._read_head(stream).last_seq

    @retry_read
    def last_seq_recent(self, stream: str) -> int:
        """The head at the session's consistency, not SERIAL (no Paxos round): every commit
        that completed before the read, maybe not one in progress. For caches that tolerate
        that (the worker's registry, refreshed on a short interval)."""
        row = self.session.execute(self._p("SELECT last_seq FROM {ks}.stream_heads WHERE stream = ?"),
                                   (stream,)).one()
        return 0 if row is None else int(row.last_seq or 0)

    @retry_read
    def heads_recent(self) -> dict[str, int]:
        """Every stream's head (stream -> last seq, streams with events only) in one plain read
        of the heads table at the session's consistency, not one SERIAL read per stream: every
        commit that completed before the read. For a reader waiting until something has
        caught up with the log (``WorkerProjection.catch_up`` polls it), not for a writer."""
        rows = self.session.execute(self._p("SELECT stream, last_seq FROM {ks}.stream_heads"))
        return {r.stream: int(r.last_seq) for r in rows if (r.last_seq or 0) > 0}

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
            head = self._read_head(stream)
            last = head.last_seq
            if base + last <= after:
                base += last
                continue
            start = max(after - base, 0) + 1
            for seq, raw in self._visible(stream, head, start, last):
                out.append(StoredEvent(envelope=Envelope.from_json(raw), raw=raw, position=base + seq))
                if len(out) == limit:
                    return out
            base += last
        return out

    def _index_query(self) -> Any:
        return self._p("SELECT stream, seq, writer FROM {ks}.events_by_submission"
                       " WHERE department = ? AND submission_id = ?")

    def find_submission_async(self, department: str, submission_id: str, *, stream: str | None = None) -> Any:
        """:meth:`find_submission` sent now, answered by the returned function: the index
        read goes out at once (with a plain read of ``stream``'s head where this instance
        holds none); an id with no index entry (a new submission: the common case) is
        answered from them, one with entries (or a failed read) by :meth:`find_submission`.
        The answer is as of the call: the head this instance held then, or the one read with
        the index (the appends in between may have completed the index rows of a dead
        writer's last append after this index read; that head still shows that append)."""
        future = self.session.execute_async(self._index_query(), (department, submission_id))
        held = self._cached_head(stream) if stream is not None else None
        head_read = None
        if stream is not None and held is None:
            head_read = self.session.execute_async(self._head_plain(), (stream,))

        def result() -> list[StoredEvent]:
            try:
                if not list(future.result()):
                    if stream is None:
                        return []
                    head = held if head_read is None else self._head_of(head_read.result().one())
                    return self._in_last_append(department, submission_id, stream, head, remember=False)
            except Exception:  # noqa: BLE001 - read again, with the retries of find_submission
                pass
            return self.find_submission(department, submission_id, stream=stream)

        return result

    @retry_read
    def find_submission(self, department: str, submission_id: str, *, stream: str | None = None) -> list[StoredEvent]:
        entries = list(self.session.execute(self._index_query(), (department, submission_id)))
        if not entries and stream is not None:
            return self._in_last_append(department, submission_id, stream, self._cached_head(stream))
        out: list[StoredEvent] = []
        heads: dict[str, _Head] = {}
        for entry in entries:
            if entry.stream not in heads:
                heads[entry.stream] = self._read_head(entry.stream)
            head = heads[entry.stream]
            if entry.seq > head.last_seq:
                continue
            found = self._visible(entry.stream, head, entry.seq, entry.seq)
            if not found:
                continue
            # The committed event itself says whose it is (the index row may be a leftover of
            # a writer that lost the race for this seq).
            raw = found[0][1]
            envelope = Envelope.from_json(raw)
            if envelope.department == department and envelope.submission_id == submission_id:
                out.append(StoredEvent(envelope=envelope, raw=raw, position=0))
        return out

    def _in_last_append(self, department: str, submission_id: str, stream: str,
                        head: _Head | None, *, remember: bool = True) -> list[StoredEvent]:
        """A submission without index entry, in ``stream``'s last append (its writer died
        between the commit and the index rows; only the last append can lack them): its
        events, after writing that append's rows and index rows; else none. ``head``: the one
        this instance holds (a later commit by another writer makes this instance's next
        append fail, and the ledger asks again), else read now at the session's consistency.
        ``remember``: ``head`` is still the one to cache (not for an answer sent ahead)."""
        if head is None:
            head = self._read_head(stream, serial=False)
            if remember:
                self._cache_head(stream, head)
        if not head.pending:
            return []
        last = self._last_append(head)
        mine = [StoredEvent(envelope=e, raw=r, position=0) for e, r in last
                if e.department == department and e.submission_id == submission_id]
        if mine:
            try:
                self._write_rows(stream, head)
            except Exception as exc:  # noqa: BLE001 - the events are committed all the same
                log.warning("%s: could not complete the rows of seq %s (%s)", stream, head.last_seq, exc)
            else:
                if remember:
                    self._cache_head(stream, head, stored=True)
        return mine

    def tamper_for_test(self, stream: str, seq: int, raw: str) -> None:
        self.session.execute(
            self._p("UPDATE {ks}.events SET raw = ? WHERE stream = ? AND bucket = ? AND seq = ?"),
            (raw, stream, self.bucket(seq), seq),
        )
