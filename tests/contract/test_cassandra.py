"""The contract suites on the Cassandra adapters: one keyspace (``tongxiu_test_<random>``) and
one driver session for the whole run, shared through ``tests/integration/conftest.py``. Tests
isolate themselves with unique stream / department / projection / consumer names.

Plus the Cassandra-only failure cases of the append protocol (a crash between the event rows
and the head commit), which the shared suite cannot provoke.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.contract.base import (
    EventLogContract,
    OffsetStoreContract,
    ProjectionStoreContract,
    RejectionLogContract,
    envelopes,
    uid,
)
from tongxiu.events.envelope import Envelope
from tongxiu.infra.cassandra_store import (
    EVENTS_PER_BUCKET,
    CassandraEventLog,
    CassandraOffsetStore,
    CassandraProjectionStore,
    CassandraRejectionLog,
)
from tongxiu.services.config import Settings
from tongxiu.services.ports import ConcurrencyError, EventLog, OffsetStore, ProjectionStore, RejectionLog

pytestmark = pytest.mark.integration

_KEYSPACE: dict[str, Settings] = {}


class CassandraFactory:
    @pytest.fixture(autouse=True)
    def _cassandra(self, cassandra_session: Any, fresh_keyspace: Callable[..., Settings]) -> None:
        if "contract" not in _KEYSPACE:
            _KEYSPACE["contract"] = fresh_keyspace("tongxiu_test")
        self.session = cassandra_session
        self.keyspace = _KEYSPACE["contract"].keyspace


class TestCassandraEventLog(CassandraFactory, EventLogContract):
    read_all_stable_under_appends = False
    read_all_reason = (
        "Cassandra read_all is a snapshot order (streams sorted, then seq): positions shift when an "
        "earlier-sorting stream grows; the distributed global feed is Kafka"
    )

    def make_log(self, *, bucket: int | None = None) -> EventLog:
        return CassandraEventLog(self.session, self.keyspace, events_per_bucket=bucket or EVENTS_PER_BUCKET)


class TestCassandraRejectionLog(CassandraFactory, RejectionLogContract):
    def make_rejections(self) -> RejectionLog:
        return CassandraRejectionLog(self.session, self.keyspace)


class TestCassandraProjectionStore(CassandraFactory, ProjectionStoreContract):
    def make_store(self) -> ProjectionStore:
        return CassandraProjectionStore(self.session, self.keyspace)


class TestCassandraOffsetStore(CassandraFactory, OffsetStoreContract):
    def make_offsets(self) -> OffsetStore:
        return CassandraOffsetStore(self.session, self.keyspace)


class Killed(BaseException):
    """The process dies here (not an error the append could handle)."""


class TestCassandraAppendRecovery(CassandraFactory):
    """The append commits with one LWT on the head carrying its events, then writes the rows:
    a writer that dies in between, a writer whose commit fails, a fenced-out writer."""

    def log(self, bucket: int = 3) -> CassandraEventLog:
        return CassandraEventLog(self.session, self.keyspace, events_per_bucket=bucket)

    def dying_after_commit(self, bucket: int = 3, *, index_after: bool = False) -> CassandraEventLog:
        """``index_after``: a writer of session 13, whose index rows went with the rows after
        the commit (session 14 writes them before it)."""
        log = self.log(bucket)
        real = log._write_rows
        if index_after:
            log._write_index = lambda *a, **k: None  # type: ignore[method-assign]

        def die(stream: str, head: Any, envelopes: Any = None, **k: Any) -> list[Any]:
            if envelopes is not None:  # its own rows, after its commit
                raise Killed("died between the head commit and the rows")
            return real(stream, head, envelopes, **k)

        log._write_rows = die  # type: ignore[method-assign]
        return log

    def stored(self, s: str, bucket: int = 3) -> dict[int, str]:
        """The event rows as stored (whatever the head says)."""
        out: dict[int, str] = {}
        for b in range(4):
            for r in self.session.execute(
                    f"SELECT seq, raw FROM {self.keyspace}.events WHERE stream = %s AND bucket = %s", (s, b)):
                out[int(r.seq)] = str(r.raw)
        return out

    def test_rows_of_a_writer_dead_after_its_commit_are_read_from_the_head(self) -> None:
        s = uid()
        good = self.log()
        first = envelopes(s, 0, 1)
        good.append(s, 0, first)
        committed = envelopes(s, 1, 4, submission_id="committed")  # crosses a bucket (size 3)
        with pytest.raises(Killed):
            self.dying_after_commit().append(s, 1, committed)
        assert sorted(self.stored(s)) == [1]  # no row written
        reader = self.log()
        assert reader.last_seq(s) == 5
        assert [x.envelope for x in reader.read_stream(s)][1:] == committed
        assert [x.envelope for x in reader.read_stream(s, from_seq=3, limit=2)] == committed[1:3]
        # its index rows were written before the commit: found with or without the stream
        assert [x.envelope for x in reader.find_submission("samr", "committed")] == committed
        assert [x.envelope for x in reader.find_submission("samr", "committed", stream=s)] == committed
        assert [x.envelope for x in reader.read_all(limit=10**6) if x.envelope.stream == s][1:] == committed
        # the audit's raw read sees the same committed events (taken from the head)
        assert reader.read_stream_raw(s) == [x.raw for x in reader.read_stream(s)]
        assert [Envelope.from_json(r) for r in reader.read_stream_raw(s)][1:] == committed
        # the next writer writes the dead writer's rows before its own commit
        nxt = envelopes(s, 5, 1)
        reader.append(s, 5, nxt)
        assert sorted(self.stored(s)) == [1, 2, 3, 4, 5, 6]
        assert [x.envelope for x in self.log().read_stream(s)] == [*first, *committed, *nxt]

    def index_rows(self, department: str, submission_id: str) -> list[tuple[str, int]]:
        return [(r.stream, int(r.seq)) for r in self.session.execute(
            f"SELECT stream, seq FROM {self.keyspace}.events_by_submission WHERE department = %s"
            " AND submission_id = %s", (department, submission_id))]

    def test_a_writer_dead_between_its_commit_and_the_index_rows(self) -> None:
        """A writer of session 13 (the index rows went with the event rows, after the commit)
        dead in between. A resubmission handled by another writer finds the submission in the
        stream's last append (and completes its rows and index rows); appending it again is
        refused."""
        s = uid()
        self.log().append(s, 0, envelopes(s, 0, 1, submission_id="before"))
        assert self.index_rows("samr", "before") == [(s, 1)]
        committed = envelopes(s, 1, 2, submission_id="dead")
        with pytest.raises(Killed):
            self.dying_after_commit(index_after=True).append(s, 1, committed)
        assert self.index_rows("samr", "dead") == [] and sorted(self.stored(s)) == [1]
        # a new writer, nothing cached: the look-up the ledger makes (with the stream)
        nxt = self.log()
        assert nxt.find_submission("samr", "dead") == []  # the index alone does not know it
        assert [x.envelope for x in nxt.find_submission("samr", "dead", stream=s)] == committed
        assert self.index_rows("samr", "dead") == [(s, 2), (s, 3)]  # completed, with the rows
        assert sorted(self.stored(s)) == [1, 2, 3]
        assert [x.envelope for x in self.log().find_submission("samr", "dead")] == committed
        # another id of that stream is not taken for it
        assert nxt.find_submission("samr", uid("never"), stream=s) == []
        assert nxt.find_submission("tax", "dead", stream=s) == []

    def test_a_look_up_sent_ahead_finds_a_dead_writers_submission(self) -> None:
        s = uid()
        committed = envelopes(s, 0, 2, submission_id="dead-ahead")
        with pytest.raises(Killed):  # a session-13 writer: no index row before its commit
            self.dying_after_commit(index_after=True).append(s, 0, committed)
        nxt = self.log()
        assert nxt.find_submission_async("samr", "dead-ahead")() == []  # the index alone does not know it
        answer = nxt.find_submission_async("samr", "dead-ahead", stream=s)
        assert [x.envelope for x in answer()] == committed
        assert nxt.find_submission_async("samr", "dead-ahead")() != []  # the index is complete now
        assert nxt.find_submission_async("samr", uid("new"), stream=s)() == []

    def test_a_writer_that_would_append_a_dead_writers_last_append_again_is_refused(self) -> None:
        """A writer whose look-up came before the dead writer's commit (or whose cached head
        is older) decides again instead of appending the same submission a second time."""
        s = uid()
        first = envelopes(s, 0, 1, submission_id="first")
        self.log().append(s, 0, first)
        committed = envelopes(s, 1, 2, submission_id="twice")
        with pytest.raises(Killed):
            self.dying_after_commit().append(s, 1, committed)
        again = self.log()
        assert [x.envelope for x in again.read_stream(s)] == [*first, *committed]  # its fold sees it
        with pytest.raises(ConcurrencyError):
            again.append(s, 3, envelopes(s, 3, 2, submission_id="twice"))
        assert again.last_seq(s) == 3
        assert self.index_rows("samr", "twice") == [(s, 2), (s, 3)]  # completed on the way
        assert [x.envelope for x in again.find_submission("samr", "twice", stream=s)] == committed
        again.append(s, 3, envelopes(s, 3, 1, submission_id="next"))  # others append as usual
        assert again.last_seq(s) == 4

    @pytest.mark.parametrize("cell", ["never written", "older append"])
    def test_a_head_in_the_earlier_layout_is_read_and_converted_by_the_next_commit(self, cell: str) -> None:
        """Before session 13 the head kept its last append's events in a non-frozen list
        (``pending``); now in one frozen cell (``pending_events``). A head last committed by a
        writer of the earlier layout (which died before its rows): ``never written``, a head
        from before the cell existed; ``older append``, an earlier-layout writer committing
        after one of the new (the cell still holds the append before)."""
        import uuid

        s = uid()
        first = envelopes(s, 0, 1)
        self.log().append(s, 0, first)  # the new layout: the cell holds seq 1
        old = envelopes(s, 1, 2, submission_id=uid("old-layout"))
        clear = ", pending_events = null" if cell == "never written" else ""
        self.session.execute(
            f"UPDATE {self.keyspace}.stream_heads SET last_seq = 3, pending = %s, pending_writer = %s{clear}"
            " WHERE stream = %s", ([e.to_json() for e in old], uuid.uuid4(), s))
        reader = self.log()
        assert [x.envelope for x in reader.read_stream(s)] == [*first, *old]
        assert [x.envelope for x in reader.find_submission("samr", old[0].submission_id, stream=s)] == old
        nxt = envelopes(s, 3, 1)
        self.log().append(s, 3, nxt)  # writes the old append's rows first, clears the list
        head = self.session.execute(
            f"SELECT pending, pending_events FROM {self.keyspace}.stream_heads WHERE stream = %s", (s,)).one()
        assert head.pending is None and list(head.pending_events) == [e.to_json() for e in nxt]
        assert sorted(self.stored(s)) == [1, 2, 3, 4]
        assert [x.envelope for x in self.log().read_stream(s)] == [*first, *old, *nxt]
        assert [x.envelope for x in self.log().find_submission("samr", old[0].submission_id)] == old

    def test_the_last_append_is_one_frozen_cell(self) -> None:
        s = uid()
        log = self.log()
        log.append(s, 0, envelopes(s, 0, 2))
        mine = envelopes(s, 2, 3)
        log.append(s, 2, mine)
        head = self.session.execute(
            f"SELECT pending, pending_events FROM {self.keyspace}.stream_heads WHERE stream = %s", (s,)).one()
        assert head.pending is None and list(head.pending_events) == [e.to_json() for e in mine]

    def test_heads_recent_reads_every_committed_head_at_once(self) -> None:
        """``WorkerProjection.catch_up`` waits for the sum of these: a head whose rows a dead
        writer never wrote counts, a stream with only a bumped epoch (no event) does not."""
        a, b, fenced = uid(), uid(), uid()
        log = self.log()
        log.append(a, 0, envelopes(a, 0, 2))
        log.append(a, 2, envelopes(a, 2, 1))
        log.append(b, 0, envelopes(b, 0, 1))
        with pytest.raises(Killed):
            self.dying_after_commit().append(b, 1, envelopes(b, 1, 3, submission_id="dead"))
        log.bump_epoch(fenced)
        heads = self.log().heads_recent()
        assert {s: heads.get(s) for s in (a, b, fenced)} == {a: 3, b: 4, fenced: None}
        assert all(heads[s] == self.log().last_seq(s) for s in (a, b))

    def test_a_writer_whose_commit_fails_writes_no_row(self) -> None:
        s = uid()
        zombie = self.log()
        zombie.append(s, 0, envelopes(s, 0, 1))  # its head (seq 1) is cached
        other = self.log()
        mine = envelopes(s, 1, 1, submission_id="winner")
        other.append(s, 1, mine)
        before = self.stored(s)
        with pytest.raises(ConcurrencyError):
            zombie.append(s, 1, envelopes(s, 1, 2, submission_id="zombie"))
        assert self.stored(s) == before  # the committed row 2 is untouched, no row 3
        assert [x.envelope for x in self.log().read_stream(s)][1:] == mine
        assert zombie.find_submission("samr", "zombie") == []
        # its cached head was dropped: it appends again once it has caught up
        zombie.append(s, 2, envelopes(s, 2, 1))
        assert self.log().last_seq(s) == 3

    def test_a_fenced_out_writer_cannot_commit(self) -> None:
        s = uid()
        old = self.log()
        old.append(s, 0, envelopes(s, 0, 1))
        new = self.log()
        assert new.bump_epoch(s) == 1  # e.g. the new owner of the partition after a rebalance
        with pytest.raises(ConcurrencyError):
            old.append(s, 1, envelopes(s, 1, 1, submission_id="fenced"))  # same last_seq, old epoch
        assert self.stored(s).keys() == {1}
        new.append(s, 1, envelopes(s, 1, 1))
        assert new.last_seq(s) == 2
        assert old.find_submission("samr", "fenced") == []

    def test_leftover_rows_above_the_head_are_ignored_and_overwritten(self) -> None:
        import uuid

        s = uid()
        good = self.log()
        first = envelopes(s, 0, 1)
        good.append(s, 0, first)
        # leftovers of appends of the earlier protocol that never committed, at seqs 2 and 5
        for seq, bucket in ((2, 0), (5, 1)):
            stale = envelopes(s, seq - 1, 1, submission_id="stale")[0]
            good.session.execute(
                f"INSERT INTO {self.keyspace}.events (stream, bucket, seq, raw, writer, epoch, batch_first,"
                " batch_last) VALUES (%s, %s, %s, %s, %s, 0, %s, %s)",
                (s, bucket, seq, stale.to_json(), uuid.uuid4(), seq, seq),
            )
        assert [x.envelope.seq for x in good.read_stream(s)] == [1]
        assert good.find_submission("samr", "stale") == []
        # committed over the leftover at 2, dying before its rows: readers take the head's copy
        mine = envelopes(s, 1, 1, submission_id="mine")
        with pytest.raises(Killed):
            self.dying_after_commit().append(s, 1, mine)
        assert [x.envelope for x in self.log().read_stream(s)][1:] == mine
        assert [x.envelope for x in self.log().find_submission("samr", "mine", stream=s)] == mine
        assert [Envelope.from_json(r) for r in self.log().read_stream_raw(s)][1:] == mine  # not the leftover
        more = envelopes(s, 2, 3)
        self.log().append(s, 2, more)  # writes row 2 (over the leftover), then 3..5
        assert [x.envelope for x in self.log().read_stream(s)] == [*first, *mine, *more]
        assert self.stored(s)[5] == more[-1].to_json()

    def test_an_append_above_the_batch_size_limit_writes_all_its_rows(self) -> None:
        s = uid()
        log = self.log(bucket=EVENTS_PER_BUCKET)
        many = envelopes(s, 0, 150)  # ~150 KB of rows: over the server's 50 KiB batch limit
        assert sum(len(e.to_json()) for e in many) > 50 * 1024
        log.append(s, 0, many)
        assert sorted(self.stored(s)) == list(range(1, 151))  # written after the commit, in batches
        assert [x.envelope for x in self.log().read_stream(s)] == many
        more = envelopes(s, 150, 1)
        self.log().append(s, 150, more)
        assert self.log().last_seq(s) == 151


class TestCassandraProjectionSave(CassandraFactory):
    """``save`` checks the stored head of every document it writes (all read at once) against
    what this adapter last wrote: a document another writer changed in between is read again,
    so the saved documents are exactly the new ones."""

    def test_a_save_of_several_documents_rereads_only_those_changed_by_another_writer(self) -> None:
        p = uid("p")
        mine, other = (CassandraProjectionStore(self.session, self.keyspace) for _ in range(2))

        def doc(code: str, seq: int, records: dict[str, Any]) -> dict[str, Any]:
            return {"enterprise": code, "seq": seq, "submissions": [f"s{i}" for i in range(seq)],
                    "credit": {"enterprise": code, "records": records, "repairs_granted_on": []},
                    "rectification": {"enterprise": code, "items": {}}, "sync": {"enterprise": code, "deliveries": {}}}

        keys = [f"enterprise:E{i}" for i in range(3)]
        mine.save(p, {k: doc(k, 1, {"D1": {"n": 1}}) for k in keys}, 3)
        # behind mine's back: E1 gets another record and a new head
        other.save(p, {keys[1]: doc(keys[1], 2, {"D1": {"n": 1}, "D2": {"n": 2}})}, 4)
        new = {k: doc(k, 3, {"D3": {"n": 3}}) for k in keys}
        mine.save(p, new, 7)
        reader = CassandraProjectionStore(self.session, self.keyspace)
        assert {k: reader.load(p, k) for k in keys} == new  # D1 and E1's D2 gone everywhere
        assert reader.position(p) == 7

    def test_load_heads_reads_many_heads_as_load_head_does(self) -> None:
        p = uid("p")
        store = CassandraProjectionStore(self.session, self.keyspace)
        store.HEADS_PER_READ = 2  # several requests for 5 keys
        docs = {f"enterprise:H{i}": {"enterprise": f"H{i}", "seq": i, "submissions": [f"s{i}"],
                                     "credit": {"records": {"D": {"n": i}}}} for i in range(1, 5)}
        store.save(p, docs, 4)
        keys = [*docs, "enterprise:missing", "enterprise:H1"]
        heads = store.load_heads(p, keys)
        assert heads == {k: store.load_head(p, k) for k in keys}
        assert heads["enterprise:missing"] is None
        assert [heads[k]["seq"] for k in docs] == [1, 2, 3, 4]  # type: ignore[index]
