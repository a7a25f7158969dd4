"""What the transparency log's leaves are, and its signed checkpoints (RFC 9162 signed tree
heads) with their witness cosignatures. Pure: an offline verifier needs only this module,
:mod:`tongxiu.events.merkle` and an Ed25519 library (the format is in docs/verification.md).

Leaf data (the bytes hashed as ``SHA-256(0x00 || data)``), canonical JSON (keys sorted, no
white space, UTF-8):

- accepted event: ``{"event_id", "hash", "kind": "event", "seq", "stream"}`` — ``hash`` is the
  envelope's hash, which covers every field of the stored event (times, signature, chain link);
- recorded rejection: ``{"kind": "rejection", "receipt": <the rejection receipt as JSON, without
  its "log" part>, "submission": <SHA-256 of the stored submission record>}``.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from tongxiu.events.construct import trusted
from tongxiu.events.fastjson import canonical_bytes
from tongxiu.events.signing import verify

LOG_ID = "tongxiu"
CHECKPOINT_PREFIX = b"tongxiu-checkpoint/v1\n"
COSIGN_PREFIX = b"tongxiu-cosignature/v1\n"


def _canonical(obj: Any) -> bytes:
    """``json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)`` in UTF-8
    (orjson where it gives the same bytes: :mod:`tongxiu.events.fastjson`)."""
    return canonical_bytes(obj)


def event_leaf_data(*, stream: str, seq: int, event_id: str, hash: str) -> bytes:
    return _canonical({"kind": "event", "stream": stream, "seq": seq, "event_id": event_id, "hash": hash})


def rejection_leaf_data(receipt: dict[str, Any], submission_digest: str) -> bytes:
    core = {k: v for k, v in receipt.items() if k != "log"}
    return _canonical({"kind": "rejection", "receipt": core, "submission": submission_digest})


def digest_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class Cosignature(BaseModel):
    model_config = ConfigDict(frozen=True)
    witness: str
    key: str = Field(description="the witness's Ed25519 public key, hex")
    signature: str


class Checkpoint(BaseModel):
    """A signed tree head: the log had ``size`` leaves with root ``root`` at ``time``."""

    model_config = ConfigDict(frozen=True)
    log: str = LOG_ID
    size: int = Field(ge=0)
    root: str = Field(pattern=r"^[0-9a-f]{64}$")
    time: datetime
    key: str = Field(description="the ledger's Ed25519 public key, hex")
    algorithm: str = "ed25519"
    signature: str
    cosignatures: list[Cosignature] = Field(default_factory=list)

    def body(self) -> bytes:
        return checkpoint_body(self.log, self.size, self.root, self.time, self.key)

    def verify(self, ledger_keys: set[str] | None = None) -> bool:
        """The ledger's signature checks (and the key is one of ``ledger_keys`` when given)."""
        if ledger_keys is not None and self.key not in ledger_keys:
            return False
        return verify(self.key, CHECKPOINT_PREFIX + self.body(), self.signature)

    def cosigned_by(self, witness_keys: dict[str, str]) -> set[str]:
        """The witnesses (of ``witness_keys``: name -> public key) whose cosignature checks."""
        out = set()
        for c in self.cosignatures:
            if witness_keys.get(c.witness) == c.key and verify(c.key, COSIGN_PREFIX + self.body(), c.signature):
                out.add(c.witness)
        return out

    def to_file(self) -> str:
        return self.model_dump_json(indent=2) + "\n"


def checkpoint_body(log: str, size: int, root: str, time: datetime, key: str) -> bytes:
    stamp = time.isoformat().replace("+00:00", "Z")
    return _canonical({"log": log, "size": size, "root": root, "time": stamp, "key": key})


def sign_checkpoint(private_sign: Any, public_key: str, size: int, root: str, time: datetime) -> Checkpoint:
    """``private_sign``: a callable signing bytes (``KeyPair.sign``). The values are the
    ledger's own (a tree head it computed, its clock, its key): the checkpoint is built
    without validating them again (one is signed per receipt)."""
    body = checkpoint_body(LOG_ID, size, root, time, public_key)
    return trusted(
        Checkpoint,
        log=LOG_ID, size=size, root=root, time=time, key=public_key, algorithm="ed25519",
        signature=private_sign(CHECKPOINT_PREFIX + body), cosignatures=[],
    )


def cosign(checkpoint: Checkpoint, witness: str, private_sign: Any, public_key: str) -> Checkpoint:
    """The checkpoint with ``witness``'s cosignature added (a witness cosigns only after it
    checked the checkpoint is consistent with the last one it cosigned)."""
    sig = Cosignature(witness=witness, key=public_key, signature=private_sign(COSIGN_PREFIX + checkpoint.body()))
    kept = [c for c in checkpoint.cosignatures if c.witness != witness]
    return checkpoint.model_copy(update={"cosignatures": [*kept, sig]})


class ReceiptLog(BaseModel):
    """Where a receipt's facts sit in the transparency log: their leaf indices and a checkpoint
    that includes them (``checkpoint.size`` > every index). Proofs: ``tongxiu proof``."""

    model_config = ConfigDict(frozen=True)
    leaves: list[int]
    checkpoint: Checkpoint
    submission_digest: str | None = None
    """Rejections: SHA-256 of the recorded submission (part of the rejection's leaf)."""
