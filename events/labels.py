"""Chinese names of event types and China-time formatting, for everything a person reads.

Pages, the CLI's tables and exported CSV show event types by these names (行政处罚决定书 …),
never by their code identifiers, and show instants in China time (UTC+8), the time the
civil servants who read them work in. English names are kept beside them for ``--lang en``.
A unit test checks that every event type in :mod:`tongxiu.events.models` has both.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

#: China Standard Time, UTC+8 (the same as ``tongxiu.projections.workdays.CHINA``).
CHINA = timezone(timedelta(hours=8))

#: type -> (中文名, English name)
EVENT_TYPE_NAMES: dict[str, tuple[str, str]] = {
    "department_registered": ("部门登记", "Department registered"),
    "department_key_rotated": ("部门密钥轮换", "Department key rotated"),
    "department_key_revoked": ("部门密钥吊销", "Department key revoked"),
    "subscription_added": ("订阅登记", "Subscription added"),
    "subscription_removed": ("订阅撤销", "Subscription removed"),
    "legacy_code_registered": ("旧代码登记", "Legacy code registered"),
    "backfill_authorized": ("补录授权", "Backfill authorized"),
    "penalty_decided": ("行政处罚决定书", "Penalty decision"),
    "no_penalty_decided": ("不予行政处罚决定书", "No-penalty decision"),
    "compliance_advice_issued": ("行政合规建议书", "Compliance advice"),
    "credit_repair_notice_issued": ("信用修复告知书", "Credit-repair notice"),
    "penalty_fulfilled": ("行政处罚履行完毕", "Penalty fulfilled"),
    "rectification_evidence_submitted": ("整改材料提交", "Rectification evidence submitted"),
    "rectification_verified": ("整改验收通过", "Rectification verified"),
    "rectification_rejected": ("整改验收不通过", "Rectification rejected"),
    "repair_applied": ("信用修复申请", "Repair applied for"),
    "repair_accepted": ("信用修复申请受理", "Repair application accepted"),
    "repair_extended": ("信用修复办理延期", "Repair decision extended"),
    "repair_forwarded": ("信用修复申请转送", "Repair application forwarded"),
    "repair_not_accepted": ("信用修复申请不予受理", "Repair application not accepted"),
    "repair_granted": ("准予信用修复决定", "Repair granted"),
    "repair_refused": ("不予信用修复决定", "Repair refused"),
    "repair_revoked": ("撤销信用修复决定", "Repair revoked"),
    "decision_withdrawn": ("行政处罚决定撤销", "Decision withdrawn"),
    "credit_list_included": ("列入信用名单", "Included in a credit list"),
    "credit_list_removed": ("移出信用名单", "Removed from a credit list"),
    "propagation_scheduled": ("修复结果同步下发", "Propagation scheduled"),
    "delivery_acknowledged": ("修复结果接收确认", "Delivery acknowledged"),
    "repair_eligibility_reached": ("达到信用修复条件", "Repair eligibility reached"),
    "publicity_expired": ("公示期届满", "Publicity expired"),
    "rectification_overdue": ("整改逾期", "Rectification overdue"),
    "sync_overdue": ("修复同步逾期", "Sync overdue"),
    "supervisor_designated": ("监督机构指定", "Supervisor designated"),
    "case_file_reviewed": ("案卷评查", "Case file reviewed"),
    "supervision_finding_raised": ("监督意见提出", "Supervision finding raised"),
    "finding_rectification_submitted": ("监督意见整改报送", "Finding rectification submitted"),
    "finding_verified": ("监督意见整改验收通过", "Finding verified"),
    "finding_rejected": ("监督意见整改验收不通过", "Finding rejected"),
    "finding_overdue": ("监督意见整改逾期", "Finding overdue"),
    "complaint_received": ("投诉举报受理", "Complaint received"),
    "complaint_assigned": ("投诉举报交办", "Complaint assigned"),
    "complaint_resolved": ("投诉举报办结", "Complaint resolved"),
    "complaint_overdue": ("投诉举报办理逾期", "Complaint overdue"),
    "inspection_started": ("涉企检查开始", "Inspection started"),
    "inspection_ended": ("涉企检查结束", "Inspection ended"),
    "inspection_rated": ("涉企检查评价", "Inspection rated"),
}

LANGS = ("zh", "en")


def event_type_name(event_type: str, lang: str = "zh") -> str:
    """The name a person reads for ``event_type``; an unknown type shows as itself."""
    names = EVENT_TYPE_NAMES.get(event_type)
    if names is None:
        return event_type
    return names[0] if lang != "en" else names[1]


def china_time(at: datetime, *, seconds: bool = True) -> str:
    """``at`` as China time, ``2026-12-01 09:30:05`` (no offset shown: every time a person
    reads in Tongxiu is China time, and pages say so once in their footer)."""
    if at.tzinfo is None:
        raise ValueError("china_time needs a timezone-aware instant")
    return at.astimezone(CHINA).strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")
