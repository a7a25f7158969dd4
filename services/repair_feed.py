"""The credit platform's SDK for the repair feed: verified items, and one commit per repair.

One model for a platform (docs/http.md, "Repair feed"): it reads repairs, revocations,
withdrawals and expiries from the feed, applies each, and **commits**. A commit is the
platform's acknowledgement: for every item it covers that was delivered to the platform's
department (一处修复、处处同步; the item says so with ``acknowledge: true``), the commit carries
the platform's signed ``delivery_acknowledged`` — the very fact the inbox path
(``Consumer.acknowledge``, ``tongxiu ack``) records, under the same submission id — and the
feed refuses to move past such an item without it. One user action, one ledger fact per
repair; supervision counts that fact once, whichever path recorded it.

    feed = RepairFeed(HttpFeed(url, token=PLATFORM_TOKEN, ledger_key=LEDGER_KEY), "crm",
                      platform=Producer(HttpTransport(url, token=PLATFORM_TOKEN), "creditchina", key))
    for item in feed.poll():
        apply(item)
        feed.commit(item)

Every item is checked against the ledger's public key before it is handed out
(:func:`verify_feed_items`); an item whose signature fails is refused with
:class:`FeedItemRefused`, naming the item and the rule.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from tongxiu.events.envelope import Receipt, Submission
from tongxiu.events.models import DeliveryAcknowledged
from tongxiu.services.sdk import FeedItem, Producer, ack_submission_id


class FeedItemRefused(Exception):
    """A feed item failed its check; ``verified`` holds the items before it that passed (they
    may be applied and committed)."""

    def __init__(self, item: FeedItem | dict[str, Any], field: str, rule: str,
                 verified: Sequence[FeedItem] = ()) -> None:
        event_id = item.event_id if isinstance(item, FeedItem) else str(item.get("event_id", "?"))
        position = item.position if isinstance(item, FeedItem) else item.get("position", "?")
        super().__init__(f"修复反馈条目 {event_id}（位置 {position}）被拒收：{field}：{rule}")
        self.event_id = event_id
        self.position = position
        self.field = field
        self.rule = rule
        self.verified = list(verified)


class FeedCommitRefused(Exception):
    """The feed did not move: ``status`` 409 (an item delivered to the platform was committed
    without its acknowledgement, or the item was not handed to this consumer) or 422 (an
    acknowledgement was rejected: ``receipts`` hold the ledger's reasons)."""

    def __init__(self, status: int, detail: str, receipts: Sequence[Receipt] = ()) -> None:
        super().__init__(f"{status}: {detail}")
        self.status = status
        self.detail = detail
        self.receipts = list(receipts)


def verify_feed_items(items: Sequence[FeedItem], ledger_key: str) -> None:
    """Check every item's ledger signature (docs/signing.md §9: the Ed25519 signature of the
    ledger with ``ledger_key`` over the canonical record without ``ledger_signature``);
    raise :class:`FeedItemRefused` at the first that fails."""
    for i, item in enumerate(items):
        if not item.ledger_signature:
            raise FeedItemRefused(item, "ledger_signature",
                                  "条目没有账本签名（规则：每个修复反馈条目都须由账本签名，docs/signing.md §9）", items[:i])
        if item.ledger_key != ledger_key:
            raise FeedItemRefused(item, "ledger_key",
                                  f"签名公钥 {item.ledger_key[:16]}… 不是账本公钥 {ledger_key[:16]}…"
                                  "（规则：修复反馈条目须由账本的密钥签名）", items[:i])
        if not item.verify(ledger_key):
            raise FeedItemRefused(item, "ledger_signature",
                                  "签名不能用账本公钥验证：条目在账本签名后被改动，或不是账本所签"
                                  "（规则：账本以 Ed25519 签署条目除 ledger_signature 外的 RFC 8785 规范 JSON，"
                                  "docs/signing.md §9）", items[:i])


def parse_feed_items(raw: Sequence[dict[str, Any]]) -> list[FeedItem]:
    """Items as the feed sent them; an item with a member the record does not have (personal
    data among them: the feed carries no party name, address or representative) is refused."""
    out: list[FeedItem] = []
    for data in raw:
        extra = sorted(set(data) - set(FeedItem.model_fields))
        if extra:
            raise FeedItemRefused(data, extra[0], f"多出字段 {', '.join(extra)}（规则：修复反馈条目只含修复记录的字段，"
                                                  "不含当事人名称、地址、法定代表人等个人信息）", out)
        try:
            out.append(FeedItem.model_validate(data))
        except ValueError as exc:
            raise FeedItemRefused(data, "item", f"不是有效的修复反馈条目（规则：条目须符合 repair_record 模式）：{exc}",
                                  out) from exc
    return out


class PlatformFeedPort(abc.ABC):
    """The repair feed as one credit platform reads it: items marked ``acknowledge`` when the
    repair was delivered to the platform and not yet acknowledged; a commit carries the
    platform's signed acknowledgements of the marked items it covers. Implemented in process by
    ``tongxiu.services.platform_feed.LocalPlatformFeed`` (any backend) and over HTTP by
    ``tongxiu.services.http_client.HttpFeed``."""

    verifies: bool = False
    """True when :meth:`poll` already checked the items' signatures."""

    @abc.abstractmethod
    def poll(self, consumer: str, *, max_items: int = 100) -> list[FeedItem]: ...

    @abc.abstractmethod
    def commit(self, consumer: str, item: FeedItem,
               acknowledgements: Sequence[Submission] = ()) -> list[Receipt]:
        """Commit ``item`` (and what was handed before it) with the acknowledgements of the
        marked items it covers; the ledger's receipts of those acknowledgements. Raises
        :class:`FeedCommitRefused` when the feed does not move."""

    @abc.abstractmethod
    def ledger_key(self) -> str:
        """The ledger public key the items are signed with (as this port knows it)."""


class RepairFeed:
    """A credit platform's handle: read verified repairs, apply them, commit.

    ``platform``: the platform's producer (its department and key), which signs the
    acknowledgements a commit carries; without it, committing an item marked ``acknowledge``
    raises. ``ledger_key``: the ledger's public key (from the operator; default: the port's);
    ``verify=False`` turns the signature check off."""

    def __init__(self, port: PlatformFeedPort, consumer: str = "default", *, platform: Producer | None = None,
                 ledger_key: str | None = None, verify: bool = True) -> None:
        self.port = port
        self.consumer = consumer
        self.platform = platform
        self.ledger_key = ledger_key
        self.verify = verify
        self._handed: list[FeedItem] = []

    def poll(self, max_items: int = 100) -> list[FeedItem]:
        """Items not yet committed, in the feed's order, each checked against the ledger's key."""
        items = self.port.poll(self.consumer, max_items=max_items)
        if self.verify and (self.ledger_key is not None or not self.port.verifies):
            verify_feed_items(items, self.ledger_key or self.port.ledger_key())
        self._handed = list(items)
        return items

    def commit(self, item: FeedItem, *, occurred_at: datetime | None = None, note: str = "") -> list[Receipt]:
        """Commit ``item`` and every item handed before it by the last poll: the platform's
        signed ``delivery_acknowledged`` for each of them marked ``acknowledge``, in the same
        request as the position. Returns the receipts of those acknowledgements."""
        ids = [i.event_id for i in self._handed]
        covered = self._handed[: ids.index(item.event_id) + 1] if item.event_id in ids else [item]
        owed = [i for i in covered if i.acknowledge]
        if owed and self.platform is None:
            raise FeedCommitRefused(409, f"条目 {owed[0].event_id} 已推送给本平台，须随提交签署接收确认："
                                         "请以 platform=Producer(...) 创建 RepairFeed")
        acks = [self.acknowledgement(i, occurred_at=occurred_at, note=note) for i in owed]
        receipts = self.port.commit(self.consumer, item, acks)
        if self.platform is not None:
            for receipt in receipts:
                self.platform.keep(receipt)
        self._handed = self._handed[len(covered):] if item.event_id in ids else self._handed
        return receipts

    def acknowledgement(self, item: FeedItem, *, occurred_at: datetime | None = None, note: str = "") -> Submission:
        """The platform's signed acknowledgement of ``item``'s repair: the submission the inbox
        path sends for the same delivery (same fact, same submission id)."""
        assert self.platform is not None
        return self.platform.sign(item.stream, [DeliveryAcknowledged(source_event_id=item.event_id, note=note)],
                                  submission_id=ack_submission_id(item.event_id), occurred_at=occurred_at)
