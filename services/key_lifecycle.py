"""Department key lifecycle (issue 9): what the ledger checks for a rotation or revocation
fact, and the reason it gives a submission signed with a revoked key."""

from __future__ import annotations

from tongxiu.events.envelope import Reason, Submission
from tongxiu.events.models import LEDGER_DEPARTMENT, DepartmentKeyRevoked, DepartmentKeyRotated
from tongxiu.events.signing import verify
from tongxiu.projections.views import RegistryState
from tongxiu.services.reasons import reason


def check_key_change(
    ev: DepartmentKeyRotated | DepartmentKeyRevoked, dept: str, registry: RegistryState, where: str
) -> list[Reason]:
    if dept != LEDGER_DEPARTMENT:
        return [reason("not_authorized", "department", f"只有账本运营方可以登记 {ev.type}（密钥轮换、吊销由运营方签署）")]
    info = registry.departments.get(ev.department_id)
    if info is None:
        return [reason("unknown_department", f"{where}.department_id", f"{ev.department_id} 未注册")]
    known = {w.public_key for w in info.keys} | {info.public_key}
    if isinstance(ev, DepartmentKeyRotated):
        if ev.public_key in known:
            return [reason("duplicate_reference", f"{where}.public_key",
                           f"该公钥已是 {ev.department_id} 用过的密钥：轮换须换用新密钥")]
        return []
    if ev.public_key not in known:
        return [reason("unknown_reference", f"{where}.public_key", f"该公钥不是 {ev.department_id} 的密钥")]
    if info.revoked(ev.public_key) is not None:
        return [reason("duplicate_reference", f"{where}.public_key", f"该公钥已被吊销（{ev.department_id}）")]
    return []


def revoked_key_reason(submission: Submission, registry: RegistryState, index: int, digest: str) -> Reason | None:
    """``key_revoked`` when the signature checks with one of the department's revoked keys."""
    info = registry.departments.get(submission.department)
    if info is None:
        return None
    message = submission.signed_bytes(index, digest)
    for w in info.keys:
        if w.revoked and verify(w.public_key, message, submission.events[index].signature):
            when = w.valid_until.isoformat() if w.valid_until else "?"
            return reason("key_revoked", f"events[{index}].signature",
                          f"签名所用密钥已于 {when} 被吊销（部门 {submission.department}）：吊销后签署的提交一律不予接收",
                          revoked_at=when)
    return None


def rotate_ledger_key(app: object, new: object, reason_text: str) -> object:
    """Announce the ledger's new key in the registry (signed with the current key), then sign
    with the new one. The caller stores the new key (``tongxiu rotate-ledger-key`` does)."""
    from tongxiu.events.envelope import Receipt
    from tongxiu.events.models import REGISTRY_STREAM
    from tongxiu.events.signing import KeyPair
    assert isinstance(new, KeyPair)
    ledger = app.ledger  # type: ignore[attr-defined]
    receipt: Receipt = ledger.emit(
        REGISTRY_STREAM,
        [DepartmentKeyRotated(department_id=LEDGER_DEPARTMENT, public_key=new.public_key, reason=reason_text)],
        submission_id=f"rotate-ledger-key:{new.public_key[:16]}",
    )
    if receipt.accepted:
        ledger.key = new
        if ledger.transparency is not None:
            ledger.transparency.use_key(new)
    return receipt
