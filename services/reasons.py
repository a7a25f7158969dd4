"""The catalogue of reason codes a rejection can carry, and :func:`reason`, which builds one.
Tests assert that every code is reachable (tests/unit/test_write_path.py)."""

from __future__ import annotations

from tongxiu.events.envelope import Reason
from tongxiu.events.wire import WIRE_CODES
from tongxiu.services.supervision_rules import SUPERVISION_REASON_CODES

# Every code a rejection can carry; tests assert each one is reachable.
REASON_CODES = {
    "schema_invalid": "the submission does not match the event schema",
    "credit_code_invalid": "the unified social credit code fails GB 32100-2015",
    "unknown_department": "the department is not registered",
    "signature_invalid": "the Ed25519 signature does not verify with the department's key",
    "signature_of_other_department": "the signature verifies with another registered department's key (impersonation)",
    **WIRE_CODES,
    "wrong_stream": "the fact does not belong on this stream",
    "not_authorized": "the department may not decide this (谁认定、谁修复)",
    "unknown_reference": "the decision, advice item or delivery referred to does not exist",
    "duplicate_reference": "the number is already used on this enterprise",
    "rule_set_not_in_force": "the decision's rule set was not in force on its decision date",
    "decision_inconsistent": "the penalty types, amounts and procedure contradict each other",
    "notice_mismatch": "the notice's periods disagree with the rules",
    "insufficient_payment": "the amount paid is less than the fine and confiscation",
    "item_closed": "the rectification item is already closed",
    "no_evidence": "no rectification evidence has been submitted yet",
    "not_publicized": "the record is not publicized, there is nothing to repair",
    "repair_too_early": "the minimum publicity period has not passed",
    "early_end_forbidden": "this penalty's publicity can never be ended early",
    "repair_locked_out": "a local lock-out after earlier repairs applies",
    "application_pending": "an application for this decision is already pending",
    "no_pending_application": "there is no pending repair application to decide",
    "obligations_not_performed": "the obligations of the decision are not performed",
    "rectification_not_verified": "not every rectification item is verified by every owner",
    "not_repaired": "the record is not repaired",
    "decision_withdrawn": "the decision was withdrawn",
    "already_acknowledged": "this delivery was already acknowledged",
    "rule_set_mismatch": "the declared rule set is not the one the ledger derives (decision date, domain)",
    "occurred_in_future": "a date or time lies in the ledger's future (beyond the allowed clock skew)",
    "not_repairable": "the rules make this record not repairable; its publicity ends by itself",
    "not_first_violation": "a first_violation basis while a same-kind record is already on file",
    "legacy_code_unregistered": "legacy_code is set but the operator has not registered this code",
    "backfill_not_authorized": "a backfill submission from a department without an open backfill",
    "class_basis_mismatch": "the class basis is not the sector classification standard in force",
    "same_kind_penalty_since": "SAMR: a same-kind penalty was decided since, repair is not available",
    "forwarded_to_wrong_department": "an application is forwarded to a department other than the identifying one",
    "already_forwarded": "the pending application was already forwarded",
    "application_already_accepted": "the pending application was already accepted (受理); it can no longer be "
    "accepted again, forwarded or not accepted",
    "on_credit_list": "SAMR: the enterprise is on the abnormal-operation or the serious illegal and dishonest list",
    "replacement_unknown": "a withdrawal names a replacing decision the ledger does not hold for this enterprise",
    "submission_id_conflict": "the submission_id was already accepted with another body (docs/signing.md §7)",
}
REASON_CODES.update(SUPERVISION_REASON_CODES)  # supervision of enforcers and inspections

#: SAMR 2021 measures: repair of administrative-penalty information needs the enterprise to be on
#: neither of market regulation's lists.
LIST_RULE = "市场监督管理信用修复管理办法（2021）：未在经营异常名录和严重违法失信名单中"
LIST_TITLES = {"abnormal_operation": "经营异常名录", "serious_illegal_dishonest": "严重违法失信名单"}


def reason(code: str, field: str | None, message: str, **detail: object) -> Reason:
    return Reason(code=code, field=field, message=message, detail=dict(detail))
