"""The idempotency rule (docs/signing.md §7), as the ledger applies it before deciding:

* the same ``submission_id`` of a department with the same body — stream, legacy flag and
  complete events in order; signatures and ``occurred_at`` aside — gets the first receipt,
  accepted or rejected (``duplicate: true``);
* an **accepted** id with another body is refused with ``submission_id_conflict``;
* a **rejected** id may be sent again with a corrected body: it is decided afresh.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

from tongxiu.events.envelope import Reason, Submission, canonical, event_json
from tongxiu.events.wire import record_of
from tongxiu.services.ports import RejectionRecord, StoredEvent
from tongxiu.services.reasons import reason


def same_as_recorded(submission: Submission, stored: Sequence[StoredEvent], digest: str | None = None) -> bool:
    """The recorded submission had this body: the same stream, legacy flag and complete events
    in order (docs/signing.md §7; signatures and ``occurred_at`` aside — a retry that stamped
    the time anew is the same submission, and the first time stands). ``digest``: the
    submission's, when the caller has it."""
    mine = [s for s in stored if s.envelope.submission_id == submission.submission_id]
    if not mine:
        return False
    first = mine[0].envelope
    raw_events = [json.loads(s.raw)["event"] if s.raw else event_json(s.envelope.event) for s in mine]
    recorded = hashlib.sha256(canonical(raw_events)).hexdigest()
    return (first.stream, first.legacy_code, recorded) == (
        submission.stream, submission.legacy_code, digest or submission.digest()
    )


def same_as_rejected(submission: Submission, earlier: RejectionRecord) -> bool:
    """The rejected submission had this body (as recorded; a large one by its record's digest)."""
    recorded = earlier.submission
    mine = submission.model_dump(mode="json")
    if isinstance(recorded, dict) and isinstance(recorded.get("events"), list):
        def key(d: dict[str, Any]) -> tuple[Any, ...]:
            events = [e.get("event") if isinstance(e, dict) else e for e in d.get("events", [])]
            return (d.get("stream"), d.get("legacy_code", False), events)
        return key(recorded) == key(mine)
    return recorded == record_of(mine)


def conflict_reason(stored: Sequence[StoredEvent]) -> Reason:
    first = stored[0].envelope
    return reason(
        "submission_id_conflict", "submission_id",
        f"提交编号 {first.submission_id!r} 已于 {first.recorded_at.isoformat()} 被接受（{first.stream} 第 {first.seq} 号起），"
        "内容与本次不同；同一编号只能对应同一份提交，请使用新的 submission_id",
        recorded_at=first.recorded_at.isoformat(), stream=first.stream, seq=first.seq,
    )
