"""The SDK port contracts on the distributed backend.

* ``KafkaFeed``: envelopes are produced to ``{prefix}.events`` (keyed by stream, as the
  worker does); a fresh topic prefix per test, dropped afterwards.
* ``ProjectionInbox``: the client app is ``open_distributed`` (KafkaTransport, Cassandra
  storage, WorkerProjection) on this class's own keyspace; only the Kafka hop to the worker
  is replaced by an in-process worker: the worker's :class:`SubmissionHandler` (ledger on
  Cassandra) decides each submission and the envelopes it publishes go straight through the
  worker's :class:`Projector` (the one projector) into the Cassandra projection store, and to
  the events topic (a fresh prefix per test), which the app's ``KafkaFeed`` reads for the
  credit platform. (The real Faust worker
  subprocess is covered by ``tests/integration/test_distributed_pipeline.py``.)
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.contract.ports_sdk import FeedPortContract, InboxPortContract, InboxWorld, Publish
from tests.support import T0
from tongxiu.events.envelope import Envelope, Receipt, Submission
from tongxiu.events.signing import KeyPair
from tongxiu.infra.bootstrap import load_rules
from tongxiu.infra.distributed import KafkaFeed, ProjectionInbox, Storage, open_distributed
from tongxiu.infra.embedded import LocalTransport
from tongxiu.infra.kafka_topics import client_config, drop_topics, migrate_topics, topic_names
from tongxiu.services.app import Tongxiu
from tongxiu.services.config import Settings
from tongxiu.services.demo import register_departments
from tongxiu.services.ledger import Ledger
from tongxiu.services.ports import ManualClock
from tongxiu.services.sdk import FeedPort
from tongxiu.streams.projector import Projector
from tongxiu.streams.worker import SubmissionHandler

pytestmark = pytest.mark.integration

_KEYSPACE: dict[str, Settings] = {}
_LEDGER_KEY: dict[str, KeyPair] = {}
"""One ledger key per keyspace: the ledger registered it at bootstrap."""


class TestKafkaFeed(FeedPortContract):
    @pytest.fixture(autouse=True)
    def _topics(self, servers: Any) -> Iterator[None]:
        self.settings = Settings(
            backend="distributed", topic_prefix=f"test-sdkfeed-{uuid.uuid4().hex[:8]}", partitions=3
        )
        migrate_topics(self.settings)
        self.feeds: list[KafkaFeed] = []
        yield
        for feed in self.feeds:
            feed.close()
        drop_topics(self.settings)

    def publish(self, envs: list[Envelope]) -> None:
        from kafka import KafkaProducer

        producer = KafkaProducer(acks="all", **client_config(self.settings))
        try:
            for env in envs:
                producer.send(
                    topic_names(self.settings).events, key=env.stream.encode(), value=env.to_json().encode()
                )
            producer.flush()
        finally:
            producer.close()

    def make_feed(self) -> tuple[FeedPort, Publish]:
        feed = KafkaFeed(self.settings)  # a new instance: a restarted consumer process
        self.feeds.append(feed)
        return feed, self.publish


class InProcessWorker:
    """The worker's two steps without Kafka: decide (SubmissionHandler), then project
    (Projector) what the ledger agent would publish on the events topic."""

    def __init__(self, settings: Settings, session: Any, clock: ManualClock, key: KeyPair) -> None:
        from kafka import KafkaProducer

        self.storage = Storage(settings, session)
        rules = load_rules(settings)
        self.handler = SubmissionHandler(Ledger(self.storage.log, self.storage.rejections, clock, rules, key))
        self.projector = Projector(self.storage.projections, self.storage.log, rules)
        self.events = topic_names(settings).events  # what the ledger agent publishes, for the feed
        self.producer = KafkaProducer(acks="all", **client_config(settings))
        self._project(self.handler.bootstrap_events())

    def _project(self, published: list[tuple[str, str]]) -> None:
        if published:
            self.projector.apply([Envelope.from_json(raw) for _, raw in published])
            for stream, raw in published:
                self.producer.send(self.events, key=stream.encode(), value=raw.encode())
            self.producer.flush()

    def send(self, submission: Submission) -> Receipt:
        receipt, published = self.handler.handle(submission.model_dump_json())
        self._project(published)
        return receipt

    def close(self) -> None:
        self.producer.close()
        self.storage.close()


class TestProjectionInbox(InboxPortContract):
    @pytest.fixture(autouse=True)
    def _cassandra(self, cassandra_session: Any, fresh_keyspace: Callable[..., Settings]) -> Iterator[None]:
        if "inbox" not in _KEYSPACE:
            _KEYSPACE["inbox"] = fresh_keyspace("tx_sdkinbox")
        self.session = cassandra_session
        self.settings = _KEYSPACE["inbox"].model_copy(
            update={"topic_prefix": f"test-sdkinbox-{uuid.uuid4().hex[:8]}", "partitions": 2}
        )
        migrate_topics(self.settings)  # the platform's feed (KafkaFeed) reads the events topic
        self.apps: list[Tongxiu] = []
        yield
        for app in self.apps:
            app.close()
        drop_topics(self.settings)

    def make_inbox_world(self) -> InboxWorld:
        clock = ManualClock(T0)
        key = _LEDGER_KEY.setdefault("inbox", KeyPair.generate())
        worker = InProcessWorker(self.settings, self.session, clock, key)
        app = open_distributed(self.settings, clock=clock, key=key, session=self.session, transport=worker)  # type: ignore[arg-type]
        self.apps.append(app)
        producers = register_departments(app, LocalTransport(app), clock)
        return InboxWorld(inbox=ProjectionInbox(app), producers=producers, clock=clock, app=app)
