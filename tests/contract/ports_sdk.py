"""Contract suites for the SDK-facing ports that have an embedded and a distributed adapter.

* :class:`FeedPortContract` — the repair feed (``LocalFeed`` / ``KafkaFeed``). A backend
  overrides ``make_feed()``, returning a new feed instance on the backend's shared storage
  (a second call simulates a restarted consumer process) and a ``publish(envelopes)`` callable
  that puts envelopes where the feed reads them (the event log / the events topic).
* :class:`InboxPortContract` — the subscriber inbox (``LocalInbox`` / ``ProjectionInbox``). A
  backend overrides ``make_inbox_world()``, returning an :class:`InboxWorld`: producers for the
  demo departments (registered and subscribed to Zhejiang) whose submissions reach the ledger
  and then the projections, the inbox port reading those projections, and the app whose feed
  a credit platform reads — where committing the feed is the platform's acknowledgement
  (``LocalPlatformFeed``, the service behind ``GET /feed``).

As in ``base.py``, the ``*Contract`` classes are not collected; a backend subclasses them as
``Test<Backend><Port>`` and overrides only the factory. Each test uses its own enterprise
streams and filters what it reads by them, so a backend may share storage between tests.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from tests.contract.base import uid
from tests.support import T0, advice, decision
from tongxiu.events.envelope import GENESIS_HASH, Envelope
from tongxiu.events.models import (
    PROPAGATED_TYPES,
    DecisionWithdrawn,
    DeliveryAcknowledged,
    Event,
    PenaltyFulfilled,
    PublicityExpired,
    RectificationEvidenceSubmitted,
    RectificationVerified,
    RepairApplied,
    RepairGranted,
    RepairRevoked,
    SubscriptionAdded,
)
from tongxiu.services.app import Tongxiu
from tongxiu.services.demo import make_uscc
from tongxiu.services.platform_feed import LocalPlatformFeed
from tongxiu.services.ports import ManualClock
from tongxiu.services.repair_feed import FeedCommitRefused, RepairFeed
from tongxiu.services.sdk import (
    Consumer,
    FeedItem,
    FeedPort,
    InboxPort,
    Producer,
    RepairRecord,
    is_feed_event,
)

Publish = Callable[[list[Envelope]], None]

PERSONAL = {
    "party_name": "张三五金有限公司",
    "address": "德清县武康街道某路1号",
    "legal_representative": "张三",
}
FEED_ITEM_FIELDS = {"position", "acknowledge", "stream", "type", "decision_no", "event_id", "department",
                    "occurred_at", "recorded_at", "seq", "hash", "ledger_key", "ledger_signature"}
"""The repair topic's record (docs/signing.md §9) plus the feed's ``position`` and ``acknowledge``."""


def enterprise_code(prefix: str = "MC") -> str:
    """A fresh Zhejiang (330521) enterprise code, so tests never share a stream."""
    return make_uscc("91", "330521", f"{prefix}{random.randrange(10**6):06d}")


class Streams:
    """Builds envelopes the ledger could have written: per stream gap-free ``seq`` and a hash
    chain (signatures are not checked by the feed)."""

    def __init__(self) -> None:
        self.heads: dict[str, tuple[int, str]] = {}

    def env(self, stream: str, event: Event, *, department: str = "samr-deqing") -> Envelope:
        seq, prev = self.heads.get(stream, (0, GENESIS_HASH))
        seq += 1
        at = datetime(2026, 1, 5, tzinfo=UTC) + timedelta(minutes=seq)
        env = Envelope(
            event_id=str(uuid.uuid4()),
            stream=stream,
            seq=seq,
            department=department,
            submission_id=f"{stream}/{seq}/{uuid.uuid4().hex[:6]}",
            index=0,
            occurred_at=at,
            recorded_at=at + timedelta(seconds=1),
            event=event,
            signature="00" * 64,
            prev_hash=prev,
        ).sealed()
        self.heads[stream] = (seq, env.hash)
        return env


def feed_events(n: int) -> list[Event]:
    """``n`` feed events cycling through the four feed types."""
    out: list[Event] = []
    for i in range(n):
        no = f"D-{i}"
        kind = i % 4
        if kind == 0:
            out.append(RepairGranted(decision_no=no))
        elif kind == 1:
            out.append(RepairRevoked(decision_no=no, reason="虚假材料"))
        elif kind == 2:
            out.append(DecisionWithdrawn(decision_no=no, reason="复议撤销", ruling_ref="R-1"))
        else:
            out.append(PublicityExpired(decision_no=no, expired_on=date(2027, 1, 5)))
    return out


def non_feed_events(i: int) -> list[Event]:
    """Events that must never reach the feed; the decision carries personal data."""
    return [
        decision(f"P-{i}", **PERSONAL),
        SubscriptionAdded(jurisdictions=["33"]),
        DeliveryAcknowledged(source_event_id=str(uuid.uuid4())),
    ]


def close(feed: FeedPort) -> None:
    closer = getattr(feed, "close", None)
    if closer is not None:
        closer()


def drain(
    feed: FeedPort, consumer: str, *, batch: int = 7, commit: bool = True, rounds: int = 100
) -> list[FeedItem]:
    """Poll (and commit) until the feed has nothing more for ``consumer``."""
    out: list[FeedItem] = []
    for _ in range(rounds):
        items = feed.poll(consumer, max_items=batch)
        if not items:
            return out
        out += items
        if not commit:
            return out
        for item in items:
            feed.commit(consumer, item)
    raise AssertionError(f"feed never ran dry after {rounds} polls")


def ids(items: list[FeedItem]) -> list[str]:
    return [i.event_id for i in items]


# --------------------------------------------------------------------------- FeedPort


class FeedPortContract:
    def make_feed(self) -> tuple[FeedPort, Publish]:
        """A new feed instance on this test's storage, and how to publish envelopes to it."""
        raise NotImplementedError

    def _publish_mix(
        self, publish: Publish, streams: list[str], per_stream: int
    ) -> dict[str, list[Envelope]]:
        """Interleave feed and non-feed events over ``streams``; the feed envelopes per stream."""
        w = Streams()
        batch: list[Envelope] = []
        feed: dict[str, list[Envelope]] = {s: [] for s in streams}
        events = feed_events(per_stream * len(streams))
        for i in range(per_stream):
            for j, s in enumerate(streams):
                if i % 2 == 0:
                    batch.append(w.env(s, non_feed_events(i)[j % 3]))
                env = w.env(s, events[i * len(streams) + j])
                feed[s].append(env)
                batch.append(env)
        publish(batch)
        return feed

    def test_only_feed_events_come_out(self) -> None:
        feed, publish = self.make_feed()
        streams = [enterprise_code(), enterprise_code()]
        published = self._publish_mix(publish, streams, 6)
        items = [i for i in drain(feed, uid("only")) if i.stream in streams]
        expected = {e.event_id: e for s in streams for e in published[s]}
        assert sorted(ids(items)) == sorted(expected)
        assert {i.type for i in items} == set(PROPAGATED_TYPES)
        for item in items:
            env = expected[item.event_id]
            assert is_feed_event(env)
            assert (item.stream, item.type, item.department) == (env.stream, env.type, env.department)
            assert item.decision_no == env.event.decision_no  # type: ignore[union-attr]
            assert item.recorded_at == env.recorded_at
            assert (item.occurred_at, item.seq, item.hash) == (env.occurred_at, env.seq, env.hash)
        close(feed)

    def test_items_carry_no_personal_data(self) -> None:
        feed, publish = self.make_feed()
        s = enterprise_code()
        w = Streams()
        publish(
            [
                w.env(s, decision("D-9", **PERSONAL)),
                w.env(s, RepairGranted(decision_no="D-9")),
                w.env(s, RepairRevoked(decision_no="D-9", reason="虚假材料")),
            ]
        )
        items = [i for i in drain(feed, uid("pii")) if i.stream == s]
        assert [i.type for i in items] == ["repair_granted", "repair_revoked"]
        assert set(FeedItem.model_fields) == FEED_ITEM_FIELDS
        assert set(RepairRecord.model_fields) == FEED_ITEM_FIELDS - {"position", "acknowledge"}
        for item in items:
            data = item.model_dump()
            assert set(data) == FEED_ITEM_FIELDS
            assert not set(PERSONAL) & set(data)
            assert not set(PERSONAL.values()) & {str(v) for v in data.values()}
        close(feed)

    def test_items_are_delivered_again_until_committed(self) -> None:
        feed, publish = self.make_feed()
        s = enterprise_code()
        w = Streams()
        envs = [w.env(s, e) for e in feed_events(5)]
        publish(envs)
        consumer = uid("again")
        first = feed.poll(consumer, max_items=2)
        assert ids(first) == [e.event_id for e in envs[:2]]
        assert ids(feed.poll(consumer, max_items=2)) == ids(first)  # nothing committed yet
        assert ids(feed.poll(consumer, max_items=100)) == [e.event_id for e in envs]
        feed.commit(consumer, first[0])
        assert ids(feed.poll(consumer, max_items=2)) == [e.event_id for e in envs[1:3]]
        assert ids(feed.poll(consumer, max_items=2)) == [e.event_id for e in envs[1:3]]
        close(feed)

    def test_commit_is_idempotent_and_never_moves_back(self) -> None:
        feed, publish = self.make_feed()
        s = enterprise_code()
        w = Streams()
        envs = [w.env(s, e) for e in feed_events(5)]
        publish(envs)
        consumer = uid("monotonic")
        items = feed.poll(consumer, max_items=3)
        feed.commit(consumer, items[2])
        feed.commit(consumer, items[2])  # again: harmless
        feed.commit(consumer, items[0])  # older: does not rewind
        assert ids(feed.poll(consumer, max_items=100)) == [e.event_id for e in envs[3:]]
        close(feed)
        again, _ = self.make_feed()
        again.commit(consumer, items[1])  # polled by the earlier instance: harmless
        assert ids(again.poll(consumer, max_items=100)) == [e.event_id for e in envs[3:]]
        close(again)

    def test_a_restarted_consumer_resumes_after_the_committed_item(self) -> None:
        feed, publish = self.make_feed()
        streams = [enterprise_code() for _ in range(4)]
        published = self._publish_mix(publish, streams, 5)
        everything = {e.event_id for s in streams for e in published[s]}
        consumer = uid("restart")
        items = [i for i in feed.poll(consumer, max_items=100) if i.stream in streams]
        assert sorted(ids(items)) == sorted(everything)
        done = items[:7]
        for item in done:
            feed.commit(consumer, item)
        close(feed)  # the consumer process stops

        again, _ = self.make_feed()  # and starts again
        rest = [i for i in drain(again, consumer, batch=4) if i.stream in streams]
        assert not set(ids(done)) & set(ids(rest)), "a committed item was delivered again"
        assert len(ids(rest)) == len(set(ids(rest))), "an item was delivered twice"
        assert sorted(ids(done) + ids(rest)) == sorted(everything), "an item was lost"
        close(again)

        third, _ = self.make_feed()
        assert [i for i in third.poll(consumer) if i.stream in streams] == []
        close(third)

    def test_consumers_are_independent(self) -> None:
        feed, publish = self.make_feed()
        streams = [enterprise_code(), enterprise_code()]
        published = self._publish_mix(publish, streams, 4)
        everything = sorted(e.event_id for s in streams for e in published[s])
        a, b = uid("platform-a"), uid("platform-b")
        assert sorted(i.event_id for i in drain(feed, a) if i.stream in streams) == everything
        assert [i for i in feed.poll(a) if i.stream in streams] == []
        # b never committed anything: it still gets everything, and a's commits did not move it
        seen_b = [i for i in feed.poll(b, max_items=100) if i.stream in streams]
        assert sorted(ids(seen_b)) == everything
        feed.commit(b, seen_b[0])
        close(feed)  # stop before restarting: KafkaFeed cannot have two live instances per name
        other, _ = self.make_feed()
        assert [i for i in other.poll(a) if i.stream in streams] == []
        # order is promised per enterprise stream only, so compare as sets
        assert sorted(ids([i for i in other.poll(b, max_items=100) if i.stream in streams])) == sorted(
            ids(seen_b[1:])
        )
        close(other)

    def test_order_is_kept_per_enterprise_stream(self) -> None:
        feed, publish = self.make_feed()
        streams = [enterprise_code() for _ in range(5)]
        published = self._publish_mix(publish, streams, 6)
        items = [i for i in drain(feed, uid("order"), batch=5) if i.stream in streams]
        for s in streams:
            mine = [i for i in items if i.stream == s]
            assert ids(mine) == [e.event_id for e in published[s]], f"order of {s}"
            positions = [i.position for i in mine]
            assert positions == sorted(positions) and len(set(positions)) == len(positions)
        close(feed)


# --------------------------------------------------------------------------- InboxPort


@dataclass
class InboxWorld:
    """An app-like setup: departments registered and subscribed to Zhejiang (``33``)."""

    inbox: InboxPort
    producers: dict[str, Producer]
    clock: ManualClock
    app: Tongxiu
    """The app (its ``feed`` reads what the ledger recorded: the log, or the events topic)."""


DECIDER = "samr-deqing"
SUBSCRIBERS = ["tax-deqing", "eco-huzhou", "ema-deqing", "creditchina"]


class InboxPortContract:
    def make_inbox_world(self) -> InboxWorld:
        raise NotImplementedError

    # the flow of tests/support.py World.granted, on this test's own enterprise stream

    def _send(self, w: InboxWorld, dept: str, stream: str, events: list[Event]) -> None:
        receipt = w.producers[dept].publish(stream, events, occurred_at=w.clock.now())
        assert receipt.accepted, receipt.reasons

    def grant(self, w: InboxWorld, stream: str, decisions: list[str]) -> None:
        """Serve, pay, rectify, apply and grant the repair of each decision (decided by samr)."""
        w.clock.set(T0)
        for no in decisions:
            receipt = w.producers[DECIDER].serve(
                stream, decision(no), advice(f"A-{no}", no), occurred_at=w.clock.now()
            )
            assert receipt.accepted, receipt.reasons
            self._send(
                w,
                DECIDER,
                stream,
                [
                    PenaltyFulfilled(
                        decision_no=no, amount_paid_yuan=Decimal("50000"), fulfilled_on=date(2026, 1, 5)
                    )
                ],
            )
            self._send(
                w,
                "creditchina",
                stream,
                [RectificationEvidenceSubmitted(advice_no=f"A-{no}", item_id="1", evidence="证明")],
            )
            self._send(w, DECIDER, stream, [RectificationVerified(advice_no=f"A-{no}", item_id="1")])
        w.clock.set(T0 + timedelta(days=100))
        for no in decisions:
            self._send(
                w,
                "creditchina",
                stream,
                [RepairApplied(decision_no=no, credit_commitment="承诺", applied_on=w.clock.now().date())],
            )
            self._send(w, DECIDER, stream, [RepairGranted(decision_no=no)])

    def mine(self, w: InboxWorld, subscriber: str, stream: str) -> list[dict[str, Any]]:
        return [d for d in w.inbox.pending(subscriber) if d["stream"] == stream]

    def ack(self, w: InboxWorld, subscriber: str, delivery: dict[str, Any]) -> None:
        receipt = Consumer(w.inbox, w.producers[subscriber]).acknowledge(delivery, occurred_at=w.clock.now())
        assert receipt.accepted, receipt.reasons

    def test_a_delivery_is_pending_for_each_subscriber_but_not_the_decider(self) -> None:
        w = self.make_inbox_world()
        s = enterprise_code("ME")
        self.grant(w, s, ["D1"])
        assert self.mine(w, DECIDER, s) == []
        source_ids = set()
        for sub in SUBSCRIBERS:
            pending = self.mine(w, sub, s)
            assert len(pending) == 1, (sub, pending)
            (d,) = pending
            assert (d["source_type"], d["decision_no"]) == ("repair_granted", "D1")
            assert d["deadline"] and d["delivered_at"]
            source_ids.add(d["source_event_id"])
        assert len(source_ids) == 1  # the same fact, delivered to each

    def test_a_delivery_stays_pending_until_acknowledged(self) -> None:
        w = self.make_inbox_world()
        s = enterprise_code("ME")
        self.grant(w, s, ["D1"])
        first = self.mine(w, "tax-deqing", s)
        assert len(first) == 1
        assert self.mine(w, "tax-deqing", s) == first  # read again: delivered again
        # more activity on the stream does not settle it either
        receipt = w.producers[DECIDER].serve(s, decision("D9"), None, occurred_at=w.clock.now())
        assert receipt.accepted, receipt.reasons
        assert self.mine(w, "tax-deqing", s) == first

    def test_acknowledged_deliveries_disappear(self) -> None:
        w = self.make_inbox_world()
        s = enterprise_code("ME")
        self.grant(w, s, ["D1", "D2"])
        pending = self.mine(w, "tax-deqing", s)
        assert sorted(d["decision_no"] for d in pending) == ["D1", "D2"]
        d1 = next(d for d in pending if d["decision_no"] == "D1")
        self.ack(w, "tax-deqing", d1)
        assert [d["decision_no"] for d in self.mine(w, "tax-deqing", s)] == ["D2"]
        self.ack(w, "tax-deqing", self.mine(w, "tax-deqing", s)[0])
        assert self.mine(w, "tax-deqing", s) == []

    def test_subscribers_are_isolated(self) -> None:
        w = self.make_inbox_world()
        s = enterprise_code("ME")
        self.grant(w, s, ["D1"])
        before = {sub: self.mine(w, sub, s) for sub in SUBSCRIBERS}
        self.ack(w, "tax-deqing", before["tax-deqing"][0])
        assert self.mine(w, "tax-deqing", s) == []
        for sub in SUBSCRIBERS[1:]:
            assert self.mine(w, sub, s) == before[sub], sub
        # another enterprise's delivery is not touched by acknowledgements on this one
        t = enterprise_code("MF")
        self.grant(w, t, ["D1"])
        assert len(self.mine(w, "tax-deqing", t)) == 1
        self.ack(w, "eco-huzhou", self.mine(w, "eco-huzhou", t)[0])
        assert len(self.mine(w, "tax-deqing", t)) == 1
        assert self.mine(w, "eco-huzhou", t) == []
        assert self.mine(w, "eco-huzhou", s) == before["eco-huzhou"]

    # ------------------------------------------------ the credit platform: one acknowledgement

    def platform_items(self, repairs: RepairFeed, stream: str, n: int) -> list[FeedItem]:
        items: list[FeedItem] = []
        for _ in range(20):  # the distributed feed reads the events topic: it may trail a moment
            items = [i for i in repairs.poll(max_items=1000) if i.stream == stream]
            if len(items) >= n:
                return items
        raise AssertionError(f"the feed handed {len(items)} of {n} items of {stream}")

    def acks_by(self, w: InboxWorld, stream: str, department: str) -> list[str]:
        return [s.envelope.event.source_event_id for s in w.app.log.read_stream(stream)  # type: ignore[union-attr]
                if s.envelope.type == "delivery_acknowledged" and s.envelope.department == department]

    def test_a_platform_acknowledges_by_committing_its_feed(self) -> None:
        w = self.make_inbox_world()
        s = enterprise_code("MP")
        self.grant(w, s, ["D1", "D2"])
        before = w.app.supervision("creditchina").syncs_acknowledged
        owed = {d["source_event_id"] for d in self.mine(w, "creditchina", s)}
        assert len(owed) == 2
        consumer = uid("crm")
        port = LocalPlatformFeed(w.app, "creditchina")
        silent = RepairFeed(port, consumer)  # no producer: it cannot sign the acknowledgements
        items = self.platform_items(silent, s, 2)
        assert {i.event_id for i in items} == owed and all(i.acknowledge for i in items)
        assert all(i.verify(w.app.ledger.key.public_key) for i in items)  # signed by the ledger
        with pytest.raises(FeedCommitRefused) as refused:
            silent.commit(items[-1])
        assert refused.value.status == 409
        with pytest.raises(FeedCommitRefused) as refused:  # the bare port: no acknowledgement, no commit
            port.commit(consumer, items[-1])
        assert refused.value.status == 409 and items[0].event_id in refused.value.detail
        assert "一处修复、处处同步" in refused.value.detail
        assert {d["source_event_id"] for d in self.mine(w, "creditchina", s)} == owed  # nothing moved
        assert self.acks_by(w, s, "creditchina") == []

        repairs = RepairFeed(port, consumer, platform=w.producers["creditchina"])
        again = self.platform_items(repairs, s, 2)
        assert [i.event_id for i in again] == [i.event_id for i in items]  # not committed: handed again
        receipts = repairs.commit(again[-1], occurred_at=w.clock.now())  # one action covers both
        assert [r.accepted for r in receipts] == [True, True]
        assert sorted(self.acks_by(w, s, "creditchina")) == sorted(owed)  # one fact per repair
        w.app.process()
        assert self.mine(w, "creditchina", s) == []  # the inbox sees the same fact
        assert [i for i in repairs.poll(max_items=1000) if i.stream == s] == []
        assert w.app.supervision("creditchina").syncs_acknowledged == before + 2
        # the inbox path cannot record it a second time: the same acknowledgement (same
        # submission id, same body) gets the first receipt; another body is refused
        inbox_path = Consumer(w.inbox, w.producers["creditchina"])
        w.clock.set(w.clock.now() + timedelta(hours=1))
        delivery = {"stream": s, "source_event_id": items[0].event_id}
        same = inbox_path.acknowledge(delivery, occurred_at=w.clock.now())
        first = next(r for r in receipts if r.submission_id == same.submission_id)
        assert same.duplicate and same.events == first.events
        other = inbox_path.acknowledge(delivery, occurred_at=w.clock.now(), note="再次确认")
        assert not other.accepted and other.codes == ["submission_id_conflict"], other
        w.app.process()
        assert w.app.supervision("creditchina").syncs_acknowledged == before + 2
        assert sorted(self.acks_by(w, s, "creditchina")) == sorted(owed)

    def test_an_inbox_acknowledgement_then_the_feed_commit_is_one_fact(self) -> None:
        w = self.make_inbox_world()
        s = enterprise_code("MQ")
        self.grant(w, s, ["D1"])
        before = w.app.supervision("creditchina").syncs_acknowledged
        (delivery,) = self.mine(w, "creditchina", s)
        self.ack(w, "creditchina", delivery)  # `tongxiu ack` / Consumer.acknowledge first
        w.app.process()
        assert w.app.supervision("creditchina").syncs_acknowledged == before + 1
        repairs = RepairFeed(LocalPlatformFeed(w.app, "creditchina"), uid("crm"), platform=w.producers["creditchina"])
        (item,) = self.platform_items(repairs, s, 1)
        assert item.event_id == delivery["source_event_id"] and not item.acknowledge
        assert repairs.commit(item, occurred_at=w.clock.now()) == []  # nothing more to record
        w.app.process()
        assert self.acks_by(w, s, "creditchina") == [item.event_id]
        assert w.app.supervision("creditchina").syncs_acknowledged == before + 1
        assert [i for i in repairs.poll(max_items=1000) if i.stream == s] == []
        # a department's inbox is untouched by the platform's feed
        assert len(self.mine(w, "tax-deqing", s)) == 1
