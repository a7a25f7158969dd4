"""The supervision rules' rejection cases, merged into ``test_write_path.CASES`` (every code in
REASON_CODES reached the way a department or supervisor would reach it)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from tests.supervision_support import (
    SAMR_STREAM,
    SUPERVISOR,
    finding,
    inspection,
    raised,
    register_supervisor,
    review,
)
from tests.support import World
from tongxiu.events.envelope import Receipt
from tongxiu.events.models import (
    REGISTRY_STREAM,
    ComplaintAssigned,
    ComplaintReceived,
    ComplaintResolved,
    FindingRectificationSubmitted,
    InspectionEnded,
    InspectionRated,
    SupervisorDesignated,
)


def _not_justice(w: World) -> Receipt:
    register_supervisor(w, "tax-inspect", domain="tax", designate=False)
    return w.app.emit(REGISTRY_STREAM, [SupervisorDesignated(department_id="tax-inspect", jurisdiction="330521",
                                                                    basis="指定")], submission_id="designate-tax")


def _complaint_closed(w: World) -> Receipt:
    register_supervisor(w)
    assert w.send(SUPERVISOR, [ComplaintReceived(complaint_id="C1", channel="12345", category="多头检查",
                                                 summary="一月内三次检查"),
                               ComplaintAssigned(complaint_id="C1")], stream=SAMR_STREAM).accepted
    ok = w.send("samr-deqing", [ComplaintResolved(complaint_id="C1", outcome="unsubstantiated", reply="检查均有计划")],
                stream=SAMR_STREAM)
    assert ok.accepted, ok.reasons
    return w.send("samr-deqing", [ComplaintResolved(complaint_id="C1", outcome="substantiated", reply="再办")],
                  stream=SAMR_STREAM)


def _ended(w: World) -> None:
    assert w.send("samr-deqing", [inspection("I1"), InspectionEnded(inspection_id="I1", outcome="no_problem")]).accepted


SUPERVISION_CASES: dict[str, Callable[[World], Receipt]] = {
    "not_justice_department": _not_justice,
    # a market regulator cannot record a finding against another department
    "not_supervisor": lambda w: (register_supervisor(w), w.send(
        "tax-deqing", [review(), finding()], stream=SAMR_STREAM))[1],
    # the supervisor cannot answer the finding for the department
    "not_the_department": lambda w: (register_supervisor(w), raised(w), w.send(
        SUPERVISOR, [FindingRectificationSubmitted(finding_id="F1", evidence="代交")], stream=SAMR_STREAM))[2],
    "finding_inconsistent": lambda w: (register_supervisor(w), w.send(
        SUPERVISOR, [review(), finding(deadline=date(2025, 12, 1))], stream=SAMR_STREAM))[1],
    "complaint_closed": _complaint_closed,
    "inspection_inconsistent": lambda w: w.send("samr-deqing", [inspection("I1", ("samr-deqing",), joint=True)]),
    "inspection_closed": lambda w: (_ended(w), w.send("samr-deqing", [InspectionEnded(inspection_id="I1",
                                                                                        outcome="case_opened")]))[1],
    "rated_by_inspector": lambda w: (_ended(w), w.send("samr-deqing", [InspectionRated(inspection_id="I1", score=5)]))[1],
}
