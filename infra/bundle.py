"""Offline audit bundles (issue 9): ``tongxiu export CODE --bundle FILE`` and
``tongxiu verify-bundle FILE [--checkpoint C]``. The format (JSON, ``format:
"tongxiu-audit-bundle/1"``) is documented in docs/verification.md so another language can
verify it: the enterprise's stored events and the registry's (which carry the keys), each with
its leaf index and RFC 9162 inclusion proof against one signed checkpoint.

What a verified bundle proves: every event in it is, byte for byte, a leaf of the log the
ledger signed at the checkpoint; the chains are gap-free from seq 1; every signature checks
with the key the registry gave its department at that point. What it cannot prove alone: that
the stream has no events after the last one included (compare the checkpoint with a later one,
or audit with the department's receipts).
"""

from __future__ import annotations

import json
from typing import Any

from tongxiu.events import merkle
from tongxiu.events.envelope import GENESIS_HASH, Envelope, stored_signing_bytes
from tongxiu.events.models import REGISTRY_STREAM, DepartmentRegistered
from tongxiu.events.signing import verify
from tongxiu.events.tlog import Checkpoint, event_leaf_data
from tongxiu.projections.fold import fold_registry
from tongxiu.projections.views import RegistryState
from tongxiu.services.audit import stored_hash
from tongxiu.services.problems import Problem, ProblemError, at, problem

FORMAT = "tongxiu-audit-bundle/1"


def export_bundle(app: Any, code: str, *, at: Checkpoint | None = None) -> dict[str, Any]:
    t = app.ledger.transparency
    if t is None:
        raise ProblemError(problem("no_transparency_log", backend=app.backend))
    checkpoint = at or t.checkpoint()
    if checkpoint.size > t.tlog.head()[0]:
        raise ProblemError(problem("log_shorter_than_checkpoint", size=checkpoint.size))
    tree = t.tree(checkpoint.size)  # proofs read O(log n) stored nodes each
    if tree.root(checkpoint.size).hex() != checkpoint.root:
        raise ProblemError(problem("checkpoint_root_differs", size=checkpoint.size))

    def entries(stream: str) -> list[dict[str, Any]]:
        out = []
        for s in app.log.read_stream(stream):
            index = t.tlog.locate(s.envelope.event_id)
            if index is None or index >= checkpoint.size:
                break  # recorded after the checkpoint
            out.append({"raw": s.raw, "leaf": index, "proof": [h.hex() for h in tree.inclusion_proof(index)]})
        return out

    return {
        "format": FORMAT,
        "enterprise": code,
        "checkpoint": checkpoint.model_dump(mode="json"),
        "registry": entries(REGISTRY_STREAM),
        "events": entries(code),
    }


def verify_bundle(bundle: dict[str, Any], *, checkpoint: Checkpoint | None = None,
                  ledger_keys: set[str] | None = None) -> list[Problem]:
    """The problems found (empty: the bundle verifies), with no access to the ledger; each has
    a stable ``code``, and ``str(p)`` / ``p.text(lang)`` is what a person reads."""
    problems: list[Problem] = []
    if bundle.get("format") != FORMAT:
        return [problem("not_a_bundle", format=FORMAT)]
    cp = Checkpoint.model_validate(bundle["checkpoint"])
    if not cp.verify(ledger_keys):
        problems.append(problem("bundle_checkpoint_unsigned"))
    if checkpoint is not None:
        if not checkpoint.verify(ledger_keys or {cp.key}):
            problems.append(problem("given_checkpoint_unsigned"))
        if (checkpoint.size, checkpoint.root) != (cp.size, cp.root):
            problems.append(problem("other_checkpoint", size=cp.size, root=cp.root[:12], given_size=checkpoint.size,
                                    given_root=checkpoint.root[:12]))
    root = bytes.fromhex(cp.root)
    registry = RegistryState()

    def check(stream: str, items: list[dict[str, Any]]) -> None:
        prev = GENESIS_HASH
        for n, item in enumerate(items, start=1):
            body = json.loads(item["raw"])
            where = at(stream, body.get("seq"))
            recorded, recomputed = stored_hash(body)
            if body.get("stream") != stream or body.get("seq") != n:
                problems.append(problem("out_of_place", stream=stream, seq=body.get("seq"), expected=n))
            if recorded != recomputed:
                problems.append(problem("hash_mismatch", where=where))
            if body.get("prev_hash") != prev:
                problems.append(problem("prev_hash_mismatch", where=where))
            prev = recorded
            env = Envelope.from_json(item["raw"])
            bootstrap = stream == REGISTRY_STREAM and not registry.departments and isinstance(env.event, DepartmentRegistered)
            info = registry.departments.get(env.department)
            keys = [env.event.public_key] if bootstrap else (info.keys_at(env.recorded_at) if info else None)  # type: ignore[union-attr]
            if bootstrap and keys != [cp.key] and cp.key not in rotated_ledger_keys_of(bundle):
                problems.append(problem("bootstrap_key", where=where))
            if keys is None:
                problems.append(problem("unregistered", where=where, department=env.department))
            elif not any(verify(k, stored_signing_bytes(body), str(body.get("signature", ""))) for k in keys):
                problems.append(problem("signature_invalid", where=where, department=env.department))
            leaf = merkle.leaf_hash(event_leaf_data(stream=stream, seq=n, event_id=str(body.get("event_id")), hash=recomputed))
            proof = [bytes.fromhex(h) for h in item["proof"]]
            if not merkle.verify_inclusion(leaf, int(item["leaf"]), cp.size, proof, root):
                problems.append(problem("bundle_not_leaf", stream=stream, seq=body.get("seq"), index=item["leaf"]))
            if stream == REGISTRY_STREAM:
                fold_registry(registry, env)

    check(REGISTRY_STREAM, bundle.get("registry", []))
    check(str(bundle["enterprise"]), bundle.get("events", []))
    return problems


def rotated_ledger_keys_of(bundle: dict[str, Any]) -> set[str]:
    """Ledger keys announced in the bundle's registry (their signatures are checked with the
    registry's other events)."""
    out = set()
    for item in bundle.get("registry", []):
        ev = json.loads(item["raw"]).get("event", {})
        if ev.get("type") == "department_key_rotated" and ev.get("department_id") == "ledger":
            out.add(str(ev.get("public_key")))
    return out
