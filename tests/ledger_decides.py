"""Issue 7, "the ledger decides": each discrepancy D1–D19 of the domain audit as a department
meets it — a submission through the SDK and the reason code or view it gets.

The scenarios take a :class:`tests.support.World` and assert; ``tests/unit/test_ledger_decides.py``
runs them all on the embedded (SQLite) ledger and ``tests/integration/test_ledger_decides_distributed.py``
runs them on the Cassandra ledger, so both backends have one behaviour.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from tests.support import CODE, OTHER, World, decision
from tongxiu.events.models import (
    REGISTRY_STREAM,
    BackfillAuthorized,
    ClassBasis,
    CreditListIncluded,
    CreditListRemoved,
    CreditRepairNoticeIssued,
    DecisionWithdrawn,
    DeliveryAcknowledged,
    LegacyCodeRegistered,
    NoPenaltyDecided,
    PenaltyFulfilled,
    RepairAccepted,
    RepairApplied,
    RepairExtended,
    RepairForwarded,
    RepairGranted,
    RepairNotAccepted,
)
from tongxiu.projections.fold import CHINA, china_day
from tongxiu.projections.rules import ClassStandard, PolicyBook
from tongxiu.services import scheduler
from tongxiu.services.sdk import Producer


def _no_penalty(no: str, kind: str, basis: str = "first_violation") -> NoPenaltyDecided:
    return NoPenaltyDecided(decision_no=no, party_name="某公司", basis=basis,  # type: ignore[arg-type]
                            violation_kind=kind, legal_basis="《行政处罚法》第三十三条",
                            decision_date=date(2026, 1, 5))


def _apply(w: World, no: str, *, dept: str = "creditchina", occurred_at: datetime | None = None,
           applied_on: date | None = None, sid: str | None = None, producer: Producer | None = None):  # type: ignore[no-untyped-def]
    when = occurred_at or w.clock.now()
    event = RepairApplied(decision_no=no, credit_commitment="承诺", applied_on=applied_on or china_day(when))
    return (producer or w.p[dept]).publish(CODE, [event], occurred_at=when, submission_id=sid)


# --------------------------------------------------------------------------- D1 rule set


def d1_tax_cannot_choose_a_market_regulation_rule_set(w: World) -> None:
    receipt = w.send("tax-deqing", [decision(rule_set="samr-order-107")])
    assert receipt.codes == ["rule_set_mismatch"]
    assert receipt.reasons[0].detail["expected"] == "gbf-2025-22"
    assert "gbf-2025-22" in receipt.reasons[0].message
    assert receipt.reasons[0].field == "events[0].event.rule_set"


def d1_overlapping_windows_pick_the_newest(w: World) -> None:
    """2026-01-05: Order 58 and 22号 both in force; the ledger takes 22号 (the newer)."""
    old = w.send("tax-deqing", [decision(rule_set="ndrc-order-58")])
    assert old.codes == ["rule_set_mismatch"] and old.reasons[0].detail["expected"] == "gbf-2025-22"
    ok = w.send("tax-deqing", [decision(rule_set="gbf-2025-22")])
    assert ok.accepted, ok.reasons
    assert w.app.credit(CODE).records["D1"].max_end == date(2027, 1, 5)


def d1_samr_2025_fine_follows_order_45_and_waits_six_months(w: World) -> None:
    w.clock.set(datetime(2025, 7, 1, 9, tzinfo=CHINA))
    kw = {"decision_date": date(2025, 7, 1), "fine_yuan": Decimal(200000)}
    chosen = w.send("samr-deqing", [decision(rule_set="gbf-2025-22", **kw)])
    assert chosen.codes == ["rule_set_mismatch"] and chosen.reasons[0].detail["expected"] == "samr-order-45"
    assert w.send("samr-deqing", [decision(rule_set="samr-order-45", **kw)]).accepted
    w.clock.set(datetime(2025, 11, 3, 9, tzinfo=CHINA))  # 4 months on
    early = _apply(w, "D1")
    assert early.codes == ["repair_too_early"]
    assert early.reasons[0].detail["earliest_repair_date"] == "2026-01-02"


# --------------------------------------------------------------------------- D2 / D7 / D12 not repairable


def d2_samr_45_criticism_is_refused_not_granted(w: World) -> None:
    w.clock.set(datetime(2025, 12, 20, 9, tzinfo=CHINA))
    assert w.send("samr-deqing", [decision(rule_set="samr-order-45", penalty_types=["通报批评"],
                                           fine_yuan=Decimal(0), decision_date=date(2025, 12, 20))]).accepted
    w.at(0)  # 2026-01-05, 16 days later
    refused = _apply(w, "D1")
    assert refused.codes == ["not_repairable"]
    assert "45" in refused.reasons[0].detail["rule"]
    grant = w.send("samr-deqing", [RepairGranted(decision_no="D1")])
    assert not grant.accepted
    assert w.app.credit(CODE).records["D1"].status == "publicized"


def d7_tax_revocation_under_22_is_repairable(w: World) -> None:
    """22号 / Order 36: repair is the rule; SAMR's never-end-early list is SAMR's."""
    assert w.send("tax-deqing", [decision(rule_set="gbf-2025-22", penalty_types=["吊销许可证件"],
                                          fine_yuan=Decimal(0))]).accepted
    record = w.app.credit(CODE).records["D1"]
    assert record.early_end_forbidden is False and record.repair_from == date(2027, 1, 6)
    w.at(370)
    assert _apply(w, "D1").accepted
    # the same penalty type by market regulation (SAMR 107) is never ended early
    assert w.send("samr-deqing", [decision("D2", penalty_types=["吊销许可证件"], fine_yuan=Decimal(0),
                                           decision_date=date(2027, 1, 10))]).accepted
    assert _apply(w, "D2").codes == ["early_end_forbidden"]


def d12_samr_107_minor_stops_by_itself(w: World) -> None:
    assert w.send("samr-deqing", [decision(penalty_types=["通报批评"], fine_yuan=Decimal(0))]).accepted
    record = w.app.credit(CODE).records["D1"]
    assert (record.publicity_class, record.max_end, record.repair_from) == ("minor", date(2026, 4, 5), None)
    w.at(10)
    assert _apply(w, "D1").codes == ["not_repairable"]
    w.at(91)
    assert "publicity_expired" in [d.event.type for d in scheduler.tick(w.app)]
    # a warning alone is recorded as minor, but not publicized
    assert w.send("samr-deqing", [decision("D2", penalty_types=["警告"], fine_yuan=Decimal(0),
                                           decision_date=date(2026, 4, 6))]).accepted
    warned = w.app.credit(CODE).records["D2"]
    assert (warned.status, warned.recorded_class, warned.publicity_class) == ("not_publicized", "minor", "none")


# --------------------------------------------------------------------------- D3 time


def d3_future_facts_are_rejected(w: World) -> None:
    w.serve()
    w.pay()
    ahead = w.clock.now() + timedelta(days=100)
    applied = _apply(w, "D1", occurred_at=ahead)
    assert applied.codes == ["occurred_in_future"] and applied.reasons[0].field == "occurred_at"
    granted = w.p["samr-deqing"].publish(CODE, [RepairGranted(decision_no="D1")], occurred_at=ahead)
    assert granted.codes == ["occurred_in_future"]
    dated = _apply(w, "D1", applied_on=date(2026, 4, 15))
    assert dated.codes == ["occurred_in_future"] and dated.reasons[0].field == "events[0].event.applied_on"
    # within the documented skew (5 minutes) is fine
    assert w.p["samr-deqing"].publish(
        CODE, [decision("D2")], occurred_at=w.clock.now() + timedelta(minutes=4)
    ).accepted
    assert w.app.credit(CODE).records["D1"].status == "publicized"


def d3_deadlines_run_from_receipt_and_late_facts_are_counted(w: World) -> None:
    w.serve()
    w.pay()
    w.at(100)  # 2026-04-15 (Wednesday)
    backdated = _apply(w, "D1", occurred_at=w.clock.now() - timedelta(days=20))
    assert backdated.accepted
    app_ = w.app.credit(CODE).records["D1"].applications[0]
    assert app_.received_on == date(2026, 4, 15)
    assert app_.decision_deadline == date(2026, 4, 24)  # 7 working days from receipt (SAMR 107)
    assert app_.reply_deadline == date(2026, 4, 29)  # 10 working days (D9)
    assert w.app.supervision("creditchina").facts_recorded_late == 1
    assert w.app.credit(CODE).records["D1"].recorded_late is False
    # a decision recorded 30 days after it was made is marked late on the record
    assert w.p["samr-deqing"].publish(CODE, [decision("D-late", decision_date=date(2026, 3, 16))],
                                      occurred_at=w.clock.now() - timedelta(days=30)).accepted
    assert w.app.credit(CODE).records["D-late"].recorded_late is True
    assert w.app.supervision("samr-deqing").facts_recorded_late == 1
    w.at(120)  # decided well past the deadline, but dated as if within it
    late = w.p["samr-deqing"].publish(CODE, [RepairGranted(decision_no="D1")],
                                      occurred_at=datetime(2026, 4, 20, 9, tzinfo=CHINA))
    assert late.accepted
    sup = w.app.supervision("samr-deqing")
    assert (sup.repairs_decided, sup.repairs_decided_within_deadline) == (1, 0)
    assert w.app.credit(CODE).records["D1"].applications[0].replied_within_deadline is False


def d3_backfill_is_explicit_and_marked(w: World) -> None:
    """History is imported only on the backfill path, which the operator opens and which marks
    what it imported; it is judged by its own dates (D8b: 信用中国 decided Order 58 repairs)."""
    sid = "backfill:tax-2024-1"
    then = datetime(2024, 3, 1, 9, tzinfo=CHINA)
    warn = decision("历史-1", rule_set="ndrc-order-58", penalty_types=["警告"], fine_yuan=Decimal(0),
                    decision_date=date(2024, 3, 1))
    refused = w.p["tax-deqing"].publish(CODE, [warn], occurred_at=then, submission_id=sid)
    assert refused.codes == ["backfill_not_authorized"]
    opened = w.app.emit(REGISTRY_STREAM, [BackfillAuthorized(department_id="tax-deqing", until=date(2026, 1, 31),
                                                                    reason="导入历史记录")], submission_id="bf-tax")
    assert opened.accepted, opened.reasons
    assert w.app.emit(REGISTRY_STREAM, [BackfillAuthorized(department_id="creditchina", until=date(2026, 1, 31),
                                                                  reason="导入历史记录")], submission_id="bf-cc").accepted
    # the rejected id stays rejected (its receipt is recorded); the import uses a new one
    assert w.p["tax-deqing"].publish(CODE, [warn], occurred_at=then, submission_id=sid + "-2").accepted
    record = w.app.credit(CODE).records["历史-1"]
    assert record.imported is True and record.recorded_late is False
    assert w.app.supervision("tax-deqing").facts_backfilled == 1
    assert w.app.supervision("tax-deqing").facts_recorded_late == 0
    # 2024: 信用中国 decided general-domain repairs (Order 58); imported history can show it
    assert _apply(w, "历史-1", occurred_at=datetime(2024, 7, 1, 9, tzinfo=CHINA), sid="backfill:cc-apply").accepted
    granted = w.p["creditchina"].publish(CODE, [RepairGranted(decision_no="历史-1")],
                                         occurred_at=datetime(2024, 7, 3, 9, tzinfo=CHINA),
                                         submission_id="backfill:cc-grant")
    assert granted.accepted, granted.reasons
    assert w.app.credit(CODE).records["历史-1"].status == "repaired"
    # today (22号 in force) the department decides: 信用中国 may not
    assert w.send("tax-deqing", [decision("D9", rule_set="gbf-2025-22")]).accepted
    w.at(100)
    assert _apply(w, "D9").accepted
    assert w.send("creditchina", [RepairGranted(decision_no="D9")]).codes == ["not_authorized"]


# --------------------------------------------------------------------------- D4 / D10 class


def d10_no_province_is_the_national_default(w: World) -> None:
    w.clock.set(datetime(2025, 7, 1, 9, tzinfo=CHINA))
    receipt = w.send("samr-deqing", [decision(rule_set="samr-order-45", fine_yuan=Decimal(60000),
                                              decision_date=date(2025, 7, 1))])
    assert receipt.accepted
    record = w.app.credit(CODE).records["D1"]
    assert record.publicity_class == "ordinary"  # not Hubei's "lower fine → minor"
    assert record.gaps and "lower_fine_threshold_organisation" in record.gaps[0]
    assert "缺少地方或行业数据：lower_fine_threshold_organisation" in record.basis
    assert "Gap: lower_fine_threshold_organisation" in record.basis_en and record.gaps_en


def d4_minor_not_publicized_is_a_recorded_class(w: World) -> None:
    receipt = w.send("tax-deqing", [decision(rule_set="gbf-2025-22", procedure="simple", penalty_types=["罚款"],
                                             fine_yuan=Decimal(100), violation_kind="未按期申报")])
    assert receipt.accepted
    record = w.app.credit(CODE).records["D1"]
    assert (record.status, record.recorded_class, record.publicity_class) == ("not_publicized", "minor", "none")
    assert record.class_basis.startswith("按处罚种类")


# --------------------------------------------------------------------------- D5 SAMR 45 from publication


def d5_samr_45_counts_from_publication(w: World) -> None:
    w.clock.set(datetime(2025, 12, 10, 9, tzinfo=CHINA))
    d = decision(rule_set="samr-order-45", fine_yuan=Decimal(200000), decision_date=date(2025, 11, 20),
                 publicized_on=date(2025, 12, 1))
    notice = CreditRepairNoticeIssued(notice_no="N1", decision_no="D1", publicity_class="ordinary",
                                      publicity_until=date(2028, 12, 1), earliest_repair_date=date(2026, 6, 2))
    receipt = w.send("samr-deqing", [d, notice])
    assert receipt.accepted, receipt.reasons
    assert w.app.credit(CODE).records["D1"].counted_from == date(2025, 12, 1)
    too_late = decision("D2", rule_set="samr-order-45", fine_yuan=Decimal(200000), decision_date=date(2025, 11, 1),
                        publicized_on=date(2025, 12, 10))
    rejected = w.send("samr-deqing", [too_late])
    assert rejected.codes == ["decision_inconsistent"]
    assert rejected.reasons[0].field == "events[0].event.publicized_on"


# --------------------------------------------------------------------------- D6 binding vs advisory


def d6_advisory_items_do_not_block_repair(w: World) -> None:
    w.serve()  # advisory item open
    w.pay()
    w.at(100)
    assert _apply(w, "D1").accepted
    granted = w.send("samr-deqing", [RepairGranted(decision_no="D1")])
    assert granted.accepted, granted.reasons
    # a binding correction (责令改正) still gates it
    w.serve("D2", binding=True, decision_date=date(2026, 4, 15))
    w.pay("D2")
    w.at(200)
    assert _apply(w, "D2").accepted
    assert w.send("samr-deqing", [RepairGranted(decision_no="D2")]).codes == ["rectification_not_verified"]


# --------------------------------------------------------------------------- D8 procedure by date of act


def d8_days_to_decide_follow_the_rules_on_the_day_of_receipt(w: World) -> None:
    w.clock.set(datetime(2025, 3, 3, 9, tzinfo=CHINA))
    assert w.send("samr-deqing", [decision(rule_set="samr-order-45", fine_yuan=Decimal(200000),
                                           decision_date=date(2025, 3, 3))]).accepted
    w.at(0)  # 2026-01-05: SAMR's 2025 rules (7 working days) are in force
    assert _apply(w, "D1").accepted
    app_ = w.app.credit(CODE).records["D1"].applications[0]
    assert app_.procedural_rule_set == "samr-order-107"
    assert app_.decision_deadline == date(2026, 1, 14)  # 7 WD, not Order 45's 15


# --------------------------------------------------------------------------- D9 repair procedure


def d9_acceptance_and_extension(w: World) -> None:
    w.serve()
    w.pay()
    w.at(100)
    assert _apply(w, "D1").accepted
    assert w.send("tax-deqing", [RepairAccepted(decision_no="D1")]).codes == ["not_authorized"]
    assert w.send("samr-deqing", [RepairAccepted(decision_no="D1", note="受理")]).accepted
    assert w.send("samr-deqing", [RepairExtended(decision_no="D1", reason="复杂", working_days=3)]).accepted
    app_ = w.app.credit(CODE).records["D1"].applications[0]
    assert app_.accepted_at is not None
    assert (app_.extended_working_days, app_.decision_deadline) == (3, date(2026, 4, 29))
    w.at(112)  # 2026-04-27: within the extended deadline
    assert w.send("samr-deqing", [RepairGranted(decision_no="D1")]).accepted
    sup = w.app.supervision("samr-deqing")
    assert sup.repairs_decided_within_deadline == 1
    assert sup.repair_replies_within_deadline == 1
    assert w.send("samr-deqing", [RepairExtended(decision_no="D1", reason="再延", working_days=1)]).codes == [
        "no_pending_application"
    ]


# --------------------------------------------------------------------------- D13 same kind since


def d13_samr_no_same_kind_penalty_since(w: World) -> None:
    w.serve(violation_kind="虚假宣传")
    w.pay()
    w.at(10)
    assert w.serve("D2", violation_kind="虚假宣传", decision_date=date(2026, 1, 15)).accepted
    w.at(100)
    refused = _apply(w, "D1")
    assert refused.codes == ["same_kind_penalty_since"]
    assert refused.reasons[0].detail["later"] == "D2"


# --------------------------------------------------------------------------- D14 withdrawal


def d14_withdrawal_records_ground_ruling_and_replacement(w: World) -> None:
    w.serve()
    w.at(30)  # 2026-02-04
    receipt = w.send("samr-deqing", [decision("D1-变更", decision_date=date(2026, 2, 4)),
                                     DecisionWithdrawn(decision_no="D1", reason="复议确认违法", ground="confirmed_illegal",
                                                       ruling_date=date(2026, 2, 2), replaced_by="D1-变更")])
    assert receipt.accepted, receipt.reasons
    record = w.app.credit(CODE).records["D1"]
    assert (record.status, record.withdrawal_ground, record.replaced_by) == ("withdrawn", "confirmed_illegal", "D1-变更")
    assert record.withdrawal_deadline == date(2026, 2, 5)
    sup = w.app.supervision("samr-deqing")
    assert (sup.withdrawals, sup.withdrawals_within_deadline) == (1, 1)


def d14_replacing_decision_must_be_on_the_ledger(w: World) -> None:
    """Choice (docs/rules.md): ``replaced_by`` must name a decision the ledger already holds for
    the enterprise — earlier, or earlier in the same submission; it is not kept as a promise."""
    w.serve()
    w.at(30)  # 2026-02-04
    withdrawal = DecisionWithdrawn(decision_no="D1", reason="复议变更", ground="changed",
                                   ruling_date=date(2026, 2, 2), replaced_by="D1-变更")
    unknown = w.send("samr-deqing", [withdrawal])
    assert unknown.codes == ["replacement_unknown"]
    assert unknown.reasons[0].field == "events[0].event.replaced_by"
    assert "D1-变更" in unknown.reasons[0].message
    # the same number on another enterprise is not this enterprise's replacement
    assert w.send("samr-deqing", [decision("D1-变更", decision_date=date(2026, 2, 4))], stream=OTHER).accepted
    assert w.send("samr-deqing", [withdrawal]).codes == ["replacement_unknown"]
    itself = w.send("samr-deqing", [withdrawal.model_copy(update={"replaced_by": "D1"})])
    assert itself.codes == ["decision_inconsistent"] and itself.reasons[0].field == "events[0].event.replaced_by"
    assert w.app.credit(CODE).records["D1"].status == "publicized"
    # the changed decision first, then the withdrawal naming it, in one submission
    both = w.send("samr-deqing", [decision("D1-变更", decision_date=date(2026, 2, 4)), withdrawal])
    assert both.accepted, both.reasons
    records = w.app.credit(CODE).records
    assert (records["D1"].status, records["D1"].replaced_by) == ("withdrawn", "D1-变更")
    assert records["D1-变更"].replaces == ["D1"]


# --------------------------------------------------------------------------- D9 one window, 不予受理


def d9_one_window_forwards_and_the_deadline_runs_from_receipt(w: World) -> None:
    """22号: 信用中国 receives and forwards; the identifying department decides within 3 working
    days of receiving the forwarded application, in ledger time."""
    assert w.send("tax-deqing", [decision(rule_set="gbf-2025-22")]).accepted
    assert w.send("tax-deqing", [PenaltyFulfilled(decision_no="D1", amount_paid_yuan=Decimal(50000),
                                                  fulfilled_on=date(2026, 1, 5))]).accepted
    w.at(100)  # 2026-04-15 (Wednesday): 信用中国 receives the application
    assert _apply(w, "D1").accepted
    assert w.app.credit(CODE).records["D1"].applications[0].decision_deadline == date(2026, 4, 20)
    w.at(102)  # 2026-04-17 (Friday): forwarded, dated as if on the day of receipt
    sent_back = w.clock.now() - timedelta(days=2)
    wrong = w.p["creditchina"].publish(CODE, [RepairForwarded(decision_no="D1", forwarded_to="samr-deqing")],
                                       occurred_at=sent_back)
    assert wrong.codes == ["forwarded_to_wrong_department"]
    assert wrong.reasons[0].field == "events[0].event.forwarded_to"
    assert wrong.reasons[0].detail["expected"] == "tax-deqing"
    assert w.send("tax-deqing", [RepairForwarded(decision_no="D1", forwarded_to="tax-deqing")]).codes == [
        "not_authorized"
    ]
    forwarded = w.p["creditchina"].publish(CODE, [RepairForwarded(decision_no="D1", forwarded_to="tax-deqing")],
                                           occurred_at=sent_back)
    assert forwarded.accepted, forwarded.reasons
    app_ = w.app.credit(CODE).records["D1"].applications[0]
    assert (app_.forwarded_to, app_.forwarded_on) == ("tax-deqing", date(2026, 4, 17))
    assert app_.decision_deadline == date(2026, 4, 22)  # 3 working days from the department's receipt
    assert app_.reply_deadline == date(2026, 4, 29)  # the applicant's 10 days still run from the first receipt
    assert w.send("creditchina", [RepairForwarded(decision_no="D1", forwarded_to="tax-deqing")]).codes == [
        "already_forwarded"
    ]
    # once forwarded, 不予受理 is the department's
    assert w.send("creditchina", [RepairNotAccepted(decision_no="D1", reason="材料不全")]).codes == ["not_authorized"]
    assert w.app.supervision("creditchina").repairs_forwarded == 1
    assert w.app.supervision("tax-deqing").repairs_received_by_forwarding == 1
    w.at(107)  # 2026-04-22: the last day of the deadline counted from the department's receipt
    assert w.send("tax-deqing", [RepairAccepted(decision_no="D1")]).accepted
    assert w.send("tax-deqing", [RepairGranted(decision_no="D1")]).accepted
    sup = w.app.supervision("tax-deqing")
    assert (sup.repairs_decided, sup.repairs_decided_within_deadline) == (1, 1)


def d9_not_accepted_closes_the_application(w: World) -> None:
    w.serve()
    w.pay()
    w.at(100)
    assert _apply(w, "D1").accepted
    assert w.send("eco-huzhou", [RepairNotAccepted(decision_no="D1", reason="材料不全")]).codes == ["not_authorized"]
    # the one window, before forwarding (形式审查)
    window = w.send("creditchina", [RepairNotAccepted(decision_no="D1", reason="未提交信用承诺书")])
    assert window.accepted, window.reasons
    app_ = w.app.credit(CODE).records["D1"].applications[0]
    assert (app_.outcome, app_.reason, app_.replied_within_deadline) == ("not_accepted", "未提交信用承诺书", True)
    sup = w.app.supervision("creditchina")
    assert (sup.repairs_not_accepted, sup.repair_replies_within_deadline) == (1, 1)
    assert w.send("samr-deqing", [RepairGranted(decision_no="D1")]).codes == ["no_pending_application"]
    # the identifying department, before it accepts
    assert _apply(w, "D1").accepted
    assert w.send("samr-deqing", [RepairNotAccepted(decision_no="D1", reason="不属于受理范围")]).accepted
    assert w.app.supervision("samr-deqing").repairs_not_accepted == 1
    # after 受理 only a decision on the merits remains
    assert _apply(w, "D1").accepted
    assert w.send("samr-deqing", [RepairAccepted(decision_no="D1")]).accepted
    assert w.send("samr-deqing", [RepairAccepted(decision_no="D1")]).codes == ["application_already_accepted"]
    late = w.send("samr-deqing", [RepairNotAccepted(decision_no="D1", reason="材料不全")])
    assert late.codes == ["application_already_accepted"]
    assert w.send("samr-deqing", [RepairGranted(decision_no="D1")]).accepted
    outcomes = [a.outcome for a in w.app.credit(CODE).records["D1"].applications]
    assert outcomes == ["not_accepted", "not_accepted", "granted"]
    sup = w.app.supervision("samr-deqing")
    assert (sup.repairs_decided, sup.repairs_granted) == (1, 1)


# --------------------------------------------------------------------------- D13 the lists


def d13_samr_repair_waits_until_off_the_lists(w: World) -> None:
    w.serve()
    w.pay()
    abnormal = CreditListIncluded(list_kind="abnormal_operation", decision_no="德市监异〔2026〕1号",
                                  reason="未按规定公示年度报告", included_on=date(2026, 1, 5))
    assert w.send("tax-deqing", [abnormal]).codes == ["not_authorized"]
    assert w.send("creditchina", [abnormal]).codes == ["not_authorized"]
    assert w.send("samr-deqing", [abnormal]).accepted
    again = w.send("samr-deqing", [abnormal.model_copy(update={"decision_no": "德市监异〔2026〕2号"})])
    assert again.codes == ["duplicate_reference"] and again.reasons[0].field == "events[0].event.list_kind"
    assert w.send("samr-deqing", [CreditListIncluded(list_kind="serious_illegal_dishonest", decision_no="德市监严〔2026〕1号",
                                                     reason="提交虚假材料取得登记", included_on=date(2026, 1, 5))]).accepted
    # a general-domain record (22号) is not under SAMR's list condition
    assert w.send("tax-deqing", [decision("T1", rule_set="gbf-2025-22")]).accepted
    assert w.send("tax-deqing", [PenaltyFulfilled(decision_no="T1", amount_paid_yuan=Decimal(50000),
                                                  fulfilled_on=date(2026, 1, 5))]).accepted
    w.at(100)
    assert _apply(w, "D1").accepted
    assert _apply(w, "T1").accepted
    assert w.send("tax-deqing", [RepairGranted(decision_no="T1")]).accepted
    refused = w.send("samr-deqing", [RepairGranted(decision_no="D1")])
    assert refused.codes == ["on_credit_list"]
    assert refused.reasons[0].detail["lists"] == ["abnormal_operation", "serious_illegal_dishonest"]
    assert "经营异常名录" in refused.reasons[0].message and "严重违法失信名单" in refused.reasons[0].detail["rule"]
    removal = CreditListRemoved(list_kind="abnormal_operation", decision_no="德市监移〔2026〕1号",
                                reason="已补报年度报告", removed_on=date(2026, 4, 15))
    assert w.send("samr-deqing", [removal]).accepted
    still = w.send("samr-deqing", [RepairGranted(decision_no="D1")])
    assert still.codes == ["on_credit_list"] and still.reasons[0].detail["lists"] == ["serious_illegal_dishonest"]
    assert w.send("samr-deqing", [removal]).codes == ["unknown_reference"]
    assert w.send("samr-deqing", [CreditListRemoved(list_kind="serious_illegal_dishonest", decision_no="德市监移〔2026〕2号",
                                                    reason="信用修复", removed_on=date(2026, 4, 15))]).accepted
    granted = w.send("samr-deqing", [RepairGranted(decision_no="D1")])
    assert granted.accepted, granted.reasons
    credit = w.app.credit(CODE)
    assert credit.on_list() == []
    assert [(e.list_kind, e.removed_on) for e in credit.list_entries] == [
        ("abnormal_operation", date(2026, 4, 15)), ("serious_illegal_dishonest", date(2026, 4, 15))]
    sup = w.app.supervision("samr-deqing")
    assert (sup.list_inclusions, sup.list_removals) == (2, 2)


# --------------------------------------------------------------------------- D16 applied: false


def d16_applied_false_is_not_synced(w: World) -> None:
    w.serve()
    source = w.granted().events[0].event_id
    declined = w.send("tax-deqing", [DeliveryAcknowledged(source_event_id=source, applied=False, note="系统故障")])
    assert declined.accepted
    delivery = w.app.sync(CODE).deliveries[f"{source}/tax-deqing"]
    assert delivery.status == "pending" and delivery.declined_at is not None
    sup = w.app.supervision("tax-deqing")
    assert (sup.syncs_acknowledged, sup.syncs_declined) == (0, 1)
    assert w.send("tax-deqing", [DeliveryAcknowledged(source_event_id=source)]).accepted
    assert w.app.sync(CODE).deliveries[f"{source}/tax-deqing"].status == "acknowledged"


# --------------------------------------------------------------------------- D19 first violation


def d19_first_violation_is_answered_and_enforced(w: World) -> None:
    assert w.send("eco-huzhou", [decision(rule_set="gbf-2025-22", violation_kind="超标排放")]).accepted
    refused = w.send("samr-deqing", [_no_penalty("NP1", "超标排放")])
    assert refused.codes == ["not_first_violation"]
    assert refused.reasons[0].detail["prior"] == ["D1"]
    assert "eco-huzhou" in refused.reasons[0].message
    # another basis is not a first-violation claim; a different kind is a first
    assert w.send("samr-deqing", [_no_penalty("NP2", "超标排放", basis="minor_and_corrected")]).accepted
    assert w.send("samr-deqing", [_no_penalty("NP3", "无证经营")]).accepted
    records = w.app.credit(CODE).records
    assert records["NP3"].first_of_kind is True
    assert records["NP2"].first_of_kind is False and records["NP2"].prior_of_kind == ["D1"]
    # a record names at most PRIOR_NAMED earlier decisions of its kind and counts them all, so
    # records do not grow with the enterprise's history
    for i in range(2, 9):
        assert w.send("eco-huzhou", [decision(f"D{i}", rule_set="gbf-2025-22", violation_kind="超标排放")]).accepted
    last = w.app.credit(CODE).records["D8"]
    assert last.first_of_kind is False and last.prior_of_kind_count == 8
    assert len(last.prior_of_kind) == 5 and set(last.prior_of_kind) <= {"D1", "NP2", *(f"D{i}" for i in range(2, 8))}
    again = w.send("samr-deqing", [_no_penalty("NP9", "超标排放")])
    assert again.codes == ["not_first_violation"] and again.reasons[0].detail["prior_count"] == 9
    assert len(again.reasons[0].detail["prior"]) == 5


# --------------------------------------------------------------------------- legacy codes


def legacy_code_needs_the_operators_registration(w: World) -> None:
    typo = "91350203M0001QAY9C"  # one character off the known legacy code
    receipt = w.p["samr-deqing"].publish(typo, [decision()], occurred_at=w.clock.now(), legacy_code=True)
    assert receipt.codes == ["legacy_code_unregistered"]
    assert typo not in w.app.log.streams()
    legacy = "91350203M0001QAY9B"
    assert w.app.emit(REGISTRY_STREAM, [LegacyCodeRegistered(code=legacy, source="存量登记")],
                             submission_id="legacy").accepted
    assert w.p["samr-deqing"].publish(legacy, [decision()], occurred_at=w.clock.now(), legacy_code=True).accepted
    registered = w.app.ledger.registry().legacy_codes
    assert list(registered) == [legacy]
    rogue = w.send("samr-deqing", [LegacyCodeRegistered(code=typo, source="x")], stream=REGISTRY_STREAM)
    assert rogue.codes == ["not_authorized"]


SCENARIOS = [
    d1_tax_cannot_choose_a_market_regulation_rule_set,
    d1_overlapping_windows_pick_the_newest,
    d1_samr_2025_fine_follows_order_45_and_waits_six_months,
    d2_samr_45_criticism_is_refused_not_granted,
    d3_future_facts_are_rejected,
    d3_deadlines_run_from_receipt_and_late_facts_are_counted,
    d3_backfill_is_explicit_and_marked,
    d4_minor_not_publicized_is_a_recorded_class,
    d5_samr_45_counts_from_publication,
    d6_advisory_items_do_not_block_repair,
    d7_tax_revocation_under_22_is_repairable,
    d8_days_to_decide_follow_the_rules_on_the_day_of_receipt,
    d9_acceptance_and_extension,
    d10_no_province_is_the_national_default,
    d12_samr_107_minor_stops_by_itself,
    d13_samr_no_same_kind_penalty_since,
    d14_withdrawal_records_ground_ruling_and_replacement,
    d14_replacing_decision_must_be_on_the_ledger,
    d9_one_window_forwards_and_the_deadline_runs_from_receipt,
    d9_not_accepted_closes_the_application,
    d13_samr_repair_waits_until_off_the_lists,
    d16_applied_false_is_not_synced,
    d19_first_violation_is_answered_and_enforced,
    legacy_code_needs_the_operators_registration,
]

__all__ = ["SCENARIOS", "PenaltyFulfilled"]


# --------------------------------------------------------------------------- D4 sector standard, D11 Order 58 sectors


STANDARD_BOOK = PolicyBook(class_standards=[ClassStandard(
    ref="生态环境行政处罚信息分类标准（测试）", domain="ecology", jurisdiction="33",
    effective_from=date(2025, 6, 22), serious_fine_from_organisation=Decimal(1_000_000),
    minor_fine_below_organisation=Decimal(10_000), publicize_minor=True, source="test data")])
"""The ecology sector's (fictional, test-only) classification standard, loaded as data."""


def d4_sector_standard_classes_the_fine(w: World) -> None:
    assert w.app.rules.policies == STANDARD_BOOK  # built with the policy file (POLICIES below)
    huge = {"rule_set": "gbf-2025-22", "fine_yuan": Decimal(50_000_000)}
    missing = w.send("eco-huzhou", [decision(**huge)])
    assert missing.codes == ["class_basis_mismatch"]
    assert missing.reasons[0].detail["expected"] == "生态环境行政处罚信息分类标准（测试）"
    wrong_amount = w.send("eco-huzhou", [decision(**huge, class_basis=ClassBasis(
        standard_ref="生态环境行政处罚信息分类标准（测试）", amount_yuan=Decimal(1)))])
    assert wrong_amount.codes == ["class_basis_mismatch"]
    basis = ClassBasis(standard_ref="生态环境行政处罚信息分类标准（测试）", amount_yuan=Decimal(50_000_000))
    assert w.send("eco-huzhou", [decision(**huge, class_basis=basis)]).accepted
    record = w.app.credit(CODE).records["D1"]
    assert (record.publicity_class, record.max_end) == ("serious", date(2029, 1, 5))
    assert record.class_basis.startswith("生态环境行政处罚信息分类标准（测试）")
    # the sector publicizes minor information: a lower fine is minor and publicized
    low = ClassBasis(standard_ref="生态环境行政处罚信息分类标准（测试）", amount_yuan=Decimal(5000))
    assert w.send("eco-huzhou", [decision("D2", rule_set="gbf-2025-22", fine_yuan=Decimal(5000),
                                          class_basis=low)]).accepted
    assert w.app.credit(CODE).records["D2"].publicity_class == "minor"
    # a department of a sector without a standard must not claim one
    assert w.send("tax-deqing", [decision("D3", rule_set="gbf-2025-22", class_basis=basis)]).codes == [
        "class_basis_mismatch"
    ]


def d11_order_58_special_equipment_waits_a_year(w: World) -> None:
    assert w.app.emit(REGISTRY_STREAM, [BackfillAuthorized(department_id="ema-deqing", until=date(2026, 1, 31),
                                                                  reason="导入历史记录")], submission_id="bf").accepted
    then = datetime(2024, 3, 1, 9, tzinfo=CHINA)
    d = decision(rule_set="ndrc-order-58", decision_date=date(2024, 3, 1), sector="special_equipment",
                 penalty_types=["警告"], fine_yuan=Decimal(0))
    assert w.p["ema-deqing"].publish(CODE, [d], occurred_at=then, submission_id="backfill:ema-1").accepted
    assert w.app.credit(CODE).records["D1"].repair_from == date(2025, 3, 2)
    early = _apply(w, "D1", occurred_at=datetime(2024, 7, 1, 9, tzinfo=CHINA), sid="backfill:cc-1")
    assert early.codes == ["backfill_not_authorized"]  # 信用中国 has no backfill open
    assert w.p["ema-deqing"].publish(
        CODE, [RepairApplied(decision_no="D1", credit_commitment="承诺", applied_on=date(2024, 7, 1))],
        occurred_at=datetime(2024, 7, 1, 9, tzinfo=CHINA), submission_id="backfill:ema-2",
    ).codes == ["repair_too_early"]


SCENARIOS += [d4_sector_standard_classes_the_fine, d11_order_58_special_equipment_waits_a_year]


def sync_deadline_runs_from_the_grant_not_the_backlog(w: World) -> None:
    """Issue 11: a grant signed on Wednesday 2026-04-15 that the ledger processes two days
    later (a backlog of submissions) keeps its deadline of 3 working days from the 15th; one
    recorded more than 7 days after its date (a late fact, not a backlog) runs from its
    recording, since the subscribers could not have had it before."""
    w.serve()
    w.pay()
    w.close_items()
    w.at(99.9)
    assert w.apply().accepted
    signed = w.at(100)  # 2026-04-15 09:00, Wednesday
    w.at(102)  # processed on the 17th
    granted = w.p["samr-deqing"].publish(CODE, [RepairGranted(decision_no="D1")], occurred_at=signed)
    assert granted.accepted, granted.reasons
    source = granted.events[0].event_id
    deliveries = [d for d in w.app.sync(CODE).deliveries.values() if d.source_event_id == source]
    assert deliveries and {d.deadline for d in deliveries} == {date(2026, 4, 20)}
    assert all(d.delivered_at.date() == date(2026, 4, 17) for d in deliveries)

    w.serve("D2")
    w.pay("D2")
    w.close_items("D2")
    w.at(109.9)
    assert w.apply("D2").accepted
    signed = w.at(110)  # 2026-04-25
    w.at(120)  # recorded ten days later: late
    late = w.p["samr-deqing"].publish(CODE, [RepairGranted(decision_no="D2")], occurred_at=signed)
    assert late.accepted, late.reasons
    expected = w.app.rules.calendar.add_working_days(date(2026, 5, 5), 3).date
    assert {d.deadline for d in w.app.sync(CODE).deliveries.values()
            if d.source_event_id == late.events[0].event_id} == {expected}


SCENARIOS += [sync_deadline_runs_from_the_grant_not_the_backlog]

POLICIES: dict[Callable[[World], None], PolicyBook] = {d4_sector_standard_classes_the_fine: STANDARD_BOOK}
"""Scenarios that need a policy book: their ledger is opened with it as its policy file (the
rules are configuration, never changed on a built app)."""


def policy_file(scenario: Callable[[World], None], folder: Path) -> Path | None:
    """The scenario's policy book written as a policy file in ``folder`` (None: the default)."""
    book = POLICIES.get(scenario)
    if book is None:
        return None
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "policy.json"
    path.write_text(book.model_dump_json())
    return path
