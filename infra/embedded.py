"""In-process adapters of the SDK ports for the embedded backend."""

from __future__ import annotations

from typing import Any

from tongxiu.events.envelope import Receipt, Submission
from tongxiu.services.app import Tongxiu
from tongxiu.services.group_commit import GroupCommit
from tongxiu.services.ledger import Ledger
from tongxiu.services.ports import EventLog, OffsetStore, ReadSync
from tongxiu.services.sdk import FeedItem, FeedPort, InboxPort, Transport, feed_item, is_feed_event
from tongxiu.streams.processor import InProcessProjection


class InProcessTransport(Transport):
    """The embedded backend's transport: ``Ledger.submit`` in this process on the submission
    ``Tongxiu.submit`` parsed (the same object: not parsed again), inside one transaction with
    the read models it updates (``InProcessProjection.submitting``: read your writes, one
    commit); the receipt is returned once that transaction has committed. Other read models
    (a test's) are brought up to the log after the submission.

    Group commit (``group_max`` > 1, the setting ``embedded_group_max``): submissions sent from
    several threads while a commit is running are queued, and the next one to lead commits up
    to ``group_max`` of them in ONE transaction (one sync at ``synchronous=FULL``) with ONE
    signed checkpoint including all their leaves, then returns each receipt
    (:mod:`tongxiu.services.group_commit`). A lone submission is committed alone at once, as
    before. If anything in a group raises, the whole group is rolled back and each of its
    submissions is sent again alone, so each gets its own outcome."""

    def __init__(self, ledger: Ledger, read_models: ReadSync, *, group_max: int = 1) -> None:
        self.ledger = ledger
        self.read_models = read_models
        self.group: GroupCommit[Submission, Receipt] | None = None
        """The group committer (None: each submission alone, by the caller, as before)."""
        if group_max > 1 and isinstance(read_models, InProcessProjection):
            self.group = GroupCommit(self._commit, max_group=group_max)

    def send(self, submission: Submission) -> Receipt:
        if not isinstance(self.read_models, InProcessProjection):
            receipt = self.ledger.submit(submission)
            self.read_models.catch_up()
            return receipt
        if self.group is not None:
            return self.group(submission)
        return self._alone(submission)

    def _alone(self, submission: Submission) -> Receipt:
        assert isinstance(self.read_models, InProcessProjection)
        try:
            with self.read_models.submitting():
                receipt = self.ledger.submit(submission)
        except BaseException:
            self.ledger.forget(submission.stream)  # its cached state may be ahead of the store
            raise
        return receipt

    def _commit(self, group: list[Submission]) -> list[Receipt | BaseException]:
        """One group's outcomes, in order (see the class)."""
        if len(group) > 1:
            assert isinstance(self.read_models, InProcessProjection)
            try:
                with self.read_models.submitting():
                    pending = [self.ledger.submit_log_later(s) for s in group]
                    receipts = self.ledger.add_log_parts(pending)  # one checkpoint, before COMMIT
                return list(receipts)  # committed: now the receipts may go out
            except BaseException as exc:
                for s in group:  # rolled back: what was folded for the group is ahead of the store
                    self.ledger.forget(s.stream)
                if not isinstance(exc, Exception):  # e.g. KeyboardInterrupt: every caller sees it
                    raise
        out: list[Receipt | BaseException] = []
        for s in group:
            try:
                out.append(self._alone(s))
            except Exception as exc:  # noqa: BLE001 - that submission's caller raises it
                out.append(exc)
        return out


class LocalTransport(Transport):
    """A client of a built app (any backend): sends through ``Tongxiu.submit``."""

    def __init__(self, app: Tongxiu) -> None:
        self.app = app

    def send(self, submission: Submission) -> Receipt:
        return self.app.submit(submission)


class LocalInbox(InboxPort):
    def __init__(self, app: Tongxiu) -> None:
        self.app = app

    def pending(self, subscriber: str) -> list[dict[str, Any]]:
        return self.app.inbox(subscriber)


class LocalFeed(FeedPort):
    """Reads the log by its gap-free global position (never by time, which can skip late
    events); each consumer's position is kept in the offset store."""

    def __init__(self, log: EventLog, offsets: OffsetStore) -> None:
        self.log = log
        self.offsets = offsets

    def poll(self, consumer: str, *, max_items: int = 100) -> list[FeedItem]:
        after = self.offsets.get(consumer)
        out: list[FeedItem] = []
        while len(out) < max_items:
            chunk = self.log.read_all(after=after, limit=500)
            if not chunk:
                break
            for stored in chunk:
                after = stored.position
                if is_feed_event(stored.envelope):
                    out.append(feed_item(stored.envelope, stored.position))
                    if len(out) == max_items:
                        break
        return out

    def commit(self, consumer: str, item: FeedItem) -> None:
        """Mark ``item`` (and everything before it) done; never moves back."""
        if item.position > self.offsets.get(consumer):
            self.offsets.put(consumer, item.position)
