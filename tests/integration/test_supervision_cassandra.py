"""The seeds' figures on the Cassandra backend: the same fixture, published through the SDK
into a ledger whose log, rejections and read models live in Cassandra (department streams
``dept:<id>`` and the inspection views included), then `tongxiu --backend distributed stats
--json` reading the keyspace, as on the embedded backend (tests/e2e/test_supervision_seeds.py)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.integration.test_cassandra_ledger import open_cassandra
from tests.seeds_fixture import START, check_figures, publish_seed_fixture
from tongxiu.entrypoints.cli import app as cli_app
from tongxiu.events.models import department_stream
from tongxiu.events.signing import KeyPair
from tongxiu.infra.cassandra_store import (
    EVENTS_PER_BUCKET,
)
from tongxiu.infra.embedded import LocalTransport
from tongxiu.infra.kafka_topics import drop_topics, migrate_topics
from tongxiu.services.audit import verify_streams
from tongxiu.services.config import Settings
from tongxiu.services.ports import ManualClock

pytestmark = pytest.mark.integration


def test_seed_fixture_on_cassandra_gives_the_same_figures(
    cassandra_session: Any, fresh_keyspace: Callable[..., Settings]
) -> None:
    settings = fresh_keyspace("tongxiu_test_sup")
    s = cassandra_session
    clock = ManualClock(START)
    app = open_cassandra(s, settings, clock, KeyPair.generate(), events_per_bucket=EVENTS_PER_BUCKET,
                         process_after_submit=False)
    log = app.log
    # read_all positions on Cassandra are a snapshot (streams sorted): the runner rebuilds the
    # read models from the whole log on each explicit process() (submissions do not process here)
    expected = publish_seed_fixture(app, clock, LocalTransport(app))
    assert (expected.files_reviewed, expected.findings, expected.rectified) == (1190, 1235, 1233)
    # the department's stream is hash-chained and verifies like an enterprise's
    assert verify_streams(log, [department_stream("samr-deqing")]).ok
    assert len(app.oversight("ema-deqing").findings) == 240
    prefix = f"test-sup-{uuid.uuid4().hex[:8]}"  # the CLI's distributed app opens its Kafka topics
    migrate_topics(Settings(backend="distributed", topic_prefix=prefix, partitions=1))
    env = {"TONGXIU_BACKEND": "distributed", "TONGXIU_KEYSPACE": settings.keyspace,
           "TONGXIU_CASSANDRA_PORT": str(settings.cassandra_port), "TONGXIU_TOPIC_PREFIX": prefix,
           "TONGXIU_PARTITIONS": "1"}
    try:
        result = CliRunner().invoke(cli_app, ["stats", "--json", "--period", "2025"], env=env)
    finally:
        drop_topics(Settings(backend="distributed", topic_prefix=prefix, partitions=1))
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    check_figures(out["oversight"], expected)
    assert out["oversight"]["inspections"]["code_shown_rate"] == 0.9733
    assert out["oversight"]["case_review"]["rectification_rate"] == 0.9984
