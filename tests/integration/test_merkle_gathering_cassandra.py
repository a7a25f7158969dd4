"""The transparency log's group commit waits for the ledger agent's shards of one batch
(issue 11, session 10: ``CassandraTransparencyLog.gathering``), on the real Cassandra: the
leaves of the submissions a batch has in flight go in one LWT, a shard that has nothing more
to append releases the others, and the shards announce themselves and leave even when a
submission fails. No timing is asserted: the tests wait for states (the leader lingering),
and the linger bound is set far above any wait here so it never decides a test."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.contract.base import envelopes, uid
from tongxiu.infra.cassandra_merkle import CassandraTransparencyLog, LoggedCassandraEventLog

pytestmark = pytest.mark.integration


@pytest.fixture()
def tlog(cassandra_session: Any, fresh_keyspace: Callable[..., Any]) -> Iterator[CassandraTransparencyLog]:
    settings = fresh_keyspace("tongxiu_gather")
    log = CassandraTransparencyLog(cassandra_session, settings.keyspace)
    log.ks = settings.keyspace  # type: ignore[attr-defined]  # for the event log beside it
    log.linger_s = 600.0  # never the reason a group goes: the announced callers are
    yield log
    cassandra_session.execute(f"DROP KEYSPACE IF EXISTS {settings.keyspace}", timeout=120)


def committed(log: LoggedCassandraEventLog, stream: str) -> Any:
    env = envelopes(stream, 0, 2)
    log._finish(stream, log._commit_append(stream, 0, env))  # the events committed, no leaves yet
    return env


def until(cond: Callable[[], bool], what: str) -> None:
    """Wait for a state (not a duration): fails only if it never comes."""
    deadline = time.monotonic() + 120
    while not cond():
        assert time.monotonic() < deadline, f"never: {what}"
        time.sleep(0.005)


def start(fn: Callable[[], Any]) -> tuple[threading.Thread, list[Any]]:
    out: list[Any] = []
    th = threading.Thread(target=lambda: out.append(fn()), daemon=True)
    th.start()
    return th, out


def test_the_announced_callers_leaves_go_in_one_lwt(tlog: CassandraTransparencyLog) -> None:
    events = LoggedCassandraEventLog(tlog.session, tlog.ks, tlog)  # type: ignore[attr-defined]
    a, b, c = uid(), uid(), uid()
    ea, eb, ec = committed(events, a), committed(events, b), committed(events, c)
    tlog.append_events(a, ea)  # the tree exists (its first LWT)
    rounds = tlog.lwt_rounds
    with tlog.gathering(2) as leave:
        first, got_b = start(lambda: tlog.append_events(b, eb))
        until(lambda: tlog._leading, "the first caller leads and waits for the second")
        second, got_c = start(lambda: tlog.append_events(c, ec))
        first.join(120)
        second.join(120)
        leave()
        leave()
    assert tlog.lwt_rounds == rounds + 1  # one consensus write for both callers
    assert sorted(got_b[0] + got_c[0]) == [2, 3, 4, 5]
    assert tlog._expected == 0


def test_a_caller_that_leaves_releases_the_group(tlog: CassandraTransparencyLog) -> None:
    events = LoggedCassandraEventLog(tlog.session, tlog.ks, tlog)  # type: ignore[attr-defined]
    a = uid()
    ea = committed(events, a)
    with tlog.gathering(2) as leave:
        th, got = start(lambda: tlog.append_events(a, ea))
        until(lambda: tlog._leading, "the caller leads and waits for the other")
        assert not got  # still waiting for the other announced caller
        leave()  # the other shard had nothing to append
        th.join(120)
        assert got == [[0, 1]]
        leave()
    assert tlog._expected == 0


def test_without_a_gathering_each_caller_that_arrives_alone_commits_alone(tlog: CassandraTransparencyLog) -> None:
    """The control: the same two appends, not announced, take two LWTs."""
    events = LoggedCassandraEventLog(tlog.session, tlog.ks, tlog)  # type: ignore[attr-defined]
    a, b, c = uid(), uid(), uid()
    ea, eb, ec = committed(events, a), committed(events, b), committed(events, c)
    tlog.append_events(a, ea)
    rounds = tlog.lwt_rounds
    tlog.append_events(b, eb)
    tlog.append_events(c, ec)
    assert tlog.lwt_rounds == rounds + 2


def test_the_sharded_handler_announces_its_shards_and_each_leaves_even_when_one_fails() -> None:
    from tongxiu.streams.worker import ShardedHandler

    class Recorder:  # no look-ups to send ahead here
        def prefetch_many(self, ids: Any) -> None:
            pass

        def drop_ahead(self) -> None:
            pass

    class Handler:
        def __init__(self, fail: bool) -> None:
            self.ledger = object()
            self.recorder = Recorder()
            self.fail = fail

        def handle(self, raw: bytes) -> Any:
            if self.fail:
                raise RuntimeError("a submission failed")
            return raw, []

    announced: list[int] = []
    left: list[int] = []

    import contextlib

    @contextlib.contextmanager
    def gathering(n: int) -> Iterator[Callable[[], None]]:
        announced.append(n)
        yield lambda: left.append(1)

    sharded = ShardedHandler([Handler(False), Handler(False)], gathering)  # type: ignore[list-item]
    keys = [f"s{i}".encode() for i in range(40)]  # both shards get some
    out = sharded.handle_keyed([(k, k) for k in keys])
    assert [r[0] for r in out] == keys
    shards_used = len({sharded._shard(k.decode()) for k in keys})
    assert announced == [shards_used] and len(left) == shards_used == 2

    announced.clear()
    left.clear()
    failing = ShardedHandler([Handler(True), Handler(False)], gathering)  # type: ignore[list-item]
    with pytest.raises(RuntimeError):
        failing.handle_keyed([(k, k) for k in keys])
    failing.pool.shutdown(wait=True)
    assert announced == [2] and len(left) == 2
