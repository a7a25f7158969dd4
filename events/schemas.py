"""JSON Schema for every event, the submission and the envelope (``tongxiu schema export``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tongxiu.events.envelope import Envelope, Receipt, Submission
from tongxiu.events.models import EVENT_TYPES


def all_schemas() -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {
        name: cls.model_json_schema() for name, cls in sorted(EVENT_TYPES.items())
    }
    out["submission"] = Submission.model_json_schema()
    out["envelope"] = Envelope.model_json_schema()
    out["receipt"] = Receipt.model_json_schema()
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
