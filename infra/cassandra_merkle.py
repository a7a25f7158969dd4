"""The transparency log of the distributed backend (issue 9): the RFC 9162 tree of every
accepted event and every recorded rejection, in Cassandra, with the same leaves, checkpoints,
receipts and proofs as the embedded backend (``infra/sqlite_merkle.py``).

One tree for the whole ledger (docs/verification.md says why not one per partition).

Commit point
    ``merkle_state`` (one row) holds the size, the frontier and the *batch* last appended:
    its leaves (hash, kind, reference), the complete-subtree nodes they closed, and for a
    rejection its rows. An append reads the state at SERIAL consistency and commits with a
    lightweight transaction ``IF size = <read size>`` — so two writers (two shards of one
    worker, a worker and the zombie it replaced, a client's ``tongxiu checkpoint``) can never
    both append leaf n. Only after the commit are the batch's rows written (``merkle_leaves``,
    ``merkle_nodes``, ``merkle_refs``, the rejection tables, all at once); an appender that did
    not commit the previous batch itself (it read the state) writes that batch's rows again
    before appending, in case its writer died: the rows are a deterministic function of the
    state, so a late or repeated write is harmless, and readers overlay the last batch's
    leaves and nodes from the state. Leaves whose events this instance has just committed are
    not looked up in ``merkle_refs`` before the LWT while nothing but this instance's own
    appends can have grown the tree since (:meth:`CassandraTransparencyLog.generation`).

Group commit (issue 11)
    The ledger agent has several submissions in flight at once (``ShardedHandler``); their
    leaf appends (and rejections') wait for the one in progress and are then committed
    together by the next LWT on ``merkle_state``: one consensus write per group, not one per
    submission, and the tree row stops being the queue every submission waits in.

Events (:class:`LoggedCassandraEventLog`)
    The event append keeps its own commit point (the stream head LWT, with its epoch fencing);
    the leaves follow it. A writer SIGKILLed between the two leaves committed events without
    leaves, so every append first completes the leaves of its stream's events before its
    expected seq (``merkle_streams`` says how far they are known to be logged; an event
    already in the tree is never appended twice: the append skips any reference the tree
    holds, checked against the same state the LWT commits on). ``Transparency.receipt_log``
    completes the stream when a duplicate's leaves are missing, and ``complete()`` (every
    recorded checkpoint, ``tongxiu verify-log``) sweeps every stream.

Rejections (:class:`LoggedCassandraRejectionLog`)
    The leaf append *is* the rejection's commit point: the rejection rows are written from the
    committed batch, so there is no leaf without its rejection (they are rewritten if the
    writer died) and no rejection without its leaf.

Why one module of about 480 lines: the commit point, the completion of a dead writer's rows
and the two logged adapters read and write the same four tables under one invariant (rows
are a function of the committed state); split apart, that invariant would be spread over
modules that each look correct alone.
"""

from __future__ import annotations

import contextlib
import json
import logging
import random
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC
from typing import Any

from tongxiu.events import merkle
from tongxiu.events.envelope import Envelope, Receipt
from tongxiu.events.tlog import Checkpoint, digest_text, event_leaf_data, rejection_leaf_data
from tongxiu.infra.cassandra_readmodels import CassandraRejectionLog
from tongxiu.infra.cassandra_session import _Base, was_applied
from tongxiu.infra.cassandra_store import EVENTS_PER_BUCKET, CassandraEventLog
from tongxiu.services.ports import ConcurrencyError, RejectionRecord
from tongxiu.services.transparency import LeafEntry, TransparencyLog

log = logging.getLogger(__name__)

LOG_ROW = "tongxiu"
LEAVES_PER_BUCKET = 10_000
"""Leaf (and node) rows per partition. Part of the data format: never change it once a
keyspace holds leaves."""
MAX_ROUNDS = 64
GROUP_LINGER_S = 0.05
"""At most this long a group commit waits for the announced callers (:meth:`CassandraTransparencyLog.gathering`)."""


@dataclass(frozen=True)
class Leaf:
    hash: bytes
    kind: str
    ref: str
    key: str
    """What makes the fact unique (event id; ``rejection:<row id>``): never appended twice."""
    rejection: dict[str, Any] | None = None


@dataclass
class _State:
    size: int
    frontier: list[bytes]
    batch: dict[str, Any] = field(default_factory=dict)

    def batch_leaves(self) -> list[tuple[int, bytes, str, str, str]]:
        first = int(self.batch.get("first", 0))
        return [(first + i, bytes.fromhex(h), kind, ref, key)
                for i, (h, kind, ref, key) in enumerate(self.batch.get("leaves", []))]

    def batch_nodes(self) -> dict[tuple[int, int], bytes]:
        return {(int(lv), int(i)): bytes.fromhex(h) for lv, i, h in self.batch.get("nodes", [])}


@dataclass
class _Request:
    """One caller's leaves waiting for a group commit."""

    leaves: list[Leaf]
    streams: dict[str, int]
    fresh: int | None = None
    """:meth:`CassandraTransparencyLog.generation` before the caller committed these leaves'
    events (None: not known to be fresh)."""
    done: bool = False
    out: tuple[list[int], int] | None = None
    error: BaseException | None = None

    def result(self) -> tuple[list[int], int]:
        if self.out is None:
            raise self.error if self.error is not None else ConcurrencyError("transparency log: no result")
        return self.out


def event_leaf(env: Envelope) -> Leaf:
    data = event_leaf_data(stream=env.stream, seq=env.seq, event_id=env.event_id, hash=env.hash)
    return Leaf(merkle.leaf_hash(data), "event", env.event_id, env.event_id)


class CassandraTransparencyLog(_Base, TransparencyLog):
    """The tree in Cassandra (tables in infra/cassandra/schema.cql). One instance per process
    is shared by the logged event and rejection logs: its lock serialises this process's
    appends (fewer lost LWT rounds); other processes are fenced by the LWT."""

    def __init__(self, session: Any, keyspace: str, *, events_per_bucket: int = EVENTS_PER_BUCKET) -> None:
        super().__init__(session, keyspace)
        self.events = CassandraEventLog(session, keyspace, events_per_bucket=events_per_bucket)
        self.rejection_rows_writer = CassandraRejectionLog(session, keyspace)
        self._lock = threading.RLock()
        self._mine: _State | None = None
        """The state this instance last committed (a committed state is a prefix of every
        later one): the next append tries its LWT on it without a SERIAL read first, and a
        receipt's checkpoint is signed over it."""
        self._recent: OrderedDict[str, int] = OrderedDict()
        """key / reference -> leaf index of leaves this instance appended or found (an index,
        once committed, never changes)."""
        self._logged: dict[str, int] = {}
        """stream -> seq up to which this instance knows every event has its leaf."""
        self.lwt_rounds = 0
        """Append LWTs tried by this instance (for the benchmark: lost rounds = tried - won)."""
        self._generation = 0
        self._unsettled: list[Any] = []
        """Requests writing the rows of this instance's last batch (:meth:`_settle`)."""
        """Bumped whenever this instance takes a state it did not commit itself, and by
        :meth:`complete` (see :meth:`generation`)."""
        self._group = threading.Condition()
        self._queue: list[_Request] = []
        self._leading = False
        """Group commit (:meth:`append`): the callers waiting, and whether one is committing."""
        self._expected = 0
        """Callers announced by :meth:`gathering` that have not left yet: the next group waits
        (at most :attr:`linger_s`) until each of them has queued its leaves or left."""
        self.linger_s = GROUP_LINGER_S

    # ------------------------------------------------------------------ state

    def _state(self) -> _State | None:
        row = self.session.execute(
            self._serial("SELECT size, frontier, last_batch FROM {ks}.merkle_state WHERE log = ?"), (LOG_ROW,)
        ).one()
        if row is None:
            return None
        batch = json.loads(row.last_batch) if row.last_batch else {}
        return _State(int(row.size), [bytes.fromhex(h) for h in json.loads(row.frontier)], batch)

    def _init(self) -> None:
        self.session.execute(
            self._p("INSERT INTO {ks}.merkle_state (log, size, frontier, last_batch) VALUES (?, 0, '[]', '') IF NOT EXISTS"),
            (LOG_ROW,),
        )

    def _ref_rows(self, refs: Sequence[str]) -> dict[str, int]:
        """Leaf index by reference / key: one ``IN`` query per 100 (not a round trip each)."""
        if not refs:
            return {}
        stmt = self._p("SELECT ref, idx FROM {ks}.merkle_refs WHERE ref IN ?")
        unique = list(dict.fromkeys(refs))
        futures = [self.session.execute_async(stmt, (unique[i:i + 100],)) for i in range(0, len(unique), 100)]
        out: dict[str, int] = {}
        for f in futures:
            for row in f.result():
                out[row.ref] = int(row.idx)
        return out

    def _put(self, statements: list[tuple[Any, tuple[Any, ...]]]) -> list[Any]:
        """Idempotent row writes in unlogged batches of up to 25 (one request each, not one
        per row; they are small: far under the batch size thresholds), sent concurrently;
        returns the requests in flight."""
        from cassandra.query import BatchStatement, BatchType

        futures = []
        for i in range(0, len(statements), 25):
            batch = BatchStatement(batch_type=BatchType.UNLOGGED)
            for stmt, values in statements[i:i + 25]:
                batch.add(stmt, values)
            futures.append(self.session.execute_async(batch))
        return futures

    def _settle(self) -> None:
        """Wait for the rows of this instance's last batch (sent after its commit, not awaited
        by its callers); rewrite them if a request failed. Called (under the lock) before the
        next append, so at most the last batch's rows are ever in flight, and the state row
        still holds that batch (readers overlay it)."""
        futures, self._unsettled = self._unsettled, []
        try:
            for f in futures:
                f.result()
        except Exception as exc:  # noqa: BLE001 - idempotent: write them again, now
            log.warning("transparency log: rows of the last batch not written (%s); writing them again", exc)
            if self._mine is not None:
                for f in self._materialise(self._mine, wait=False):
                    f.result()

    def _materialise(self, st: _State, *, wait: bool = True) -> list[Any]:
        """Write the rows of the state's batch, all at once (issue 11: one round trip, not three
        in turn). They are a function of the committed state, so writing them again is
        harmless: an instance that did not commit the batch itself (it read the state) always
        writes them before appending after it (a reader overlays the last batch's leaves and
        nodes from the state meanwhile), so no row of an older batch is ever missing.
        ``wait=False``: return the requests in flight instead of waiting for them."""
        leaves = st.batch_leaves()
        if not leaves:
            return []
        put_leaf = self._p("INSERT INTO {ks}.merkle_leaves (bucket, idx, hash, kind, ref) VALUES (?, ?, ?, ?, ?)")
        put_node = self._p("INSERT INTO {ks}.merkle_nodes (level, bucket, idx, hash) VALUES (?, ?, ?, ?)")
        put_ref = self._p("INSERT INTO {ks}.merkle_refs (ref, idx) VALUES (?, ?)")
        put_stream = self._p("INSERT INTO {ks}.merkle_streams (stream, logged) VALUES (?, ?)")
        rows: list[tuple[Any, tuple[Any, ...]]] = []
        for idx, h, kind, ref, key in leaves:
            rows.append((put_leaf, (idx // LEAVES_PER_BUCKET, idx, h, kind, ref)))
            rows.append((put_ref, (key, idx)))
            if ref != key:
                rows.append((put_ref, (ref, idx)))
        for (lv, i), h in st.batch_nodes().items():
            rows.append((put_node, (lv, i // LEAVES_PER_BUCKET, i, h)))
        for stream, seq in st.batch.get("streams", {}).items():
            rows.append((put_stream, (stream, int(seq))))
        futures = [self.rejection_rows_writer._write_async(
            uuid.UUID(rej["rid"]), Receipt.model_validate_json(rej["receipt"]), rej["receipt"], rej["submission"],
            bool(rej["authenticated"])) for rej in st.batch.get("rejections", [])]
        futures.extend(self._put(rows))
        if wait:
            for f in futures:
                f.result()
            return []
        return futures

    # ------------------------------------------------------------------ append

    def generation(self) -> int:
        """A number that stays the same while every state this instance appends on is one it
        committed itself, and nothing else appended leaves through it (:meth:`complete`). The
        event log reads it before committing events: if it has not moved when their leaves
        are appended, the tree has grown since then only by this instance's own appends of
        other leaves (any other writer's commit fails the next LWT, and the state read then
        moves the number), so those leaves cannot be in it yet and the look-up of their keys
        (one round trip in the group commit) is skipped."""
        return self._generation

    def append(self, leaves: Sequence[Leaf], *, streams: dict[str, int] | None = None,
               fresh: int | None = None) -> list[int]:
        """Append the leaves not yet in the tree (by :attr:`Leaf.key`); returns every leaf's
        index. ``streams``: stream -> seq whose leaves this append completes (the hint).
        ``fresh``: :meth:`generation` read before the leaves' events were committed.

        Group commit: appends that arrive from other threads while one is committing wait,
        and the next LWT on ``merkle_state`` commits all of them (one consensus write for the
        submissions a ledger agent has in flight, not one each)."""
        return self._grouped(list(leaves), dict(streams or {}), fresh)[0]

    def _grouped(self, leaves: list[Leaf], streams: dict[str, int], fresh: int | None = None) -> tuple[list[int], int]:
        if not leaves:
            return [], 0
        mine = _Request(leaves, streams, fresh)
        with self._group:
            self._queue.append(mine)
            self._group.notify_all()  # a leader waiting for the announced callers counts them
            while not mine.done and self._leading:
                self._group.wait()
            if mine.done:
                return mine.result()
            self._leading = True
            # the batch's other submissions in flight are about to append theirs: one group
            deadline = time.monotonic() + self.linger_s
            while len(self._queue) < self._expected and (left := deadline - time.monotonic()) > 0:
                self._group.wait(left)
            batch, self._queue = self._queue, []
        try:
            merged: list[Leaf] = []
            seen: set[str] = set()
            hints: dict[str, int] = {}
            fresh_keys: dict[str, int] = {}
            for req in batch:
                for lf in req.leaves:
                    if lf.key not in seen:
                        seen.add(lf.key)
                        merged.append(lf)
                        if req.fresh is not None:
                            fresh_keys[lf.key] = req.fresh
                for stream, seq in req.streams.items():
                    hints[stream] = max(hints.get(stream, 0), seq)
            indexes, _, new_keys = self._append_now(merged, hints, fresh_keys)
            where = dict(zip((lf.key for lf in merged), indexes, strict=True))
            claimed: set[str] = set()
            for req in batch:
                added = [lf.key for lf in req.leaves if lf.key in new_keys and lf.key not in claimed]
                claimed.update(added)
                req.out = ([where[lf.key] for lf in req.leaves], len(added))
        except BaseException as exc:  # every caller of the group gets the failure
            for req in batch:
                req.error = exc
        finally:
            with self._group:
                for req in batch:
                    req.done = True
                self._leading = False
                self._group.notify_all()
        return mine.result()

    @contextlib.contextmanager
    def gathering(self, callers: int) -> Iterator[Callable[[], None]]:
        """Announce ``callers`` threads about to append (the ledger agent's shards working
        through one batch, :class:`tongxiu.streams.worker.ShardedHandler`): until each has
        called the ``leave`` this yields (once, when it has no more leaves to append), a group
        commit waits for all of those still working to queue their leaves — one LWT and one
        set of rows for the batch's submissions, not one per submission that happens to
        arrive alone — but never longer than :attr:`linger_s` (a caller slowed by a cold
        read, a retry or a timeout does not hold the others up for long). Callers that do
        not take part (another thread of the process, a checkpoint) are grouped as before."""
        left = [callers]

        def leave() -> None:
            with self._group:
                if left[0] > 0:
                    left[0] -= 1
                    self._expected -= 1
                    self._group.notify_all()

        with self._group:
            self._expected += callers
        try:
            yield leave
        finally:
            with self._group:
                self._expected -= left[0]
                left[0] = 0
                self._group.notify_all()

    def _append(self, leaves: Sequence[Leaf], streams: dict[str, int]) -> tuple[list[int], int]:
        """(every leaf's index, how many were appended by this call), without grouping (the
        caller may hold the lock)."""
        indexes, grown, _ = self._append_now(leaves, streams)
        return indexes, grown

    def _append_now(self, leaves: Sequence[Leaf], streams: dict[str, int],
                    fresh: dict[str, int] | None = None) -> tuple[list[int], int, set[str]]:
        """(every leaf's index, how many were appended, the keys appended). ``fresh``: leaf key
        -> :meth:`generation` before its event was committed (its look-up is skipped while the
        generation has not moved)."""
        if not leaves:
            return [], 0, set()
        fresh = fresh or {}
        with self._lock:
            self._settle()
            for attempt in range(MAX_ROUNDS):
                st = self._mine
                if st is None:
                    self._generation += 1
                    st = self._state()
                    if st is None:
                        self._init()
                        continue
                    self._materialise(st)
                known = {key: idx for idx, _, _, _, key in st.batch_leaves()}
                known.update(self._ref_rows([lf.key for lf in leaves if lf.key not in known
                                             and fresh.get(lf.key) != self._generation]))
                todo = [lf for lf in leaves if lf.key not in known]
                if not todo:  # all there already (completed by another writer): move the hint on
                    for stream, seq in streams.items():
                        self.session.execute(self._p("INSERT INTO {ks}.merkle_streams (stream, logged) VALUES (?, ?)"),
                                             (stream, seq))
                        self._logged[stream] = max(self._logged.get(stream, 0), seq)
                    return [known[lf.key] for lf in leaves], 0, set()
                batch, frontier = self._batch(st, todo, streams)
                self.lwt_rounds += 1
                try:
                    res = self.session.execute(
                        self._p("UPDATE {ks}.merkle_state SET size = ?, frontier = ?, last_batch = ? WHERE log = ?"
                                " IF size = ?"),
                        (st.size + len(todo), json.dumps([h.hex() for h in frontier]), json.dumps(batch),
                         LOG_ROW, st.size),
                    )
                    applied = was_applied(res)
                except Exception as exc:  # noqa: BLE001 - a CAS of unknown outcome: re-read and see
                    from cassandra import WriteTimeout

                    if not isinstance(exc, WriteTimeout):
                        raise
                    log.warning("transparency log append: outcome unknown (%s); re-reading", exc)
                    applied = False
                if applied:
                    new = _State(st.size + len(todo), frontier, batch)
                    # the callers have their leaves once the state is committed: the rows follow
                    # from it (the next append waits for them, _settle); a rejection's rows are
                    # awaited (a resubmission reads them at once: rejections are not in the log)
                    self._unsettled = self._materialise(new, wait=bool(batch["rejections"]))
                    self._mine = new
                    for i, lf in enumerate(todo):
                        known[lf.key] = st.size + i
                        self._remember(lf.ref, st.size + i)
                    for lf in leaves:
                        self._remember(lf.key, known[lf.key])
                    for stream, seq in streams.items():
                        self._logged[stream] = max(self._logged.get(stream, 0), seq)
                    return [known[lf.key] for lf in leaves], len(todo), {lf.key for lf in todo}
                if self._mine is not None:  # another writer appended since: read the state
                    self._mine = None
                    self._generation += 1
                    continue
                time.sleep(random.uniform(0, 0.002 * min(attempt + 1, 10)))
        raise ConcurrencyError(f"transparency log: no append after {MAX_ROUNDS} rounds")

    def _remember(self, ref: str, idx: int) -> None:
        self._recent[ref] = idx
        self._recent.move_to_end(ref)
        while len(self._recent) > 20_000:
            self._recent.popitem(last=False)

    def recent_head(self) -> tuple[int, bytes]:
        """A committed head including every leaf this instance appended (no SERIAL read when
        it appended last): what a receipt's checkpoint is signed over."""
        st = self._mine
        if st is None:
            return self.head()
        return st.size, merkle.frontier_root(st.frontier)

    @staticmethod
    def _batch(st: _State, todo: Sequence[Leaf], streams: dict[str, int]) -> tuple[dict[str, Any], list[bytes]]:
        frontier = list(st.frontier)
        nodes: list[tuple[int, int, str]] = []
        n = st.size
        for lf in todo:
            frontier, made = merkle.frontier_append_nodes(frontier, n, lf.hash)
            nodes.extend((lv, i, h.hex()) for lv, i, h in made)
            n += 1
        batch = {
            "first": st.size,
            "leaves": [[lf.hash.hex(), lf.kind, lf.ref, lf.key] for lf in todo],
            "nodes": nodes,
            "rejections": [lf.rejection for lf in todo if lf.rejection is not None],
            "streams": streams,
        }
        return batch, frontier

    # ------------------------------------------------------------------ events

    def logged_seq(self, stream: str) -> int:
        if stream in self._logged:
            return self._logged[stream]
        row = self.session.execute(
            self._p("SELECT logged FROM {ks}.merkle_streams WHERE stream = ?"), (stream,)
        ).one()
        return 0 if row is None or row.logged is None else int(row.logged)

    def append_events(self, stream: str, envelopes: Sequence[Envelope], *, fresh: int | None = None) -> list[int]:
        if not envelopes:
            return []
        return self.append([event_leaf(e) for e in envelopes], streams={stream: envelopes[-1].seq}, fresh=fresh)

    def complete(self, stream: str | None = None, upto: int | None = None) -> int:
        """Leaves for committed events that have none (their writer died between the stream
        head commit and the leaf append): one stream up to ``upto`` (default: its head), or
        every stream; also writes the last batch's rows if its writer died. Returns the leaves
        added."""
        with self._lock:
            # leaves appended here are nobody's fresh leaves (generation()): moved before and after
            self._generation += 1
            try:
                self._settle()
                st = self._state()
                if st is not None:
                    self._materialise(st)
                if stream is None:
                    heads = {r.stream: int(r.last_seq or 0)
                             for r in self.session.execute(self._p("SELECT stream, last_seq FROM {ks}.stream_heads"))}
                    hints = {r.stream: int(r.logged or 0)
                             for r in self.session.execute(self._p("SELECT stream, logged FROM {ks}.merkle_streams"))}
                    return sum(self._complete_stream(s, last, hints.get(s, 0)) for s, last in sorted(heads.items())
                               if hints.get(s, 0) < last)
                last = self.events.last_seq(stream) if upto is None else upto
                return self._complete_stream(stream, last, self.logged_seq(stream))
            finally:
                self._generation += 1

    def _complete_stream(self, stream: str, last: int, logged: int, page: int = 500) -> int:
        added = 0
        seq = logged + 1
        while seq <= last:
            chunk = self.events.read_stream(stream, from_seq=seq, limit=min(page, last - seq + 1))
            if not chunk:
                break
            leaves = [event_leaf(s.envelope) for s in chunk]
            _, grown = self._append(leaves, {stream: chunk[-1].envelope.seq})
            if grown:
                log.warning("%s: completed %d leaves of events committed without them", stream, grown)
            added += grown
            seq = chunk[-1].envelope.seq + 1
        return added

    # ------------------------------------------------------------------ rejections

    def append_rejection(self, rejection: RejectionRecord) -> int:
        receipt_json = rejection.receipt.model_dump_json()
        submission_json = json.dumps(rejection.submission, ensure_ascii=False)
        rid = uuid.uuid1()
        data = rejection_leaf_data(rejection.receipt.model_dump(mode="json"), digest_text(submission_json))
        leaf = Leaf(merkle.leaf_hash(data), "rejection", digest_text(receipt_json), f"rejection:{rid}",
                    {"rid": str(rid), "receipt": receipt_json, "submission": submission_json,
                     "authenticated": bool(rejection.authenticated)})
        return self.append([leaf])[0]

    # ------------------------------------------------------------------ reads (the port)

    def head(self) -> tuple[int, bytes]:
        st = self._state()
        if st is None:
            return 0, merkle.EMPTY_ROOT
        return st.size, merkle.frontier_root(st.frontier)

    def leaf_hashes(self, size: int) -> list[bytes]:
        out: list[bytes] = []
        start = 0
        while len(out) < size:
            page = self.entries(start=start, limit=min(5000, size - len(out)))
            if not page:
                break
            out.extend(e.hash for e in page)
            start = page[-1].index + 1
        return out

    def nodes(self, keys: Sequence[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
        from cassandra.concurrent import execute_concurrent

        st = self._state()
        pending = st.batch_nodes() if st else {}
        if st:
            pending.update({(0, idx): h for idx, h, _, _, _ in st.batch_leaves()})
        out = {k: pending[k] for k in keys if k in pending}
        leaf = self._p("SELECT idx, hash FROM {ks}.merkle_leaves WHERE bucket = ? AND idx = ?")
        node = self._p("SELECT idx, hash FROM {ks}.merkle_nodes WHERE level = ? AND bucket = ? AND idx = ?")
        wanted = [k for k in keys if k not in out]
        stmts = [(leaf, (i // LEAVES_PER_BUCKET, i)) if lv == 0 else (node, (lv, i // LEAVES_PER_BUCKET, i))
                 for lv, i in wanted]
        for (lv, i), (ok, rows) in zip(wanted, execute_concurrent(self.session, stmts, concurrency=32), strict=True):
            if not ok:
                raise rows
            for row in rows:
                out[(lv, i)] = bytes(row.hash)
        return out

    def entries(self, *, start: int = 0, limit: int = 1000) -> list[LeafEntry]:
        st = self._state()
        size = st.size if st else 0
        overlay = {idx: (h, kind, ref) for idx, h, kind, ref, _ in st.batch_leaves()} if st else {}
        out: list[LeafEntry] = []
        idx = start
        stmt = self._p("SELECT idx, hash, kind, ref FROM {ks}.merkle_leaves WHERE bucket = ? AND idx >= ? AND idx < ?")
        while idx < size and len(out) < limit:
            bucket = idx // LEAVES_PER_BUCKET
            end = min(size, (bucket + 1) * LEAVES_PER_BUCKET, idx + limit - len(out))
            rows = {int(r.idx): r for r in self.session.execute(stmt, (bucket, idx, end))}
            for i in range(idx, end):
                if i in rows:
                    r = rows[i]
                    out.append(LeafEntry(i, bytes(r.hash), r.kind, r.ref))
                elif i in overlay:
                    h, kind, ref = overlay[i]
                    out.append(LeafEntry(i, h, kind, ref))
                # a leaf row missing below the size: left out (verify_log names the gap)
            idx = end
        return out

    def locate(self, ref: str) -> int | None:
        known = self._recent.get(ref)
        if known is not None:
            return known
        st = self._state()
        if st is not None:
            for idx, _, _, r, _ in st.batch_leaves():
                if r == ref:
                    return idx
        return self._ref_rows([ref]).get(ref)

    def save_checkpoint(self, checkpoint: Checkpoint) -> None:
        when = checkpoint.time.astimezone(UTC)
        self.session.execute(
            self._p("INSERT INTO {ks}.merkle_checkpoints (month, id, size, body) VALUES (?, ?, ?, ?)"),
            (when.year * 100 + when.month, uuid.uuid1(), checkpoint.size, checkpoint.model_dump_json()),
        )

    def checkpoints(self) -> list[Checkpoint]:
        months = sorted({int(r.month) for r in self.session.execute(
            self._p("SELECT DISTINCT month FROM {ks}.merkle_checkpoints"))})
        out: list[Checkpoint] = []
        for m in months:
            rows = self.session.execute(self._p("SELECT body FROM {ks}.merkle_checkpoints WHERE month = ?"), (m,))
            out.extend(Checkpoint.model_validate_json(r.body) for r in rows)
        return sorted(out, key=lambda c: (c.time, c.size))

    def rejection_rows(self) -> list[tuple[str, str]]:
        months = [r.month for r in self.session.execute(
            self._p("SELECT month FROM {ks}.rejection_months WHERE scope = 'all'"))]
        out: list[tuple[str, str]] = []
        for m in months:
            rows = self.session.execute(self._p("SELECT receipt, submission FROM {ks}.rejections_all WHERE month = ?"),
                                        (m,))
            out.extend((str(r.receipt), str(r.submission)) for r in rows)
        return out


def _run(results: Any) -> None:
    for ok, res in results:
        if not ok:
            raise res


# ---------------------------------------------------------------------- the logged ports


class LoggedCassandraEventLog(CassandraEventLog):
    """The Cassandra event log whose every committed event becomes a leaf (after its commit;
    see the module docstring for a writer that dies in between)."""

    def __init__(self, session: Any, keyspace: str, tlog: CassandraTransparencyLog, *,
                 events_per_bucket: int = EVENTS_PER_BUCKET) -> None:
        super().__init__(session, keyspace, events_per_bucket=events_per_bucket)
        self.tlog = tlog

    def append(self, stream: str, expected_seq: int, envelopes: Sequence[Envelope]) -> None:
        """Raises ConcurrencyError only when the events were not committed."""
        if envelopes and expected_seq > 0 and self.tlog.logged_seq(stream) < expected_seq:
            self.tlog.complete(stream, upto=expected_seq)  # a dead writer's events before ours
        fresh = self.tlog.generation()  # before the commit: see CassandraTransparencyLog.generation
        written = self._commit_append(stream, expected_seq, envelopes)
        try:  # the leaves while the event rows are being written
            self.tlog.append_events(stream, envelopes, fresh=fresh)
        except ConcurrencyError as exc:  # the events ARE committed: not a conflict of the append
            raise RuntimeError(f"{stream}: events committed, their leaves not yet appended ({exc}); "
                               "they are completed by the next append, a redelivery or a checkpoint") from exc
        finally:
            self._finish(stream, written)


class LoggedCassandraRejectionLog(CassandraRejectionLog):
    """Rejections recorded through the tree: the leaf append is the commit point, the rows
    follow from it (module docstring)."""

    def __init__(self, session: Any, keyspace: str, tlog: CassandraTransparencyLog) -> None:
        super().__init__(session, keyspace)
        self.tlog = tlog

    def record(self, rejection: RejectionRecord) -> None:
        self.tlog.append_rejection(rejection)

