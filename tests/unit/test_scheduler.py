"""The time-driven facts, driven by the injectable clock: eligibility, expiry (propagated like
a repair), rectification overdue, sync overdue; a second tick emits nothing twice."""

from __future__ import annotations

from datetime import date

from tests.support import CODE, World
from tongxiu.services import scheduler


def _types(due: list[scheduler.Due]) -> list[str]:
    return sorted(d.event.type for d in due)


def test_eligibility_and_rectification_overdue(world: World) -> None:
    world.serve()
    world.at(20)
    assert scheduler.tick(world.app) == []
    world.at(40)  # advice item deadline 2026-02-01 has passed
    assert _types(scheduler.tick(world.app)) == ["rectification_overdue"]
    assert world.app.rectification(CODE).items["A-D1/1"].overdue_marked
    assert world.app.supervision("samr-deqing").rectification_overdue == 1
    world.at(91)  # 2026-04-06: three months after the decision
    assert _types(scheduler.tick(world.app)) == ["repair_eligibility_reached"]
    assert world.app.credit(CODE).records["D1"].eligibility_reached
    assert scheduler.tick(world.app) == []  # idempotent


def test_publicity_stops_by_itself_at_the_maximum_then_propagates(world: World) -> None:
    """D6: Order 36 / 22号 / SAMR 107 stop publicity at the maximum by default, even with the
    fine unpaid and an advisory item open (a sector rule holding it longer is an exception)."""
    world.serve()
    world.at(364)  # 2027-01-04: still within the year
    assert "publicity_expired" not in _types(scheduler.tick(world.app))
    world.at(400)  # past 2027-01-05
    assert "publicity_expired" in _types(scheduler.tick(world.app))
    record = world.app.credit(CODE).records["D1"]
    assert record.status == "expired"
    pending = world.app.inbox("tax-deqing")
    assert [p["source_type"] for p in pending] == ["publicity_expired"]


def test_sync_overdue_after_three_working_days(world: World) -> None:
    world.serve()
    world.granted()  # granted on day 100 = 2026-04-15 (Wednesday)
    delivery = next(iter(world.app.sync(CODE).deliveries.values()))
    assert delivery.deadline == date(2026, 4, 20)  # Thu, Fri, Mon
    world.at(104.9)  # 2026-04-20 still within
    assert "sync_overdue" not in _types(scheduler.tick(world.app))
    world.at(106)
    overdue = [d for d in scheduler.tick(world.app) if d.event.type == "sync_overdue"]
    assert len(overdue) == 4
    assert world.app.supervision("tax-deqing").syncs_overdue == 1


def test_deadlines_in_a_year_without_calendar_data_are_marked(world: World) -> None:
    """2099 has no chinesecalendar data: deadlines fall back to Mon–Fri and say so."""
    from datetime import datetime

    from tongxiu.events.models import RepairApplied
    from tongxiu.projections.fold import CHINA

    world.serve()
    world.granted()
    assert not any(d.deadline_estimated for d in world.app.sync(CODE).deliveries.values())
    assert not world.app.credit(CODE).records["D1"].applications[-1].decision_deadline_estimated
    world.clock.set(datetime(2099, 3, 2, 9, 0, tzinfo=CHINA))
    world.serve("D9", decision_date=date(2099, 3, 2), rule_set="samr-order-107")
    world.clock.set(datetime(2099, 6, 3, 9, 0, tzinfo=CHINA))
    world.pay("D9")
    world.close_items("D9")
    receipt = world.send("creditchina", [RepairApplied(decision_no="D9", credit_commitment="承诺",
                                                       applied_on=date(2099, 6, 3))])
    assert receipt.accepted, receipt.reasons
    application = world.app.credit(CODE).records["D9"].applications[-1]
    assert application.decision_deadline_estimated
    assert application.decision_deadline == date(2099, 6, 12)  # 7 working days, Mon–Fri assumed
