"""The distributed backend's topics — names, keys, headers, retention — and Kafka client
settings, shared by the worker (``tongxiu.streams.faust_app``, ``tongxiu.streams.worker.run_plain``)
and the adapters in ``infra`` (which create the topics and produce to them). The written
contract for readers in any language is docs/asyncapi.yaml, generated from this module and
the models (``python -m tongxiu.infra.asyncapi``).

``{prefix}.submissions`` keyed by stream (enterprise code or ``registry``): one signed
submission = one message, so a 三书同达 bundle travels all or none.
``{prefix}.events``      keyed by stream: the accepted envelopes, in stream order per key;
                         kept for good (internal: holds personal data).
``{prefix}.receipts``    keyed by department: the receipt for each submission.
``{prefix}.repairs``     keyed by stream: the public repair feed — repairs, revocations,
                         withdrawals, expiries, without personal data; kept for good.

Every record carries the headers of :func:`headers`: ``content-type``, ``tongxiu-type``,
``tongxiu-schema`` (the JSON Schema ``$id`` of the value) and ``tongxiu-schema-version``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from tongxiu.events.envelope import Envelope, Receipt
from tongxiu.events.models import PROPAGATED_TYPES
from tongxiu.events.signing import KeyPair
from tongxiu.events.upcast import has_upcaster
from tongxiu.services.config import Settings
from tongxiu.services.sdk import RepairRecord, is_feed_event, repair_record

WEEK_MS = 7 * 24 * 3600 * 1000
CONTENT_TYPE = "application/json"
SCHEMA_URN = "urn:tongxiu:schema:"  # as tongxiu.events.schemas writes the $ids


@dataclass(frozen=True)
class Topics:
    submissions: str
    events: str
    receipts: str
    repairs: str

    def all(self) -> list[str]:
        return [self.submissions, self.events, self.receipts, self.repairs]


@dataclass(frozen=True)
class TopicSpec:
    """What a topic holds, for its creation and for docs/asyncapi.yaml."""

    name: str
    key: str
    value: str
    """The JSON Schema name of the value (docs/schemas/<value>.schema.json, $id urn:tongxiu:schema:<value>)."""
    config: dict[str, str]
    ordering: str
    duplicates: str
    retention: str
    description: str


def topic_specs() -> list[TopicSpec]:
    """The four topics (names without the prefix); their config is set at creation and
    re-applied by ``tongxiu migrate`` to topics that already exist."""
    return [
        TopicSpec(
            "submissions", "stream: the enterprise's credit code, `registry` or `dept:<id>` (UTF-8)", "submission",
            {"cleanup.policy": "delete", "retention.ms": str(WEEK_MS)},
            "per key (stream), in the order sent; the ledger decides a stream's submissions in that order",
            "a producer that resends after a delivery failure may write a submission twice; the ledger "
            "answers the copy with the first receipt and records it once (docs/signing.md §7)",
            "7 days: a submission is decided within seconds of arriving; the week covers a worker outage",
            "Signed submissions from departments (SDK KafkaTransport) to the ledger worker.",
        ),
        TopicSpec(
            "events", "stream (UTF-8)", "envelope",
            {"cleanup.policy": "delete", "retention.ms": "-1", "retention.bytes": "-1"},
            "per key (stream): seq 1, 2, 3 … without gaps, each envelope's prev_hash the previous hash",
            "after a worker restart an envelope may be published again: drop an envelope whose seq is not "
            "above the last seq applied for its stream (or whose event_id was seen)",
            "for good (retention.ms=-1, not compacted): the topic is the replayable log of every accepted event; "
            "compaction would keep only the last event of each enterprise",
            "Every accepted envelope (internal: the worker's projector; holds personal data — "
            "party names, addresses, representatives — so grant it to no credit platform).",
        ),
        TopicSpec(
            "receipts", "department: the submitting department's id (UTF-8)", "receipt",
            {"cleanup.policy": "delete", "retention.ms": str(WEEK_MS)},
            "per key (department), in the order the ledger decided",
            "a submission redelivered to the worker is answered again with the same receipt (duplicate: true): "
            "keep the first per (department, submission_id)",
            "7 days: a receipt is read within seconds by the producer that waits for it",
            "The ledger's receipt for each submission, keyed by department so a department's producer reads "
            "only the partition its key maps to and keeps only its own receipts. Kafka cannot restrict "
            "reading by key: a department outside the operator's trust boundary uses the HTTP gateway.",
        ),
        TopicSpec(
            "repairs", "stream (UTF-8)", "repair_record",
            {"cleanup.policy": "delete", "retention.ms": "-1", "retention.bytes": "-1"},
            "per key (stream), in the ledger's order",
            "after a worker restart a record may be published again: drop a record whose event_id was seen",
            "for good (retention.ms=-1): a platform offline for any time resumes from its committed offset "
            "and loses nothing",
            "The public repair feed for credit platforms: repairs, revocations, withdrawals and expiries "
            "(no party name, address or representative), each record signed by the ledger. Each item of the "
            "HTTP feed (GET /feed) is the same record, the same bytes and signature, with the feed's `position` "
            "and `acknowledge` beside it: a platform verifies both the same way (docs/signing.md §9).",
        ),
    ]


def topic_names(settings: Settings) -> Topics:
    p = settings.topic_prefix
    return Topics(submissions=f"{p}.submissions", events=f"{p}.events", receipts=f"{p}.receipts",
                  repairs=f"{p}.repairs")


def headers(kind: str, schema: str, version: int = 1) -> list[tuple[str, bytes]]:
    """The headers every record carries (docs/asyncapi.yaml)."""
    return [
        ("content-type", CONTENT_TYPE.encode()),
        ("tongxiu-type", kind.encode()),
        ("tongxiu-schema", f"{SCHEMA_URN}{schema}".encode()),
        ("tongxiu-schema-version", str(version).encode()),
    ]


@dataclass(frozen=True)
class Record:
    topic: str
    key: bytes
    value: bytes
    headers: list[tuple[str, bytes]]


def submission_record(topics: Topics, stream: str, value: bytes) -> Record:
    return Record(topics.submissions, stream.encode(), value, headers("submission", "submission", 2))


def event_records(topics: Topics, stream: str, raw: str, key: KeyPair | None = None) -> list[Record]:
    """An accepted envelope on the events topic, and its public copy on the repairs topic when
    it is a repair fact (signed by the ledger's ``key``)."""
    body: dict[str, Any] = json.loads(raw)
    event = body.get("event", {})
    kind, version = str(event.get("type", "")), int(event.get("schema_version", 1))
    out = [Record(topics.events, stream.encode(), raw.encode(), headers(kind, "envelope", version))]
    if kind not in PROPAGATED_TYPES and not has_upcaster(kind):
        return out  # not a repair fact (decoded, it would be the same type): no envelope decode
    env = Envelope.from_json(raw)
    if is_feed_event(env):
        public: RepairRecord = repair_record(env, key)
        out.append(Record(topics.repairs, stream.encode(), public.model_dump_json().encode(),
                          headers(kind, "repair_record", 1)))
    return out


def receipt_record(topics: Topics, receipt: Receipt) -> Record:
    return Record(topics.receipts, receipt.department.encode(), receipt.model_dump_json().encode(),
                  headers("receipt", "receipt", 1))


def outgoing(topics: Topics, receipt: Receipt, published: list[tuple[str, str]],
             key: KeyPair | None = None) -> list[Record]:
    """Every record the ledger step publishes for one handled submission, in order: its
    envelopes (and their public repair copies, signed by the ledger's ``key``), then its receipt."""
    out = [r for stream, raw in published for r in event_records(topics, stream, raw, key)]
    out.append(receipt_record(topics, receipt))
    return out


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
