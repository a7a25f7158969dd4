"""Audit: replay an enterprise's history as it stood at any time, and verify that nothing
was altered (hash chain, gap-free sequence, every signature)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from events.envelope import GENESIS_HASH, Envelope, canonical, stored_signing_bytes
from events.models import REGISTRY_STREAM, DepartmentRegistered
from events.signing import verify
from projections.fold import Rules, fold_enterprise, fold_registry
from projections.views import EnterpriseState, RegistryState
from services.ports import EventLog, StoredEvent


@dataclass(frozen=True)
class Replay:
    enterprise: str
    as_of: datetime | None
    known_at: datetime | None
    events: list[Envelope]
    state: EnterpriseState


def replay(
    log: EventLog, rules: Rules, code: str, *, as_of: datetime | None = None, known_at: datetime | None = None
) -> Replay:
    """The history and the views as they stood: ``as_of`` keeps what had happened by then
    (occurred-at), ``known_at`` what the ledger had recorded by then (recorded-at)."""
    state = EnterpriseState.empty(code)
    kept: list[Envelope] = []
    for stored in log.read_stream(code):
        env = stored.envelope
        if as_of is not None and env.occurred_at > as_of:
            continue
        if known_at is not None and env.recorded_at > known_at:
            continue
        fold_enterprise(state, env, rules)
        kept.append(env)
    return Replay(enterprise=code, as_of=as_of, known_at=known_at, events=kept, state=state)


@dataclass
class Verification:
    ok: bool = True
    streams: int = 0
    events: int = 0
    first_bad: dict[str, Any] | None = None
    problems: list[dict[str, Any]] = field(default_factory=list)

    def fail(self, stored: StoredEvent | None, stream: str, seq: int, problem: str) -> None:
        self.ok = False
        entry = {"stream": stream, "seq": seq, "event_id": stored.envelope.event_id if stored else None, "problem": problem}
        self.problems.append(entry)
        if self.first_bad is None:
            self.first_bad = entry


def stored_hash(body: dict[str, Any]) -> tuple[str, str]:
    """(hash recorded in the stored bytes, hash recomputed from them)."""
    rest = dict(body)
    recorded = str(rest.pop("hash", ""))
    return recorded, hashlib.sha256(canonical(rest)).hexdigest()


def _keys(log: EventLog, result: Verification) -> dict[str, str]:
    """Walk the registry, checking every event's signature with the key its signer had at that
    point (the ledger's self-registration with the key it carries), and return the keys."""
    registry = RegistryState()
    for stored in _check_chain(log, REGISTRY_STREAM, result, {}):
        env = stored.envelope
        ev = env.event
        bootstrap = not registry.departments and isinstance(ev, DepartmentRegistered)
        key = ev.public_key if bootstrap else (
            registry.departments[env.department].public_key if env.department in registry.departments else None
        )
        body = json.loads(stored.raw)
        if key is None:
            result.fail(stored, REGISTRY_STREAM, env.seq, f"department {env.department} is not registered")
        elif not verify(key, stored_signing_bytes(body), str(body.get("signature", ""))):
            result.fail(stored, REGISTRY_STREAM, env.seq, f"signature of {env.department} does not verify")
        fold_registry(registry, env)
    return {d.department_id: d.public_key for d in registry.departments.values()}


def _check_chain(log: EventLog, stream: str, result: Verification, keys: dict[str, str]) -> Iterator[StoredEvent]:
    result.streams += 1
    prev = GENESIS_HASH
    expected = 1
    for stored in log.read_stream(stream):
        env = stored.envelope
        result.events += 1
        if env.seq != expected:
            result.fail(stored, stream, env.seq, f"sequence gap: expected {expected}, found {env.seq}")
        body = json.loads(stored.raw)
        recorded, recomputed = stored_hash(body)
        if recorded != recomputed:
            result.fail(stored, stream, env.seq, "hash does not match the stored event (altered)")
        if env.prev_hash != prev:
            result.fail(stored, stream, env.seq, "previous hash does not match the chain")
        if keys:
            key = keys.get(env.department)
            if key is None:
                result.fail(stored, stream, env.seq, f"department {env.department} is not registered")
            elif not verify(key, stored_signing_bytes(body), str(body.get("signature", ""))):
                result.fail(stored, stream, env.seq, f"signature of {env.department} does not verify")
        prev = recorded
        expected = env.seq + 1
        yield stored


def verify_streams(log: EventLog, streams: list[str] | None = None, *, progress: Any = None) -> Verification:
    """Check the registry and the given streams (all when None). Never stops at the first
    problem, but reports it as ``first_bad``."""
    result = Verification()
    keys = _keys(log, result)
    targets = [s for s in (streams if streams is not None else log.streams()) if s != REGISTRY_STREAM]
    for stream in targets:
        for _ in _check_chain(log, stream, result, keys):
            pass
        if progress is not None:
            progress()
    return result


def export_jsonl(log: EventLog, code: str) -> Iterator[str]:
    for stored in log.read_stream(code):
        yield stored.raw
