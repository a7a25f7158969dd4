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


class Crash(Exception):
    pass


class TestCassandraAppendRecovery(CassandraFactory):
    """A writer dies after writing its event rows but before the head commit."""

    def log(self, bucket: int = 3) -> CassandraEventLog:
        return CassandraEventLog(self.session, self.keyspace, events_per_bucket=bucket)

    def crashing(self, bucket: int = 3, *, after_buckets: int | None = None) -> CassandraEventLog:
        """A log whose append dies before committing (or after ``after_buckets`` buckets)."""
        log = self.log(bucket)

        def no_commit(*a: Any, **k: Any) -> bool:
            raise Crash("died before the head commit")

        log._commit = no_commit  # type: ignore[method-assign]
        if after_buckets is not None:
            real = log._insert_rows
            calls = {"n": 0}

            def dying(insert: Any, values: list[tuple[Any, ...]]) -> bool:
                if calls["n"] == after_buckets:
                    raise Crash("died between buckets")
                calls["n"] += 1
                return real(insert, values)

            log._insert_rows = dying  # type: ignore[method-assign]
        return log

    def test_uncommitted_rows_are_invisible(self) -> None:
        s = uid()
        good = self.log()
        good.append(s, 0, envelopes(s, 0, 2))
        with pytest.raises(Crash):
            self.crashing().append(s, 2, envelopes(s, 2, 4, submission_id="ghost"))
        assert good.last_seq(s) == 2
        assert [x.envelope.seq for x in good.read_stream(s)] == [1, 2]
        assert [x.envelope.seq for x in good.read_all(limit=10**6) if x.envelope.stream == s] == [1, 2]
        assert good.find_submission("samr", "ghost") == []

    def test_complete_pending_append_is_rolled_forward(self) -> None:
        s = uid()
        good = self.log()
        good.append(s, 0, envelopes(s, 0, 1))
        pending = envelopes(s, 1, 4, submission_id="pending")  # crosses a bucket (size 3)
        with pytest.raises(Crash):
            self.crashing().append(s, 1, pending)
        # the next writer (same expected seq) finds the complete append and commits it for the
        # dead writer: its own decision is then stale
        with pytest.raises(ConcurrencyError):
            good.append(s, 1, envelopes(s, 1, 1))
        assert good.last_seq(s) == 5
        assert [x.envelope for x in good.read_stream(s)][1:] == pending
        assert [x.envelope for x in good.find_submission("samr", "pending")] == pending
        good.append(s, 5, envelopes(s, 5, 1))
        assert good.last_seq(s) == 6

    def test_redelivered_submission_is_found_after_its_dead_writer_is_rolled_forward(self) -> None:
        """The worker died between its event rows and the head commit; the redelivered copy of
        the same submission (same ids, same seqs) loses to the rolled-forward original, and
        must then find it — not be told its decision already exists."""
        s = uid()
        good = self.log()
        good.append(s, 0, envelopes(s, 0, 1))
        pending = envelopes(s, 1, 2, submission_id="redelivered")
        with pytest.raises(Crash):
            self.crashing().append(s, 1, pending)
        assert good.find_submission("samr", "redelivered") == []  # not committed yet
        with pytest.raises(ConcurrencyError):
            good.append(s, 1, pending)  # the same submission, decided again after the restart
        assert [x.envelope for x in good.find_submission("samr", "redelivered")] == pending
        assert good.last_seq(s) == 3

    def test_incomplete_pending_append_is_aborted(self) -> None:
        s = uid()
        good = self.log()
        good.append(s, 0, envelopes(s, 0, 1))
        with pytest.raises(Crash):
            # rows 2,3 (bucket 0) written, rows 4,5 (bucket 1) never
            self.crashing(after_buckets=1).append(s, 1, envelopes(s, 1, 4, submission_id="half"))
        assert good.last_seq(s) == 1
        mine = envelopes(s, 1, 2, submission_id="next")
        good.append(s, 1, mine)  # aborts the half-written append, then wins
        assert [x.envelope for x in good.read_stream(s)][1:] == mine
        assert good.find_submission("samr", "half") == []
        assert good.last_seq(s) == 3

    def test_a_zombie_cannot_commit_after_its_append_was_aborted(self) -> None:
        s = uid()
        good = self.log()
        good.append(s, 0, envelopes(s, 0, 1))
        zombie = self.log()
        head = zombie._read_head(s)
        # the zombie writes half of its rows and stalls; another writer aborts and overtakes it
        with pytest.raises(Crash):
            self.crashing(after_buckets=1).append(s, 1, envelopes(s, 1, 4, submission_id="z"))
        good.append(s, 1, envelopes(s, 1, 1))
        # the zombie wakes up and tries to commit with the head it read
        assert zombie._commit(s, head, 5) is False
        assert good.last_seq(s) == 2

    def test_stale_rows_behind_an_empty_bucket_are_cleared(self) -> None:
        import uuid

        s = uid()
        good = self.log()
        good.append(s, 0, envelopes(s, 0, 1))
        # leftover of an aborted append at seq 5 (bucket 1) of an old epoch; bucket 0 above the
        # head is empty
        stale = envelopes(s, 4, 1)[0]
        good.session.execute(
            f"INSERT INTO {self.keyspace}.events (stream, bucket, seq, raw, writer, epoch, batch_first, batch_last)"
            " VALUES (%s, 1, 5, %s, %s, -1, 3, 5)",
            (s, stale.to_json(), uuid.uuid4()),
        )
        mine = envelopes(s, 1, 4)
        good.append(s, 1, mine)
        assert [x.envelope for x in good.read_stream(s)][1:] == mine
