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
    * Rejections are denormalised into four tables (by submission, by department, by stream,
      all), each partitioned by month, written in one logged batch; ids are time uuids
      (insertion order within a process, clock order across processes).
    * Projections: documents stored as parts (``tongxiu.projections.documents``) in
      ``projection_parts ((projection, key), part)``, plus ``projection_keys`` and
      ``projection_positions``. An update writes only the parts it changed (its cost does
      not grow with a long history), in logged batches planned by
      ``infra/cassandra_batches.py``: each document whole in one batch (a document too large
      for a multi-partition batch alone in a single-partition batch, atomic), documents in
      the order given, the position last. A writer killed between two batches therefore
      leaves every document either old or new, never a head (with its seq and
      seen-watermarks) ahead of the parts it guards. One writer per projection is assumed.
      (``projection_state``, the older one-row-per-document table, is no longer read or
      written.)
    * Offsets: one row per consumer.
    * Reads (the read methods of every adapter) are retried a few times, about 6 s in all, on
      a connection error: a session that outlived a node's restart fails its first request
      on a dead connection (``infra/cassandra_retry.py``). Writes are not.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tongxiu.events.envelope import Envelope, Receipt
from tongxiu.infra.cassandra_batches import MAX_BATCH_BYTES, DocumentWrite, Row, plan, row_cost
from tongxiu.infra.cassandra_retry import retry_read
from tongxiu.projections.documents import HEAD, assemble, split
from tongxiu.services.config import Settings
from tongxiu.services.ports import (
    ConcurrencyError,
    EventLog,
    OffsetStore,
    PartChanges,
    ProjectionStore,
    RejectionLog,
    RejectionRecord,
    StoredEvent,
)

log = logging.getLogger(__name__)

SCHEMA_FILE = Path(__file__).resolve().parent / "cassandra" / "schema.cql"
EVENTS_PER_BUCKET = 1000
"""Events per (stream, bucket) partition. Part of the data format: never change it once a
keyspace holds events."""
MAX_RESOLVE_ROUNDS = 8


# --------------------------------------------------------------------------- session


def _consistency(name: str) -> int:
    from cassandra import ConsistencyLevel

    return int(ConsistencyLevel.name_to_value[name.upper()])


def connect(settings: Settings, *, keyspace: str | None = None) -> Any:
    """A driver ``Session`` for ``settings`` (libev reactor when available, token-aware
    routing, default consistency and serial consistency from settings, password auth when a
    username is set). ``keyspace`` (default: none) is set on the session if given."""
    from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile
    from cassandra.policies import DCAwareRoundRobinPolicy, ExponentialReconnectionPolicy, TokenAwarePolicy

    kwargs: dict[str, Any] = {}
    try:
        from cassandra.io.libevreactor import LibevConnection

        kwargs["connection_class"] = LibevConnection
    except ImportError:  # pragma: no cover - wheels bundle libev
        pass
    if settings.cassandra_username:
        from cassandra.auth import PlainTextAuthProvider

        kwargs["auth_provider"] = PlainTextAuthProvider(
            username=settings.cassandra_username, password=settings.cassandra_password or ""
        )
    profile = ExecutionProfile(
        load_balancing_policy=TokenAwarePolicy(DCAwareRoundRobinPolicy()),
        consistency_level=_consistency(settings.consistency),
        serial_consistency_level=_consistency(settings.serial_consistency),
        request_timeout=30,
    )
    cluster = Cluster(
        settings.cassandra_contact_points,
        port=settings.cassandra_port,
        execution_profiles={EXEC_PROFILE_DEFAULT: profile},
        connect_timeout=30,
        # a node that comes back is used again within ~2 s (the driver's default waits up to
        # 10 min between attempts after a long outage)
        reconnection_policy=ExponentialReconnectionPolicy(base_delay=0.5, max_delay=2.0),
        **kwargs,
    )
    return cluster.connect(keyspace) if keyspace else cluster.connect()


def _cql_map(value: dict[str, Any]) -> str:
    parts = []
    for k, v in value.items():
        val = str(v) if isinstance(v, int | float) and not isinstance(v, bool) else "'" + str(v).replace("'", "''") + "'"
        parts.append("'" + str(k).replace("'", "''") + "': " + val)
    return "{" + ", ".join(parts) + "}"


def schema_statements(settings: Settings) -> list[str]:
    keyspace = settings.keyspace
    if not keyspace.replace("_", "").isalnum():
        raise ValueError(f"invalid keyspace name {keyspace!r}")
    text = "\n".join(
        line for line in SCHEMA_FILE.read_text(encoding="utf-8").splitlines() if not line.lstrip().startswith("--")
    )
    text = text.replace("{keyspace}", keyspace).replace("{replication}", _cql_map(settings.cassandra_replication))
    return [s.strip() for s in text.split(";") if s.strip()]


def migrate(session: Any, settings: Settings) -> None:
    """Create the keyspace and every table if missing (idempotent), then wait for schema
    agreement."""
    for statement in schema_statements(settings):
        session.execute(statement, timeout=120)
    session.cluster.control_connection.wait_for_schema_agreement()


@dataclass
class _Head:
    last_seq: int
    epoch: int
    exists: bool


class _Base:
    def __init__(self, session: Any, keyspace: str) -> None:
        self.session = session
        self.ks = keyspace
        self._prepared: dict[str, Any] = {}

    def _p(self, cql: str) -> Any:
        stmt = self._prepared.get(cql)
        if stmt is None:
            stmt = self.session.prepare(cql.replace("{ks}", self.ks))
            self._prepared[cql] = stmt
        return stmt

    def _serial(self, cql: str) -> Any:
        """A prepared SELECT read at the serial consistency (sees every committed LWT)."""
        from cassandra import ConsistencyLevel

        key = "serial:" + cql
        stmt = self._prepared.get(key)
        if stmt is None:
            stmt = self.session.prepare(cql.replace("{ks}", self.ks))
            stmt.consistency_level = ConsistencyLevel.SERIAL
            self._prepared[key] = stmt
        return stmt


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


# --------------------------------------------------------------------------- rejections


def _month(when: datetime) -> int:
    when = when.astimezone(UTC)
    return when.year * 100 + when.month


def _uuid_time(u: uuid.UUID) -> datetime:
    return datetime.fromtimestamp((u.time - 0x01B21DD213814000) / 1e7, tz=UTC)


class CassandraRejectionLog(_Base, RejectionLog):
    def record(self, rejection: RejectionRecord) -> None:
        from cassandra.query import BatchStatement, BatchType

        r = rejection.receipt
        rid = uuid.uuid1()
        month = _month(_uuid_time(rid))
        receipt = r.model_dump_json()
        submission = json.dumps(rejection.submission, ensure_ascii=False)
        auth = bool(rejection.authenticated)
        batch = BatchStatement(batch_type=BatchType.LOGGED)
        batch.add(
            self._p(
                "INSERT INTO {ks}.rejections_by_submission (department, submission_id, id, stream, authenticated,"
                " receipt, submission) VALUES (?,?,?,?,?,?,?)"
            ),
            (r.department, r.submission_id, rid, r.stream, auth, receipt, submission),
        )
        batch.add(
            self._p(
                "INSERT INTO {ks}.rejections_by_department (department, month, id, submission_id, stream,"
                " authenticated, receipt, submission) VALUES (?,?,?,?,?,?,?,?)"
            ),
            (r.department, month, rid, r.submission_id, r.stream, auth, receipt, submission),
        )
        batch.add(
            self._p(
                "INSERT INTO {ks}.rejections_by_stream (stream, month, id, department, submission_id,"
                " authenticated, receipt, submission) VALUES (?,?,?,?,?,?,?,?)"
            ),
            (r.stream, month, rid, r.department, r.submission_id, auth, receipt, submission),
        )
        batch.add(
            self._p(
                "INSERT INTO {ks}.rejections_all (month, id, department, submission_id, stream,"
                " authenticated, receipt, submission) VALUES (?,?,?,?,?,?,?,?)"
            ),
            (month, rid, r.department, r.submission_id, r.stream, auth, receipt, submission),
        )
        batch.add(self._p("INSERT INTO {ks}.rejection_months (scope, month) VALUES ('all', ?)"), (month,))
        self.session.execute(batch)

    @retry_read
    def get(self, department: str, submission_id: str) -> RejectionRecord | None:
        rows = self.session.execute(
            self._p(
                "SELECT receipt, submission, authenticated FROM {ks}.rejections_by_submission"
                " WHERE department = ? AND submission_id = ?"
            ),
            (department, submission_id),
        )
        for row in rows:
            if row.authenticated:
                return _rejection(row)
        return None

    @retry_read
    def list(
        self, *, department: str | None = None, stream: str | None = None, limit: int = 100, offset: int = 0
    ) -> list[RejectionRecord]:
        out: list[RejectionRecord] = []
        if limit <= 0:
            return out
        skip = max(offset, 0)
        months = [r.month for r in self.session.execute(
            self._p("SELECT month FROM {ks}.rejection_months WHERE scope = 'all'"))]
        for month in months:
            if stream:
                rows: Iterable[Any] = self.session.execute(
                    self._p("SELECT department, receipt, submission, authenticated FROM {ks}.rejections_by_stream"
                            " WHERE stream = ? AND month = ?"),
                    (stream, month),
                )
                if department:
                    rows = (r for r in rows if r.department == department)
            elif department:
                rows = self.session.execute(
                    self._p("SELECT receipt, submission, authenticated FROM {ks}.rejections_by_department"
                            " WHERE department = ? AND month = ?"),
                    (department, month),
                )
            else:
                rows = self.session.execute(
                    self._p("SELECT receipt, submission, authenticated FROM {ks}.rejections_all WHERE month = ?"),
                    (month,),
                )
            for row in rows:
                if skip:
                    skip -= 1
                    continue
                out.append(_rejection(row))
                if len(out) == limit:
                    return out
        return out


    @retry_read
    def count(self, *, department: str | None = None, stream: str | None = None) -> int:
        months = [r.month for r in self.session.execute(
            self._p("SELECT month FROM {ks}.rejection_months WHERE scope = 'all'"))]
        total = 0
        for month in months:
            if stream and department:
                rows = self.session.execute(
                    self._p("SELECT department FROM {ks}.rejections_by_stream WHERE stream = ? AND month = ?"),
                    (stream, month),
                )
                total += sum(1 for r in rows if r.department == department)
                continue
            if stream:
                row = self.session.execute(
                    self._p("SELECT COUNT(*) FROM {ks}.rejections_by_stream WHERE stream = ? AND month = ?"),
                    (stream, month),
                ).one()
            elif department:
                row = self.session.execute(
                    self._p("SELECT COUNT(*) FROM {ks}.rejections_by_department WHERE department = ? AND month = ?"),
                    (department, month),
                ).one()
            else:
                row = self.session.execute(
                    self._p("SELECT COUNT(*) FROM {ks}.rejections_all WHERE month = ?"), (month,)
                ).one()
            total += int(row[0]) if row is not None else 0
        return total


def _rejection(row: Any) -> RejectionRecord:
    return RejectionRecord(
        receipt=Receipt.model_validate_json(row.receipt),
        submission=json.loads(row.submission),
        authenticated=bool(row.authenticated),
    )


# --------------------------------------------------------------------------- projections


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


class CassandraProjectionStore(_Base, ProjectionStore):
    """Documents as parts (``tongxiu.projections.documents``): ``projection_parts ((projection, key),
    part)``, so an update writes only the parts it changed. A whole-document replacement
    deletes the partition at a timestamp just below the new rows' (same batch, no shadowing).
    ``write(expected=...)`` checks the position before writing; unlike SQLite this check is
    not isolated from a concurrent writer, so one runner per projection is still assumed
    (the worker's projector; ``tongxiu rebuild``)."""

    @retry_read
    def load(self, projection: str, key: str) -> dict[str, Any] | None:
        rows = self.session.execute(
            self._p("SELECT part, state FROM {ks}.projection_parts WHERE projection = ? AND key = ?"),
            (projection, key),
        )
        doc = assemble(key, {r.part: json.loads(r.state) for r in rows})
        return None if doc is None else dict(doc)

    @retry_read
    def load_head(self, projection: str, key: str) -> dict[str, Any] | None:
        row = self.session.execute(
            self._p("SELECT state FROM {ks}.projection_parts WHERE projection = ? AND key = ? AND part = ?"),
            (projection, key, HEAD),
        ).one()
        return None if row is None else dict(json.loads(row.state))

    def __init__(
        self, session: Any, keyspace: str, *, cache_docs: int = 256, max_batch_bytes: int = MAX_BATCH_BYTES
    ) -> None:
        super().__init__(session, keyspace)
        self.max_batch_bytes = max_batch_bytes
        """Budget of a multi-partition batch (``infra/cassandra_batches.py``; tests lower it)."""
        self._texts: OrderedDict[tuple[str, str], dict[str, str]] = OrderedDict()
        """(projection, key) -> part -> JSON text as last written or read by this adapter."""
        self._cache_docs = cache_docs

    def save(self, projection: str, updates: dict[str, dict[str, Any]], position: int) -> None:
        """Whole documents in, changed parts out: each document is split and compared with
        the parts this adapter last wrote (checked against the stored head, so a rebuild or
        another writer in between makes it re-read them); only the parts that differ are
        written and the ones gone are deleted. The worker's projector saves whole documents,
        so this keeps its writes to Cassandra as small as the change. Documents are written
        in the order of ``updates`` (see ``infra/cassandra_batches.py``): list the documents
        a guard protects before the guard."""
        changes: dict[str, PartChanges] = {}
        written: dict[str, dict[str, str]] = {}
        for key, doc in updates.items():
            parts = split(key, doc)
            texts = {p: _dumps(v) for p, v in parts.items()}
            known = self._known(projection, key)
            if known is None:
                changes[key] = PartChanges(parts, whole=True)
            else:
                diff: dict[str, Any] = {p: parts[p] for p, t in texts.items() if known.get(p) != t}
                diff.update({p: None for p in known if p not in texts})
                changes[key] = PartChanges(diff)
            written[key] = texts
        self.write(projection, changes, position)
        for key, texts in written.items():  # only once every batch is written
            self._remember(projection, key, texts)

    def _known(self, projection: str, key: str) -> dict[str, str] | None:
        cached = self._texts.get((projection, key))
        row = self.session.execute(
            self._p("SELECT state FROM {ks}.projection_parts WHERE projection = ? AND key = ? AND part = ?"),
            (projection, key, HEAD),
        ).one()
        if row is None:
            return None
        if cached is not None and cached.get(HEAD) == row.state:
            self._texts.move_to_end((projection, key))
            return cached
        rows = self.session.execute(
            self._p("SELECT part, state FROM {ks}.projection_parts WHERE projection = ? AND key = ?"),
            (projection, key),
        )
        return {r.part: r.state for r in rows}

    def _remember(self, projection: str, key: str, texts: dict[str, str]) -> None:
        self._texts[(projection, key)] = texts
        self._texts.move_to_end((projection, key))
        while len(self._texts) > self._cache_docs:
            self._texts.popitem(last=False)

    def write(
        self, projection: str, changes: dict[str, PartChanges], position: int, *, expected: int | None = None
    ) -> None:
        """Write ``changes`` then the position, in batches planned by
        :func:`tongxiu.infra.cassandra_batches.plan` (a document whole in one batch, in the
        order given, the position last). What this adapter remembers of the documents is
        updated only once every batch is written, and forgotten if one fails."""
        import time as _time

        from cassandra.query import BatchStatement, BatchType

        if expected is not None and self.position(projection) != expected:
            raise ConcurrencyError(f"projection {projection} is not at {expected}")
        now = int(_time.time() * 1_000_000)
        put = self._p(
            "INSERT INTO {ks}.projection_parts (projection, key, part, state) VALUES (?, ?, ?, ?) USING TIMESTAMP ?"
        )
        drop = self._p(
            "DELETE FROM {ks}.projection_parts USING TIMESTAMP ? WHERE projection = ? AND key = ? AND part = ?"
        )
        drop_all = self._p("DELETE FROM {ks}.projection_parts USING TIMESTAMP ? WHERE projection = ? AND key = ?")
        put_key = self._p("INSERT INTO {ks}.projection_keys (projection, key) VALUES (?, ?)")
        put_pos = self._p("INSERT INTO {ks}.projection_positions (projection, position) VALUES (?, ?)")
        docs: list[DocumentWrite] = []
        texts: dict[str, dict[str, str | None]] = {}
        for key, change in changes.items():
            doc = DocumentWrite(key, index=Row(put_key, (projection, key), row_cost(key)))
            if change.whole:  # just below the new rows' timestamp: it never shadows them
                doc.rows.append(Row(drop_all, (now - 1, projection, key), row_cost(), head=True))
            changed = texts.setdefault(key, {})
            for part, value in change.parts.items():
                if value is None:
                    doc.rows.append(Row(drop, (now, projection, key, part), row_cost(part), head=True))
                    changed[part] = None
                else:
                    text = _dumps(value)
                    changed[part] = text
                    doc.rows.append(Row(put, (projection, key, part, text, now), row_cost(part, text),
                                        head=part == HEAD))
            docs.append(doc)
        batches = plan(docs, Row(put_pos, (projection, position), row_cost(str(position))),
                       max_batch_bytes=self.max_batch_bytes)
        if len(batches) > 1:
            log.info("projection %s: write of %d documents in %d batches; position written last", projection,
                     len(docs), len(batches))
        try:
            for planned in batches:
                batch = BatchStatement(batch_type=BatchType.LOGGED)
                for row in planned.rows:
                    batch.add(row.statement, row.values)
                self._execute_batch(batch, planned.cost)
        except BaseException:
            for key in changes:  # some batches may be written, some not: re-read next time
                self._texts.pop((projection, key), None)
            raise
        for key, change in changes.items():
            known = self._texts.get((projection, key))
            if known is None:
                continue
            if change.whole:
                known = {}
            for part, new in texts[key].items():
                if new is None:
                    known.pop(part, None)
                else:
                    known[part] = new
            self._texts[(projection, key)] = known

    def _execute_batch(self, batch: Any, cost: int) -> Any:
        """One batch, ``cost`` bytes as counted by ``row_cost`` (a seam for the tests that kill
        a writer between two batches or compare the count with the server's)."""
        return self.session.execute(batch)

    @retry_read
    def position(self, projection: str) -> int:
        row = self.session.execute(
            self._p("SELECT position FROM {ks}.projection_positions WHERE projection = ?"), (projection,)
        ).one()
        return 0 if row is None or row.position is None else int(row.position)

    @retry_read
    def keys(self, projection: str) -> list[str]:
        rows = self.session.execute(
            self._p("SELECT key FROM {ks}.projection_keys WHERE projection = ?"), (projection,)
        )
        return [r.key for r in rows]

    def reset(self, projection: str) -> None:
        from cassandra.query import BatchStatement, BatchType

        for cached in [k for k in self._texts if k[0] == projection]:
            del self._texts[cached]
        keys = self.keys(projection)
        drop = self._p("DELETE FROM {ks}.projection_parts WHERE projection = ? AND key = ?")
        batch = BatchStatement(batch_type=BatchType.LOGGED)
        n = 0
        for key in keys:
            batch.add(drop, (projection, key))
            n += 1
            if n == 200:
                self.session.execute(batch)
                batch = BatchStatement(batch_type=BatchType.LOGGED)
                n = 0
        batch.add(self._p("DELETE FROM {ks}.projection_keys WHERE projection = ?"), (projection,))
        batch.add(self._p("DELETE FROM {ks}.projection_positions WHERE projection = ?"), (projection,))
        self.session.execute(batch)


# --------------------------------------------------------------------------- offsets


class CassandraOffsetStore(_Base, OffsetStore):
    @retry_read
    def get(self, consumer: str) -> int:
        row = self.session.execute(
            self._p("SELECT position FROM {ks}.offsets WHERE consumer = ?"), (consumer,)
        ).one()
        return 0 if row is None or row.position is None else int(row.position)

    def put(self, consumer: str, position: int) -> None:
        self.session.execute(
            self._p("INSERT INTO {ks}.offsets (consumer, position) VALUES (?, ?)"), (consumer, position)
        )
