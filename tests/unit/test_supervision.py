"""Supervision of enforcers (执法监督) and inspections (涉企检查): the loop on a department's own
stream, the authority rules, deadlines flagged by the scheduler, the inspection frequency
limit, and the figures they produce."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

from tests.supervision_support import (
    SAMR_STREAM,
    SUPERVISOR,
    answer,
    finding,
    inspection,
    raised,
    register_supervisor,
    review,
    verify,
)
from tests.support import CODE, OTHER, World, decision, world_with_policy
from tongxiu.events.envelope import Envelope
from tongxiu.events.models import (
    ComplaintAssigned,
    ComplaintReceived,
    ComplaintResolved,
    FindingRectificationSubmitted,
    FindingRejected,
    FindingVerified,
    InspectionEnded,
    InspectionRated,
    NoPenaltyDecided,
    department_stream,
)
from tongxiu.events.upcast import upcast_event
from tongxiu.projections.rules import LocalPolicy, PolicyBook
from tongxiu.projections.supervision import inspection_frequency
from tongxiu.services import scheduler
from tongxiu.services.ports import ManualClock


def figures(world: World, period: str | None = None) -> dict:
    world.app.process()
    return world.app.supervision_figures(period)


def test_finding_loop_answer_reject_answer_verify(world: World) -> None:
    register_supervisor(world)
    raised(world)
    assert answer(world).accepted
    rejected = world.send(SUPERVISOR, [FindingRejected(finding_id="F1", reason="缺少培训记录")], stream=SAMR_STREAM)
    assert rejected.accepted, rejected.reasons
    world.app.process()
    f = world.app.oversight("samr-deqing").findings["F1"]
    assert (f.status, f.owners, f.department, f.source) == ("rejected", [SUPERVISOR], "samr-deqing", "case_review")
    assert answer(world).accepted
    assert verify(world).accepted
    assert answer(world).codes == ["item_closed"]  # 销账: nothing after closing
    fig = figures(world)["case_review"]
    assert (fig["files_reviewed"], fig["findings"], fig["rectified"], fig["rejected_answers"]) == (1, 1, 1, 1)
    assert fig["rectification_rate"] == 1.0
    counters = world.app.supervision("samr-deqing")
    assert counters.findings_raised == counters.findings_case_review == 1
    # the enterprise advice counters are not touched by findings against departments
    assert counters.rectification_found == 0


def test_only_a_designated_supervisor_covering_the_area_records_findings(world: World) -> None:
    register_supervisor(world, "sfj-anji", area="330523")  # another county's 司法局
    r = world.send("sfj-anji", [review(), finding()], stream=SAMR_STREAM)
    assert r.codes == ["not_supervisor"] and "330523" in r.reasons[0].message
    register_supervisor(world, "sfj-other", designate=False)  # a 司法局 without the role
    assert world.send("sfj-other", [review()], stream=SAMR_STREAM).codes == ["not_supervisor"]
    register_supervisor(world)
    # the supervisor cannot supervise itself, nor write on a stream of a department it does not know
    assert world.send(SUPERVISOR, [review()], stream=department_stream(SUPERVISOR)).codes == ["not_supervisor"]
    assert world.send(SUPERVISOR, [review()], stream=department_stream("nobody")).codes == ["unknown_department"]
    raised(world)
    # the verdict belongs to the supervisor that raised it (谁发现、谁核账), not to the department
    answer(world)
    own = world.send("samr-deqing", [FindingVerified(finding_id="F1")], stream=SAMR_STREAM)
    assert own.codes == ["not_supervisor"]
    # another department cannot answer samr's finding
    other = world.send("tax-deqing", [FindingRectificationSubmitted(finding_id="F1", evidence="代交")],
                       stream=SAMR_STREAM)
    assert other.codes == ["not_the_department"]


def test_facts_stay_on_their_streams(world: World) -> None:
    register_supervisor(world)
    assert world.send(SUPERVISOR, [review()], stream=CODE).codes == ["wrong_stream"]
    assert world.send("samr-deqing", [decision()], stream=SAMR_STREAM).codes == ["wrong_stream"]
    assert world.send("samr-deqing", [inspection()], stream=SAMR_STREAM).codes == ["wrong_stream"]
    # a finding from a case review must name a review the ledger holds
    r = world.send(SUPERVISOR, [finding(review_id="R9")], stream=SAMR_STREAM)
    assert r.codes == ["unknown_reference"] and r.reasons[0].field == "events[0].event.review_id"
    # the department stream is not an enterprise: not listed, not counted
    raised(world)
    world.app.process()
    assert SAMR_STREAM not in world.app.enterprises()


def test_overdue_findings_and_complaints_are_flagged_by_the_scheduler(world: World) -> None:
    register_supervisor(world)
    raised(world, "F1", deadline=date(2026, 1, 20))
    raised(world, "F2", deadline=date(2026, 1, 20))
    answer(world, "F2")
    verify(world, "F2")
    received = world.send(SUPERVISOR, [ComplaintReceived(complaint_id="C1", channel="qr_code", category="随意检查",
                                                         summary="无计划检查")], stream=SAMR_STREAM)
    assert received.accepted
    world.app.process()
    complaint = world.app.oversight("samr-deqing").complaints["C1"]
    # 15 working days from receipt on 2026-01-05 (Mon): 2026-01-26
    assert complaint.deadline == date(2026, 1, 26)
    world.at(16)  # 2026-01-21
    emitted = scheduler.tick(world.app)
    assert [d.event.type for d in emitted] == ["finding_overdue"]
    assert emitted[0].event.finding_id == "F1"  # the closed F2 is not overdue
    world.at(22)  # 2026-01-27: the complaint is past its reply deadline
    assert [d.event.type for d in scheduler.tick(world.app)] == ["complaint_overdue"]
    assert scheduler.tick(world.app) == []  # never twice
    fig = figures(world)
    assert (fig["case_review"]["overdue"], fig["complaints"]["overdue"]) == (1, 1)
    out = world.app.oversight("samr-deqing")
    assert out.findings["F1"].overdue_marked and not out.findings["F2"].overdue_marked


def test_the_same_finding_id_at_two_departments_is_flagged_at_both(world: World) -> None:
    register_supervisor(world)
    raised(world, "F1", deadline=date(2026, 1, 20))
    tax = department_stream("tax-deqing")
    assert world.send(SUPERVISOR, [review(), finding("F1", deadline=date(2026, 1, 20))], stream=tax).accepted
    world.at(16)
    emitted = scheduler.tick(world.app)
    assert sorted(d.stream for d in emitted) == sorted([tax, SAMR_STREAM])
    assert figures(world)["case_review"]["overdue"] == 2


def test_complaint_assigned_then_resolved_by_the_department(world: World) -> None:
    register_supervisor(world)
    world.send(SUPERVISOR, [ComplaintReceived(complaint_id="C1", channel="12345", category="多头检查", summary="s")],
               stream=SAMR_STREAM)
    early = world.send("samr-deqing", [ComplaintResolved(complaint_id="C1", outcome="unsubstantiated", reply="r")],
                       stream=SAMR_STREAM)
    assert early.codes == ["not_the_department"]  # not yet assigned to it
    assert world.send(SUPERVISOR, [ComplaintAssigned(complaint_id="C1")], stream=SAMR_STREAM).accepted
    world.at(3)
    done = world.send("samr-deqing", [ComplaintResolved(complaint_id="C1", outcome="substantiated", reply="已整改")],
                      stream=SAMR_STREAM)
    assert done.accepted, done.reasons
    # a substantiated complaint may raise a finding that names it
    r = world.send(SUPERVISOR, [finding("F7", review_id=None, source="complaint", complaint_id="C1",
                                        deadline=date(2026, 2, 28))], stream=SAMR_STREAM)
    assert r.accepted, r.reasons
    fig = figures(world)
    assert fig["complaints"] == {"received": 1, "resolved": 1, "resolved_within_deadline": 1, "overdue": 0,
                                 "closure_rate": 1.0}
    assert fig["case_review"]["findings_by_source"]["complaint"] == 1


def test_inspections_above_the_local_limit_are_recorded_and_flagged(tmp_path: Path, clock: ManualClock) -> None:
    book = PolicyBook(policies_by_jurisdiction={"33": LocalPolicy(max_inspections_per_enterprise_per_year=2)})
    with world_with_policy(tmp_path, clock, book) as world:
        joint = inspection("I1", ("samr-deqing", "ema-deqing"))
        assert world.send("samr-deqing", [joint, InspectionEnded(inspection_id="I1", outcome="no_problem")]).accepted
        world.at(10)
        assert world.send("tax-deqing", [inspection("I2", ("tax-deqing",), shown=False)]).accepted
        world.at(40)
        third = world.send("eco-huzhou", [inspection("I3", ("eco-huzhou",))])
        assert third.accepted  # not refused: recorded and flagged
        assert world.send("samr-deqing", [inspection("I4", ("samr-deqing",))], stream=OTHER).accepted
        rated = world.send("creditchina", [InspectionRated(inspection_id="I1", score=4, comment="亮码进门")])
        assert rated.accepted, rated.reasons
        world.app.process()
        state = world.app.enterprise_state(CODE)
        assert [state.inspections[i].over_limit for i in ("I1", "I2", "I3")] == [False, False, True]
        assert state.inspections["I3"].year_count == 3 and state.inspections["I3"].limit == 2
        freq = inspection_frequency(state, 2026)
        assert freq["inspections"] == 3 and freq["over_limit"] == ["I3"]
        assert freq["by_department"] == {"eco-huzhou": 1, "ema-deqing": 1, "samr-deqing": 1, "tax-deqing": 1}
        ins = figures(world)["inspections"]
        assert (ins["inspections"], ins["code_shown"], ins["joint"], ins["over_limit"]) == (4, 3, 1, 1)
        assert ins["code_shown_rate"] == 0.75
        # CODE in January and February, OTHER in February: 3 enterprise-months for 4 inspections
        assert ins["enterprise_months"] == 3 and ins["per_enterprise_per_month"] == 1.33
        assert (ins["rated"], ins["mean_score"]) == (1, 4.0)
        assert figures(world, "2026-01")["inspections"]["inspections"] == 2


def test_no_penalty_split_by_basis_with_waived_amounts(world: World) -> None:
    def np(no: str, basis: str, kind: str, amount: str) -> NoPenaltyDecided:
        return NoPenaltyDecided(decision_no=no, party_name="某公司", basis=basis, violation_kind=kind,  # type: ignore[arg-type]
                                legal_basis="第三十三条", decision_date=date(2026, 1, 5),
                                waived_fine_yuan=Decimal(amount))
    assert world.send("samr-deqing", [np("N1", "first_violation", "未亮照", "5000")]).accepted
    assert world.send("samr-deqing", [np("N2", "minor_and_corrected", "标签瑕疵", "1200.50")]).accepted
    assert world.send("tax-deqing", [np("N3", "minor_and_corrected", "逾期申报", "0")]).accepted
    got = figures(world)["no_penalty"]
    assert got == {"total": 3, "first_violation": 1, "minor": 2, "no_fault": 0, "waived_fine_yuan": 6200.5}


def test_a_v1_no_penalty_decision_still_decodes() -> None:
    raw = {"type": "no_penalty_decided", "schema_version": 1, "decision_no": "N1", "party_name": "p",
           "basis": "first_violation", "violation_kind": "k", "legal_basis": "b", "decision_date": "2025-03-01"}
    up = upcast_event(dict(raw))
    assert up["schema_version"] == 2 and up["waived_fine_yuan"] == "0"
    env = Envelope.model_validate({"event_id": "e", "stream": CODE, "seq": 1, "department": "d", "submission_id": "s",
                                   "index": 0, "occurred_at": "2025-03-01T00:00:00Z",
                                   "recorded_at": "2025-03-01T00:00:00Z", "event": up, "signature": "",
                                   "prev_hash": "0" * 64})
    assert env.event.waived_fine_yuan == Decimal(0)  # type: ignore[union-attr]


def test_oversight_and_inspection_routes(world: World) -> None:
    from fastapi.testclient import TestClient

    from tongxiu.services.http import create_app

    register_supervisor(world)
    raised(world)
    world.send("samr-deqing", [inspection("I1")])
    world.app.process()
    client = TestClient(create_app(world.app, {"a" * 16: {"role": "auditor"},
                                               "s" * 16: {"role": "department", "department": SUPERVISOR},
                                               "t" * 16: {"role": "department", "department": "tax-deqing"}}))
    out = client.get("/api/departments/samr-deqing/oversight", headers={"Authorization": "Bearer " + "s" * 16})
    assert out.status_code == 200 and out.json()["open_findings"] == ["F1"]
    assert client.get("/api/departments/samr-deqing/oversight", headers={"Authorization": "Bearer " + "t" * 16}).status_code == 403
    fig = client.get("/api/supervision/figures", headers={"Authorization": "Bearer " + "a" * 16}).json()
    assert fig["case_review"]["findings"] == 1 and fig["inspections"]["inspections"] == 1
    bad = client.get("/api/supervision/figures?period=2026-13", headers={"Authorization": "Bearer " + "a" * 16})
    assert bad.status_code == 422
    ins = client.get(f"/api/enterprises/{CODE}/inspections?year=2026", headers={"Authorization": "Bearer " + "a" * 16}).json()
    assert ins["frequency"]["inspections"] == 1
    listed = client.get("/api/enterprises", headers={"Authorization": "Bearer " + "a" * 16}).json()
    assert SAMR_STREAM not in json.dumps(listed) and CODE in json.dumps(listed)  # a department is not an enterprise
    per_dept = client.get("/api/supervision", headers={"Authorization": "Bearer " + "a" * 16}).json()
    assert {d["department"]: d["findings_raised"] for d in per_dept}["samr-deqing"] == 1


