"""The demo scenario, driven through the SDK, end to end on the embedded backend."""

from __future__ import annotations

from tongxiu.services.app import Tongxiu
from tongxiu.services.audit import verify_streams
from tongxiu.services.demo import ENTERPRISE


def test_demo_builds_every_view(demo_app: Tongxiu) -> None:
    credit = demo_app.credit(ENTERPRISE)
    (record,) = credit.records.values()
    assert record.status == "repaired"
    assert record.publicity_class == "ordinary"
    assert str(record.repair_from) == "2026-04-06"  # 民法典 Art. 201-202: the day after 3 months
    assert credit.standing == "good"

    items = demo_app.rectification(ENTERPRISE).items
    assert {k.split("/")[1]: i.status for k, i in items.items()} == {"1": "closed", "2": "closed"}
    joint = next(i for i in items.values() if i.item_id == "2")
    assert set(joint.verdicts) == {"samr-deqing", "eco-huzhou", "ema-deqing"}

    deliveries = demo_app.sync(ENTERPRISE).deliveries
    assert sorted(d.subscriber for d in deliveries.values()) == ["creditchina", "eco-huzhou", "ema-deqing", "tax-deqing"]
    assert all(d.status == "acknowledged" for d in deliveries.values())
    late = [d.subscriber for d in deliveries.values() if d.overdue_marked]
    assert late == ["ema-deqing"]

    samr = demo_app.supervision("samr-deqing")
    assert (samr.penalties, samr.served_with_notice_and_advice, samr.penalties_without_notice) == (1, 1, 0)
    assert (samr.rectification_found, samr.rectification_closed) == (2, 2)
    assert (samr.repairs_decided, samr.repairs_decided_within_deadline, samr.repairs_granted) == (1, 1, 1)
    assert demo_app.supervision("ema-deqing").syncs_overdue == 1
    assert demo_app.supervision("tax-deqing").syncs_acknowledged_within_deadline == 1


def test_demo_rejections_are_recorded_with_reasons(demo_app: Tongxiu) -> None:
    codes = sorted(c for r in demo_app.list_rejections() for c in r.receipt.codes)
    assert codes == ["not_authorized", "repair_too_early", "signature_of_other_department"]
    early = next(r for r in demo_app.list_rejections() if "repair_too_early" in r.receipt.codes)
    assert early.receipt.reasons[0].detail["earliest_repair_date"] == "2026-04-06"
    assert early.receipt.reasons[0].field == "events[0].event.decision_no"


def test_demo_ledger_verifies(demo_app: Tongxiu) -> None:
    outcome = verify_streams(demo_app.log)
    assert outcome.ok, outcome.problems
    assert outcome.events == demo_app.log.last_seq(ENTERPRISE) + demo_app.log.last_seq("registry")
