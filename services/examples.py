"""Worked examples of every submission type, as one coherent story, written to
``docs/examples/`` by ``tongxiu examples``. Signed with the public demo keys (and a public
demo ledger key), so anyone can reproduce and publish them on a fresh ledger created with
that ledger key. System facts (propagation, eligibility, expiry, overdue) are written by the
ledger itself and have no department submission."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from tongxiu.events.envelope import Submission
from tongxiu.events.models import (
    LEDGER_DEPARTMENT,
    REGISTRY_STREAM,
    BackfillAuthorized,
    CaseFileReviewed,
    ComplaintAssigned,
    ComplaintReceived,
    ComplaintResolved,
    CreditListIncluded,
    CreditListRemoved,
    DecisionWithdrawn,
    DeliveryAcknowledged,
    DepartmentKeyRevoked,
    DepartmentKeyRotated,
    DepartmentRegistered,
    Event,
    FindingRectificationSubmitted,
    FindingRejected,
    FindingVerified,
    InspectionEnded,
    InspectionRated,
    InspectionStarted,
    LegacyCodeRegistered,
    NoPenaltyDecided,
    PenaltyFulfilled,
    RectificationEvidenceSubmitted,
    RectificationRejected,
    RectificationVerified,
    RepairAccepted,
    RepairApplied,
    RepairExtended,
    RepairForwarded,
    RepairGranted,
    RepairNotAccepted,
    RepairRefused,
    RepairRevoked,
    SubscriptionAdded,
    SubscriptionRemoved,
    SupervisionFindingRaised,
    SupervisorDesignated,
    department_stream,
)
from tongxiu.events.signing import KeyPair
from tongxiu.projections.fold import Rules
from tongxiu.services.demo import DEPARTMENTS, ENTERPRISE, START, demo_decision_and_advice, demo_key
from tongxiu.services.ledger import event_id_for, sign_submission
from tongxiu.services.sdk import notice_for

LEDGER_DEMO_KEY = KeyPair.from_private("11" * 32)
"""The ledger key the examples' registrations are signed with (public; demo only)."""


def build_examples() -> list[tuple[str, Submission]]:
    """(file stem, signed submission), in an order a fresh ledger accepts them."""
    out: list[tuple[str, Submission]] = []
    clock = {"t": START}

    def add(name: str, dept: str, stream: str, events: list[Event], *, days: float = 1,
            key: KeyPair | None = None) -> Submission:
        clock["t"] = clock["t"] + timedelta(days=days)
        sub = sign_submission(key or demo_key(dept), department=dept, stream=stream,
                              submission_id=f"example-{len(out) + 1:02d}-{name}", occurred_at=clock["t"],
                              events=events)
        out.append((f"{len(out) + 1:02d}_{name}", sub))
        return sub

    for dept_id, title, kind, domain, area in DEPARTMENTS:
        add(f"department_registered_{dept_id}", LEDGER_DEPARTMENT, REGISTRY_STREAM,
            [DepartmentRegistered(department_id=dept_id, name=title, kind=kind, domain=domain,  # type: ignore[arg-type]
                                  jurisdiction=area, public_key=demo_key(dept_id).public_key)],
            key=LEDGER_DEMO_KEY, days=0)
    for dept_id, *_ in DEPARTMENTS:
        add(f"subscription_added_{dept_id}", dept_id, REGISTRY_STREAM, [SubscriptionAdded(jurisdictions=["33"])], days=0)
    add("legacy_code_registered", LEDGER_DEPARTMENT, REGISTRY_STREAM,
        [LegacyCodeRegistered(code="91350203M0001QAY9B", source="厦门市市场监督管理局存量登记数据（不符合校验规则的历史代码）")],
        key=LEDGER_DEMO_KEY, days=0)
    add("backfill_authorized", LEDGER_DEPARTMENT, REGISTRY_STREAM,
        [BackfillAuthorized(department_id="tax-deqing", until=(START + timedelta(days=30)).date(),
                            reason="导入2024-2025年历史处罚记录")],
        key=LEDGER_DEMO_KEY, days=0)
    decision, advice = demo_decision_and_advice()
    notice = notice_for(Rules(), ENTERPRISE, decision, "德市监信修告〔2026〕7号")
    add("penalty_decided_with_advice_and_notice", "samr-deqing", ENTERPRISE, [decision, advice, notice], days=0)
    add("no_penalty_decided", "tax-deqing", ENTERPRISE,
        [NoPenaltyDecided(decision_no="德税不罚〔2026〕3号", party_name="德清县某某化工有限公司",
                          basis="first_violation", violation_kind="未按期申报", legal_basis="《行政处罚法》第三十三条",
                          decision_date=START.date(), waived_fine_yuan=Decimal("2000"))])
    add("penalty_fulfilled", "samr-deqing", ENTERPRISE,
        [PenaltyFulfilled(decision_no=decision.decision_no, amount_paid_yuan=Decimal("62000"),
                          fulfilled_on=(START + timedelta(days=9)).date())], days=8)
    add("rectification_evidence_submitted", "creditchina", ENTERPRISE,
        [RectificationEvidenceSubmitted(advice_no=advice.advice_no, item_id="1", evidence="出厂检验制度及检验记录",
                                        documents=["检验记录-2026-01.pdf"])])
    add("rectification_verified", "samr-deqing", ENTERPRISE,
        [RectificationVerified(advice_no=advice.advice_no, item_id="1", note="现场核查通过")])
    add("rectification_evidence_submitted_item2", "creditchina", ENTERPRISE,
        [RectificationEvidenceSubmitted(advice_no=advice.advice_no, item_id="2", evidence="仓库改造验收照片")])
    add("rectification_rejected", "eco-huzhou", ENTERPRISE,
        [RectificationRejected(advice_no=advice.advice_no, item_id="2", reason="缺少危废转移联单")])
    add("rectification_evidence_resubmitted", "creditchina", ENTERPRISE,
        [RectificationEvidenceSubmitted(advice_no=advice.advice_no, item_id="2", evidence="补充危废转移联单")])
    for dept in ("eco-huzhou", "ema-deqing", "samr-deqing"):
        add(f"rectification_verified_item2_{dept}", dept, ENTERPRISE,
            [RectificationVerified(advice_no=advice.advice_no, item_id="2")], days=0)
    add("credit_list_included", "samr-deqing", ENTERPRISE,
        [CreditListIncluded(list_kind="abnormal_operation", decision_no="德市监异〔2026〕3号",
                            reason="未按规定期限公示年度报告", included_on=(START + timedelta(days=11)).date())])
    add("credit_list_removed", "samr-deqing", ENTERPRISE,
        [CreditListRemoved(list_kind="abnormal_operation", decision_no="德市监移〔2026〕3号",
                           reason="已补报年度报告并公示", removed_on=(START + timedelta(days=20)).date())], days=9)
    add("repair_applied", "creditchina", ENTERPRISE,
        [RepairApplied(decision_no=decision.decision_no, credit_commitment="本企业承诺依法诚信经营",
                       applied_on=(START + timedelta(days=95)).date())], days=70)
    add("repair_not_accepted", "creditchina", ENTERPRISE,
        [RepairNotAccepted(decision_no=decision.decision_no, reason="未上传信用承诺书，不予受理")], days=0.02)
    add("repair_applied_with_materials", "creditchina", ENTERPRISE,
        [RepairApplied(decision_no=decision.decision_no, credit_commitment="本企业承诺依法诚信经营",
                       materials=["信用承诺书.pdf"], applied_on=(START + timedelta(days=95)).date())], days=0.02)
    add("repair_forwarded", "creditchina", ENTERPRISE,
        [RepairForwarded(decision_no=decision.decision_no, forwarded_to="samr-deqing")], days=0.02)
    add("repair_refused", "samr-deqing", ENTERPRISE,
        [RepairRefused(decision_no=decision.decision_no, reason="信用承诺书未签章")])
    add("repair_applied_again", "creditchina", ENTERPRISE,
        [RepairApplied(decision_no=decision.decision_no, credit_commitment="本企业承诺依法诚信经营（已签章）",
                       applied_on=(START + timedelta(days=97)).date())])
    add("repair_forwarded_again", "creditchina", ENTERPRISE,
        [RepairForwarded(decision_no=decision.decision_no, forwarded_to="samr-deqing")], days=0.02)
    add("repair_accepted", "samr-deqing", ENTERPRISE,
        [RepairAccepted(decision_no=decision.decision_no, note="材料齐全，予以受理")], days=0.1)
    add("repair_extended", "samr-deqing", ENTERPRISE,
        [RepairExtended(decision_no=decision.decision_no, reason="需联合核查整改情况", working_days=3)], days=0.1)
    grant = add("repair_granted", "samr-deqing", ENTERPRISE, [RepairGranted(decision_no=decision.decision_no)])
    source = event_id_for(grant.department, grant.submission_id, 0)
    add("delivery_acknowledged", "tax-deqing", ENTERPRISE, [DeliveryAcknowledged(source_event_id=source)], days=0.1)
    add("repair_revoked", "samr-deqing", ENTERPRISE,
        [RepairRevoked(decision_no=decision.decision_no, reason="信用承诺材料虚假")], days=30)
    add("decision_withdrawn", "samr-deqing", ENTERPRISE,
        [DecisionWithdrawn(decision_no=decision.decision_no, reason="复议决定撤销原处罚决定",
                           ruling_ref="湖政复〔2026〕88号")])
    add("subscription_removed", "ema-deqing", REGISTRY_STREAM, [SubscriptionRemoved()])
    _supervision_examples(add)
    return out


SUPERVISOR_DEMO = ("sfj-deqing", "德清县司法局", "department", "justice", "330521")
"""The demo's supervising body (司法行政); its key is a public demo key like the others'."""


def _supervision_examples(add: Any) -> None:
    """执法监督 and 涉企检查: the supervisor designated, a case review with its finding, the
    department's answer rejected then verified, a complaint, and a joint inspection rated by
    the evaluation platform."""
    dept_id, title, kind, domain, area = SUPERVISOR_DEMO
    add(f"department_registered_{dept_id}", LEDGER_DEPARTMENT, REGISTRY_STREAM,
        [DepartmentRegistered(department_id=dept_id, name=title, kind=kind, domain=domain,  # type: ignore[arg-type]
                              jurisdiction=area, public_key=demo_key(dept_id).public_key)],
        key=LEDGER_DEMO_KEY, days=0)
    add("supervisor_designated", LEDGER_DEPARTMENT, REGISTRY_STREAM,
        [SupervisorDesignated(department_id=dept_id, jurisdiction=area, basis="德清县人民政府关于行政执法监督工作的通知")],
        key=LEDGER_DEMO_KEY, days=0)
    samr = department_stream("samr-deqing")
    today = START + timedelta(days=200)
    add("case_file_reviewed_with_finding", dept_id, samr, [
        CaseFileReviewed(review_id="2026-评查-017", case_ref="德市监处罚〔2026〕7号", campaign="2026年度行政执法案卷评查",
                         problems_found=1),
        SupervisionFindingRaised(finding_id="2026-问题-031", source="case_review", category="文书瑕疵",
                                 description="处罚决定书未载明履行方式和期限", review_id="2026-评查-017",
                                 deadline=(today + timedelta(days=40)).date()),
    ], days=1)
    add("finding_rectification_submitted", "samr-deqing", samr,
        [FindingRectificationSubmitted(finding_id="2026-问题-031", evidence="已修订处罚决定书模板并组织培训",
                                       documents=["文书模板-2026修订.docx"])], days=5)
    add("finding_rejected", dept_id, samr,
        [FindingRejected(finding_id="2026-问题-031", reason="未提供培训签到材料")], days=2)
    add("finding_rectification_resubmitted", "samr-deqing", samr,
        [FindingRectificationSubmitted(finding_id="2026-问题-031", evidence="补充培训签到表", documents=["签到表.pdf"])])
    add("finding_verified", dept_id, samr, [FindingVerified(finding_id="2026-问题-031", note="核账无误，予以销账")])
    add("complaint_received", dept_id, samr,
        [ComplaintReceived(complaint_id="12345-2026-0815", channel="12345", category="多头检查",
                           summary="企业反映一个月内被同一部门检查三次", about_ref=ENTERPRISE)])
    add("complaint_assigned", dept_id, samr, [ComplaintAssigned(complaint_id="12345-2026-0815", note="请核实并答复")],
        days=0.2)
    add("complaint_resolved", "samr-deqing", samr,
        [ComplaintResolved(complaint_id="12345-2026-0815", outcome="partly_substantiated",
                           reply="其中一次为投诉核查，已合并后续检查事项")], days=4)
    add("inspection_started", "samr-deqing", ENTERPRISE,
        [InspectionStarted(inspection_id="ZJ-JC-2026-00871", departments=["samr-deqing", "ema-deqing"],
                           officers=["33052100123", "33052100456"], code="ZJ-JC-2026-00871", code_shown=True,
                           plan_ref="2026年度跨部门联合抽查计划-07", joint=True, items=["特种设备", "危险化学品储存"])],
        days=1)
    add("inspection_ended", "samr-deqing", ENTERPRISE,
        [InspectionEnded(inspection_id="ZJ-JC-2026-00871", outcome="no_problem")], days=0.1)
    add("inspection_rated", "creditchina", ENTERPRISE,
        [InspectionRated(inspection_id="ZJ-JC-2026-00871", score=5, comment="亮码进门，一次查完")], days=0.2)
    # key lifecycle (issue 9): the operator rotates a department's key, then revokes the old one
    add("department_key_rotated", LEDGER_DEPARTMENT, REGISTRY_STREAM,
        [DepartmentKeyRotated(department_id="ema-deqing", public_key=demo_key("ema-deqing/2026").public_key,
                              reason="年度密钥轮换")], key=LEDGER_DEMO_KEY, days=1)
    add("department_key_revoked", LEDGER_DEPARTMENT, REGISTRY_STREAM,
        [DepartmentKeyRevoked(department_id="ema-deqing", public_key=demo_key("ema-deqing").public_key,
                              reason="旧密钥所在终端报废")], key=LEDGER_DEMO_KEY, days=0.1)


def write_examples(out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for stem, submission in build_examples():
        path = out_dir / f"{stem}.json"
        path.write_text(submission.model_dump_json(indent=2) + "\n", encoding="utf-8")
        written.append(path)
    return written
