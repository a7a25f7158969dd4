"""The transparency log (issue 9): every accepted event and every recorded rejection is a leaf
of an append-only Merkle tree (RFC 9162, :mod:`tongxiu.events.merkle`); the ledger signs checkpoints
of it; receipts carry their leaf indices and a checkpoint including them; proofs are served
later; the log is checked against the stored data (:func:`verify_log`) and a department's kept
receipts and checkpoints are checked against the ledger (:func:`audit_store`).
"""

from __future__ import annotations

import abc
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tongxiu.events import merkle
from tongxiu.events.construct import trusted
from tongxiu.events.envelope import Receipt
from tongxiu.events.signing import KeyPair
from tongxiu.events.tlog import (
    Checkpoint,
    ReceiptLog,
    digest_text,
    event_leaf_data,
    rejection_leaf_data,
    sign_checkpoint,
)
from tongxiu.services.ports import EventLog
from tongxiu.services.problems import Problem, problem


@dataclass(frozen=True)
class LeafEntry:
    index: int
    hash: bytes
    kind: str
    ref: str


class TransparencyLog(abc.ABC):
    """The stored tree (written by the event and rejection adapters inside their appends)."""

    @abc.abstractmethod
    def head(self) -> tuple[int, bytes]:
        """(size, root) of the tree as stored now."""

    @abc.abstractmethod
    def leaf_hashes(self, size: int) -> list[bytes]:
        """The first ``size`` leaf hashes in order."""

    @abc.abstractmethod
    def nodes(self, keys: Sequence[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
        """Stored complete subtrees by (level, index) (level 0: leaf hashes), for proofs that
        read O(log n) of them (:class:`tongxiu.events.merkle.StoredTree`)."""

    @abc.abstractmethod
    def entries(self, *, start: int = 0, limit: int = 1000) -> list[LeafEntry]: ...

    def recent_head(self) -> tuple[int, bytes]:
        """A committed head that includes every leaf this adapter appended (default: the
        current one); a store may answer without a round trip."""
        return self.head()

    def complete(self, stream: str | None = None) -> int:
        """Give committed facts whose writer died before their leaves (a store where the event
        commit and the leaf append are two steps) their leaves, for one stream or all; returns
        how many leaves were added. Where both are one transaction (SQLite), nothing to do."""
        return 0

    @abc.abstractmethod
    def locate(self, ref: str) -> int | None:
        """The leaf index of an event id / a rejection's receipt digest."""

    @abc.abstractmethod
    def save_checkpoint(self, checkpoint: Checkpoint) -> None: ...

    @abc.abstractmethod
    def checkpoints(self) -> list[Checkpoint]: ...

    @abc.abstractmethod
    def rejection_rows(self) -> list[tuple[str, str]]:
        """(receipt JSON, submission JSON) of every recorded rejection, as stored."""


class Transparency:
    """The ledger's side: checkpoints, receipt log parts, proofs."""

    def __init__(self, tlog: TransparencyLog, key: KeyPair, now: Callable[[], datetime]) -> None:
        self.tlog = tlog
        self.now = now
        self.use_key(key)

    def use_key(self, key: KeyPair) -> None:
        """Sign with ``key`` from now on (the ledger key was rotated)."""
        from nacl.bindings import crypto_sign, crypto_sign_BYTES, crypto_sign_seed_keypair

        self.key = key
        # the expanded secret key built once: a checkpoint is signed per receipt
        _, secret = crypto_sign_seed_keypair(bytes.fromhex(key.private_key))
        self._sign: Callable[[bytes], str] = lambda message: crypto_sign(message, secret)[:crypto_sign_BYTES].hex()

    def checkpoint(self, *, save: bool = False, recent: bool = False) -> Checkpoint:
        """A checkpoint signed now; ``save``: also recorded (``tongxiu checkpoint``, ``tick``),
        after completing the leaves of any fact whose writer died before appending them;
        ``recent``: of :meth:`TransparencyLog.recent_head` (a receipt's)."""
        if save:
            self.tlog.complete()
        size, root = self.tlog.recent_head() if recent else self.tlog.head()
        cp = sign_checkpoint(self._sign, self.key.public_key, size, root.hex(), self.now())
        if save:
            self.tlog.save_checkpoint(cp)
        return cp

    def receipt_log(self, receipt: Receipt, *, submission_json: str | None = None) -> Receipt:
        """The receipt with its leaves and a checkpoint that includes them."""
        return self.receipt_logs([(receipt, submission_json)])[0]

    def receipt_logs(self, receipts: Sequence[tuple[Receipt, str | None]]) -> list[Receipt]:
        """Each receipt with its leaves and ONE checkpoint, signed once, that includes the leaves
        of them all (a group commit's receipts: the head after the group's last append). A
        receipt whose leaves are not all found is returned as it is."""
        found: list[list[int] | None] = []
        last = -1
        for receipt, _ in receipts:
            leaves = self._leaves(receipt)
            found.append(leaves)
            if leaves:
                last = max(last, max(leaves))
        if last < 0:
            return [r for r, _ in receipts]
        cp = self.checkpoint(recent=True)
        if cp.size <= last:  # appended by another adapter instance: sign the current head
            cp = self.checkpoint()
        out = []
        for (receipt, submission_json), leaves in zip(receipts, found, strict=True):
            if not leaves:
                out.append(receipt)
                continue
            part = trusted(  # the ledger's own values: not validated again
                ReceiptLog,
                leaves=leaves,
                checkpoint=cp,
                submission_digest=None if submission_json is None else digest_text(submission_json),
            )
            out.append(receipt.model_copy(update={"log": part}))
        return out

    def _leaves(self, receipt: Receipt) -> list[int] | None:
        """The receipt's leaf indices (its events', or its rejection's), None unless all are found."""
        if receipt.accepted:
            refs = [e.event_id for e in receipt.events]
        else:
            refs = [digest_text(receipt.model_dump_json())]
        found = [self.tlog.locate(r) for r in refs]
        if None in found and receipt.accepted:  # e.g. a duplicate of a submission whose writer died
            self.tlog.complete(receipt.stream)
            found = [self.tlog.locate(r) for r in refs]
        leaves = [i for i in found if i is not None]
        return leaves if leaves and len(leaves) == len(refs) else None

    def tree(self, size: int) -> merkle.StoredTree:
        """The tree of the first ``size`` leaves, read node by node (O(log n) per proof)."""
        return merkle.StoredTree(size, self.tlog.nodes)

    def inclusion(self, index: int, size: int) -> list[str]:
        return [h.hex() for h in self.tree(size).inclusion_proof(index, size)]

    def consistency(self, first: int, second: int) -> list[str]:
        return [h.hex() for h in self.tree(second).consistency_proof(first, second)]


# ---------------------------------------------------------------------------- ledger-side check


@dataclass
class LogCheck:
    ok: bool = True
    leaves: int = 0
    problems: list[Problem] = field(default_factory=list)
    """Each with a stable ``code``; ``str(p)`` / ``p.text(lang)`` is what a person reads."""

    def fail(self, found: Problem) -> None:
        self.ok = False
        self.problems.append(found)

    def as_dict(self) -> dict[str, Any]:
        """The result as JSON data (``tongxiu verify-log --json``)."""
        return {**self.__dict__, "problems": [p.as_dict() for p in self.problems]}


def verify_log(tlog: TransparencyLog, log: EventLog, *, page: int = 5000) -> LogCheck:
    """Every stored event and rejection is the leaf the tree holds for it, every leaf is a stored
    fact, every stored complete-subtree node (what proofs are read from) is the hash of the
    leaves below it, and the stored head is the root of the stored leaves.

    Memory: one expected leaf hash per event (not the events), one frontier for the tree."""
    from tongxiu.services.audit import stored_hash

    out = LogCheck()
    events: dict[str, tuple[bytes, str, int]] = {}
    after = 0
    while True:
        chunk = log.read_all(after=after, limit=page)
        if not chunk:
            break
        for s in chunk:
            body = json.loads(s.raw)
            data = event_leaf_data(stream=body["stream"], seq=body["seq"], event_id=s.envelope.event_id,
                                   hash=stored_hash(body)[1])
            events[s.envelope.event_id] = (merkle.leaf_hash(data), body["stream"], body["seq"])
        after = chunk[-1].position
    rejections: dict[str, tuple[bytes, str]] = {}
    for r, sub in tlog.rejection_rows():
        receipt = Receipt.model_validate_json(r).model_dump(mode="json")
        rejections[digest_text(r)] = (merkle.leaf_hash(rejection_leaf_data(receipt, digest_text(sub))),
                                      f"{receipt['department']}/{receipt['submission_id']}")
    seen: set[str] = set()
    frontier: list[bytes] = []
    n = 0
    start = 0
    while True:
        entries = tlog.entries(start=start, limit=page)
        if not entries:
            break
        made: list[tuple[int, int, bytes]] = []
        for e in entries:
            if e.index != n:
                out.fail(problem("leaf_gap", index=n))
            frontier, nodes = merkle.frontier_append_nodes(frontier, n, e.hash)
            made.extend(nodes)
            n += 1
            seen.add(e.ref)
            if e.kind == "event":
                found = events.get(e.ref)
                if found is None:
                    out.fail(problem("event_not_in_log", index=e.index, event_id=e.ref))
                elif found[0] != e.hash:
                    out.fail(problem("event_differs", index=e.index, event_id=e.ref, stream=found[1], seq=found[2]))
            else:
                row = rejections.get(e.ref)
                if row is None:
                    out.fail(problem("rejection_gone", index=e.index, ref=e.ref[:12]))
                elif row[0] != e.hash:
                    out.fail(problem("rejection_differs", index=e.index, what=row[1]))
        stored = tlog.nodes([(lv, i) for lv, i, _ in made])
        for lv, i, h in made:
            if stored.get((lv, i)) != h:
                out.fail(problem("node_wrong", level=lv, index=i))
        start = entries[-1].index + 1
    for event_id, (_, stream, seq) in events.items():
        if event_id not in seen:
            out.fail(problem("event_not_leaf", event_id=event_id, stream=stream, seq=seq))
    for ref, (_, what) in rejections.items():
        if ref not in seen:
            out.fail(problem("rejection_not_leaf", what=what))
    size, root = tlog.head()
    out.leaves = n
    if size != n or merkle.frontier_root(frontier) != root:
        out.fail(problem("head_wrong", size=size, leaves=n))
    return out


def checkpoint_lines(checkpoints: Sequence[Checkpoint]) -> list[dict[str, Any]]:
    return [{"size": c.size, "root": c.root, "time": c.time.isoformat(), "cosigned": len(c.cosignatures)} for c in checkpoints]
