"""The transparency-log contract (issue 9) on both backends: the SQLite tree (written in the
append's transaction) and the Cassandra tree (``infra/cassandra_merkle.py``: an LWT on the tree
head, leaves after the event commit). The same suite: every committed event and every recorded
rejection is exactly one leaf, with the RFC 9162 hash computed here independently; the head is
the root of those leaves; every inclusion and consistency proof read from the stored nodes
verifies, reading O(log n) nodes; checkpoints round-trip. Plus the logged Cassandra adapters
pass the plain event-log and rejection-log contracts, and the Cassandra-only crash cases: a
writer killed between the event commit and the leaf append, or between the leaf commit and its
rows, and a zombie writer appending leaves another writer already completed.
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.contract.base import EventLogContract, RejectionLogContract, envelopes, rejection, uid
from tongxiu.events import merkle
from tongxiu.events.envelope import Envelope
from tongxiu.events.signing import KeyPair
from tongxiu.events.tlog import digest_text, event_leaf_data, rejection_leaf_data
from tongxiu.services.ports import ConcurrencyError, EventLog, RejectionLog, RejectionRecord
from tongxiu.services.transparency import Transparency, TransparencyLog


def leaf_of_event(e: Envelope) -> bytes:
    return merkle.leaf_hash(event_leaf_data(stream=e.stream, seq=e.seq, event_id=e.event_id, hash=e.hash))


def leaf_of_rejection(r: RejectionRecord) -> bytes:
    sub = json.dumps(r.submission, ensure_ascii=False)
    return merkle.leaf_hash(rejection_leaf_data(r.receipt.model_dump(mode="json"), digest_text(sub)))


class TransparencyLogContract:
    def make(self) -> tuple[EventLog, RejectionLog, TransparencyLog]:
        raise NotImplementedError

    def test_every_event_and_rejection_is_one_leaf_in_commit_order(self) -> None:
        log, rejections, tlog = self.make()
        expected: list[bytes] = []
        s1, s2 = uid(), uid()
        e1 = envelopes(s1, 0, 3)
        log.append(s1, 0, e1)
        expected += [leaf_of_event(e) for e in e1]
        r1 = rejection("samr", uid("sub"), s1, authenticated=True)
        rejections.record(r1)
        expected.append(leaf_of_rejection(r1))
        e2 = envelopes(s2, 0, 1)
        log.append(s2, 0, e2)
        expected.append(leaf_of_event(e2[0]))
        e3 = envelopes(s1, 3, 2, prev_hash=e1[-1].hash)
        log.append(s1, 3, e3)
        expected += [leaf_of_event(e) for e in e3]
        size, root = tlog.head()
        assert size == len(expected) == 7
        assert root == merkle.root(expected)
        entries = tlog.entries(start=0, limit=100)
        assert [e.hash for e in entries] == expected
        assert [e.kind for e in entries] == ["event"] * 3 + ["rejection"] + ["event"] * 3
        for i, e in enumerate(e1 + e2 + e3):
            assert tlog.locate(e.event_id) == (i if i < 3 else i + 1)
        assert tlog.locate(digest_text(r1.receipt.model_dump_json())) == 3
        assert tlog.locate("no-such-ref") is None
        assert tlog.entries(start=5, limit=1)[0].hash == expected[5]
        stored = [json.loads(r) for r, _ in tlog.rejection_rows()]
        assert [(r["department"], r["submission_id"]) for r in stored] == [("samr", r1.receipt.submission_id)]

    def test_a_refused_append_adds_no_leaf(self) -> None:
        log, _, tlog = self.make()
        s = uid()
        log.append(s, 0, envelopes(s, 0, 1))
        before = tlog.head()
        with pytest.raises(ConcurrencyError):
            log.append(s, 0, envelopes(s, 0, 2))
        assert tlog.head() == before

    def test_racing_writers_leave_exactly_the_winners_leaves(self) -> None:
        log, _, tlog = self.make()
        s = uid()
        log.append(s, 0, envelopes(s, 0, 1))
        size0 = tlog.head()[0]
        contenders = [envelopes(s, 1, 2, submission_id=f"c{i}") for i in range(4)]
        errors: list[BaseException] = []

        def write(envs: list[Envelope]) -> None:
            try:
                log.append(s, 1, envs)
            except ConcurrencyError as exc:
                errors.append(exc)

        threads = [threading.Thread(target=write, args=(c,)) for c in contenders]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(errors) == 3
        winner = [x.envelope for x in log.read_stream(s)][1:]
        assert tlog.head()[0] == size0 + 2
        hashes = [e.hash for e in tlog.entries(start=size0, limit=10)]
        assert hashes == [leaf_of_event(e) for e in winner]

    def test_proofs_read_from_stored_nodes_verify_in_log_n_reads(self) -> None:
        log, rejections, tlog = self.make()
        base = tlog.head()[0]
        s = uid()
        seq = 0
        prev = None
        for n in (1, 3, 2, 5, 1, 7, 4):
            envs = envelopes(s, seq, n, **({"prev_hash": prev} if prev else {}))
            log.append(s, seq, envs)
            seq += n
            prev = envs[-1].hash
            rejections.record(rejection("samr", uid("sub"), s, authenticated=False))
        size, root = tlog.head()
        leaves = [e.hash for e in tlog.entries(start=0, limit=10_000)]
        assert len(leaves) == size >= base + 30
        assert merkle.root(leaves) == root
        reference = merkle.Tree(leaves)
        bound = 2 * math.ceil(math.log2(size)) + 2
        for m in range(1, size + 1, 3):
            stored = merkle.StoredTree(m, tlog.nodes)
            assert stored.root() == reference.root(m)
            for i in range(0, m, max(1, m // 5)):
                tree = merkle.StoredTree(m, tlog.nodes)
                proof = tree.inclusion_proof(i, m)
                assert merkle.verify_inclusion(leaves[i], i, m, proof, reference.root(m))
                assert tree.reads <= bound
            tree = merkle.StoredTree(size, tlog.nodes)
            cproof = tree.consistency_proof(m, size)
            assert merkle.verify_consistency(m, size, reference.root(m), root, cproof)
            assert tree.reads <= bound

    def test_checkpoints_round_trip_and_a_receipt_carries_its_leaves(self) -> None:
        from datetime import UTC, datetime

        log, _, tlog = self.make()
        s = uid()
        envs = envelopes(s, 0, 2)
        log.append(s, 0, envs)
        t = Transparency(tlog, KeyPair.generate(), lambda: datetime(2026, 3, 1, tzinfo=UTC))
        cp = t.checkpoint(save=True)
        assert cp.verify() and (cp.size, bytes.fromhex(cp.root)) == tlog.head()
        assert cp in tlog.checkpoints()
        from tongxiu.events.envelope import Receipt, RecordedEvent

        receipt = Receipt(submission_id=envs[0].submission_id, department="samr", stream=s, accepted=True,
                          recorded_at=envs[0].recorded_at,
                          events=[RecordedEvent(event_id=e.event_id, type=e.type, seq=e.seq, hash=e.hash) for e in envs])
        logged = t.receipt_log(receipt)
        assert logged.log is not None
        for e, i in zip(envs, logged.log.leaves, strict=True):
            proof = [bytes.fromhex(h) for h in t.inclusion(i, logged.log.checkpoint.size)]
            assert merkle.verify_inclusion(leaf_of_event(e), i, logged.log.checkpoint.size, proof,
                                           bytes.fromhex(logged.log.checkpoint.root))


# --------------------------------------------------------------------------- SQLite


class TestSqliteTransparencyLog(TransparencyLogContract):
    @pytest.fixture(autouse=True)
    def _db(self, tmp_path: Path) -> None:
        self.path = tmp_path / "ledger.sqlite3"

    def make(self) -> tuple[EventLog, RejectionLog, TransparencyLog]:
        from tongxiu.infra.sqlite import Database, SqliteEventLog, SqliteRejectionLog
        from tongxiu.infra.sqlite_merkle import SqliteTransparencyLog

        db = Database(self.path)
        return SqliteEventLog(db), SqliteRejectionLog(db), SqliteTransparencyLog(db)


# --------------------------------------------------------------------------- Cassandra

_KS: dict[str, Any] = {}


class CassandraTransparencyFactory:
    @pytest.fixture(autouse=True)
    def _cassandra(self, cassandra_session: Any, fresh_keyspace: Callable[..., Any]) -> Iterator[None]:
        self.session = cassandra_session
        self._fresh = fresh_keyspace
        yield
        ks = _KS.pop(id(self), None)
        if ks is not None:  # a per-test keyspace: dropped now (a shared server's heap holds every table)
            cassandra_session.execute(f"DROP KEYSPACE IF EXISTS {ks}", timeout=120)

    def keyspace(self, name: Any) -> str:
        """A fresh keyspace per ``name`` (per test for the tree tests: each sees only its own
        tree)."""
        if name not in _KS:
            _KS[name] = str(self._fresh("tongxiu_tlog").keyspace)
        return str(_KS[name])

    def make(self) -> tuple[EventLog, RejectionLog, TransparencyLog]:
        from tongxiu.infra.cassandra_merkle import (
            CassandraTransparencyLog,
            LoggedCassandraEventLog,
            LoggedCassandraRejectionLog,
        )

        ks = self.keyspace(id(self))
        tlog = CassandraTransparencyLog(self.session, ks, events_per_bucket=3)
        return (LoggedCassandraEventLog(self.session, ks, tlog, events_per_bucket=3),
                LoggedCassandraRejectionLog(self.session, ks, tlog), tlog)


@pytest.mark.integration
class TestCassandraTransparencyLog(CassandraTransparencyFactory, TransparencyLogContract):
    pass


@pytest.mark.integration
class TestLoggedCassandraEventLog(CassandraTransparencyFactory, EventLogContract):
    """The logged adapter keeps every promise of the plain one."""

    read_all_stable_under_appends = False
    read_all_reason = "Cassandra read_all is a snapshot order (see test_cassandra.py)"

    def make_log(self, *, bucket: int | None = None) -> EventLog:
        from tongxiu.infra.cassandra_merkle import CassandraTransparencyLog, LoggedCassandraEventLog

        ks = self.keyspace("logged-events")
        b = bucket or 1000
        return LoggedCassandraEventLog(self.session, ks, CassandraTransparencyLog(self.session, ks, events_per_bucket=b),
                                       events_per_bucket=b)


@pytest.mark.integration
class TestLoggedCassandraRejectionLog(CassandraTransparencyFactory, RejectionLogContract):
    def make_rejections(self) -> RejectionLog:
        from tongxiu.infra.cassandra_merkle import CassandraTransparencyLog, LoggedCassandraRejectionLog

        ks = self.keyspace("logged-rejections")
        return LoggedCassandraRejectionLog(self.session, ks, CassandraTransparencyLog(self.session, ks))


class Crash(Exception):
    pass


@pytest.mark.integration
class TestCassandraLeafDurability(CassandraTransparencyFactory):
    """A writer SIGKILLed between its writes (simulated by raising where it would die)."""

    def test_events_committed_without_leaves_get_them_before_the_next_append(self) -> None:
        log, _, tlog = self.make()
        s = uid()
        first = envelopes(s, 0, 2)

        def die(*a: Any, **k: Any) -> list[int]:
            raise Crash("killed after the stream head commit, before the leaf append")

        tlog.append_events = die  # type: ignore[method-assign]
        with pytest.raises(Crash):
            log.append(s, 0, first)
        del tlog.append_events  # the restarted worker
        assert log.last_seq(s) == 2 and tlog.head()[0] == 0  # committed, not yet a leaf
        second = envelopes(s, 2, 1, prev_hash=first[-1].hash)
        log.append(s, 2, second)
        assert [e.hash for e in tlog.entries(limit=10)] == [leaf_of_event(e) for e in first + second]

    def test_a_duplicate_receipt_completes_the_leaves_of_its_dead_writer(self) -> None:
        from datetime import UTC, datetime

        from tongxiu.events.envelope import Receipt, RecordedEvent

        log, _, tlog = self.make()
        s = uid()
        envs = envelopes(s, 0, 2)
        tlog.append_events = lambda *a, **k: (_ for _ in ()).throw(Crash("killed"))  # type: ignore[method-assign]
        with pytest.raises(Crash):
            log.append(s, 0, envs)
        del tlog.append_events
        t = Transparency(tlog, KeyPair.generate(), lambda: datetime.now(UTC))
        receipt = Receipt(submission_id=envs[0].submission_id, department="samr", stream=s, accepted=True,
                          recorded_at=envs[0].recorded_at, duplicate=True,
                          events=[RecordedEvent(event_id=e.event_id, type=e.type, seq=e.seq, hash=e.hash) for e in envs])
        logged = t.receipt_log(receipt)
        assert logged.log is not None and logged.log.leaves == [0, 1]
        assert logged.log.checkpoint.size == 2

    def test_the_sweep_completes_every_stream(self) -> None:
        log, _, tlog = self.make()
        streams = [uid() for _ in range(3)]
        tlog.append_events = lambda *a, **k: (_ for _ in ()).throw(Crash("killed"))  # type: ignore[method-assign]
        for s in streams:
            with pytest.raises(Crash):
                log.append(s, 0, envelopes(s, 0, 2))
        del tlog.append_events
        assert tlog.head()[0] == 0
        assert tlog.complete() == 6
        assert tlog.head()[0] == 6 and tlog.complete() == 0

    def test_leaf_rows_of_a_writer_killed_after_its_commit_are_written_by_the_next(self) -> None:
        log, rejections, tlog = self.make()
        s = uid()
        real = tlog._materialise
        calls = {"n": 0, "died": 0}

        def dying(st: Any, **kw: Any) -> Any:
            if st.batch_leaves() and not calls["died"]:  # the writer's own write of its batch's
                calls["died"] = 1                         # rows, right after its commit
                raise Crash("killed after the tree commit, before its rows")
            return real(st, **kw)

        tlog._materialise = dying  # type: ignore[method-assign]
        r = rejection("samr", uid("sub"), s, authenticated=True)
        with pytest.raises(Crash):
            rejections.record(r)
        tlog._materialise = real  # type: ignore[method-assign]
        calls["n"] += 1
        # the leaf is committed (the head includes it) and readable from the state row
        assert tlog.head() == (1, leaf_of_rejection(r))
        assert tlog.locate(digest_text(r.receipt.model_dump_json())) == 0
        # the next append writes the dead writer's rows, then its own
        envs = envelopes(s, 0, 1)
        log.append(s, 0, envs)
        assert rejections.get("samr", r.receipt.submission_id) is not None
        assert [e.hash for e in tlog.entries(limit=10)] == [leaf_of_rejection(r), leaf_of_event(envs[0])]
        assert tlog.rejection_rows()[0][0] == r.receipt.model_dump_json()

    def test_a_zombie_appending_leaves_already_completed_adds_none(self) -> None:
        from tongxiu.infra.cassandra_merkle import CassandraTransparencyLog, event_leaf

        log, _, tlog = self.make()
        s = uid()
        envs = envelopes(s, 0, 3)
        log.append(s, 0, envs)
        zombie = CassandraTransparencyLog(self.session, tlog.ks, events_per_bucket=3)
        assert zombie.append([event_leaf(e) for e in envs]) == [0, 1, 2]
        assert tlog.head()[0] == 3
        # concurrent: two processes completing the same stream
        s2 = uid()
        more = envelopes(s2, 0, 4)
        tlog.append_events = lambda *a, **k: (_ for _ in ()).throw(Crash("killed"))  # type: ignore[method-assign]
        with pytest.raises(Crash):
            log.append(s2, 0, more)
        del tlog.append_events
        threads = [threading.Thread(target=w.complete, args=(s2,)) for w in (tlog, zombie)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert tlog.head()[0] == 7
        assert [e.hash for e in tlog.entries(start=3, limit=10)] == [leaf_of_event(e) for e in more]

    def test_leaf_rows_in_flight_when_the_writer_dies_are_written_by_the_next(self) -> None:
        """Issue 11: an event batch's rows are sent after its commit and its callers do not wait
        for them (the next append does); a writer that dies before they land leaves them to
        the next writer, which writes them before its own commit."""
        from tongxiu.infra.cassandra_merkle import (
            CassandraTransparencyLog,
            LoggedCassandraEventLog,
        )

        log, _, tlog = self.make()
        assert isinstance(tlog, CassandraTransparencyLog)
        s = uid()
        envs = envelopes(s, 0, 2)
        tlog._put = lambda statements: []  # type: ignore[method-assign]  # the rows never land
        log.append(s, 0, envs)  # committed: the receipt has its leaves
        assert tlog.locate(envs[1].event_id) == 1
        # the process dies; another one appends next
        tlog2 = CassandraTransparencyLog(self.session, tlog.ks, events_per_bucket=3)
        log2 = LoggedCassandraEventLog(self.session, tlog.ks, tlog2, events_per_bucket=3)
        s2 = uid()  # another stream: nothing of s to complete first
        more = envelopes(s2, 0, 1)
        log2.append(s2, 0, more)
        # the dead batch is no longer the state's last: its leaves are read from their rows
        rows = self.session.execute(f"SELECT idx, hash FROM {tlog.ks}.merkle_leaves")
        assert sorted((int(r.idx), bytes(r.hash)) for r in rows)[:2] == [
            (0, leaf_of_event(envs[0])), (1, leaf_of_event(envs[1]))]
        assert [e.hash for e in tlog2.entries(limit=10)] == [leaf_of_event(e) for e in [*envs, *more]]
        assert tlog2.locate(envs[0].event_id) == 0  # its reference rows too
        assert tlog2._ref_rows([envs[0].event_id, envs[1].event_id]) == {envs[0].event_id: 0, envs[1].event_id: 1}

    @pytest.mark.parametrize("completer", ["same instance", "another process"])
    def test_leaves_completed_between_the_commit_and_the_leaf_append_are_not_appended_twice(
            self, completer: str) -> None:
        """Issue 11: the leaf append skips the look-up of events it has just committed while
        only its own instance has grown the tree; a sweep (``complete``) that appends them
        first, in this instance or another, must make it look again."""
        from tongxiu.infra.cassandra_merkle import CassandraTransparencyLog, event_leaf

        log, _, tlog = self.make()
        assert isinstance(tlog, CassandraTransparencyLog)
        warm = uid()
        log.append(warm, 0, envelopes(warm, 0, 1))  # this instance committed the last state
        other = tlog if completer == "same instance" else CassandraTransparencyLog(self.session, tlog.ks,
                                                                                    events_per_bucket=3)
        real = tlog.append_events
        s = uid()
        envs = envelopes(s, 0, 3)

        def swept_first(stream: str, envelopes_: Any, **kw: Any) -> Any:
            assert other.complete(stream) == 3  # the sweep finds the committed events first
            unrelated = uid()  # and the tree grows past them (their batch is not the last one)
            other.append([event_leaf(e) for e in envelopes(unrelated, 0, 1)])
            return real(stream, envelopes_, **kw)

        tlog.append_events = swept_first  # type: ignore[method-assign]
        log.append(s, 0, envs)
        del tlog.append_events
        assert tlog.head()[0] == 5  # each event once
        assert [e.hash for e in tlog.entries(start=1, limit=3)] == [leaf_of_event(e) for e in envs]
        # and the next fresh append after that is logged once too
        log.append(s, 3, envelopes(s, 3, 1))
        assert tlog.head()[0] == 6


@pytest.mark.integration
class TestCassandraGroupCommit(CassandraTransparencyFactory):
    """Issue 11: leaf appends arriving while one commits are committed together by the next
    LWT (one consensus write for the submissions in flight), each caller getting its own
    indexes, in a tree whose leaves are exactly the appended ones."""

    def test_appends_that_wait_are_committed_by_one_lwt(self) -> None:
        from tongxiu.infra.cassandra_merkle import CassandraTransparencyLog, event_leaf

        _, _, tlog = self.make()
        assert isinstance(tlog, CassandraTransparencyLog)
        inside = threading.Event()
        release = threading.Event()
        real = tlog._append_now
        calls: list[int] = []

        def slow_first(leaves: Any, streams: Any, fresh: Any = None) -> Any:
            calls.append(len(leaves))
            if len(calls) == 1:
                inside.set()
                release.wait(30)  # the others queue meanwhile
            return real(leaves, streams, fresh)

        tlog._append_now = slow_first  # type: ignore[method-assign]
        groups = [envelopes(uid(), 0, 2) for _ in range(8)]
        out: dict[int, list[int]] = {}

        def append(i: int) -> None:
            out[i] = tlog.append([event_leaf(e) for e in groups[i]])

        first = threading.Thread(target=append, args=(0,))
        first.start()
        assert inside.wait(30)
        others = [threading.Thread(target=append, args=(i,)) for i in range(1, 8)]
        for t in others:
            t.start()
        while len(tlog._queue) < 7:  # every other caller waits in the queue
            threading.Event().wait(0.01)
        release.set()
        for t in [first, *others]:
            t.join(60)
        assert calls == [2, 14]  # the first alone, then the seven waiting ones in one commit
        assert sorted(i for idx in out.values() for i in idx) == list(range(16))
        assert tlog.head()[0] == 16
        by_index = {e.index: e.hash for e in tlog.entries(start=0, limit=100)}
        for i, envs in enumerate(groups):
            assert [by_index[j] for j in out[i]] == [leaf_of_event(e) for e in envs]
