"""``tongxiu sign``: sign what a file says, and say what was added.

The signed bytes (docs/signing.md) hold every field of every event, defaults filled in, and
``occurred_at`` in UTC. A file that leaves a defaulted field out (``performance``,
``remedies``, ``conditions`` … are legal text with defaults) is signed with the default, and a
value written another way (a number for an amount, a time in China time) is signed as the
ledger writes it. :func:`sign_file` signs and returns each such change, so the command can
show them (or refuse them with ``--exact``); the signed submission it writes holds them all
explicitly, so the file a department keeps is exactly what it signed."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import TypeAdapter

from tongxiu.events.envelope import Submission
from tongxiu.events.models import EVENT_ADAPTER
from tongxiu.events.signing import KeyPair
from tongxiu.services.ledger import sign_submission

_DATETIME: TypeAdapter[datetime] = TypeAdapter(datetime)


class SignFileError(ValueError):
    """The file cannot be signed (not one object, a field missing, an invalid event)."""


@dataclass(frozen=True)
class Change:
    """A value that is signed but is not written so in the file."""

    path: str
    kind: Literal["default", "rewritten"]
    value: Any
    was: Any = None

    def describe(self) -> str:
        now = json.dumps(self.value, ensure_ascii=False)
        if self.kind == "default":
            return f"{self.path} = {now}  (not in the file: the schema's default)"
        return f"{self.path} = {now}  (the file says {json.dumps(self.was, ensure_ascii=False)})"


@dataclass(frozen=True)
class SignedFile:
    submission: Submission
    changes: list[Change]


def _diff(sent: Any, signed: Any, path: str, out: list[Change]) -> None:
    if isinstance(sent, dict) and isinstance(signed, dict):
        for key, value in signed.items():
            where = f"{path}.{key}" if path else key
            if key not in sent:
                out.append(Change(where, "default", value))
            else:
                _diff(sent[key], value, where, out)
        return
    if isinstance(sent, list) and isinstance(signed, list) and len(sent) == len(signed):
        for i, (a, b) in enumerate(zip(sent, signed, strict=True)):
            _diff(a, b, f"{path}[{i}]", out)
        return
    if type(sent) is not type(signed) or sent != signed:
        out.append(Change(path, "rewritten", signed, sent))


def sign_file(text: str | bytes, key: KeyPair) -> SignedFile:
    """Sign an unsigned submission (``events`` as bare events or ``{"event": …}``; signatures
    present are replaced). Raises :class:`SignFileError` naming the field."""
    try:
        raw = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise SignFileError(f"not JSON: {exc}") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("events"), list) or not raw["events"]:
        raise SignFileError("must hold one JSON object with a non-empty list `events`")
    bodies = [e.get("event", e) if isinstance(e, dict) else e for e in raw["events"]]
    try:
        events = [EVENT_ADAPTER.validate_python(body) for body in bodies]
        submission = sign_submission(
            key,
            department=raw["department"],
            stream=raw["stream"],
            submission_id=raw["submission_id"],
            occurred_at=_DATETIME.validate_python(raw["occurred_at"]),
            events=events,
            legacy_code=raw.get("legacy_code", False),
        )
    except KeyError as exc:
        raise SignFileError(f"lacks the field {exc}") from None
    except (ValueError, TypeError, AttributeError, OverflowError, RecursionError) as exc:
        raise SignFileError(str(exc)) from None
    signed = json.loads(submission.model_dump_json())
    sent = {k: v for k, v in raw.items() if k != "events"}
    sent["events"] = [{"event": body} for body in bodies]
    changes: list[Change] = []
    _diff(sent, {**signed, "events": [{"event": e["event"]} for e in signed["events"]]}, "", changes)
    return SignedFile(submission, changes)
