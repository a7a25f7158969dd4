"""The credit platform over HTTP on the embedded backend (FastAPI's TestClient on a fresh
ledger): feed items signed by the ledger and checked by the SDK; committing the feed is the
platform's one acknowledgement of the repairs delivered to it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.contract.ports_sdk import InboxPortContract, InboxWorld, enterprise_code
from tests.e2e.test_http_api import PLATFORM, TOKENS
from tests.support import T0
from tongxiu.events.models import DeliveryAcknowledged
from tongxiu.events.signing import KeyPair
from tongxiu.infra.bootstrap import open_embedded
from tongxiu.infra.embedded import LocalInbox, LocalTransport
from tongxiu.services.app import Tongxiu
from tongxiu.services.config import Settings
from tongxiu.services.demo import register_departments
from tongxiu.services.http import create_app
from tongxiu.services.http_client import HttpFeed
from tongxiu.services.ports import ManualClock
from tongxiu.services.repair_feed import FeedCommitRefused, FeedItemRefused, RepairFeed


@pytest.fixture
def world(tmp_path: Path) -> Iterator[InboxWorld]:
    clock = ManualClock(T0)
    app = open_embedded(Settings(data_dir=tmp_path / "data"), clock=clock)
    producers = register_departments(app, LocalTransport(app), clock)
    yield InboxWorld(inbox=LocalInbox(app), producers=producers, clock=clock, app=app)
    app.close()


def platform_client(app: Tongxiu) -> TestClient:
    return TestClient(create_app(app, TOKENS), headers={"Authorization": f"Bearer {PLATFORM}"})


def acks(app: Tongxiu, stream: str) -> list[tuple[str, str]]:
    return [(s.envelope.department, s.envelope.event.source_event_id)  # type: ignore[union-attr]
            for s in app.log.read_stream(stream) if isinstance(s.envelope.event, DeliveryAcknowledged)]


def test_a_platform_commits_its_feed_and_that_is_its_acknowledgement(world: InboxWorld) -> None:
    app, s = world.app, enterprise_code("MH")
    InboxPortContract().grant(world, s, ["D1", "D2"])
    http = platform_client(app)
    items = http.get("/feed", params={"consumer": "crm"}).json()["items"]
    assert [i["decision_no"] for i in items] == ["D1", "D2"] and all(i["acknowledge"] for i in items)
    owed = {i["event_id"] for i in items}
    assert {d["source_event_id"] for d in app.inbox("creditchina")} == owed

    # a commit without the acknowledgements: 409 naming the first owed item and the rule, nothing moves
    r = http.post("/feed/commit", json={"consumer": "crm", "event_id": items[1]["event_id"]})
    assert r.status_code == 409 and items[0]["event_id"] in r.json()["detail"] and "一处修复、处处同步" in r.json()["detail"]
    # acknowledgements that are not the platform's, or not of a covered item: 422, nothing moves
    sdk = RepairFeed(HttpFeed(client=http, ledger_key=app.ledger.key.public_key), "crm",
                     platform=world.producers["creditchina"])
    polled = sdk.poll()
    as_tax = RepairFeed(HttpFeed(client=http), "crm", platform=world.producers["tax-deqing"])
    # dated by the ledger's clock, so each wrong commit has exactly the one problem it is about
    # (the other enterprise is another valid code: ``s[:-1] + "X"`` is ``s`` itself when the check
    # character of the random code is X)
    at, other = world.clock.now(), enterprise_code("MN")
    for wrong in ([as_tax.acknowledgement(polled[0], occurred_at=at), sdk.acknowledgement(polled[1], occurred_at=at)],
                  [sdk.acknowledgement(polled[0], occurred_at=at),
                   sdk.acknowledgement(polled[1], occurred_at=at).model_copy(update={"stream": other})]):
        r = http.post("/feed/commit", json={"consumer": "crm", "event_id": polled[1].event_id,
                                            "acknowledgements": [a.model_dump(mode="json") for a in wrong]})
        assert r.status_code == 422, r.text
        assert r.json()["detail"].startswith(("acknowledgements[0].department", "acknowledgements[1].events[0]"))
        assert "occurred_in_future" not in r.json()["detail"]
    assert acks(app, s) == [] and len(app.inbox("creditchina")) == 2

    # the SDK: one commit, the platform's two signed acknowledgements, the position
    world.clock.set(world.clock.now().replace(hour=12))
    receipts = sdk.commit(polled[1], occurred_at=world.clock.now())
    assert [r.accepted for r in receipts] == [True, True]
    assert sorted(acks(app, s)) == sorted(("creditchina", i) for i in owed)
    assert app.inbox("creditchina") == [] and len(app.inbox("tax-deqing")) == 2  # departments keep their inbox
    assert http.get("/feed", params={"consumer": "crm"}).json()["items"] == []
    assert app.supervision("creditchina").syncs_acknowledged == 2
    # another consumer of the platform reads them again, owed nothing: a plain commit, no new fact
    other = HttpFeed(client=http, ledger_key=app.ledger.key.public_key)
    again = other.poll("archive")
    assert [i.event_id for i in again] == [i["event_id"] for i in items] and not any(i.acknowledge for i in again)
    assert other.commit("archive", again[-1]) == []
    assert app.supervision("creditchina").syncs_acknowledged == 2 and len(acks(app, s)) == 2
    # the metrics count the two acknowledgements as accepted submissions, nothing else
    metrics = http.get("/metrics").text
    assert 'tongxiu_submissions_total{reason="",result="accepted"} 2.0' in metrics


def test_the_sdk_refuses_items_not_signed_by_the_ledger_key_it_trusts(world: InboxWorld) -> None:
    app, s = world.app, enterprise_code("MK")
    InboxPortContract().grant(world, s, ["D1"])
    http = platform_client(app)
    with pytest.raises(FeedItemRefused) as refused:
        HttpFeed(client=http, ledger_key=KeyPair.generate().public_key).poll("crm")
    assert refused.value.field == "ledger_key" and refused.value.verified == []
    # without a key given, the SDK takes the one of the service's signed checkpoint and keeps it
    feed = HttpFeed(client=http)
    (item,) = [i for i in feed.poll("crm") if i.stream == s]
    assert feed.ledger_key() == app.ledger.key.public_key and item.verify(app.ledger.key.public_key)
    # a RepairFeed without the platform's producer cannot commit a repair owed to the platform
    with pytest.raises(FeedCommitRefused) as not_signed:
        bare = RepairFeed(feed, "crm")
        bare.poll()
        bare.commit(item)
    assert not_signed.value.status == 409 and app.inbox("creditchina") != []
