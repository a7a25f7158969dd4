"""Upcasters: old stored shapes of a fact, brought to the current model before decoding.

A function registered for ``(type, version)`` takes the raw event dict at that version and
returns it at ``version + 1``; :func:`upcast_event` applies them in a chain. Stored bytes are
never rewritten, so hashes stay verifiable: the hash covers the event as it was recorded,
and :func:`tongxiu.events.envelope.Envelope.from_json` keeps the original when re-hashing is needed
(auditors verify the raw stored body, see ``tongxiu.services.audit``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Raw = dict[str, Any]
Upcaster = Callable[[Raw], Raw]

UPCASTERS: dict[tuple[str, int], Upcaster] = {}


def upcaster(event_type: str, from_version: int) -> Callable[[Upcaster], Upcaster]:
    def register(fn: Upcaster) -> Upcaster:
        UPCASTERS[(event_type, from_version)] = fn
        return fn

    return register


def upcast_event(raw: Raw) -> Raw:
    version = int(raw.get("schema_version", 1))
    while (fn := UPCASTERS.get((str(raw.get("type")), version))) is not None:
        raw = fn(dict(raw))
        version += 1
        raw["schema_version"] = version
    return raw


def has_upcaster(event_type: str) -> bool:
    """Whether an upcaster applies to some version of ``event_type`` (an event of any other
    type is decoded as stored)."""
    for name, _ in UPCASTERS:
        if name == event_type:
            return True
    return False


def may_need_upcast(text: str | bytes) -> bool:
    """Whether stored JSON may hold an event an upcaster applies to: it names the type of one
    (a plain substring test, so it errs towards True; False means no upcaster applies)."""
    if isinstance(text, bytes | bytearray):
        return any(name.encode() in text for name, _ in UPCASTERS)
    for name, _ in UPCASTERS:
        if name in text:
            return True
    return False


def upcast_envelope(raw: Raw) -> Raw:
    """``raw`` with its event upcast; ``raw`` itself (not a copy) when no upcaster applies.
    Never changes ``raw``."""
    event = raw.get("event")
    if isinstance(event, dict):
        upcast = upcast_event(event)
        if upcast is not event:
            raw = {**raw, "event": upcast}
    return raw


@upcaster("no_penalty_decided", 1)
def _no_penalty_v1(raw: Raw) -> Raw:
    """v2 adds ``waived_fine_yuan`` (免除的罚款金额); a v1 fact did not state it: 0."""
    raw.setdefault("waived_fine_yuan", "0")
    return raw
