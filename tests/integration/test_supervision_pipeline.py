"""The seeds' figures through the real distributed pipeline: every submission of the seed
fixture goes over Kafka to the Faust worker (the ledger agent decides and appends to Cassandra,
the projection agent folds department streams and inspections), then `tongxiu stats --json`
on the distributed backend reads the same figures as on the embedded one."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.integration.test_distributed_pipeline import (  # noqa: F401  (fixtures)
    FileDrivenClock,
    Worker,
    distributed_settings,
    wait_for,
    workers,
)
from tests.seeds_fixture import START, check_figures, publish_seed_fixture
from tongxiu.entrypoints.cli import app as cli_app
from tongxiu.events.models import REGISTRY_STREAM
from tongxiu.events.signing import KeyPair
from tongxiu.infra.distributed import open_distributed
from tongxiu.services.audit import verify_streams
from tongxiu.services.config import Settings

pytestmark = pytest.mark.integration


def test_seed_fixture_through_kafka_and_the_worker(
    distributed_settings: Callable[..., Settings], workers: list[Worker], cassandra_session: Any,  # noqa: F811
    tmp_path: Path,
) -> None:
    settings = distributed_settings("sup", partitions=2)
    key = KeyPair.generate()
    Path(settings.data_dir).mkdir(parents=True)
    (Path(settings.data_dir) / "ledger.key").write_text(key.private_key)
    clock = FileDrivenClock(START, tmp_path / "clock.txt")
    worker = Worker(settings, tmp_path / "worker.log", clock_file=clock.path)
    workers.append(worker)
    worker.start()
    app = open_distributed(settings, clock=clock, key=key, session=cassandra_session)
    try:
        wait_for(lambda: app.log.last_seq(REGISTRY_STREAM) >= 1, 60, "the worker's bootstrap", worker)
        expected = publish_seed_fixture(app, clock, app.transport)
        app.process()
        assert (expected.files_reviewed, expected.findings, expected.rectified) == (1190, 1235, 1233)
        assert verify_streams(app.log).ok
        env = {"TONGXIU_BACKEND": "distributed", "TONGXIU_KEYSPACE": settings.keyspace,
               "TONGXIU_CASSANDRA_PORT": str(settings.cassandra_port), "TONGXIU_TOPIC_PREFIX": settings.topic_prefix,
               "TONGXIU_PARTITIONS": str(settings.partitions), "TONGXIU_DATA_DIR": str(settings.data_dir)}
        result = CliRunner().invoke(cli_app, ["stats", "--json", "--period", "2025"], env=env)
        assert result.exit_code == 0, result.output
        out = json.loads(result.output)["oversight"]
        check_figures(out, expected)
        assert out["inspections"]["code_shown_rate"] == 0.9733
        assert out["case_review"]["rectification_rate"] == 0.9984
    except BaseException:
        print(f"----- worker log -----\n{worker.tail()}")
        raise
    finally:
        app.close()
