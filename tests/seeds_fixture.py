"""A fixture at the seeds' scale, published through the producer SDK as departments and the
supervisor would (``shared/seeds``: Xinxiang 案卷评查 1,190 files, 1,235 problems, 1,233
rectified; Zhejiang 亮码率 97.33 %; 首违免罚 86; 免罚 600多起 / 近700万元).

The inspections are an exact-ratio set (730 of 750 shown = 97.33 %) rather than the
published 3.52万 / 3.62万 (which is 97.24 %: the seed's percentage comes from unrounded
counts); ``inspections``/``shown`` scale it up.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from tongxiu.events.envelope import Receipt
from tongxiu.events.models import (
    REGISTRY_STREAM,
    CaseFileReviewed,
    DepartmentRegistered,
    Event,
    FindingRectificationSubmitted,
    FindingVerified,
    InspectionEnded,
    InspectionStarted,
    NoPenaltyDecided,
    SupervisionFindingRaised,
    SupervisorDesignated,
    department_stream,
)
from tongxiu.projections.fold import CHINA
from tongxiu.services.app import Tongxiu
from tongxiu.services.demo import DEPARTMENTS, demo_key, make_uscc, register_departments
from tongxiu.services.ports import ManualClock
from tongxiu.services.sdk import Producer, Transport

SUPERVISOR = "sfj-deqing"
START = datetime(2025, 3, 3, 9, 0, tzinfo=CHINA)
REVIEWS = {"samr-deqing": 400, "tax-deqing": 300, "eco-huzhou": 250, "ema-deqing": 240}  # 1,190 files
SECOND_FINDINGS = 45  # reviews with two problems: 1,190 + 45 = 1,235 findings
LEFT_OPEN = 2  # 1,233 rectified
FIRST_VIOLATION, MINOR = 86, 520
FIRST_WAIVED, MINOR_WAIVED = Decimal(5000), Decimal(12500)  # 86×5,000 + 520×12,500 = 6,930,000 yuan


@dataclass(frozen=True)
class Expected:
    files_reviewed: int
    findings: int
    rectified: int
    inspections: int
    code_shown: int
    first_violation: int
    minor: int
    waived: float


def _chunks(items: Sequence[Any], n: int) -> Iterator[Sequence[Any]]:
    for i in range(0, len(items), n):
        yield items[i:i + n]


def _ok(receipt: Receipt) -> None:
    if not receipt.accepted:
        raise AssertionError(f"{receipt.submission_id}: {receipt.reasons}")


def publish_seed_fixture(app: Tongxiu, clock: ManualClock, transport: Transport, *,
                         inspections: int = 750, shown: int = 730) -> Expected:
    clock.set(START)
    producers = register_departments(app, transport, clock)
    dept_id, name = SUPERVISOR, "德清县司法局"
    for event, sid in [
        (DepartmentRegistered(department_id=dept_id, name=name, kind="department", domain="justice",
                              jurisdiction="330521", public_key=demo_key(dept_id).public_key), f"register:{dept_id}"),
        (SupervisorDesignated(department_id=dept_id, jurisdiction="330521", basis="县政府指定"), f"designate:{dept_id}"),
    ]:
        _ok(app.emit(REGISTRY_STREAM, [event], submission_id=sid))
    sup = Producer(transport, dept_id, demo_key(dept_id), rules=app.rules)

    def send(p: Producer, stream: str, events: Sequence[Event], sid: str) -> None:
        _ok(p.publish(stream, list(events), submission_id=sid, occurred_at=clock.now()))

    # 案卷评查: reviews with their findings, on each department's own stream
    findings: dict[str, list[str]] = {d: [] for d in REVIEWS}
    seconds = SECOND_FINDINGS
    for dept, count in REVIEWS.items():
        stream = department_stream(dept)
        events: list[Event] = []
        for n in range(count):
            rid = f"{dept}-R{n:04d}"
            events.append(CaseFileReviewed(review_id=rid, case_ref=f"{dept}-案卷-{n:04d}", campaign="2025年度案卷评查"))
            for k in range(2 if seconds > 0 and n < SECOND_FINDINGS and dept == "samr-deqing" else 1):
                fid = f"{rid}-F{k}"
                events.append(SupervisionFindingRaised(
                    finding_id=fid, source="case_review", category="文书瑕疵" if k == 0 else "程序不规范",
                    description="案卷问题", deadline=date(2025, 4, 30), review_id=rid))
                findings[dept].append(fid)
                if k == 1:
                    seconds -= 1
        batch: list[Event] = []
        for ev in events:  # keep a review with its findings in one submission (≤ 20 events)
            if isinstance(ev, CaseFileReviewed) and len(batch) >= 17:
                send(sup, stream, batch, f"review:{dept}:{ev.review_id}")
                batch = []
            batch.append(ev)
        send(sup, stream, batch, f"review:{dept}:last")

    # 对账·核账·销账: the department answers, the supervisor verifies (all but LEFT_OPEN)
    clock.set(START + timedelta(days=10))
    last = list(REVIEWS)[-1]
    for dept, fids in findings.items():
        closing = fids[:-LEFT_OPEN] if dept == last else fids
        for i, chunk in enumerate(_chunks(closing, 20)):
            send(producers[dept], department_stream(dept),
                 [FindingRectificationSubmitted(finding_id=f, evidence="已整改") for f in chunk], f"answer:{dept}:{i}")
    clock.set(START + timedelta(days=15))
    for dept, fids in findings.items():
        closing = fids[:-LEFT_OPEN] if dept == last else fids
        for i, chunk in enumerate(_chunks(closing, 20)):
            send(sup, department_stream(dept), [FindingVerified(finding_id=f) for f in chunk], f"verify:{dept}:{i}")

    # 涉企检查: 5 per enterprise, one in five joint; the first `shown` show the code
    clock.set(START + timedelta(days=16))
    depts = list(REVIEWS)
    enterprises = [make_uscc("91", "330521", f"MA{n:06d}") for n in range((inspections + 4) // 5)]
    number = 0
    for e, code in enumerate(enterprises):
        lead = depts[e % len(depts)]
        events = []
        for _ in range(min(5, inspections - number)):
            iid = f"JC-{number:06d}"
            joint = number % 5 == 4
            team = [lead, depts[(e + 1) % len(depts)]] if joint else [lead]
            events += [InspectionStarted(inspection_id=iid, departments=team, officers=[f"3305210{number:05d}"],
                                         code=iid, code_shown=number < shown, joint=joint, plan_ref="2025-双随机"),
                       InspectionEnded(inspection_id=iid, outcome="no_problem")]
            number += 1
        send(producers[lead], code, events, f"inspect:{code}")

    # 不予处罚: 首违不罚 and 轻微不罚 with the fines waived
    nps: list[tuple[str, NoPenaltyDecided]] = []
    for n in range(FIRST_VIOLATION + MINOR):
        first = n < FIRST_VIOLATION
        nps.append((enterprises[n % len(enterprises)], NoPenaltyDecided(
            decision_no=f"德不罚〔2025〕{n + 1}号", party_name="某企业",
            basis="first_violation" if first else "minor_and_corrected", violation_kind=f"事项{n}",
            legal_basis="《行政处罚法》第三十三条", decision_date=date(2025, 3, 19),
            waived_fine_yuan=FIRST_WAIVED if first else MINOR_WAIVED)))
    by_code: dict[str, list[Event]] = {}
    for code, ev in nps:
        by_code.setdefault(code, []).append(ev)
    for code, evs in by_code.items():
        for i, chunk in enumerate(_chunks(evs, 20)):
            send(producers["samr-deqing"], code, chunk, f"np:{code}:{i}")
    app.process()
    return Expected(
        files_reviewed=sum(REVIEWS.values()), findings=sum(len(f) for f in findings.values()),
        rectified=sum(len(f) for f in findings.values()) - LEFT_OPEN, inspections=inspections, code_shown=shown,
        first_violation=FIRST_VIOLATION, minor=MINOR,
        waived=float(FIRST_VIOLATION * FIRST_WAIVED + MINOR * MINOR_WAIVED),
    )


def check_figures(out: dict[str, Any], expected: Expected) -> None:
    """The seeds' numbers, exactly, from `tongxiu stats --json`'s ``oversight``."""
    cr, ins, np_ = out["case_review"], out["inspections"], out["no_penalty"]
    assert (cr["files_reviewed"], cr["findings"], cr["rectified"]) == (
        expected.files_reviewed, expected.findings, expected.rectified)
    assert cr["rectification_rate"] == round(expected.rectified / expected.findings, 4)
    assert (ins["inspections"], ins["code_shown"]) == (expected.inspections, expected.code_shown)
    assert ins["code_shown_rate"] == round(expected.code_shown / expected.inspections, 4)
    assert (np_["first_violation"], np_["minor"], np_["waived_fine_yuan"]) == (
        expected.first_violation, expected.minor, expected.waived)


__all__ = ["DEPARTMENTS", "Expected", "check_figures", "publish_seed_fixture"]
