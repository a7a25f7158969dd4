"""Embedded group commit (issue 11, "durability by default"): submissions arriving while a commit
runs are committed together — one transaction, one sync, one signed checkpoint — on a real
SQLite ledger with real threads. Commits are counted on the connection (its ``COMMIT``
statements), never inferred from timing."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from bench import write_replay as wr
from bench.group_commit import by_enterprise
from tongxiu.events import merkle
from tongxiu.events.envelope import Envelope, Receipt, Submission
from tongxiu.events.tlog import event_leaf_data, rejection_leaf_data
from tongxiu.infra.embedded import InProcessTransport
from tongxiu.services.app import Tongxiu
from tongxiu.services.audit import verify_streams
from tongxiu.services.group_commit import GroupCommit
from tongxiu.services.transparency import verify_log

N_EVENTS = 400  # 20 enterprises x 20 events, 280 submissions


@pytest.fixture(scope="module")
def work() -> wr.Workload:
    return wr.build_workload(N_EVENTS)


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Tongxiu]:
    app, _ = wr.open_fresh(tmp_path, "group")
    yield app
    app.close()


class Commits:
    """Counts the COMMIT statements the ledger's connection runs (every thread's)."""

    def __init__(self, app: Tongxiu) -> None:
        self.n = 0
        self.conn = app.log.db.conn  # type: ignore[attr-defined]
        self.conn.set_trace_callback(self._seen)

    def _seen(self, sql: str) -> None:
        if sql.strip().upper() == "COMMIT":
            self.n += 1

    def stop(self) -> None:
        self.conn.set_trace_callback(None)


def group_of(app: Tongxiu) -> GroupCommit[Submission, Receipt]:
    transport = app.transport
    assert isinstance(transport, InProcessTransport) and transport.group is not None
    return transport.group


def run_threads(fns: Sequence[Callable[[], Any]]) -> list[Any]:
    results: list[Any] = [None] * len(fns)

    def run(i: int) -> None:
        try:
            results[i] = fns[i]()
        except BaseException as exc:  # noqa: BLE001 - kept for the test to look at
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(len(fns))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def proven(app: Tongxiu, receipt: Receipt) -> None:
    """The receipt's checkpoint is signed by the ledger and includes each of its leaves
    (an inclusion proof from the ledger, checked against the checkpoint's root)."""
    assert receipt.log is not None, receipt
    cp = receipt.log.checkpoint
    assert cp.verify({app.ledger.key.public_key})
    transparency = app.ledger.transparency
    assert transparency is not None
    if receipt.accepted:
        leaves = [
            merkle.leaf_hash(event_leaf_data(stream=receipt.stream, seq=e.seq, event_id=e.event_id, hash=e.hash))
            for e in receipt.events
        ]
    else:
        core = receipt.model_dump(mode="json")
        core.pop("log")
        leaves = [merkle.leaf_hash(rejection_leaf_data(core, receipt.log.submission_digest or ""))]
    assert len(leaves) == len(receipt.log.leaves)
    for leaf, index in zip(leaves, receipt.log.leaves, strict=True):
        assert index < cp.size
        proof = [bytes.fromhex(h) for h in transparency.inclusion(index, cp.size)]
        assert merkle.verify_inclusion(leaf, index, cp.size, proof, bytes.fromhex(cp.root)), (receipt, index)


def in_log(app: Tongxiu, receipt: Receipt) -> None:
    stored = {s.envelope.seq: s.envelope for s in app.log.read_stream(receipt.stream)}
    for e in receipt.events:
        env: Envelope = stored[e.seq]
        assert (env.event_id, env.hash) == (e.event_id, e.hash)


def wait_until(cond: Callable[[], bool], what: str) -> None:
    """A guard against a hang (a broken committer), not a measure of speed."""
    for _ in range(30_000):
        if cond():
            return
        threading.Event().wait(0.001)
    pytest.fail(f"never happened: {what}")


def queue_up(app: Tongxiu, subs: Sequence[Submission]) -> list[Any]:
    """Send ``subs`` from one thread each, all queued behind a commit that waits for the store:
    the first thread leads a commit blocked on the database lock (held here) until every other
    submission is queued, in this order; then the next leader takes them all as one group."""
    group = group_of(app)
    db = app.log.db  # type: ignore[attr-defined]
    results: list[Any] = [None] * len(subs)
    threads: list[threading.Thread] = []

    def send(i: int) -> None:
        try:
            results[i] = app.submit(subs[i])
        except BaseException as exc:  # noqa: BLE001
            results[i] = exc

    with db.lock:
        for i in range(len(subs)):
            threads.append(threading.Thread(target=send, args=(i,), daemon=True))
            threads[-1].start()
            # the first one leads (its commit waits for the lock held here), the others queue in order
            if i == 0:
                wait_until(lambda: group.leading() and group.queued() == 0, "the first submission leads")
            else:
                wait_until(lambda i=i: group.queued() >= i, f"{i} submissions queued")
    for t in threads:
        t.join()
    return results


def test_a_lone_submitter_commits_once_per_submission(ledger: Tongxiu, work: wr.Workload) -> None:
    group = group_of(ledger)
    before = group.stats.groups
    commits = Commits(ledger)
    subs = work.submissions[:40]
    for s in subs:
        r = ledger.submit(s)
        assert r.accepted and not r.duplicate, r.reasons
        proven(ledger, r)
    commits.stop()
    assert commits.n == len(subs)
    assert group.stats.groups - before == len(subs)
    assert group.stats.largest == 1


def test_concurrent_submitters_share_commits_and_each_receipt_is_proven(ledger: Tongxiu, work: wr.Workload) -> None:
    group = group_of(ledger)
    before = group.stats.groups
    commits = Commits(ledger)
    seen_in_read_models: list[bool] = []

    def submit_all(mine: list[Submission]) -> list[Receipt]:
        out = []
        for s in mine:
            r = ledger.submit(s)
            # read your writes: the receipt's events are in the read models when it returns
            seen_in_read_models.append(ledger.enterprise_state(s.stream).seq >= r.events[-1].seq)
            out.append(r)
        return out

    parts = by_enterprise(work.submissions, 8)
    results = run_threads([lambda p=p: submit_all(p) for p in parts])
    commits.stop()
    receipts = [r for rs in results for r in rs]
    assert len(receipts) == len(work.submissions)
    assert all(r.accepted and not r.duplicate for r in receipts), [r.reasons for r in receipts if not r.accepted]
    assert all(seen_in_read_models) and len(seen_in_read_models) == len(receipts)
    for r in receipts:
        in_log(ledger, r)
        proven(ledger, r)
    # fewer commits than submissions: counted on the connection, and by the group committer
    assert commits.n < len(receipts), (commits.n, len(receipts))
    assert commits.n == group.stats.groups - before
    assert group.stats.largest > 1
    assert sum(len(r.events) for r in receipts) == work.events
    assert verify_streams(ledger.log).ok
    assert verify_log(ledger.ledger.transparency.tlog, ledger.log).ok  # type: ignore[union-attr]
    # the read models are those of the log (nothing lost, nothing ahead)
    assert ledger.read_models.position() == ledger.log.last_position()


def test_a_group_is_one_commit_with_one_checkpoint(ledger: Tongxiu, work: wr.Workload) -> None:
    # 12 submissions, two of them of one enterprise in order (step 0 and 1), and one rejected
    first = work.submissions[:10]
    second = next(s for s in work.submissions if s.stream == first[0].stream and s is not first[0])
    bad = first[1].model_copy(update={"submission_id": "other-id", "department": "no-such-department"})
    subs = [*first, second, bad]
    commits = Commits(ledger)
    results = queue_up(ledger, subs)
    commits.stop()
    assert commits.n == 2  # the leader's own submission, then the 11 queued behind it in one group
    assert group_of(ledger).stats.largest == len(subs) - 1
    receipts: list[Receipt] = results
    assert all(isinstance(r, Receipt) for r in receipts), receipts
    assert all(r.accepted for r in receipts[:-1]), [r.reasons for r in receipts]
    assert not receipts[-1].accepted and receipts[-1].log is not None  # a rejection is a leaf too
    assert [e.seq for e in receipts[10].events][0] == receipts[0].events[-1].seq + 1
    group_cps = {r.log.checkpoint.signature for r in receipts[1:] if r.log is not None}
    assert len(group_cps) == 1  # one checkpoint signed for the group, after its last leaf
    last_leaf = max(i for r in receipts[1:] if r.log is not None for i in r.log.leaves)
    assert receipts[1].log is not None and receipts[1].log.checkpoint.size == last_leaf + 1
    for r in receipts:
        proven(ledger, r)
        if r.accepted:
            in_log(ledger, r)
    assert any(r.receipt.submission_id == "other-id" for r in ledger.list_rejections())


def test_a_submission_that_raises_in_a_group_leaves_the_others_accepted(
    ledger: Tongxiu, work: wr.Workload, monkeypatch: pytest.MonkeyPatch
) -> None:
    subs = work.submissions[:8]
    broken = subs[4].stream
    append = ledger.log.append

    def failing(stream: str, expected: int, envelopes: Sequence[Envelope]) -> None:
        append(stream, expected, envelopes)
        if stream == broken:  # after its rows are written: the group's transaction must roll them back
            raise OSError("disk trouble for this one")

    monkeypatch.setattr(ledger.log, "append", failing)
    commits = Commits(ledger)
    results = queue_up(ledger, subs)
    commits.stop()
    monkeypatch.undo()
    assert isinstance(results[4], OSError)
    others = [r for i, r in enumerate(results) if i != 4]
    assert all(isinstance(r, Receipt) and r.accepted and not r.duplicate for r in others), others
    # the leader alone (1), the group of 7 rolled back (0), then each of the 7 alone: 6 commits
    assert commits.n == 1 + 6
    assert ledger.log.last_seq(broken) == 0 and ledger.enterprise_state(broken).seq == 0
    for r in others:
        in_log(ledger, r)
        proven(ledger, r)
    assert ledger.read_models.position() == ledger.log.last_position()
    assert verify_log(ledger.ledger.transparency.tlog, ledger.log).ok  # type: ignore[union-attr]
    # the broken one, sent again once the trouble is gone, is accepted (nothing of it was kept)
    again = ledger.submit(subs[4])
    assert again.accepted and not again.duplicate
    assert ledger.enterprise_state(broken).seq == again.events[-1].seq


def test_a_duplicate_within_a_group_gets_the_first_receipt(ledger: Tongxiu, work: wr.Workload) -> None:
    subs = work.submissions[:6]
    twice = [*subs, subs[3]]
    results = queue_up(ledger, twice)
    assert all(isinstance(r, Receipt) and r.accepted for r in results), results
    first, dup = results[3], results[-1]
    assert not first.duplicate and dup.duplicate
    assert dup.events == first.events
    assert dup.log is not None and first.log is not None and dup.log.leaves == first.log.leaves
    proven(ledger, dup)
    assert ledger.log.last_seq(subs[3].stream) == first.events[-1].seq  # appended once


def test_the_group_committer_hands_each_caller_its_own_outcome() -> None:
    """Pure logic: the leader runs the groups; an exception of one item reaches its caller only;
    a commit that raises reaches every caller of its group; ``max_group`` bounds a group."""
    gate = threading.Event()
    seen: list[list[int]] = []

    def commit(items: list[int]) -> list[int | BaseException]:
        if items == [0]:
            gate.wait()
        seen.append(items)
        if 99 in items:
            raise RuntimeError("whole group")
        return [ValueError(i) if i == 3 else i * 10 for i in items]

    group: GroupCommit[int, int] = GroupCommit(commit, max_group=4)
    out: dict[int, Any] = {}

    def call(i: int) -> None:
        try:
            out[i] = group(i)
        except BaseException as exc:  # noqa: BLE001
            out[i] = exc

    threads = [threading.Thread(target=call, args=(0,), daemon=True)]
    threads[0].start()
    wait_until(lambda: group.leading() and group.queued() == 0, "the leader took its group [0]")
    for i in range(1, 7):
        threads.append(threading.Thread(target=call, args=(i,), daemon=True))
        threads[-1].start()
        wait_until(lambda i=i: group.queued() >= i, f"{i} queued")
    gate.set()
    for t in threads:
        t.join()
    assert seen == [[0], [1, 2, 3, 4], [5, 6]]
    assert isinstance(out[3], ValueError)
    assert {i: out[i] for i in (0, 1, 2, 4, 5, 6)} == {i: i * 10 for i in (0, 1, 2, 4, 5, 6)}
    assert (group.stats.groups, group.stats.items, group.stats.largest) == (3, 7, 4)
    with pytest.raises(RuntimeError, match="whole group"):
        group(99)
