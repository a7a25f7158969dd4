"""Supervision of enforcers (执法监督) on a department's own stream, and inspections of
enterprises (涉企检查). Part of :mod:`tongxiu.events.models`."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import (
    Field,
)

from tongxiu.events.facts_base import (
    Fact,
    NonEmpty,
)

# --------------------------------------------------------------------------- supervision of enforcers
# 执法监督: a supervising body (a 司法行政 department designated in the registry) reviews case
# files and records findings on the supervised department's own stream (``dept:<id>``); the
# department answers with rectification evidence and the supervisor verifies or rejects — the
# same evidence → verdict → closed / overdue loop as enterprise rectification. Inspections of
# enterprises (涉企检查) sit on the enterprise's stream.

DEPARTMENT_STREAM_PREFIX = "dept:"
"""A department's own stream (findings and complaints about it): ``dept:<department_id>``."""


def department_stream(department_id: str) -> str:
    return DEPARTMENT_STREAM_PREFIX + department_id


def is_department_stream(stream: str) -> bool:
    return stream.startswith(DEPARTMENT_STREAM_PREFIX)


DeptId = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_.-]{1,63}$")]
RefId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[^/]+$")]
FindingSource = Literal["case_review", "escorted", "station", "self_check", "cross_check", "complaint"]


class SupervisorDesignated(Fact):
    """The operator gives a registered 司法行政 department the supervisor role over an area."""

    type: Literal["supervisor_designated"] = "supervisor_designated"
    department_id: DeptId
    jurisdiction: Annotated[str, Field(pattern=r"^[0-9]{2,6}$")] = Field(
        description="area code prefix it supervises (GB/T 2260), e.g. 4107 (Xinxiang)"
    )
    basis: NonEmpty = Field(description="e.g. the appointment document")


class CaseFileReviewed(Fact):
    """案卷评查: one case file of the department reviewed by the supervisor."""

    type: Literal["case_file_reviewed"] = "case_file_reviewed"
    review_id: RefId
    case_ref: NonEmpty = Field(description="the reviewed file, e.g. the decision number")
    campaign: NonEmpty = Field(description="the review campaign, e.g. 2025年度案卷评查")
    problems_found: Annotated[int, Field(ge=0)] = 0


class SupervisionFindingRaised(Fact):
    """A problem found in the department's enforcement, to be rectified by a deadline (限期整改)."""

    type: Literal["supervision_finding_raised"] = "supervision_finding_raised"
    finding_id: RefId
    source: FindingSource = Field(
        description="case_review 案卷评查 / escorted 伴随式 / station 驻站式 / self_check 自查 / "
        "cross_check 交叉互查 / complaint 投诉线索"
    )
    category: NonEmpty = Field(description="e.g. 三项制度, 程序不规范, 文书瑕疵")
    description: NonEmpty
    deadline: date
    review_id: str | None = Field(default=None, description="the case_file_reviewed it came from (case_review)")
    complaint_id: str | None = Field(default=None, description="the complaint it came from (complaint)")
    inspection_ref: str | None = Field(default=None, description="enterprise/inspection_id escorted (伴随式)")


class FindingRectificationSubmitted(Fact):
    type: Literal["finding_rectification_submitted"] = "finding_rectification_submitted"
    finding_id: NonEmpty
    evidence: NonEmpty
    documents: list[NonEmpty] = Field(default_factory=list)


class FindingVerified(Fact):
    """核账、销账: the supervisor accepts the rectification; the finding is closed."""

    type: Literal["finding_verified"] = "finding_verified"
    finding_id: NonEmpty
    note: str = ""


class FindingRejected(Fact):
    type: Literal["finding_rejected"] = "finding_rejected"
    finding_id: NonEmpty
    reason: NonEmpty


class FindingOverdue(Fact):
    type: Literal["finding_overdue"] = "finding_overdue"
    finding_id: NonEmpty
    deadline: date


ComplaintChannel = Literal["12345", "qr_code", "phone", "email", "letter", "online"]


class ComplaintReceived(Fact):
    """A complaint or lead about the department (12345 热线, 执法问题征集二维码 …); the ledger sets
    its reply deadline in working days from receipt (local policy)."""

    type: Literal["complaint_received"] = "complaint_received"
    complaint_id: RefId
    channel: ComplaintChannel
    category: NonEmpty = Field(description="e.g. 趋利性执法, 选择性执法, 多头检查, 随意检查")
    summary: NonEmpty
    about_ref: str | None = Field(default=None, description="a decision or inspection it concerns")


class ComplaintAssigned(Fact):
    type: Literal["complaint_assigned"] = "complaint_assigned"
    complaint_id: NonEmpty
    note: str = ""


class ComplaintResolved(Fact):
    type: Literal["complaint_resolved"] = "complaint_resolved"
    complaint_id: NonEmpty
    outcome: Literal["substantiated", "partly_substantiated", "unsubstantiated"]
    reply: NonEmpty


class ComplaintOverdue(Fact):
    type: Literal["complaint_overdue"] = "complaint_overdue"
    complaint_id: NonEmpty
    deadline: date


class InspectionStarted(Fact):
    """涉企检查 begun: who inspects (one department, or a joint 综合查一次), which officers
    (执法证号), whether they showed the inspection code (亮码), under which plan."""

    type: Literal["inspection_started"] = "inspection_started"
    inspection_id: RefId
    departments: Annotated[list[DeptId], Field(min_length=1, max_length=20)] = Field(
        description="the inspecting departments, the submitter first"
    )
    officers: Annotated[list[Annotated[str, Field(min_length=4, max_length=32)]], Field(min_length=1, max_length=20)] = Field(
        description="the officers' enforcement certificate numbers (执法证号)"
    )
    code: str | None = Field(default=None, max_length=64, description="the inspection task code (检查码)")
    code_shown: bool = Field(description="亮码: the code was shown to the enterprise before entering")
    plan_ref: str | None = Field(default=None, max_length=128, description="the inspection plan (无计划不检查)")
    joint: bool = Field(description="综合查一次 / 联合检查: more than one department at one visit")
    mode: Literal["on_site", "remote"] = "on_site"
    items: list[NonEmpty] = Field(default_factory=list)


class InspectionEnded(Fact):
    type: Literal["inspection_ended"] = "inspection_ended"
    inspection_id: NonEmpty
    outcome: Literal["no_problem", "problems_found", "case_opened"]
    note: str = ""


class InspectionRated(Fact):
    """扫码评价: the enterprise's evaluation, carried by a platform (not by the inspectors)."""

    type: Literal["inspection_rated"] = "inspection_rated"
    inspection_id: NonEmpty
    score: Annotated[int, Field(ge=1, le=5)]
    comment: str = Field(default="", max_length=2000)
