"""The catalogue of reason codes a rejection can carry, and :func:`reason`, which builds one.
Tests assert that every code is reachable (tests/unit/test_write_path.py)."""

from __future__ import annotations

from tongxiu.events.envelope import Reason
from tongxiu.events.wire import WIRE_CODES, WIRE_CODES_EN
from tongxiu.services.presenters import VALUE_NAMES
from tongxiu.services.supervision_rules import SUPERVISION_REASON_CODES, SUPERVISION_REASON_CODES_EN

# Every code a rejection can carry, with its description in Chinese (the users' language); tests
# assert each one is reachable and that every description and message is Chinese
# (tests/unit/test_reason_language.py).
REASON_CODES = {
    "schema_invalid": "提交内容不符合事实的格式（事件模式）",
    "credit_code_invalid": "统一社会信用代码不符合 GB 32100-2015 的校验规则",
    "unknown_department": "该部门未在账本登记",
    "signature_invalid": "Ed25519 签名不能用该部门登记的公钥验证通过",
    "signature_of_other_department": "签名可用另一已登记部门的公钥验证通过（冒用其他部门名义）",
    **WIRE_CODES,
    "wrong_stream": "该事实不应记在此流上",
    "not_authorized": "该部门无权作出此项操作（谁认定、谁修复）",
    "unknown_reference": "所引用的决定书、整改事项或推送记录不存在",
    "duplicate_reference": "该编号已在该企业名下使用",
    "rule_set_not_in_force": "决定所用的规则集在决定日期时未施行",
    "decision_inconsistent": "处罚种类、金额与程序相互矛盾",
    "notice_mismatch": "告知书载明的期限与规则不符",
    "insufficient_payment": "缴纳金额少于罚款与没收金额之和",
    "item_closed": "该整改事项已销账（已关闭）",
    "no_evidence": "尚未提交整改材料",
    "not_publicized": "该信息未在公示中，没有需要修复的内容",
    "repair_too_early": "最短公示期尚未届满",
    "early_end_forbidden": "该处罚的公示不得提前结束",
    "repair_locked_out": "受地方规定限制：此前已修复，暂不得再次修复",
    "application_pending": "该决定已有待处理的修复申请",
    "no_pending_application": "没有待处理的信用修复申请",
    "obligations_not_performed": "行政处罚决定规定的义务尚未履行完毕",
    "rectification_not_verified": "并非每个整改事项都已由全部责任部门核验",
    "not_repaired": "该信息尚未修复",
    "decision_withdrawn": "该决定已被撤销",
    "already_acknowledged": "该推送已确认接收",
    "rule_set_mismatch": "申报的规则集与账本依决定日期和领域推定的规则集不一致",
    "occurred_in_future": "日期或时间晚于账本当前时间（超出允许的时钟误差）",
    "not_repairable": "依规则该信息不可修复，公示期满自动停止公示",
    "not_first_violation": "以首违为依据，但该企业已有同类违法记录",
    "legacy_code_unregistered": "填写了 legacy_code，但运营方未登记该代码",
    "backfill_not_authorized": "该部门没有开放的历史补录，不能提交补录",
    "class_basis_mismatch": "分类依据不是现行有效的行业分类标准",
    "same_kind_penalty_since": "市场监管总局规定：此后又受到同类行政处罚，不予修复",
    "forwarded_to_wrong_department": "修复申请被转交给认定部门以外的部门",
    "already_forwarded": "该待处理申请已经转交",
    "application_already_accepted": "该待处理申请已受理，不能再次受理、转交或不予受理",
    "on_credit_list": "市场监管总局规定：该企业被列入经营异常名录或严重违法失信名单",
    "replacement_unknown": "撤销决定所指的替代决定不在账本该企业名下",
    "submission_id_conflict": "该 submission_id 已以不同内容被接收（docs/signing.md §7）",
}
#: The same descriptions in English (an English view of the catalogue).
REASON_CODES_EN = {
    "schema_invalid": "the submission does not match the event schema",
    "credit_code_invalid": "the unified social credit code fails GB 32100-2015",
    "unknown_department": "the department is not registered",
    "signature_invalid": "the Ed25519 signature does not verify with the department's key",
    "signature_of_other_department": "the signature verifies with another registered department's key (impersonation)",
    **WIRE_CODES_EN,
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
REASON_CODES_EN.update(SUPERVISION_REASON_CODES_EN)


def describe(code: str, lang: str = "zh") -> str:
    """The catalogue's description of ``code`` in ``lang`` ("zh" by default, "en" for English)."""
    return (REASON_CODES_EN if lang == "en" else REASON_CODES)[code]

#: SAMR 2021 measures: repair of administrative-penalty information needs the enterprise to be on
#: neither of market regulation's lists.
LIST_RULE = "市场监督管理信用修复管理办法（2021）：未在经营异常名录和严重违法失信名单中"
LIST_TITLES = {"abnormal_operation": "经营异常名录", "serious_illegal_dishonest": "严重违法失信名单"}


def reason(code: str, field: str | None, message: str, **detail: object) -> Reason:
    return Reason(code=code, field=field, message=message, detail=dict(detail))


def named(kind: str, value: object) -> str:
    """A stored value for a message: its Chinese name with the value itself, ``已修复（repaired）``
    (the value alone when it has no name; ``kind`` is a table of presenters.VALUE_NAMES)."""
    names = VALUE_NAMES.get(kind, {}).get(str(value))
    return f"{names[0]}（{value}）" if names else str(value)
