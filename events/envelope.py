"""Envelopes, submissions and receipts, and the canonical encoding that hashes and signatures
are computed over.

Canonical encoding: the JSON form pydantic produces in ``mode="json"`` (datetimes in UTC,
decimals as strings), keys sorted, no insignificant white space, UTF-8. Any backend that
stores the canonical bytes, or the fields they are made of, can recompute every hash.

Signatures cover the whole submission (signature format 2, the current one): a department
signs each event of a submission over :func:`signing_bytes` — stream, department, submission
id, occurred-at, legacy-code flag, the event's position, the number of events and the SHA-256
of the canonical list of *all* the submission's events, and the event itself. Neither a prefix
of a bundle (e.g. the decision without its advice and notice) nor a reordering verifies, and a
stored envelope, which keeps the digest and the count, still verifies on its own.

Format 1 (stored history only): each event signed alone, over stream, department, submission
id, occurred-at, position, legacy-code flag and event. Envelopes recorded in format 1 carry no
``signature_format`` field and keep verifying; the ledger no longer accepts new ones.
"""

from __future__ import annotations

import functools
import hashlib
import json
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from tongxiu.events.construct import trusted
from tongxiu.events.facts_base import StoredUtcDatetime
from tongxiu.events.fastjson import canonical_bytes, canonical_str, canonical_with_text
from tongxiu.events.models import EVENT_ADAPTER, Event, UtcDatetime
from tongxiu.events.tlog import ReceiptLog
from tongxiu.events.upcast import has_upcaster, may_need_upcast, upcast_envelope

GENESIS_HASH = "0" * 64
SIGNATURE_FORMAT: Literal[2] = 2
"""The signature format new submissions must use (see the module's docstring)."""
_V2_FIELDS = ("signature_format", "submission_digest", "submission_size")


def canonical(obj: Any) -> bytes:
    """Deterministic bytes for a JSON-able structure: ``json.dumps(obj, sort_keys=True,
    separators=(",", ":"), ensure_ascii=False)`` in UTF-8, computed by orjson where that gives
    the same bytes (:mod:`tongxiu.events.fastjson`)."""
    return canonical_bytes(obj)


def canonical_with(obj: dict[str, Any], key: str, text: str) -> bytes:
    """``canonical({**obj, key: value})`` where ``text`` is already the canonical text of
    ``value`` (``key`` not in ``obj``): the keys before and after ``key`` in sorted order are
    encoded around it, so a large value (an event) is encoded once for all the structures
    that contain it (the digest, the signed bytes, the stored envelope). For a plain ``obj``
    (:func:`~tongxiu.events.fastjson.is_plain`) orjson writes it in one call with ``text``
    spliced in as it is (:func:`~tongxiu.events.fastjson.canonical_with_text`)."""
    fast = canonical_with_text(obj, key, text)
    if fast is not None:
        return fast
    before = canonical_str({k: v for k, v in obj.items() if k < key})
    after = canonical_str({k: v for k, v in obj.items() if k > key})
    inner = [t for t in (before[1:-1], f"{canonical_str(key)}:{text}", after[1:-1]) if t]
    return ("{" + ",".join(inner) + "}").encode("utf-8")


def event_json(event: Event) -> dict[str, Any]:
    dumped: dict[str, Any] = EVENT_ADAPTER.dump_python(event, mode="json")
    return dumped


def events_digest(events: Sequence[Event]) -> str:
    """SHA-256 of the canonical list of a submission's events, in order."""
    return hashlib.sha256(canonical([event_json(e) for e in events])).hexdigest()


@dataclass(frozen=True)
class Encoded:
    """A parsed submission's events in their JSON form, each dumped once, and the digest over
    them: what the signatures, the digest and the recorded envelopes are all built from."""

    events: list[dict[str, Any]]
    digest: str
    texts: Sequence[str] = ()
    """Each event's canonical text (:func:`canonical` of ``events[i]``), when computed."""


def encode_submission(events: Sequence[Event]) -> Encoded:
    """Each event dumped and canonically encoded once; the digest is over the canonical list
    of them (the same bytes as ``canonical(jsons)``: a list is its items joined by commas)."""
    jsons = [event_json(e) for e in events]
    texts = [canonical_str(j) for j in jsons]
    listed = ("[" + ",".join(texts) + "]").encode("utf-8")
    return Encoded(jsons, hashlib.sha256(listed).hexdigest(), texts)


def signing_bytes(
    *,
    stream: str,
    department: str,
    submission_id: str,
    occurred_at: datetime,
    index: int,
    legacy_code: bool,
    event: Event,
    submission_digest: str | None = None,
    submission_size: int | None = None,
    encoded_event: dict[str, Any] | None = None,
    event_text: str | None = None,
) -> bytes:
    """What a department signs for one event of a submission: format 2 when the digest and
    size of the whole submission are given, format 1 (stored history only) otherwise.
    ``encoded_event``: ``event_json(event)`` when the caller already has it; ``event_text``:
    its canonical text (:attr:`Encoded.texts`), then not encoded again."""
    signed: dict[str, Any] = {
        "stream": stream,
        "department": department,
        "submission_id": submission_id,
        "occurred_at": _iso(occurred_at),
        "index": index,
        "legacy_code": legacy_code,
    }
    if submission_digest is not None or submission_size is not None:
        signed.update(signature_format=2, submission_digest=submission_digest, submission_size=submission_size)
    if event_text is not None:
        return canonical_with(signed, "event", event_text)
    signed["event"] = event_json(event) if encoded_event is None else encoded_event
    return canonical(signed)


def stored_signing_bytes(body: dict[str, Any]) -> bytes:
    """The signed bytes rebuilt from a stored envelope's JSON as recorded — not from the
    decoded (possibly upcast) model — so signatures of old events keep verifying."""
    signed = {
        "stream": body["stream"],
        "department": body["department"],
        "submission_id": body["submission_id"],
        "occurred_at": body["occurred_at"],
        "index": body["index"],
        "legacy_code": body.get("legacy_code", False),
        "event": body["event"],
    }
    if body.get("signature_format", 1) != 1:
        signed.update({k: body.get(k) for k in _V2_FIELDS})
    return canonical(signed)


_DATETIME: TypeAdapter[datetime] = TypeAdapter(datetime)


def _iso(value: datetime) -> str:
    """The same text pydantic writes for the datetime inside an envelope (remembered: a
    submission's time and the ledger's are written into each of its events, twice)."""
    return _iso_of(value, value.fold)


@functools.lru_cache(maxsize=256)
def _iso_of(value: datetime, fold: int) -> str:
    """Equal datetimes are the same instant (so the same UTC text), except two in one time zone
    that differ only in ``fold`` (a repeated wall-clock hour): ``fold`` is part of the key."""
    text: str = _DATETIME.dump_python(value.astimezone(UTC), mode="json")
    return text


class SignedEvent(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    event: Event
    signature: Annotated[str, Field(pattern=r"^[0-9a-f]{128}$", description="Ed25519 over signing_bytes, hex")]


class Submission(BaseModel):
    """What a department sends. Several events in one submission are recorded all or none
    (三书同达: decision, advice and notice together)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    signature_format: Literal[2] = Field(
        default=SIGNATURE_FORMAT,
        description="2: every event's signature covers the whole submission (ids, time, all events, their order)",
    )
    submission_id: Annotated[str, Field(min_length=1, max_length=128)]
    department: Annotated[str, Field(min_length=1, max_length=64)]
    stream: Annotated[str, Field(min_length=1, max_length=64)] = Field(
        description="the enterprise's unified social credit code, or 'registry'"
    )
    occurred_at: UtcDatetime
    legacy_code: bool = Field(
        default=False,
        description="the submitter states that the credit code is a legacy code failing the GB 32100 check",
    )
    events: Annotated[list[SignedEvent], Field(min_length=1, max_length=20)]

    def digest(self) -> str:
        """SHA-256 of the canonical list of this submission's events."""
        return events_digest([s.event for s in self.events])

    def encoded(self) -> Encoded:
        """The events' JSON form (each dumped once) and the digest over them."""
        return encode_submission([s.event for s in self.events])

    def signed_bytes(self, index: int, digest: str | None = None, encoded: Encoded | None = None) -> bytes:
        """What the department signed for ``events[index]`` (format 2: the whole submission)."""
        return signing_bytes(
            stream=self.stream,
            department=self.department,
            submission_id=self.submission_id,
            occurred_at=self.occurred_at,
            index=index,
            legacy_code=self.legacy_code,
            event=self.events[index].event,
            submission_digest=(encoded.digest if encoded else None) or digest or self.digest(),
            submission_size=len(self.events),
            encoded_event=None if encoded is None else encoded.events[index],
            event_text=encoded.texts[index] if encoded is not None and encoded.texts else None,
        )


class Envelope(BaseModel):
    """One recorded event: its place in the enterprise's stream, its two times, its chain link
    and its department's signature."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    event_id: str
    stream: str
    seq: int = Field(ge=1)
    department: str
    submission_id: str
    index: int = Field(ge=0)
    occurred_at: StoredUtcDatetime
    recorded_at: StoredUtcDatetime
    legacy_code: bool = False
    event: Event
    signature: str
    signature_format: Literal[1, 2] = 1
    """1: stored history, the event signed alone; 2: signed with its whole submission."""
    submission_digest: str | None = None
    """Format 2: SHA-256 of the canonical list of all the submission's events."""
    submission_size: int | None = None
    """Format 2: how many events the submission had."""
    prev_hash: str
    hash: str = ""

    @property
    def type(self) -> str:
        return self.event.type

    def signed_bytes(self) -> bytes:
        v2 = self.signature_format == 2
        return signing_bytes(
            stream=self.stream,
            department=self.department,
            submission_id=self.submission_id,
            occurred_at=self.occurred_at,
            index=self.index,
            legacy_code=self.legacy_code,
            event=self.event,
            submission_digest=self.submission_digest if v2 else None,
            submission_size=self.submission_size if v2 else None,
        )

    def _omitted(self) -> set[str]:
        """Format 1 envelopes are written (and hashed) exactly as before the format existed."""
        return set(_V2_FIELDS) if self.signature_format == 1 else set()

    def body(self) -> dict[str, Any]:
        dumped: dict[str, Any] = self.model_dump(mode="json", exclude={"hash", *self._omitted()})
        return dumped

    def compute_hash(self) -> str:
        return hashlib.sha256(canonical(self.body())).hexdigest()

    def sealed(self) -> Envelope:
        return self.model_copy(update={"hash": self.compute_hash()})

    def to_json(self) -> str:
        """The stored text: for an envelope :meth:`recorded` made, the canonical bytes its hash
        was computed over with the hash added (encoded once); otherwise pydantic's JSON."""
        kept = _ENCODED.get(id(self))
        if kept is not None and kept[0]() is self:
            return kept[1]
        return self.model_dump_json(exclude=self._omitted() or None)

    @classmethod
    def recorded(
        cls,
        *,
        event_id: str,
        stream: str,
        seq: int,
        department: str,
        submission_id: str,
        index: int,
        occurred_at: datetime,
        recorded_at: datetime,
        legacy_code: bool,
        event: Event,
        encoded_event: dict[str, Any],
        signature: str,
        submission_digest: str,
        submission_size: int,
        prev_hash: str,
        event_text: str | None = None,
    ) -> Envelope:
        """A new, sealed format-2 envelope from values already validated (a parsed submission,
        the ledger's own) — not validated again. Its body is built once in its JSON form
        (``encoded_event`` is ``event_json(event)``, ``event_text`` its canonical text when the
        caller has it, :attr:`Encoded.texts`); the canonical bytes of the body give the
        hash, and the same bytes with the hash added are what :meth:`to_json` stores. The body
        is exactly :meth:`body` (``tests/unit/test_ledger_fixture.py`` and
        ``test_write_path`` hold the bytes and hashes to those the validated path gives)."""
        if recorded_at.tzinfo is None or occurred_at.tzinfo is None:
            raise ValueError("an envelope's times must carry a time zone")
        occurred_at, recorded_at = occurred_at.astimezone(UTC), recorded_at.astimezone(UTC)
        body = {
            "event_id": event_id,
            "stream": stream,
            "seq": seq,
            "department": department,
            "submission_id": submission_id,
            "index": index,
            "occurred_at": _iso(occurred_at),
            "recorded_at": _iso(recorded_at),
            "legacy_code": legacy_code,
            "signature": signature,
            "signature_format": 2,
            "submission_digest": submission_digest,
            "submission_size": submission_size,
            "prev_hash": prev_hash,
        }
        if event_text is not None:  # the event's canonical text, encoded once per submission
            data = canonical_with(body, "event", event_text)
        else:
            body["event"] = encoded_event
            data = canonical(body)
        digest = hashlib.sha256(data).hexdigest()
        env = trusted(
            cls,
            event_id=event_id, stream=stream, seq=seq, department=department, submission_id=submission_id,
            index=index, occurred_at=occurred_at, recorded_at=recorded_at, legacy_code=legacy_code, event=event,
            signature=signature, signature_format=2, submission_digest=submission_digest,
            submission_size=submission_size, prev_hash=prev_hash, hash=digest,
        )
        key = id(env)
        _ENCODED[key] = (weakref.ref(env, lambda _, key=key: _ENCODED.pop(key, None)),  # type: ignore[misc]
                         data[:-1].decode("utf-8") + f',"hash":"{digest}"}}')
        return env

    @classmethod
    def from_json(cls, text: str | bytes) -> Envelope:
        """Decode stored JSON: parsed and validated in one pass by pydantic-core, unless the
        event is of a type that has an upcaster (then parsed, upcast, validated: exactly
        :meth:`from_body`). Validated first, then the decoded type tells whether an upcaster
        may apply (for any other type upcasting changes nothing); text that fails to validate
        is decoded as before (upcast if it names a type that has an upcaster, else the error).
        Calls the model's validator itself (``model_validate_json`` without its wrapper)."""
        try:
            env: Envelope = cls.__pydantic_validator__.validate_json(text)
        except ValidationError:
            if may_need_upcast(text):
                return cls.from_body(json.loads(text))
            raise
        if has_upcaster(env.event.type):
            return cls.from_body(json.loads(text))
        return env

    @classmethod
    def from_body(cls, body: dict[str, Any]) -> Envelope:
        """Decode a stored envelope's already parsed JSON (``body`` is not changed)."""
        env: Envelope = cls.__pydantic_validator__.validate_python(upcast_envelope(body))
        return env


_ENCODED: dict[int, tuple[weakref.ref[Envelope], str]] = {}
"""The stored text of envelopes :meth:`Envelope.recorded` made, by object id, for as long as
the object lives (a copy, e.g. ``model_copy``, is another object and is encoded afresh): a
weak reference to the envelope, whose callback drops the entry when the envelope goes (a
``weakref.finalize`` per envelope cost ~2.5 µs more), and the text."""


class Reason(BaseModel):
    """One reason a submission was rejected: a machine-readable code, the field, the rule."""

    model_config = ConfigDict(frozen=True)
    code: str
    field: str | None = None
    message: str
    detail: dict[str, Any] = Field(default_factory=dict)


class RecordedEvent(BaseModel):
    model_config = ConfigDict(frozen=True)
    event_id: str
    type: str
    seq: int
    hash: str


class Receipt(BaseModel):
    """The answer to a submission: its events' places and hashes, or why it was rejected."""

    model_config = ConfigDict(frozen=True)
    submission_id: str
    department: str
    stream: str
    accepted: bool
    recorded_at: UtcDatetime
    events: list[RecordedEvent] = Field(default_factory=list)
    reasons: list[Reason] = Field(default_factory=list)
    duplicate: bool = False
    log: ReceiptLog | None = None
    """Transparency log (issue 9): the leaves this receipt's facts are and a signed checkpoint
    including them (None where the backend keeps no log)."""

    @property
    def codes(self) -> list[str]:
        return [r.code for r in self.reasons]
