"""Helpers for the supervision tests: a 司法行政 supervisor registered and designated."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from tests.support import World
from tongxiu.events.envelope import Receipt
from tongxiu.events.models import (
    REGISTRY_STREAM,
    CaseFileReviewed,
    DepartmentRegistered,
    FindingRectificationSubmitted,
    FindingVerified,
    InspectionStarted,
    SupervisionFindingRaised,
    SupervisorDesignated,
    department_stream,
)
from tongxiu.infra.embedded import LocalTransport
from tongxiu.services.demo import demo_key
from tongxiu.services.sdk import Producer

SUPERVISOR = "sfj-deqing"
SAMR_STREAM = department_stream("samr-deqing")


def register_supervisor(world: World, dept: str = SUPERVISOR, *, domain: str = "justice",
                        area: str = "330521", designate: bool = True) -> Producer:
    app = world.app
    r = app.emit(REGISTRY_STREAM, [DepartmentRegistered(
        department_id=dept, name="德清县司法局", kind="department", domain=domain, jurisdiction=area,
        public_key=demo_key(dept).public_key)], submission_id=f"register:{dept}")
    assert r.accepted, r.reasons
    if designate:
        r = app.emit(REGISTRY_STREAM, [SupervisorDesignated(department_id=dept, jurisdiction=area,
                                                                   basis="县政府指定")], submission_id=f"designate:{dept}")
        assert r.accepted, r.reasons
    producer = Producer(LocalTransport(app), dept, demo_key(dept), rules=app.rules)
    world.p[dept] = producer
    return producer


def review(n: int = 1, case_ref: str = "D1") -> CaseFileReviewed:
    return CaseFileReviewed(review_id=f"R{n}", case_ref=case_ref, campaign="2026年度案卷评查", problems_found=1)


def finding(fid: str = "F1", review_id: str | None = "R1", deadline: date | None = None, **kw: Any) -> SupervisionFindingRaised:
    base: dict[str, Any] = dict(finding_id=fid, source="case_review", category="文书瑕疵",
                                description="处罚决定书未载明救济途径", deadline=deadline or date(2026, 2, 5),
                                review_id=review_id)
    base.update(kw)
    return SupervisionFindingRaised(**base)


def raised(world: World, fid: str = "F1", **kw: Any) -> Receipt:
    """A reviewed file with one finding on samr-deqing's stream."""
    events: list[Any] = [] if any(r == "R1" for r in _reviews(world)) else [review()]
    r = world.send(SUPERVISOR, [*events, finding(fid, **kw)], stream=SAMR_STREAM)
    assert r.accepted, r.reasons
    return r


def _reviews(world: World) -> list[str]:
    state = world.app.ledger.enterprise(SAMR_STREAM)
    return list(state.oversight.reviews) if state.oversight else []


def answer(world: World, fid: str = "F1") -> Receipt:
    return world.send("samr-deqing", [FindingRectificationSubmitted(finding_id=fid, evidence="已补正决定书")],
                      stream=SAMR_STREAM)


def verify(world: World, fid: str = "F1") -> Receipt:
    return world.send(SUPERVISOR, [FindingVerified(finding_id=fid)], stream=SAMR_STREAM)


def inspection(iid: str = "I1", departments: tuple[str, ...] = ("samr-deqing",), *, shown: bool = True,
               joint: bool | None = None, **kw: Any) -> InspectionStarted:
    return InspectionStarted(inspection_id=iid, departments=list(departments), officers=["33052100123"],
                             code=f"ZJ-{iid}", code_shown=shown,
                             joint=(len(departments) > 1) if joint is None else joint,
                             plan_ref=kw.pop("plan_ref", "2026-双随机-01"), **kw)


def later(days: int) -> timedelta:
    return timedelta(days=days)
