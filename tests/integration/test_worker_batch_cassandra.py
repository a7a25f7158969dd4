"""The ledger agent's batch on the real Cassandra (issue 11, session 10): each shard sends the
idempotency look-ups of its segment's submissions at once (``RecordingLog.prefetch_many``)
and the shards' leaves go in one group commit per round (``CassandraTransparencyLog.gathering``).
What the ledger decides must not change: a submission repeated in the same batch (same shard,
or the same id on another stream: another shard) gets the first receipt as a duplicate or a
conflict, never a second append; a rejected id resubmitted in the batch gets the first rejection."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest

from bench.distributed import make_submissions
from tongxiu.events.models import REGISTRY_STREAM
from tongxiu.infra.distributed import worker_deps
from tongxiu.services.config import Settings
from tongxiu.services.demo import demo_key, demo_registration, make_uscc
from tongxiu.services.ledger import sign_submission
from tongxiu.streams.worker import ShardedHandler

pytestmark = pytest.mark.integration


@pytest.fixture()
def sharded(cassandra_session: Any, fresh_keyspace: Callable[..., Settings],
            tmp_path: Any) -> Iterator[ShardedHandler]:
    settings = fresh_keyspace("tongxiu_batch").model_copy(update={"data_dir": tmp_path})
    handler = worker_deps(settings, session=cassandra_session, shards=2).handler
    handler.bootstrap_events()
    r = handler.ledger.emit(REGISTRY_STREAM, [demo_registration("samr-deqing")], submission_id="register:samr-deqing")
    assert r.accepted, r.reasons
    yield handler
    cassandra_session.execute(f"DROP KEYSPACE IF EXISTS {settings.keyspace}", timeout=120)


def keyed(subs: list[Any]) -> list[tuple[bytes, bytes]]:
    return [(s.stream.encode(), s.model_dump_json().encode()) for s in subs]


def count_reads(sharded: ShardedHandler) -> list[int]:
    """Counts the look-ups read one by one (not sent ahead) by the shards' event log."""
    log = sharded.handlers[0].recorder.inner
    real = log.find_submission
    calls = [0]

    def find(department: str, submission_id: str, **k: Any) -> Any:
        calls[0] += 1
        return real(department, submission_id, **k)

    log.find_submission = find
    return calls


def test_a_shards_look_ups_go_ahead_and_decide_the_same(sharded: ShardedHandler) -> None:
    codes = [make_uscc("91", "330521", f"BT{i:06d}") for i in range(3)]
    subs = make_submissions(12, codes, "ahead")  # 4 per enterprise, several per shard
    calls = count_reads(sharded)
    out = sharded.handle_keyed(keyed(subs))
    assert all(rc.accepted and not rc.duplicate for rc, _ in out)
    assert all(len(events) == 2 for _, events in out)
    shards = {sharded._shard(s.stream) for s in subs}
    # one read per shard (its first submission); the others' answers were sent ahead
    assert calls[0] == len(shards)
    for code in codes:
        seqs = [rc.events[-1].seq for (rc, _), s in zip(out, subs, strict=True) if s.stream == code]
        assert seqs == sorted(seqs) and len(set(seqs)) == 4  # in order, no seq twice


def test_a_submission_repeated_in_the_batch_is_a_duplicate_not_a_second_append(sharded: ShardedHandler) -> None:
    codes = [make_uscc("91", "330521", f"BD{i:06d}") for i in range(2)]
    subs = make_submissions(4, codes, "twice")
    batch = [subs[0], subs[1], subs[2], subs[0], subs[3], subs[2]]
    out = sharded.handle_keyed(keyed(batch))
    assert [rc.accepted for rc, _ in out] == [True] * 6
    assert [rc.duplicate for rc, _ in out] == [False, False, False, True, False, True]
    assert out[3][0].events == out[0][0].events and out[5][0].events == out[2][0].events
    log = sharded.handlers[0].recorder.inner
    for code in codes:
        assert log.last_seq(code) == 4  # two submissions of two events each, not three


def test_the_same_id_on_another_stream_in_the_batch_is_a_conflict(sharded: ShardedHandler) -> None:
    key = demo_key("samr-deqing")
    streams = [make_uscc("91", "330521", f"BC{i:06d}") for i in range(40)]
    a = streams[0]
    b = next(s for s in streams if sharded._shard(s) != sharded._shard(a))  # another shard
    first = make_submissions(1, [a], "conflict")[0]
    other = sign_submission(key, department="samr-deqing", stream=b, submission_id=first.submission_id,
                            occurred_at=datetime.now(UTC), events=[e.event for e in first.events])
    filler = make_submissions(4, [a, b], "fill")
    out = sharded.handle_keyed(keyed([*filler[:2], first, *filler[2:], other]))
    receipts = [rc for rc, _ in out]
    accepted = [rc for rc in receipts if rc.submission_id == first.submission_id and rc.accepted]
    refused = [rc for rc in receipts if rc.submission_id == first.submission_id and not rc.accepted]
    assert len(accepted) == 1 and len(refused) == 1  # never both appended
    assert all(rc.accepted for rc in receipts if rc.submission_id != first.submission_id)


def test_a_rejected_id_resubmitted_in_the_batch_gets_the_first_rejection(sharded: ShardedHandler) -> None:
    key = demo_key("samr-deqing")
    code = make_uscc("91", "330521", "BR000001")
    ok = make_submissions(2, [code], "rej-ok")
    bad_events = [e.event for e in make_submissions(1, [code], "rej")[0].events]
    bad_events[0] = bad_events[0].model_copy(update={"decision_date": date(2030, 1, 1)})
    bad = sign_submission(key, department="samr-deqing", stream=code, submission_id="rej-bad",
                          occurred_at=datetime.now(UTC), events=bad_events)
    out = sharded.handle_keyed(keyed([ok[0], bad, ok[1], bad]))
    (r0, _), (r1, _), (r2, _), (r3, _) = out
    assert r0.accepted and r2.accepted and not r1.accepted and not r1.duplicate
    assert not r3.accepted and r3.duplicate and r3.reasons == r1.reasons and r3.recorded_at == r1.recorded_at


class Killed(BaseException):
    """The worker process dies here (not an error anything in it could handle)."""


def registered_worker(settings: Settings, session: Any) -> Any:
    """A worker's handler (one shard) over ``settings``' keyspace, with samr-deqing registered."""
    handler = worker_deps(settings, session=session, shards=1).handler
    handler.bootstrap_events()
    r = handler.ledger.emit(REGISTRY_STREAM, [demo_registration("samr-deqing")], submission_id="register:samr-deqing")
    assert r.accepted, r.reasons
    return handler


@pytest.mark.parametrize("ahead", [False, True], ids=["looked-up-alone", "looked-up-ahead"])
def test_a_writer_killed_between_its_commit_and_the_index_rows(
        cassandra_session: Any, fresh_keyspace: Callable[..., Settings], tmp_path: Any, ahead: bool) -> None:
    """A worker killed between its head commit and its event rows (session 13: and its index
    rows; session 14 writes those before the commit); the next owner of the partition gets
    the submission redelivered and must answer it with the first receipt (a duplicate), not
    append it a second time. ``ahead``: its look-up was sent with the segment's, before
    another submission of the stream completed the dead writer's rows."""
    settings = fresh_keyspace("tongxiu_killed").model_copy(update={"data_dir": tmp_path})
    try:
        first = registered_worker(settings, cassandra_session)
        code = make_uscc("91", "330521", "KD000001")
        subs = make_submissions(3, [code], "killed")
        (r0, _), = first.handle_keyed(keyed(subs[:1]))
        assert r0.accepted and [e.seq for e in r0.events] == [1, 2]

        log = first.handlers[0].recorder.inner
        real = log._write_rows

        def die(stream: str, head: Any, envelopes: Any = None, **k: Any) -> Any:
            if envelopes is not None:  # its own rows, after its commit
                raise Killed("killed between the head commit and the rows")
            return real(stream, head, envelopes, **k)

        log._write_rows = die
        with pytest.raises(Killed):
            first.handle_keyed(keyed(subs[1:2]))
        index = (f"SELECT stream, seq FROM {settings.keyspace}.events_by_submission"
                 " WHERE department = %s AND submission_id = %s")
        assert log.last_seq(code) == 4  # committed
        assert [r.seq for r in cassandra_session.execute(
            f"SELECT seq FROM {settings.keyspace}.events WHERE stream = %s AND bucket = 0", (code,))] == [1, 2]

        # the partition's next owner: a new worker, nothing cached; the submission redelivered
        second = worker_deps(settings, session=cassandra_session, shards=1).handler
        batch = [subs[2], subs[1]] if ahead else [subs[1], subs[2]]
        out = {rc.submission_id: rc for rc, _ in second.handle_keyed(keyed(batch))}
        again, nxt = out[subs[1].submission_id], out[subs[2].submission_id]
        assert again.accepted and again.duplicate, again
        assert [e.seq for e in again.events] == [3, 4]
        assert nxt.accepted and not nxt.duplicate and [e.seq for e in nxt.events] == [5, 6]
        stored = second.handlers[0].recorder.inner.read_stream(code)
        assert [s.envelope.submission_id for s in stored] == [s.submission_id for s in subs for _ in (0, 1)]
        assert sorted((r.stream, r.seq) for r in cassandra_session.execute(
            index, ("samr-deqing", subs[1].submission_id))) == [(code, 3), (code, 4)]  # completed
    finally:
        cassandra_session.execute(f"DROP KEYSPACE IF EXISTS {settings.keyspace}", timeout=120)


def test_a_writer_killed_after_its_commit_then_the_id_on_another_stream_is_a_conflict(
        cassandra_session: Any, fresh_keyspace: Callable[..., Settings], tmp_path: Any) -> None:
    """Session 14: a worker killed right after its head commit (before anything else it
    writes); the same (department, submission id) then arrives for ANOTHER stream (another
    partition: another worker) and must be refused as ``submission_id_conflict``, never
    appended a second time. With session 13's index rows written after the commit, the id was
    known to no stream but its own, and this resend was accepted."""
    settings = fresh_keyspace("tongxiu_killed2").model_copy(update={"data_dir": tmp_path})
    try:
        first = registered_worker(settings, cassandra_session)
        a, b = make_uscc("91", "330521", "KC000001"), make_uscc("91", "330521", "KC000002")
        sub = make_submissions(1, [a], "killed-other")[0]

        log = first.handlers[0].recorder.inner
        real_commit = log._commit

        def die_after(stream: str, *args: Any, **k: Any) -> Any:
            if real_commit(stream, *args, **k):  # committed: the process dies right here
                raise Killed("killed right after the head commit")
            return False

        log._commit = die_after
        with pytest.raises(Killed):
            first.handle_keyed(keyed([sub]))
        assert log.last_seq(a) == 2  # accepted on stream a (its receipt never went out)

        # the same id and events, for stream b, to a new worker (nothing cached)
        key = demo_key("samr-deqing")
        other = sign_submission(key, department="samr-deqing", stream=b, submission_id=sub.submission_id,
                                occurred_at=datetime.now(UTC), events=[e.event for e in sub.events])
        second = worker_deps(settings, session=cassandra_session, shards=1).handler
        (rc, events), = second.handle_keyed(keyed([other]))
        assert not rc.accepted and events == [], rc
        assert [x.code for x in rc.reasons] == ["submission_id_conflict"], rc.reasons
        second_log = second.handlers[0].recorder.inner
        assert second_log.last_seq(b) == 0  # never appended to b
        # and resent to its own stream it is the first receipt
        (again, _), = second.handle_keyed(keyed([sub]))
        assert again.accepted and again.duplicate and [e.seq for e in again.events] == [1, 2], again
    finally:
        cassandra_session.execute(f"DROP KEYSPACE IF EXISTS {settings.keyspace}", timeout=120)
