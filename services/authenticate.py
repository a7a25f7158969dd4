"""Who submitted: the write path's authentication of a submission (credit code, registered
department, every signature over the whole submission, impersonation made visible). Used by
:meth:`tongxiu.services.ledger.Ledger.submit` before anything is decided."""

from __future__ import annotations

import functools

from tongxiu.events.codes import check_uscc
from tongxiu.events.envelope import Encoded, Reason, Submission
from tongxiu.events.models import (
    LEDGER_DEPARTMENT,
    REGISTRY_STREAM,
    DepartmentRegistered,
    is_department_stream,
)
from tongxiu.events.signing import verify
from tongxiu.projections.views import RegistryState
from tongxiu.services.decide import reason
from tongxiu.services.key_lifecycle import revoked_key_reason

_checked_uscc = functools.lru_cache(maxsize=4096)(check_uscc)
""":func:`check_uscc` (pure) remembered for the streams seen recently: every submission to an
enterprise checks its code again."""


def authenticate(submission: Submission, registry: RegistryState, encoded: Encoded | None = None) -> list[Reason]:
    """The reasons ``submission`` is not the claimed department's own (empty if it is): a
    valid credit code (or a legacy one, declared), a registered department, and every
    signature verified with its key over the whole submission; a signature made with another
    registered department's key is named as impersonation. ``encoded``: the submission's
    events already in their JSON form (:meth:`Submission.encoded`), so none is dumped again."""
    if submission.stream != REGISTRY_STREAM and not is_department_stream(submission.stream):
        check = _checked_uscc(submission.stream)
        if not check.valid and not submission.legacy_code:
            return [
                reason(
                    "credit_code_invalid",
                    "stream",
                    f"{submission.stream!r} 不是有效的统一社会信用代码（GB 32100-2015）：{check.reason}；"
                    "旧代码须以 legacy_code=true 提交",
                )
            ]
    info = registry.departments.get(submission.department)
    digest = encoded.digest if encoded is not None else submission.digest()
    if info is None:
        first = submission.events[0].event
        bootstrapping = (
            not registry.departments
            and isinstance(first, DepartmentRegistered)
            and first.department_id == submission.department == LEDGER_DEPARTMENT
        )
        if not bootstrapping:
            out = [reason("unknown_department", "department", f"部门 {submission.department!r} 未在登记簿中登记")]
            return out + _impersonation(submission, registry, digest, only_first=True)
        assert isinstance(first, DepartmentRegistered)  # bootstrapping says so
        public_key = first.public_key
    else:
        public_key = info.public_key
    out = []
    for i, signed in enumerate(submission.events):
        if not verify(public_key, submission.signed_bytes(i, digest, encoded), signed.signature):
            revoked = revoked_key_reason(submission, registry, i, digest)  # issue 9
            other = None if revoked else _signer(submission, registry, digest, i)
            if revoked is not None:
                out.append(revoked)
            elif other is not None:
                out.append(_other_department(submission, i, other))
            else:
                out.append(
                    reason(
                        "signature_invalid",
                        f"events[{i}].signature",
                        f"签名无法用部门 {submission.department} 登记的公钥验证（签名须覆盖整个提交："
                        "编号、部门、企业、时间和全部事实及其顺序，签名格式 2）",
                    )
                )
    return out


def _signer(submission: Submission, registry: RegistryState, digest: str, index: int) -> str | None:
    """The registered department (other than the claimed one) whose key this signature
    verifies with: an impersonation attempt, made visible."""
    signed = submission.events[index]
    message = submission.signed_bytes(index, digest)
    for dept, info in sorted(registry.departments.items()):
        if dept != submission.department and verify(info.public_key, message, signed.signature):
            return dept
    return None


def _impersonation(
    submission: Submission, registry: RegistryState, digest: str, *, only_first: bool = False
) -> list[Reason]:
    out = []
    for i in range(1 if only_first else len(submission.events)):
        other = _signer(submission, registry, digest, i)
        if other is not None:
            out.append(_other_department(submission, i, other))
    return out


def _other_department(submission: Submission, index: int, other: str) -> Reason:
    return reason(
        "signature_of_other_department",
        f"events[{index}].signature",
        f"以部门 {submission.department} 的名义提交，签名却是部门 {other} 的密钥所签：冒用他人名义，已记录",
        signed_by=other,
        claimed=submission.department,
    )
