"""The Transport contract on the distributed backend: ``KafkaTransport`` to a real
``tongxiu worker`` (one per class), which runs ``Ledger.submit`` on Cassandra."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.contract.transport import TransportContract
from tests.integration.pipeline import Worker, wait_for
from tongxiu.events.models import REGISTRY_STREAM
from tongxiu.infra.distributed import open_distributed
from tongxiu.infra.embedded import LocalTransport
from tongxiu.infra.kafka_topics import drop_topics, migrate_topics
from tongxiu.services.app import Tongxiu
from tongxiu.services.config import Settings
from tongxiu.services.demo import register_departments
from tongxiu.services.ports import ManualClock
from tongxiu.services.sdk import Transport

pytestmark = pytest.mark.integration


class TestKafkaTransport(TransportContract):
    @pytest.fixture(autouse=True, scope="class")
    def _worker(self, fresh_keyspace: Callable[..., Settings], cassandra_session: Any,
                tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
        tmp: Path = tmp_path_factory.mktemp("kafka-transport")
        settings = fresh_keyspace("tx_transport").model_copy(update={
            "topic_prefix": f"test-transport-{uuid.uuid4().hex[:8]}", "partitions": 2, "data_dir": tmp / "data"})
        migrate_topics(settings)
        worker = Worker(settings, tmp / "worker.log")
        worker.start()
        app = open_distributed(settings, session=cassandra_session)
        try:
            wait_for(lambda: app.log.last_seq(REGISTRY_STREAM) >= 1, 60, "the worker's bootstrap", worker)
            register_departments(app, LocalTransport(app), ManualClock(datetime.now(UTC)))
            type(self).app = app
            yield
        finally:
            app.close()
            worker.kill()
            drop_topics(settings, [f"{settings.topic_prefix}-faust-__assignor-__leader"])

    app: Tongxiu

    def make_transport(self) -> tuple[Transport, Tongxiu]:
        return self.app.transport, self.app
