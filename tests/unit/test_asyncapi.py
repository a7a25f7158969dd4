"""docs/asyncapi.yaml against the code (issue 12): the committed file is what the generator
writes from the topic specification and the models; every topic the backend creates is in it
with its key, headers, retention, ordering and the duplicates a reader drops; the events and
repairs topics keep their records for good; the public repair record has no personal data;
the payload schemas are the published ones ($id)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from tongxiu.events.envelope import Envelope
from tongxiu.events.models import EVENT_TYPES
from tongxiu.events.schemas import all_schemas
from tongxiu.infra.asyncapi import HEADER_NAMES, PERSONAL_DATA, render
from tongxiu.infra.kafka_topics import topic_configs, topic_names
from tongxiu.services.config import Settings
from tongxiu.services.sdk import RepairRecord
from tongxiu.streams.topics import event_records, headers, outgoing, receipt_record, submission_record

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "asyncapi.yaml"


def _doc() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(DOC.read_text(encoding="utf-8"))
    return data


def test_the_committed_document_is_the_generated_one() -> None:
    assert DOC.read_text(encoding="utf-8") == render(), (
        "docs/asyncapi.yaml is stale: python -m tongxiu.infra.asyncapi > docs/asyncapi.yaml")


def test_every_topic_is_documented_with_key_headers_retention_ordering_and_duplicates() -> None:
    doc = _doc()
    settings = Settings(topic_prefix="tongxiu")
    configs = topic_configs(settings)
    assert len(topic_names(settings).all()) == len(doc["channels"]) == 4
    for topic in topic_names(settings).all():
        name = topic.split(".", 1)[1]
        channel = doc["channels"][name]
        assert channel["address"] == f"{{prefix}}.{name}"
        for field in ("x-key", "x-ordering", "x-duplicates", "x-retention", "description"):
            assert channel[field].strip(), (name, field)
        conf = channel["bindings"]["kafka"]["topicConfiguration"]
        for key, value in configs[topic].items():
            if key != "min.insync.replicas":
                assert str(conf[key] if not isinstance(conf[key], list) else ",".join(conf[key])) == value, (name, key)
        (ref,) = channel["messages"].values()
        message = doc["components"]["messages"][ref["$ref"].rsplit("/", 1)[1]]
        assert message["headers"]["required"] == list(HEADER_NAMES)
        assert message["bindings"]["kafka"]["key"]["description"] == channel["x-key"]
        schema = message["payload"]["schema"]["$ref"].rsplit("/", 1)[1]
        assert message["headers"]["properties"]["tongxiu-schema"]["const"] == f"urn:tongxiu:schema:{schema}"
    # the events and the public repairs are kept for good; nothing is compacted away
    for name in ("events", "repairs"):
        conf = doc["channels"][name]["bindings"]["kafka"]["topicConfiguration"]
        assert conf["retention.ms"] == -1 and conf["cleanup.policy"] == ["delete"]
    assert set(doc["components"]["messages"]["events"]["headers"]["properties"]["tongxiu-type"]["enum"]) == set(EVENT_TYPES)


def test_payload_schemas_are_the_published_ones_and_the_repair_record_has_no_personal_data() -> None:
    doc = _doc()
    schemas = doc["components"]["schemas"]
    published = all_schemas()
    for name in ("submission", "envelope", "receipt"):
        assert schemas[name] == published[name]
        assert schemas[name]["$id"] == f"urn:tongxiu:schema:{name}"
    assert schemas["repair_record"]["$id"] == "urn:tongxiu:schema:repair_record"
    assert not set(PERSONAL_DATA) & set(schemas["repair_record"]["properties"])
    assert {"party_name", "address", "legal_representative"} <= set(published["penalty_decided"]["properties"])


def test_records_carry_the_documented_keys_and_headers(demo_app: Any) -> None:
    topics = topic_names(Settings(topic_prefix="t"))
    stored = [s for stream in demo_app.log.streams() for s in demo_app.log.read_stream(stream)]
    repairs = 0
    key = demo_app.ledger.key
    for s in stored:
        for rec in event_records(topics, s.envelope.stream, s.raw, key):
            hdr = dict(rec.headers)
            assert [h for h, _ in rec.headers] == list(HEADER_NAMES)
            assert hdr["tongxiu-type"] == s.envelope.type.encode()
            assert rec.key == s.envelope.stream.encode()
            if rec.topic == topics.repairs:
                repairs += 1
                assert hdr["tongxiu-schema"] == b"urn:tongxiu:schema:repair_record"
                for field in PERSONAL_DATA:
                    assert field.encode() not in rec.value
                assert Envelope.from_json(s.raw).hash.encode() in rec.value
                public = RepairRecord.model_validate_json(rec.value)
                assert public.verify(key.public_key)  # signed by the ledger
                assert not public.model_copy(update={"decision_no": "X"}).verify(key.public_key)
            else:
                assert hdr["tongxiu-schema-version"] == str(s.envelope.event.schema_version).encode()
    assert repairs >= 1  # the demo grants a repair
    receipt = demo_app.submit(b"{}")
    rec = receipt_record(topics, receipt)
    assert rec.key == receipt.department.encode() and dict(rec.headers)["tongxiu-type"] == b"receipt"
    assert outgoing(topics, receipt, [])[-1] == rec
    sub = submission_record(topics, "91330521MA2D7K3X47", b"{}")
    assert sub.key == b"91330521MA2D7K3X47" and sub.headers == headers("submission", "submission", 2)
