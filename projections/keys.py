"""The read models' names in the projection store, shared by the projectors (which write them)
and the application's queries (which read them)."""

from __future__ import annotations

from typing import Any

from tongxiu.events.envelope import Envelope
from tongxiu.events.models import PropagationScheduled

PROJECTION = "ledger"
"""One projection name for all read models, so one position guards them all."""

REGISTRY_KEY = "registry"

SEEN = "seen"
"""The per-stream watermark (stream -> last seq applied) in the cross-enterprise read models
(supervision, inbox): see ``tongxiu.streams.projector``."""


def enterprise_key(code: str) -> str:
    return f"enterprise:{code}"


def supervision_key(department: str) -> str:
    return f"supervision:{department}"


def inbox_key(subscriber: str) -> str:
    return f"inbox:{subscriber}"


def inbox_entry(env: Envelope, ev: PropagationScheduled, position: int) -> dict[str, Any]:
    """One pending delivery in a subscriber's inbox."""
    return {
        "stream": env.stream,
        "source_event_id": ev.source_event_id,
        "source_type": ev.source_type,
        "decision_no": ev.decision_no,
        "deadline": ev.deadline.isoformat(),
        "delivered_at": env.recorded_at.isoformat(),
        "position": position,
    }
