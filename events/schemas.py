"""JSON Schema for every event, the submission and the envelope (``tongxiu schema export``).

Each schema names itself (``$id``: ``urn:tongxiu:schema:<name>``, with ``:v<schema_version>``
for a fact, so a new version of a fact is a new id) and its dialect (``$schema``), and states the
default of every field that has one — including those pydantic fills from a factory (an empty
list): the signed bytes contain every field with its default filled in (docs/signing.md), so a
client in another language fills in exactly these."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic.json_schema import GenerateJsonSchema, NoDefault
from pydantic_core import core_schema

from tongxiu.events.envelope import Envelope, Receipt, Submission
from tongxiu.events.models import EVENT_TYPES

SCHEMA_URN = "urn:tongxiu:schema:"
"""The schemas' ids (names, not addresses: the files are docs/schemas/<name>.schema.json)."""
DIALECT = "https://json-schema.org/draft/2020-12/schema"


class _WithFactoryDefaults(GenerateJsonSchema):
    def get_default_value(self, schema: core_schema.WithDefaultSchema) -> Any:
        factory = schema.get("default_factory")
        if factory is not None and not schema.get("default_factory_takes_data"):
            return factory()  # type: ignore[call-arg]
        return schema.get("default", NoDefault)


def schema_id(name: str, version: int | None = None) -> str:
    return f"{SCHEMA_URN}{name}" + (f":v{version}" if version is not None else "")


def _named(name: str, schema: dict[str, Any], version: int | None = None) -> dict[str, Any]:
    head: dict[str, Any] = {"$schema": DIALECT, "$id": schema_id(name, version)}
    if version is not None:
        head["x-schema-version"] = version
    return {**head, **schema}


def all_schemas() -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {
        name: _named(name, cls.model_json_schema(schema_generator=_WithFactoryDefaults),
                     cls.model_fields["schema_version"].default)
        for name, cls in sorted(EVENT_TYPES.items())
    }
    out["submission"] = _named("submission", Submission.model_json_schema(schema_generator=_WithFactoryDefaults))
    out["envelope"] = _named("envelope", Envelope.model_json_schema(schema_generator=_WithFactoryDefaults))
    out["receipt"] = _named("receipt", Receipt.model_json_schema(schema_generator=_WithFactoryDefaults))
    return out


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def write_schemas(out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, schema in all_schemas().items():
        path = out_dir / f"{name}.schema.json"
        path.write_text(render(schema), encoding="utf-8")
        written.append(path)
    return written
