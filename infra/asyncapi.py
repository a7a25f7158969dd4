"""docs/asyncapi.yaml, generated from the topic specification (``tongxiu.streams.topics``) and
the models: ``python -m tongxiu.infra.asyncapi > docs/asyncapi.yaml`` (needs PyYAML, in the
``dev`` extra). tests/unit/test_asyncapi.py checks the committed file against this."""

from __future__ import annotations

import sys
from typing import Any

from tongxiu.events.schemas import DIALECT, all_schemas, schema_id
from tongxiu.services.sdk import RepairRecord
from tongxiu.streams.topics import CONTENT_TYPE, SCHEMA_URN, TopicSpec, topic_specs

VERSION = "0.1.0"
SCHEMA_FORMAT = "application/schema+json;version=draft-2020-12"
HEADER_NAMES = ("content-type", "tongxiu-type", "tongxiu-schema", "tongxiu-schema-version")
PERSONAL_DATA = ("party_name", "address", "legal_representative")
"""Fields of the events that name or locate a person (PIPL): never on the public topic."""

DESCRIPTION = """\
The Kafka contract of Tongxiu's distributed backend (同修, an event-sourced ledger of
enforcement decisions, rectification and credit repair). Topic names carry the deployment's
prefix (`topic_prefix`, default `tongxiu`).

Delivery is at least once on every topic: the worker publishes an envelope, a repair record
or a receipt again when it is restarted between publishing and committing its input. Each
channel says which copies a reader drops. Records of one key keep their order; there is no
order across keys. Every record carries four headers: `content-type` (application/json),
`tongxiu-type` (the event type, or `submission` / `receipt`), `tongxiu-schema` (the `$id` of
the value's JSON Schema) and `tongxiu-schema-version` (the fact's `schema_version`; the
signature format for submissions). Old `schema_version`s reach readers as recorded; the
Python package upcasts them (`tongxiu.events.upcast`).

Signatures and hashes: docs/signing.md. JSON Schemas of every event: docs/schemas/ (the same
`$id`s). Credit platforms read `repairs` (no personal data); `events` holds personal data and
is for the ledger's own workers and auditors.
"""


def _headers(spec: TopicSpec, types: list[str], version: str) -> dict[str, Any]:
    return {
        "type": "object",
        "required": list(HEADER_NAMES),
        "properties": {
            "content-type": {"type": "string", "const": CONTENT_TYPE},
            "tongxiu-type": {"type": "string", "enum": types},
            "tongxiu-schema": {"type": "string", "const": f"{SCHEMA_URN}{spec.value}"},
            "tongxiu-schema-version": {"type": "string", "pattern": "^[1-9][0-9]*$", "description": version},
        },
    }


def _topic_configuration(config: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in config.items():
        if key == "cleanup.policy":
            out[key] = value.split(",")
        else:
            out[key] = int(value)
    return out


def document(*, partitions: int = 8, replicas: int = 1) -> dict[str, Any]:
    schemas = all_schemas()
    repair = {"$schema": DIALECT, "$id": schema_id("repair_record"), **RepairRecord.model_json_schema()}
    payloads = {"submission": schemas["submission"], "envelope": schemas["envelope"],
                "receipt": schemas["receipt"], "repair_record": repair}
    event_types = sorted(n for n in schemas if n not in {"submission", "envelope", "receipt"})
    from tongxiu.events.models import PROPAGATED_TYPES

    types = {
        "submissions": (["submission"], "the submission's signature format (2)"),
        "events": (event_types, "the fact's schema_version"),
        "receipts": (["receipt"], "1"),
        "repairs": (sorted(PROPAGATED_TYPES), "1 (the repair record's version)"),
    }
    channels: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for spec in topic_specs():
        kinds, version = types[spec.name]
        messages[spec.name] = {
            "name": spec.value,
            "title": spec.value.replace("_", " "),
            "contentType": CONTENT_TYPE,
            "headers": _headers(spec, kinds, version),
            "payload": {"schemaFormat": SCHEMA_FORMAT, "schema": {"$ref": f"#/components/schemas/{spec.value}"}},
            "bindings": {"kafka": {"key": {"type": "string", "description": spec.key}, "bindingVersion": "0.5.0"}},
        }
        channels[spec.name] = {
            "address": f"{{prefix}}.{spec.name}",
            "title": f"{{prefix}}.{spec.name}",
            "description": spec.description,
            "parameters": {"prefix": {"default": "tongxiu", "description": "the deployment's topic_prefix"}},
            "messages": {spec.value: {"$ref": f"#/components/messages/{spec.name}"}},
            "bindings": {"kafka": {"partitions": partitions, "replicas": replicas,
                                   "topicConfiguration": _topic_configuration(spec.config),
                                   "bindingVersion": "0.5.0"}},
            "x-key": spec.key,
            "x-ordering": spec.ordering,
            "x-duplicates": spec.duplicates,
            "x-retention": spec.retention,
        }
        action = "send" if spec.name == "submissions" else "receive"
        operations[f"{action}{spec.name.capitalize()}"] = {
            "action": action,
            "channel": {"$ref": f"#/channels/{spec.name}"},
            "summary": {
                "submissions": "A department sends a signed submission (the SDK's KafkaTransport).",
                "events": "The ledger's projector (and an auditor's replay) reads every accepted envelope.",
                "receipts": "A department reads the receipts under its own key.",
                "repairs": "A credit platform reads the public repair feed (its own consumer group).",
            }[spec.name],
            "messages": [{"$ref": f"#/channels/{spec.name}/messages/{spec.value}"}],
        }
    return {
        "asyncapi": "3.0.0",
        "info": {"title": "同修 Tongxiu — Kafka topics", "version": VERSION, "description": DESCRIPTION,
                 "license": {"name": "Apache-2.0", "url": "https://www.apache.org/licenses/LICENSE-2.0"}},
        "defaultContentType": CONTENT_TYPE,
        "servers": {"local": {"host": "127.0.0.1:9092", "protocol": "kafka",
                              "description": "the test servers of `make test` (infra/README.md)"}},
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": payloads},
    }


def render() -> str:
    import yaml

    class _Dumper(yaml.SafeDumper):  # type: ignore[misc]  # PyYAML ships no types here
        pass

    def _text(dumper: yaml.SafeDumper, data: str) -> yaml.Node:
        style = "|" if "\n" in data else None
        return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)

    _Dumper.add_representer(str, _text)
    header = "# Generated by `python -m tongxiu.infra.asyncapi > docs/asyncapi.yaml`; do not edit.\n"
    body: str = yaml.dump(document(), Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=110)
    return header + body


if __name__ == "__main__":
    sys.stdout.write(render())
