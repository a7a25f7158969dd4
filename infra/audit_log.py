"""``tongxiu audit``: a department's kept receipts and checkpoints checked against the ledger,
which is not trusted: it supplies the current checkpoint, the stored facts and the proofs, and
every answer is checked here against what the department kept.

- every kept checkpoint (and every checkpoint inside a kept receipt) is signed by the ledger
  key the department trusts, and the current log is a consistent extension of it (RFC 9162
  consistency proof): a truncated or rewritten history fails, naming the checkpoint;
- every receipted event is still stored where the receipt put it (stream, seq), with the same
  hash, and is the leaf the receipt names (inclusion proof against the current checkpoint);
- every receipted rejection is still recorded as receipted and is the leaf its receipt names;
- with witnesses: at least one kept checkpoint carries k valid witness cosignatures (and, like
  every kept checkpoint, the current log extends it).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Protocol

from tongxiu.events import merkle
from tongxiu.events.envelope import Receipt
from tongxiu.events.tlog import Checkpoint, digest_text, event_leaf_data, rejection_leaf_data
from tongxiu.services.problems import EventType, Problem, checkpoint_label, problem


class LedgerView(Protocol):
    def checkpoint(self) -> Checkpoint: ...
    def consistency(self, first: int, second: int) -> list[str]: ...
    def inclusion(self, index: int, size: int) -> list[str]: ...
    def event(self, stream: str, seq: int) -> dict[str, Any] | None: ...
    def rejection(self, department: str, submission_id: str) -> list[tuple[dict[str, Any], str]]: ...
    def registry_events(self) -> list[dict[str, Any]]: ...


class LocalLedgerView:
    """The ledger opened from its data directory (what the CLI uses)."""

    def __init__(self, app: Any) -> None:
        from tongxiu.services.transparency import Transparency

        self.app = app
        t = app.ledger.transparency
        if t is None:
            raise ValueError(f"the {app.backend} backend keeps no transparency log")
        self.t: Transparency = t
        self._trees: dict[int, merkle.StoredTree] = {}

    def checkpoint(self) -> Checkpoint:
        return self.t.checkpoint()

    def _tree_of(self, size: int) -> merkle.StoredTree:
        """The stored tree of ``size`` leaves, read node by node (O(log n) per proof); the
        nodes read are kept for the other proofs of this audit."""
        if size not in self._trees:
            self._trees[size] = self.t.tree(size)
        return self._trees[size]

    def consistency(self, first: int, second: int) -> list[str]:
        return [h.hex() for h in self._tree_of(second).consistency_proof(first, second)]

    def inclusion(self, index: int, size: int) -> list[str]:
        return [h.hex() for h in self._tree_of(size).inclusion_proof(index, size)]

    def event(self, stream: str, seq: int) -> dict[str, Any] | None:
        found = self.app.log.read_stream(stream, from_seq=seq, limit=1)
        if not found or found[0].envelope.seq != seq:
            return None
        body: dict[str, Any] = json.loads(found[0].raw)
        return body

    def registry_events(self) -> list[dict[str, Any]]:
        from tongxiu.events.models import REGISTRY_STREAM

        return [json.loads(s.raw) for s in self.app.log.read_stream(REGISTRY_STREAM)]

    def rejection(self, department: str, submission_id: str) -> list[tuple[dict[str, Any], str]]:
        rows = self.t.tlog.rejection_rows()
        out = []
        for r, s in rows:
            rec = json.loads(r)
            if rec.get("department") == department and rec.get("submission_id") == submission_id:
                out.append((Receipt.model_validate_json(r).model_dump(mode="json"), digest_text(s)))
        return out


@dataclass
class AuditResult:
    ok: bool = True
    receipts: int = 0
    events: int = 0
    rejections: int = 0
    checkpoints: int = 0
    size: int = 0
    problems: list[Problem] = field(default_factory=list)
    """Each with a stable ``code``; ``str(p)`` / ``p.text(lang)`` is what a person reads."""

    def fail(self, found: Problem) -> None:
        self.ok = False
        self.problems.append(found)

    def as_dict(self) -> dict[str, Any]:
        """The result as JSON data (``tongxiu audit --json``)."""
        return {**self.__dict__, "problems": [p.as_dict() for p in self.problems]}


def audit_store(
    view: LedgerView,
    receipts: list[Receipt],
    checkpoints: list[Checkpoint],
    *,
    ledger_keys: set[str] | None = None,
    witnesses: dict[str, str] | None = None,
    require: int = 0,
) -> AuditResult:
    """``ledger_keys``: the ledger keys the department trusts (default: the key of its earliest
    kept checkpoint). ``witnesses``/``require``: name -> public key, and how many of them must
    have cosigned each kept checkpoint."""
    out = AuditResult(receipts=len(receipts))
    current = view.checkpoint()
    out.size = current.size
    current_root = bytes.fromhex(current.root)
    if ledger_keys is None:
        ledger_keys = {checkpoints[0].key} if checkpoints else {current.key}
    ledger_keys = rotated_ledger_keys(view, set(ledger_keys))
    if not current.verify(ledger_keys):
        out.fail(problem("current_checkpoint_unsigned", key=sorted(ledger_keys)[0][:16]))
    if require:
        # witnesses cosign only what extends what they cosigned before: a witnessed checkpoint
        # the current log extends rules out a fork by the ledger key's holder alone
        best = max((len(cp.cosigned_by(witnesses or {})) for cp in checkpoints if cp.verify(ledger_keys)), default=0)
        if best < require:
            out.fail(problem("not_witnessed", best=best, require=require))
    for cp in checkpoints:
        out.checkpoints += 1
        label = checkpoint_label(cp.time.isoformat(), cp.size, cp.root)
        if not cp.verify(ledger_keys):
            out.fail(problem("checkpoint_unsigned", checkpoint=label))
            continue
        if cp.size > current.size:
            out.fail(problem("truncated", checkpoint=label, size=current.size))
            continue
        try:
            proof = [bytes.fromhex(h) for h in view.consistency(cp.size, current.size)]
        except ValueError as exc:
            out.fail(problem("no_consistency_proof", checkpoint=label, size=current.size, error=exc))
            continue
        if not merkle.verify_consistency(cp.size, current.size, bytes.fromhex(cp.root), current_root, proof):
            out.fail(problem("history_rewritten", checkpoint=label, size=current.size))
    for r in receipts:
        if r.log is None:
            continue
        if r.accepted:
            for e, leaf_index in zip(r.events, r.log.leaves, strict=False):
                out.events += 1
                what = problem("receipted_event", stream=r.stream, seq=e.seq, type=EventType(e.type),
                               event_id=e.event_id, submission_id=r.submission_id)
                body = view.event(r.stream, e.seq)
                if body is None:
                    out.fail(problem("missing", what=what))
                elif body.get("event_id") != e.event_id:
                    out.fail(problem("replaced", what=what, other=body.get("event_id")))
                else:
                    from tongxiu.services.audit import stored_hash

                    recorded, recomputed = stored_hash(body)
                    if recomputed != e.hash or recorded != e.hash:
                        out.fail(problem("hash_changed", what=what, recomputed=recomputed[:12], receipted=e.hash[:12]))
                leaf = merkle.leaf_hash(event_leaf_data(stream=r.stream, seq=e.seq, event_id=e.event_id, hash=e.hash))
                _include(view, out, leaf, leaf_index, current, what)
        else:
            out.rejections += 1
            what = problem("receipted_rejection", department=r.department, submission_id=r.submission_id,
                           codes=", ".join(r.codes))
            core = r.model_dump(mode="json")
            core.pop("log", None)
            digest = r.log.submission_digest or ""
            stored = view.rejection(r.department, r.submission_id)
            if not any({k: v for k, v in rec.items() if k != "log"} == core and d == digest for rec, d in stored):
                out.fail(problem("rejection_changed", what=what))
            leaf = merkle.leaf_hash(rejection_leaf_data(core, digest))
            _include(view, out, leaf, r.log.leaves[0], current, what)
    return out


def _include(view: LedgerView, out: AuditResult, leaf: bytes, index: int, current: Checkpoint, what: Problem) -> None:
    if index >= current.size:
        out.fail(problem("leaf_missing", what=what, index=index, size=current.size))
        return
    proof = [bytes.fromhex(h) for h in view.inclusion(index, current.size)]
    if not merkle.verify_inclusion(leaf, index, current.size, proof, bytes.fromhex(current.root)):
        out.fail(problem("not_leaf", what=what, index=index))


def rotated_ledger_keys(view: LedgerView, trusted: set[str]) -> set[str]:
    """The trusted ledger keys plus every key a trusted key announced in the registry
    (``department_key_rotated`` of the ledger, signed by the key it replaces)."""
    from tongxiu.events.envelope import stored_signing_bytes
    from tongxiu.events.models import LEDGER_DEPARTMENT
    from tongxiu.events.signing import verify

    out = set(trusted)
    for body in view.registry_events():
        ev = body.get("event", {})
        if ev.get("type") == "department_key_rotated" and ev.get("department_id") == LEDGER_DEPARTMENT \
                and body.get("department") == LEDGER_DEPARTMENT:
            if any(verify(k, stored_signing_bytes(body), str(body.get("signature", ""))) for k in out):
                out.add(str(ev.get("public_key")))
    return out
