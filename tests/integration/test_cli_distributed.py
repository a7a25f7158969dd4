"""`tongxiu inbox` and `tongxiu ack` with ``--backend distributed``, against the real Kafka and
Cassandra and the Faust worker in a subprocess: a repair granted by market regulation is
pending in the tax bureau's inbox; the CLI lists it, acknowledges it with the bureau's key
(through Kafka to the worker's ledger), and the inbox and the sync view follow."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.integration.pipeline import FileDrivenClock, Worker, wait_for
from tests.integration.test_distributed_pipeline import distributed_settings, workers  # noqa: F401 (fixtures)
from tests.support import T0, advice, decision
from tongxiu.entrypoints.cli import app as cli
from tongxiu.events.models import (
    PenaltyFulfilled,
    RectificationEvidenceSubmitted,
    RectificationVerified,
    RepairApplied,
    RepairGranted,
)
from tongxiu.events.signing import KeyPair
from tongxiu.infra.distributed import open_distributed
from tongxiu.services.config import Settings
from tongxiu.services.demo import demo_key, make_uscc, register_departments

pytestmark = pytest.mark.integration


def test_inbox_and_ack_on_the_distributed_backend(
    distributed_settings: Callable[..., Settings], workers: list[Worker],  # noqa: F811
    cassandra_session: Any, tmp_path: Path,
) -> None:
    settings = distributed_settings("cliinbox")
    key = KeyPair.generate()
    Path(settings.data_dir).mkdir(parents=True)
    (Path(settings.data_dir) / "ledger.key").write_text(key.private_key)
    clock = FileDrivenClock(T0, tmp_path / "clock.txt")
    worker = Worker(settings, tmp_path / "worker.log", clock_file=clock.path)
    workers.append(worker)
    worker.start()
    app = open_distributed(settings, clock=clock, key=key, session=cassandra_session)
    env = {
        "TONGXIU_BACKEND": "distributed",
        "TONGXIU_TOPIC_PREFIX": settings.topic_prefix,
        "TONGXIU_KEYSPACE": settings.keyspace,
        "TONGXIU_DATA_DIR": str(settings.data_dir),
        "TONGXIU_PARTITIONS": str(settings.partitions),
        "TONGXIU_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
        "TONGXIU_CASSANDRA_PORT": str(settings.cassandra_port),
        "TONGXIU_LANG": None,
        "COLUMNS": "200",
    }
    runner = CliRunner()

    def run(*args: str) -> Any:
        return runner.invoke(cli, list(args), env=env)  # type: ignore[arg-type]

    def inbox(subscriber: str) -> list[dict[str, Any]]:
        result = run("inbox", subscriber, "--json")
        assert result.exit_code == 0, result.output
        out: list[dict[str, Any]] = json.loads(result.stdout)
        return out

    try:
        wait_for(lambda: app.log.last_seq("registry") >= 1, 60, "the worker's bootstrap", worker)
        producers = register_departments(app, app.transport, clock)
        code = make_uscc("91", "330521", "MC000777")
        samr, platform = producers["samr-deqing"], producers["creditchina"]

        def send(producer: Any, events: list[Any]) -> None:
            receipt = producer.publish(code, events, occurred_at=clock.now())
            assert receipt.accepted, receipt.reasons

        receipt = samr.serve(code, decision("D1"), advice("A-D1", "D1"), occurred_at=clock.now())
        assert receipt.accepted, receipt.reasons
        send(samr, [PenaltyFulfilled(decision_no="D1", amount_paid_yuan=Decimal("50000"), fulfilled_on=date(2026, 1, 5))])
        send(platform, [RectificationEvidenceSubmitted(advice_no="A-D1", item_id="1", evidence="证明")])
        send(samr, [RectificationVerified(advice_no="A-D1", item_id="1")])
        clock.set(T0 + timedelta(days=100))
        send(platform, [RepairApplied(decision_no="D1", credit_commitment="承诺", applied_on=clock.now().date())])
        send(samr, [RepairGranted(decision_no="D1")])
        # the CLI signs with the machine's time: the ledger's clock must not be behind it
        clock.set(datetime.now(UTC) + timedelta(minutes=10))

        pending = wait_for(lambda: [d for d in inbox("tax-deqing") if d["stream"] == code], 60,
                           "the delivery in the tax bureau's inbox", worker)
        assert [(d["source_type"], d["decision_no"]) for d in pending] == [("repair_granted", "D1")]
        human = run("inbox", "tax-deqing")
        assert human.exit_code == 0 and "准予信用修复决定" in human.stdout, human.output

        key_file = tmp_path / "tax-deqing.key"
        key_file.write_text(demo_key("tax-deqing").private_key)
        result = run("ack", "tax-deqing", str(pending[0]["position"]), "--key", str(key_file),
                     "--store", str(tmp_path / "store"), "--json")
        assert result.exit_code == 0, result.output
        (receipt_json,) = json.loads(result.stdout)
        assert receipt_json["accepted"] and receipt_json["events"][0]["type"] == "delivery_acknowledged"

        wait_for(lambda: not [d for d in inbox("tax-deqing") if d["stream"] == code], 60,
                 "the acknowledged delivery to leave the inbox", worker)
        sync = run("sync", code, "--json")
        assert sync.exit_code == 0, sync.output
        status = {d["subscriber"]: d["status"] for d in json.loads(sync.stdout)["deliveries"].values()}
        assert status["tax-deqing"] == "acknowledged" and status["eco-huzhou"] == "pending"
        # a delivery no longer pending is an input error, on stderr
        again = run("ack", "tax-deqing", str(pending[0]["position"]), "--key", str(key_file))
        assert again.exit_code == 2 and again.stdout == "" and "DELIVERIES" in again.stderr
    except BaseException:
        print(f"----- worker log -----\n{worker.tail()}")
        raise
    finally:
        app.close()
