"""The stream processor that builds the read models from the log.

It tails the log in order, folds each event into the enterprise view (credit, rectification,
sync), the registry, the supervision figures and the subscribers' inboxes, and saves every
state it touched together with the position it has read, in one atomic write. An event at or
below the saved position is skipped, so redelivery after a crash never applies an event twice.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from events.envelope import Envelope
from events.models import REGISTRY_STREAM, PropagationScheduled
from projections.fold import Rules, fold_enterprise, fold_registry
from projections.views import EnterpriseState, RegistryState, SupervisionState
from services.ports import EventLog, ProjectionStore, StoredEvent

PROJECTION = "ledger"
"""One projection name for all read models, so one position guards them all."""


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


class ProjectionRunner:
    """Applies batches of stored events to the read models."""

    def __init__(self, store: ProjectionStore, rules: Rules) -> None:
        self.store = store
        self.rules = rules

    def position(self) -> int:
        return self.store.position(PROJECTION)

    def apply(self, batch: Iterable[StoredEvent]) -> int:
        """Fold ``batch`` (in log order) and save; returns how many events were applied."""
        position = self.position()
        enterprises: dict[str, EnterpriseState] = {}
        supervision: dict[str, SupervisionState] = {}
        inboxes: dict[str, dict[str, Any]] = {}
        registry: RegistryState | None = None
        applied = 0
        for stored in batch:
            if stored.position <= position:
                continue
            env = stored.envelope
            position = stored.position
            applied += 1
            if env.stream == REGISTRY_STREAM:
                if registry is None:
                    registry = self._load_registry()
                fold_registry(registry, env)
                continue
            state = enterprises.get(env.stream)
            if state is None:
                state = self._load_enterprise(env.stream)
                enterprises[env.stream] = state
            for tally in fold_enterprise(state, env, self.rules):
                sup = supervision.get(tally.department)
                if sup is None:
                    sup = self._load_supervision(tally.department)
                    supervision[tally.department] = sup
                counters = sup.month(tally.month)
                setattr(counters, tally.counter, getattr(counters, tally.counter) + tally.amount)
            ev = env.event
            if isinstance(ev, PropagationScheduled):
                for subscriber in ev.subscribers:
                    inbox = self._inbox(inboxes, subscriber)
                    inbox["pending"][f"{env.stream}/{ev.source_event_id}"] = inbox_entry(env, ev, stored.position)
            elif ev.type == "delivery_acknowledged":
                inbox = self._inbox(inboxes, env.department)
                inbox["pending"].pop(f"{env.stream}/{ev.source_event_id}", None)
        if not applied:
            return 0
        updates: dict[str, dict[str, Any]] = {}
        for code, state in enterprises.items():
            updates[enterprise_key(code)] = state.model_dump(mode="json")
        for dept, sup in supervision.items():
            updates[supervision_key(dept)] = sup.model_dump(mode="json")
        for sub, inbox in inboxes.items():
            updates[inbox_key(sub)] = inbox
        if registry is not None:
            updates["registry"] = registry.model_dump(mode="json")
        self.store.save(PROJECTION, updates, position)
        return applied

    def catch_up(self, log: EventLog, *, batch: int = 500) -> int:
        """Apply everything the log holds past the saved position."""
        total = 0
        while True:
            chunk = log.read_all(after=self.position(), limit=batch)
            if not chunk:
                return total
            total += self.apply(chunk)

    # ------------------------------------------------------------------ loading

    def _load_enterprise(self, code: str) -> EnterpriseState:
        raw = self.store.load(PROJECTION, enterprise_key(code))
        return EnterpriseState.model_validate(raw) if raw else EnterpriseState.empty(code)

    def _load_registry(self) -> RegistryState:
        raw = self.store.load(PROJECTION, "registry")
        return RegistryState.model_validate(raw) if raw else RegistryState()

    def _load_supervision(self, department: str) -> SupervisionState:
        raw = self.store.load(PROJECTION, supervision_key(department))
        return SupervisionState.model_validate(raw) if raw else SupervisionState(department=department)

    def _inbox(self, cache: dict[str, dict[str, Any]], subscriber: str) -> dict[str, Any]:
        inbox = cache.get(subscriber)
        if inbox is None:
            inbox = self.store.load(PROJECTION, inbox_key(subscriber)) or {"subscriber": subscriber, "pending": {}}
            cache[subscriber] = inbox
        return inbox
