"""Building and signing a submission (what the producer SDK and ``tongxiu sign`` do), the
deterministic event ids, and the receipt of what the log holds for a submission."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from hashlib import sha1

from tongxiu.events.construct import trusted
from tongxiu.events.envelope import (
    Receipt,
    RecordedEvent,
    SignedEvent,
    Submission,
    events_digest,
    signing_bytes,
)
from tongxiu.events.models import Event
from tongxiu.events.signing import KeyPair
from tongxiu.services.ports import StoredEvent

EVENT_NAMESPACE = uuid.UUID("6f1d2c3e-9a0b-4c5d-8e7f-0a1b2c3d4e5f")


_NAMESPACE_BYTES = EVENT_NAMESPACE.bytes
_VERSION_5 = (0xF000 << 64) | (0xC000 << 48), (0x5000 << 64) | (0x8000 << 48)
"""The bits :func:`uuid.uuid5` sets in the SHA-1 digest: version 5, RFC 4122 variant (mask, value)."""


def event_id_for(department: str, submission_id: str, index: int) -> str:
    """Deterministic ids: the same submission always yields the same event ids, so two
    backends fed the same submissions build identical hash chains.

    ``str(uuid.uuid5(EVENT_NAMESPACE, f"{department}/{submission_id}/{index}"))``, computed
    without the ``UUID`` object (~1.3 µs instead of ~2.9 per id; the same text,
    ``tests/unit/test_event_ids.py``)."""
    digest = sha1(_NAMESPACE_BYTES + f"{department}/{submission_id}/{index}".encode()).digest()
    mask, bits = _VERSION_5
    h = "%032x" % ((int.from_bytes(digest[:16], "big") & ~mask) | bits)
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def sign_submission(
    key: KeyPair,
    *,
    department: str,
    stream: str,
    submission_id: str,
    occurred_at: datetime,
    events: Sequence[Event],
    legacy_code: bool = False,
) -> Submission:
    """Build and sign a submission (what the producer SDK and ``tongxiu sign`` do): every
    event's signature covers the whole submission (signature format 2)."""
    digest = events_digest(events)
    signed = [
        SignedEvent(
            event=ev,
            signature=key.sign(
                signing_bytes(
                    stream=stream,
                    department=department,
                    submission_id=submission_id,
                    occurred_at=occurred_at,
                    index=i,
                    legacy_code=legacy_code,
                    event=ev,
                    submission_digest=digest,
                    submission_size=len(events),
                )
            ),
        )
        for i, ev in enumerate(events)
    ]
    return Submission(
        submission_id=submission_id,
        department=department,
        stream=stream,
        occurred_at=occurred_at,
        legacy_code=legacy_code,
        events=signed,
    )


def receipt_for(stored: Sequence[StoredEvent], *, duplicate: bool) -> Receipt:
    """The receipt of what the log holds for a submission (built from recorded, validated
    envelopes: not validated again)."""
    first = stored[0].envelope
    return trusted(
        Receipt,
        submission_id=first.submission_id,
        department=first.department,
        stream=first.stream,
        accepted=True,
        recorded_at=first.recorded_at,
        duplicate=duplicate,
        events=[
            trusted(RecordedEvent, event_id=e.event_id, type=e.type, seq=e.seq, hash=e.hash)
            for e in (s.envelope for s in stored)
            if e.submission_id == first.submission_id and e.department == first.department
        ],
        reasons=[],
        log=None,
    )
