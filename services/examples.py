"""Worked examples of every submission type, as one coherent story, written to
``docs/examples/`` by ``tongxiu examples``. Signed with the public demo keys (and a public
demo ledger key), so anyone can reproduce and publish them on a fresh ledger created with
that ledger key. System facts (propagation, eligibility, expiry, overdue) are written by the
ledger itself and have no department submission."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from events.envelope import Submission
from events.models import (
    LEDGER_DEPARTMENT,
    REGISTRY_STREAM,
    BackfillAuthorized,
    CreditListIncluded,
    CreditListRemoved,
    DecisionWithdrawn,
    DeliveryAcknowledged,
    DepartmentRegistered,
    Event,
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
)
from events.signing import KeyPair
from projections.fold import Rules
from services.demo import DEPARTMENTS, ENTERPRISE, START, demo_decision_and_advice, demo_key
from services.ledger import event_id_for, sign_submission
from services.sdk import notice_for

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
                          decision_date=START.date())])
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
    return out


def write_examples(out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for stem, submission in build_examples():
        path = out_dir / f"{stem}.json"
        path.write_text(submission.model_dump_json(indent=2) + "\n", encoding="utf-8")
        written.append(path)
    return written
