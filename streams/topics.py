"""The distributed backend's topic names and Kafka client settings, shared by the worker
(``tongxiu.streams.faust_app``, ``tongxiu.streams.worker.run_plain``) and the adapters in ``infra`` (which
create the topics and produce to them).

``{prefix}.submissions`` keyed by stream (enterprise code or ``registry``): one signed
submission = one message, so a 三书同达 bundle travels all or none.
``{prefix}.events``      keyed by stream: the accepted envelopes, in stream order per key.
``{prefix}.receipts``    keyed by stream: the receipt for each submission.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tongxiu.services.config import Settings


@dataclass(frozen=True)
class Topics:
    submissions: str
    events: str
    receipts: str

    def all(self) -> list[str]:
        return [self.submissions, self.events, self.receipts]


def topic_names(settings: Settings) -> Topics:
    p = settings.topic_prefix
    return Topics(submissions=f"{p}.submissions", events=f"{p}.events", receipts=f"{p}.receipts")


def client_config(settings: Settings) -> dict[str, Any]:
    """kafka-python connection settings (bootstrap + security) shared by every client."""
    cfg: dict[str, Any] = {
        "bootstrap_servers": settings.kafka_bootstrap.split(","),
        "security_protocol": settings.kafka_security_protocol,
    }
    if settings.kafka_sasl_mechanism:
        cfg["sasl_mechanism"] = settings.kafka_sasl_mechanism
        cfg["sasl_plain_username"] = settings.kafka_sasl_username
        cfg["sasl_plain_password"] = settings.kafka_sasl_password
    return cfg
