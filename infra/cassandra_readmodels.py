"""The Cassandra adapters of the read side: rejections, read models (projections) and
consumer offsets. The event log is in ``infra/cassandra_store.py`` (see its docstring for the
log's design); the session and schema in ``infra/cassandra_session.py``.

Design
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
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from tongxiu.events.envelope import Receipt
from tongxiu.infra.cassandra_batches import (
    MAX_BATCH_BYTES,
    MAX_DOCUMENT_BYTES,
    DocumentWrite,
    Row,
    plan,
    row_cost,
)
from tongxiu.infra.cassandra_retry import retry_read
from tongxiu.infra.cassandra_session import _Base
from tongxiu.projections.documents import HEAD, assemble, split
from tongxiu.services.ports import (
    ConcurrencyError,
    OffsetStore,
    PartChanges,
    RejectionLog,
    RejectionRecord,
    ShardedProjectionStore,
)

log = logging.getLogger(__name__)


# --------------------------------------------------------------------------- rejections


def _month(when: datetime) -> int:
    when = when.astimezone(UTC)
    return when.year * 100 + when.month


def _uuid_time(u: uuid.UUID) -> datetime:
    return datetime.fromtimestamp((u.time - 0x01B21DD213814000) / 1e7, tz=UTC)


class CassandraRejectionLog(_Base, RejectionLog):
    def record(self, rejection: RejectionRecord) -> None:
        self._write(uuid.uuid1(), rejection.receipt, rejection.receipt.model_dump_json(),
                    json.dumps(rejection.submission, ensure_ascii=False), bool(rejection.authenticated))

    def _write(self, rid: uuid.UUID, r: Receipt, receipt: str, submission: str, auth: bool) -> None:
        """The rows of one rejection (idempotent: the same ``rid`` rewrites the same rows; the
        transparency log replays it, infra/cassandra_merkle.py)."""
        self._write_async(rid, r, receipt, submission, auth).result()

    def _write_async(self, rid: uuid.UUID, r: Receipt, receipt: str, submission: str, auth: bool) -> Any:
        """:meth:`_write` sent; returns the driver's future."""
        from cassandra.query import BatchStatement, BatchType

        month = _month(_uuid_time(rid))
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
        return self.session.execute_async(batch)

    def _get_statement(self) -> Any:
        return self._p("SELECT receipt, submission, authenticated FROM {ks}.rejections_by_submission"
                       " WHERE department = ? AND submission_id = ?")

    @retry_read
    def get(self, department: str, submission_id: str) -> RejectionRecord | None:
        return _first_authenticated(self.session.execute(self._get_statement(), (department, submission_id)))

    def get_async(self, department: str, submission_id: str) -> Callable[[], RejectionRecord | None]:
        """:meth:`get` sent now, answered by the returned function (the worker sends it beside
        the idempotency look-up in the log: two reads in one round trip); a failed request is
        read again with :meth:`get` (and its retries)."""
        future = self.session.execute_async(self._get_statement(), (department, submission_id))

        def result() -> RejectionRecord | None:
            try:
                return _first_authenticated(future.result())
            except Exception:  # noqa: BLE001 - read again, with the retries of get()
                return self.get(department, submission_id)

        return result

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


def _first_authenticated(rows: Any) -> RejectionRecord | None:
    for row in rows:
        if row.authenticated:
            return _rejection(row)
    return None


def _rejection(row: Any) -> RejectionRecord:
    return RejectionRecord(
        receipt=Receipt.model_validate_json(row.receipt),
        submission=json.loads(row.submission),
        authenticated=bool(row.authenticated),
    )


# --------------------------------------------------------------------------- projections


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


class CassandraProjectionStore(_Base, ShardedProjectionStore):
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

    HEADS_PER_READ = 100
    """Keys per ``IN`` read of :meth:`load_heads` (the node reads each partition anyway; this
    bounds one request's size)."""

    @retry_read
    def load_heads(self, projection: str, keys: Sequence[str]) -> dict[str, dict[str, Any] | None]:
        """:meth:`load_head` of several keys, ``HEADS_PER_READ`` per request (one ``IN`` read),
        the requests sent at once: for readers that wait for many documents to move (the
        exact test of ``WorkerProjection.catch_up``, the distributed bench's latency poller)."""
        stmt = self._p("SELECT key, state FROM {ks}.projection_parts WHERE projection = ? AND key IN ? AND part = ?")
        unique = list(dict.fromkeys(keys))
        chunks = [unique[i:i + self.HEADS_PER_READ] for i in range(0, len(unique), self.HEADS_PER_READ)]
        futures = [self.session.execute_async(stmt, (projection, chunk, HEAD)) for chunk in chunks]
        out: dict[str, dict[str, Any] | None] = dict.fromkeys(unique)
        for future in futures:
            for row in future.result():
                out[row.key] = dict(json.loads(row.state))
        return out

    def __init__(
        self, session: Any, keyspace: str, *, cache_docs: int = 256, max_batch_bytes: int = MAX_BATCH_BYTES,
        max_document_bytes: int = MAX_DOCUMENT_BYTES,
    ) -> None:
        super().__init__(session, keyspace)
        self.max_batch_bytes = max_batch_bytes
        self.max_document_bytes = max_document_bytes
        """Above this a document spans several batches, head last (tests lower it: the shared
        test server's heap is small)."""
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
        knowns = self._known_many(projection, list(updates))
        for key, doc in updates.items():
            parts = split(key, doc)
            texts = {p: _dumps(v) for p, v in parts.items()}
            known = knowns[key]
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

    def _known_many(self, projection: str, keys: list[str]) -> dict[str, dict[str, str] | None]:
        """:meth:`_known` of each key, the stored heads read concurrently (issue 11, session 11:
        one round trip for a save's documents, not one per document in turn)."""
        stmt = self._p("SELECT state FROM {ks}.projection_parts WHERE projection = ? AND key = ? AND part = ?")
        heads = [self.session.execute_async(stmt, (projection, key, HEAD)) for key in keys]
        return {key: self._known(projection, key, future) for key, future in zip(keys, heads, strict=True)}

    def _known(self, projection: str, key: str, head: Any = None) -> dict[str, str] | None:
        """The parts of ``key`` as stored: this adapter's copy while the stored head is the one
        it last wrote or read, else read again. ``head``: the head's read already sent."""
        cached = self._texts.get((projection, key))
        if head is None:
            head = self.session.execute_async(
                self._p("SELECT state FROM {ks}.projection_parts WHERE projection = ? AND key = ? AND part = ?"),
                (projection, key, HEAD))
        row = head.result().one()
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
        if expected is not None and self.own_position(projection) != expected:
            raise ConcurrencyError(f"projection {projection} is not at {expected}")
        put_pos = self._p("INSERT INTO {ks}.projection_positions (projection, position) VALUES (?, ?)")
        self._write(projection, changes, Row(put_pos, (projection, position), row_cost(str(position))))

    def write_shard(
        self, projection: str, shard: str, changes: dict[str, PartChanges], position: int, *,
        expected: int | None = None,
    ) -> None:
        """As :meth:`write`, the position going to ``shard``'s row. The check of ``expected``
        is a read, not a condition: one writer per shard (Kafka's consumer group) is assumed."""
        if expected is not None and self.shard_position(projection, shard) != expected:
            raise ConcurrencyError(f"projection {projection} shard {shard} is not at {expected}")
        put_pos = self._p(
            "INSERT INTO {ks}.projection_shard_positions (projection, shard, position) VALUES (?, ?, ?)")
        self._write(projection, changes, Row(put_pos, (projection, shard, position), row_cost(shard, str(position))))

    @retry_read
    def shard_position(self, projection: str, shard: str) -> int:
        row = self.session.execute(
            self._p("SELECT position FROM {ks}.projection_shard_positions WHERE projection = ? AND shard = ?"),
            (projection, shard),
        ).one()
        return 0 if row is None or row.position is None else int(row.position)

    def _write(self, projection: str, changes: dict[str, PartChanges], last: Row) -> None:
        import time as _time

        from cassandra.query import BatchStatement, BatchType
        now = int(_time.time() * 1_000_000)
        put = self._p(
            "INSERT INTO {ks}.projection_parts (projection, key, part, state) VALUES (?, ?, ?, ?) USING TIMESTAMP ?"
        )
        drop = self._p(
            "DELETE FROM {ks}.projection_parts USING TIMESTAMP ? WHERE projection = ? AND key = ? AND part = ?"
        )
        drop_all = self._p("DELETE FROM {ks}.projection_parts USING TIMESTAMP ? WHERE projection = ? AND key = ?")
        put_key = self._p("INSERT INTO {ks}.projection_keys (projection, key) VALUES (?, ?)")
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
        batches = plan(docs, last, max_batch_bytes=self.max_batch_bytes, max_document_bytes=self.max_document_bytes)
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
        """The projection's own position plus every shard's (``ShardedProjectionStore``)."""
        shards = self.session.execute(
            self._p("SELECT position FROM {ks}.projection_shard_positions WHERE projection = ?"), (projection,))
        return self.own_position(projection) + sum(int(r.position or 0) for r in shards)

    @retry_read
    def own_position(self, projection: str) -> int:
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
        batch.add(self._p("DELETE FROM {ks}.projection_shard_positions WHERE projection = ?"), (projection,))
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
