"""The repair feed as the ledger serves it to credit platforms, on any backend: signed items,
and the commit that is the platform's acknowledgement (tongxiu.services.repair_feed states the
model for the SDK; docs/http.md for HTTP).

``GET /feed`` and ``POST /feed/commit`` are a thin layer over :class:`PlatformFeedService`,
and so is :class:`LocalPlatformFeed` in process.

* Every item handed out is the repair topic's record signed by the ledger's key (the same
  bytes as the ``{prefix}.repairs`` record of that fact), plus ``position`` and
  ``acknowledge``: true when the repair was delivered to the reading platform's department and
  it has not acknowledged it (decided from the log, not from a read model that may trail it).
* A commit covers the named item and the items handed to the consumer before it. For each
  covered item still owed, the commit must carry the platform's signed
  ``delivery_acknowledged`` (submission id ``ack:<event_id>``, the inbox path's); the
  acknowledgements are submitted like any submission, and only when all are accepted does the
  position move. An acknowledgement for a delivery already acknowledged (by the inbox path, or
  an earlier commit that did not reach the feed) is not sent again: the fact exists once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from tongxiu.events.envelope import Receipt, Submission
from tongxiu.events.models import DeliveryAcknowledged
from tongxiu.events.signing import KeyPair
from tongxiu.events.wire import Unreadable
from tongxiu.projections.fold import fold_enterprise
from tongxiu.projections.views import EnterpriseState
from tongxiu.services.app import Tongxiu
from tongxiu.services.repair_feed import FeedCommitRefused, PlatformFeedPort
from tongxiu.services.sdk import FeedItem, ack_submission_id

MAX_HANDED = 10_000
"""Per consumer: the items handed and not yet committed a commit may name; a consumer that
never commits forgets the oldest."""


def signed_item(item: FeedItem, key: KeyPair, *, acknowledge: bool = False) -> FeedItem:
    """``item`` signed by the ledger's ``key`` (docs/signing.md §9), marked ``acknowledge``."""
    unsigned = item.model_copy(update={"ledger_key": key.public_key, "ledger_signature": "",
                                       "acknowledge": acknowledge})
    return unsigned.model_copy(update={"ledger_signature": key.sign(unsigned.signed_bytes())})


def delivery_status(app: Tongxiu, department: str, items: Sequence[FeedItem]) -> dict[str, str]:
    """For each item whose repair was delivered to ``department``: ``pending`` or
    ``acknowledged``, from the enterprise's stream as the log holds it now (the delivery is
    written in the same append as the repair, so an item on the feed always has it)."""
    out: dict[str, str] = {}
    by_stream: dict[str, list[FeedItem]] = {}
    for item in items:
        by_stream.setdefault(item.stream, []).append(item)
    for stream, mine in by_stream.items():
        state = EnterpriseState.empty(stream)
        for stored in app.log.read_stream(stream):
            fold_enterprise(state, stored.envelope, app.rules)
        for item in mine:
            delivery = state.sync.deliveries.get(f"{item.event_id}/{department}")
            if delivery is not None:
                out[item.event_id] = delivery.status
    return out


@dataclass
class Committed:
    item: FeedItem
    receipts: list[Receipt] = field(default_factory=list)
    already_acknowledged: list[str] = field(default_factory=list)


class PlatformFeedService:
    """One per app (a feed port such as a Kafka consumer is not thread-safe): polls and
    commits under a lock, and remembers per consumer the items handed and not yet committed."""

    def __init__(self, app: Tongxiu) -> None:
        self.app = app
        self.lock = threading.Lock()
        self.handed: dict[str, dict[str, FeedItem]] = {}

    def poll(self, consumer: str, department: str | None, max_items: int = 100) -> list[FeedItem]:
        """Raises ``TimeoutError``/``RuntimeError`` when the backend's feed is unavailable."""
        with self.lock:
            items = self.app.feed.poll(consumer, max_items=max_items)
            owed = delivery_status(self.app, department, items) if department else {}
            key = self.app.ledger.key
            items = [signed_item(i, key, acknowledge=owed.get(i.event_id) == "pending") for i in items]
            pending = self.handed.setdefault(consumer, {})
            for item in items:  # in the order of this poll (the feed's order from the committed position)
                pending.pop(item.event_id, None)
                pending[item.event_id] = item
            while len(pending) > MAX_HANDED:
                pending.pop(next(iter(pending)))
        return items

    def _covered(self, consumer: str, shown: str, event_id: str | None, position: int | None) -> list[FeedItem]:
        pending = self.handed.get(consumer, {})
        found = [i for i in pending.values()
                 if (event_id is None or i.event_id == event_id) and (position is None or i.position == position)]
        if not found:
            raise FeedCommitRefused(409, f"consumer {shown} has no delivered, uncommitted item "
                                         f"{event_id or position}: GET /feed first")
        if len(found) > 1:
            raise FeedCommitRefused(409, f"position {position} names {len(found)} items "
                                         "(one per partition): commit by event_id")
        order = list(pending.values())
        return order[: order.index(found[0]) + 1]

    def commit(
        self,
        consumer: str,
        department: str | None,
        *,
        event_id: str | None = None,
        position: int | None = None,
        acknowledgements: Sequence[Submission | Unreadable] = (),
        submit: Callable[[Submission | Unreadable], Receipt] | None = None,
        shown: str | None = None,
    ) -> Committed:
        """Commit the named item (and those handed before it) with the platform's
        acknowledgements; raises :class:`FeedCommitRefused` and moves nothing when an owed
        acknowledgement is missing, does not belong to the commit, or is rejected."""
        shown = shown or consumer
        send = submit or self.app.submit
        with self.lock:
            covered = self._covered(consumer, shown, event_id, position)
        item = covered[-1]
        by_id = {i.event_id: i for i in covered}
        if acknowledgements and not department:
            raise FeedCommitRefused(422, "acknowledgements: 只有以部门（信用平台）身份读取反馈的令牌才能随提交确认接收")
        acked: dict[str, Submission] = {}
        for n, sub in enumerate(acknowledgements):
            where = f"acknowledgements[{n}]"
            if isinstance(sub, Unreadable):  # recorded with its reason like any unreadable submission
                raise FeedCommitRefused(422, f"{where}: 不是可读的提交", [send(sub)])
            events = [s.event for s in sub.events]
            if sub.department != department:
                raise FeedCommitRefused(422, f"{where}.department: 只能以部门 {department} 的名义确认，"
                                             f"不能以 {sub.department} 的名义")
            if len(events) != 1 or not isinstance(events[0], DeliveryAcknowledged):
                raise FeedCommitRefused(422, f"{where}.events: 随反馈提交的只能是一项 delivery_acknowledged")
            source = events[0].source_event_id
            if source not in by_id or sub.stream != by_id[source].stream:
                raise FeedCommitRefused(422, f"{where}.events[0].source_event_id: 事项 {source} "
                                             "不在本次提交覆盖的条目中（同一企业）")
            if sub.submission_id != ack_submission_id(source) or not events[0].applied:
                raise FeedCommitRefused(422, f"{where}: 接收确认的 submission_id 须为 {ack_submission_id(source)}，"
                                             "且 applied 为 true")
            acked[source] = sub
        status = delivery_status(self.app, department, covered) if department else {}
        missing = [i for i in covered if status.get(i.event_id) == "pending" and i.event_id not in acked]
        if missing:
            first = missing[0]
            raise FeedCommitRefused(
                409, f"条目 {first.event_id}（位置 {first.position}，{first.type}）已推送给 {department}，尚未确认接收："
                     "提交反馈位置即确认接收（一处修复、处处同步），须附该平台签署的 delivery_acknowledged"
                     f"（共 {len(missing)} 项未附）")
        strays = [source for source in acked if source not in status]
        if strays:
            raise FeedCommitRefused(422, f"acknowledgements: 事项 {strays[0]} 没有推送给部门 {department}")
        done = Committed(item)
        for source, sub in acked.items():
            if status[source] == "acknowledged":
                done.already_acknowledged.append(source)
                continue
            done.receipts.append(send(sub))
        refused = [r for r in done.receipts if not r.accepted]
        if refused:
            raise FeedCommitRefused(422, "; ".join(f"{r.submission_id}: {x.code} {x.field} {x.message}"
                                                   for r in refused for x in r.reasons), done.receipts)
        with self.lock:
            self.app.feed.commit(consumer, item)
            pending = self.handed.get(consumer, {})
            for i in covered:
                pending.pop(i.event_id, None)
        return done


class LocalPlatformFeed(PlatformFeedPort):
    """A credit platform's feed in process, on any backend's app: the same service the HTTP
    feed runs (signed items marked ``acknowledge``; a commit carries the acknowledgements),
    for the platform ``department`` (``None``: a reader owed nothing, e.g. an auditor)."""

    def __init__(self, app: Tongxiu, department: str | None) -> None:
        self.app = app
        self.department = department
        self.service = PlatformFeedService(app)

    def ledger_key(self) -> str:
        return self.app.ledger.key.public_key

    def poll(self, consumer: str, *, max_items: int = 100) -> list[FeedItem]:
        return self.service.poll(consumer, self.department, max_items)

    def commit(self, consumer: str, item: FeedItem, acknowledgements: Sequence[Submission] = ()) -> list[Receipt]:
        return self.service.commit(consumer, self.department, event_id=item.event_id,
                                   acknowledgements=acknowledgements).receipts
