"""Every rejection reason of the write path, reached the way a department would reach it, plus
the write path's guarantees: all-or-none bundles, duplicates, recorded rejections."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.support import CODE, World, decision, make_world
from tests.unit.supervision_cases import SUPERVISION_CASES
from tongxiu.events.envelope import Receipt
from tongxiu.events.models import (
    REGISTRY_STREAM,
    ClassBasis,
    CreditListIncluded,
    CreditRepairNoticeIssued,
    DecisionWithdrawn,
    DeliveryAcknowledged,
    DepartmentRegistered,
    LegacyCodeRegistered,
    NoPenaltyDecided,
    RectificationEvidenceSubmitted,
    RectificationVerified,
    RepairAccepted,
    RepairForwarded,
    RepairGranted,
    RepairNotAccepted,
    RepairRefused,
    RepairRevoked,
    SubscriptionRemoved,
)
from tongxiu.events.signing import KeyPair
from tongxiu.infra.bootstrap import open_embedded
from tongxiu.infra.embedded import LocalTransport
from tongxiu.projections.rules import LocalPolicy, PolicyBook
from tongxiu.services.config import Settings
from tongxiu.services.decide import REASON_CODES
from tongxiu.services.demo import demo_key
from tongxiu.services.ledger import sign_submission
from tongxiu.services.ports import ManualClock
from tongxiu.services.sdk import Producer


def _raw(world: World, mutate: Callable[[dict[str, Any]], None]) -> Receipt:
    sub = sign_submission(
        demo_key("samr-deqing"), department="samr-deqing", stream=CODE, submission_id="raw-1",
        occurred_at=world.clock.now(), events=[decision()],
    ).model_dump(mode="json")
    mutate(sub)
    return world.app.submit(sub)


# Each case: the code it must produce, and how a department gets there.
CASES: dict[str, Callable[[World], Receipt]] = {
    "schema_invalid": lambda w: _raw(w, lambda s: s["events"][0]["event"].__setitem__("fine_yuan", "-5")),
    "credit_code_invalid": lambda w: w.send("samr-deqing", [decision()], stream="91350203M0001QAY9B"),
    "unknown_department": lambda w: Producer(LocalTransport(w.app), "nobody", KeyPair.generate()).publish(
        CODE, [decision()], occurred_at=w.clock.now()
    ),
    "signature_invalid": lambda w: Producer(LocalTransport(w.app), "samr-deqing", KeyPair.generate()).publish(
        CODE, [decision()], occurred_at=w.clock.now()
    ),
    "wrong_stream": lambda w: w.send("samr-deqing", [SubscriptionRemoved()], stream=CODE),
    "not_authorized": lambda w: (w.serve(), w.send("tax-deqing", [DecisionWithdrawn(decision_no="D1", reason="复议")]))[1],
    "unknown_reference": lambda w: w.send("samr-deqing", [RepairGranted(decision_no="nope")]),
    "duplicate_reference": lambda w: (w.serve(), w.serve(with_advice=False))[1],
    "rule_set_not_in_force": lambda w: w.send("samr-deqing", [decision(rule_set="samr-order-45")]),
    "decision_inconsistent": lambda w: w.send("samr-deqing", [decision(procedure="simple")]),
    "notice_mismatch": lambda w: w.send(
        "samr-deqing",
        [
            decision(),
            CreditRepairNoticeIssued(
                notice_no="N1", decision_no="D1", publicity_class="serious",
                publicity_until=date(2029, 1, 5), earliest_repair_date=date(2027, 1, 5),
            ),
        ],
    ),
    "insufficient_payment": lambda w: (w.serve(), w.pay(amount="100"))[1],
    "item_closed": lambda w: (w.serve(), w.close_items(), w.send(
        "creditchina", [RectificationEvidenceSubmitted(advice_no="A-D1", item_id="1", evidence="再交")]))[2],
    "no_evidence": lambda w: (w.serve(), w.send("samr-deqing", [RectificationVerified(advice_no="A-D1", item_id="1")]))[1],
    "not_publicized": lambda w: (w.send("samr-deqing", [decision(procedure="simple", penalty_types=["警告"],
                                                                   fine_yuan=Decimal(0))]), w.apply())[1],
    "repair_too_early": lambda w: (w.serve(), w.at(30), w.apply())[2],
    "early_end_forbidden": lambda w: (w.serve(penalty_types=["吊销许可证件"], fine_yuan=Decimal(0)), w.at(800), w.apply())[2],
    "repair_locked_out": lambda w: _locked_out(w),
    "application_pending": lambda w: (w.serve(), w.at(100), w.apply(), w.apply())[3],
    "no_pending_application": lambda w: (w.serve(), w.send("samr-deqing", [RepairRefused(decision_no="D1", reason="否")]))[1],
    "obligations_not_performed": lambda w: (w.serve(), w.close_items(), w.at(100), w.apply(),
                                            w.send("samr-deqing", [RepairGranted(decision_no="D1")]))[4],
    "rectification_not_verified": lambda w: (w.serve(binding=True), w.pay(), w.at(100), w.apply(),
                                             w.send("samr-deqing", [RepairGranted(decision_no="D1")]))[4],
    "not_repaired": lambda w: (w.serve(), w.send("samr-deqing", [RepairRevoked(decision_no="D1", reason="虚假材料")]))[1],
    "decision_withdrawn": lambda w: (w.serve(), w.send("samr-deqing", [DecisionWithdrawn(decision_no="D1", reason="撤销")]),
                                     w.send("samr-deqing", [DecisionWithdrawn(decision_no="D1", reason="再撤")]))[2],
    "already_acknowledged": lambda w: _acked_twice(w),
    # a tax department cannot choose a market-regulation rule set
    "rule_set_mismatch": lambda w: w.send("tax-deqing", [decision(rule_set="samr-order-107")]),
    "occurred_in_future": lambda w: w.p["samr-deqing"].publish(
        CODE, [decision()], occurred_at=w.clock.now() + timedelta(days=100)
    ),
    # SAMR Order 45 通报批评: publicity ends by itself after 3 months, no repair
    "not_repairable": lambda w: (w.at(-30), w.send("samr-deqing", [decision(
        rule_set="samr-order-45", penalty_types=["通报批评"], fine_yuan=Decimal(0), decision_date=date(2025, 12, 6))]),
        w.at(16), w.apply())[3],
    "not_first_violation": lambda w: (
        w.send("eco-huzhou", [decision(rule_set="gbf-2025-22", violation_kind="超标排放")]),
        w.send("samr-deqing", [NoPenaltyDecided(decision_no="NP1", party_name="某公司", basis="first_violation",
                                                violation_kind="超标排放", legal_basis="第三十三条",
                                                decision_date=date(2026, 1, 5))]))[1],
    "legacy_code_unregistered": lambda w: w.p["samr-deqing"].publish(
        "91350203M0001QAY9C", [decision()], occurred_at=w.clock.now(), legacy_code=True
    ),
    "backfill_not_authorized": lambda w: w.send("samr-deqing", [decision()], sid="backfill:1"),
    "class_basis_mismatch": lambda w: w.send(
        "samr-deqing", [decision(class_basis=ClassBasis(standard_ref="无此标准", amount_yuan=Decimal(50000)))]
    ),
    "same_kind_penalty_since": lambda w: (
        w.serve(violation_kind="虚假宣传"), w.pay(), w.at(10),
        w.serve("D2", violation_kind="虚假宣传", decision_date=date(2026, 1, 15)), w.at(100), w.apply("D1"))[5],
    # D9: the one window forwards to the identifying department only, once, before acceptance
    "forwarded_to_wrong_department": lambda w: (w.serve(), w.at(100), w.apply(), w.send(
        "creditchina", [RepairForwarded(decision_no="D1", forwarded_to="tax-deqing")]))[3],
    "already_forwarded": lambda w: (w.serve(), w.at(100), w.apply(),
                                    w.send("creditchina", [RepairForwarded(decision_no="D1", forwarded_to="samr-deqing")]),
                                    w.send("creditchina", [RepairForwarded(decision_no="D1", forwarded_to="samr-deqing")]))[4],
    "application_already_accepted": lambda w: (w.serve(), w.at(100), w.apply(),
                                               w.send("samr-deqing", [RepairAccepted(decision_no="D1")]),
                                               w.send("samr-deqing", [RepairNotAccepted(decision_no="D1", reason="材料不全")]))[4],
    # D13: SAMR repair while on 经营异常名录
    "on_credit_list": lambda w: (w.serve(), w.pay(), w.send("samr-deqing", [CreditListIncluded(
        list_kind="abnormal_operation", decision_no="德市监异〔2026〕1号", reason="未按期公示年报",
        included_on=date(2026, 1, 5))]), w.at(100), w.apply(), w.send("samr-deqing", [RepairGranted(decision_no="D1")]))[5],
    # D14: the replacing decision must be on the ledger for this enterprise
    "replacement_unknown": lambda w: (w.serve(), w.send("samr-deqing", [DecisionWithdrawn(
        decision_no="D1", reason="复议变更", ground="changed", ruling_date=date(2026, 1, 5), replaced_by="无此决定")]))[1],
    # docs/signing.md §7: an accepted submission_id with another body
    "submission_id_conflict": lambda w: (w.send("samr-deqing", [decision("D1")], sid="same-id"),
                                         w.send("samr-deqing", [decision("D2")], sid="same-id"))[1],
}


CASES.update(SUPERVISION_CASES)  # supervision of enforcers and inspections (services.supervision_rules)


CASE_POLICIES = {
    "repair_locked_out": PolicyBook(
        policies_by_jurisdiction={"33": LocalPolicy(repair_lockout_days_after_last_repair=365)}),
}
"""Cases whose ledger is opened with a policy file (local policy is configuration; see
test_policy_file_drives_lock_out)."""


def _locked_out(w: World) -> Receipt:
    assert w.app.rules.policies == CASE_POLICIES["repair_locked_out"]
    w.serve("D1")
    w.granted("D1")
    w.serve("D2")
    w.pay("D2")
    w.close_items("D2")
    w.at(200)
    return w.apply("D2")


def _acked_twice(w: World) -> Receipt:
    w.serve()
    grant = w.granted()
    source = grant.events[0].event_id
    assert w.send("tax-deqing", [DeliveryAcknowledged(source_event_id=source)]).accepted
    return w.send("tax-deqing", [DeliveryAcknowledged(source_event_id=source)])


def test_every_reason_code_has_a_case() -> None:
    from tests.unit.test_wire import WIRE_CASES  # the wire format's and signatures' codes

    assert set(CASES) | set(WIRE_CASES) == set(REASON_CODES)


@pytest.mark.parametrize("code", sorted(CASES))
def test_rejection_reason(request: pytest.FixtureRequest, tmp_path: Path, clock: ManualClock, code: str) -> None:
    book = CASE_POLICIES.get(code)
    if book is None:
        _rejection_reason(request.getfixturevalue("world"), code)
        return
    policy = tmp_path / "policy.json"
    policy.write_text(book.model_dump_json())
    app = open_embedded(Settings(data_dir=tmp_path / "with-policy", policy_file=policy), clock=clock)
    try:
        _rejection_reason(make_world(app, clock), code)
    finally:
        app.close()


def _rejection_reason(world: World, code: str) -> None:
    before = {s: world.app.log.last_seq(s) for s in world.app.log.streams()}
    receipt = CASES[code](world)
    assert not receipt.accepted
    assert code in receipt.codes, receipt.reasons
    r = next(x for x in receipt.reasons if x.code == code)
    assert r.message and (r.field or code in {"unknown_department"})
    assert re.search(r"[\u3400-\u9fff]", r.message), r.message  # issue 12: the message a person reads is Chinese
    # recorded with its reason, not dropped; nothing already recorded is lost
    logged = world.app.list_rejections(limit=1000)
    assert any(code in x.receipt.codes for x in logged)
    for stream, seq in before.items():
        assert world.app.log.last_seq(stream) >= seq


def test_schema_error_names_the_field(world: World) -> None:
    receipt = _raw(world, lambda s: s["events"][0]["event"].__setitem__("fine_yuan", "-5"))
    assert any("fine_yuan" in (r.field or "") for r in receipt.reasons)
    garbage = world.app.submit("{not json")
    assert garbage.codes == ["json_invalid"]
    assert world.app.list_rejections(limit=1000)[-1].submission == "{not json"


def test_repair_too_early_gives_the_date(world: World) -> None:
    world.serve()
    world.at(30)
    reason = world.apply().reasons[0]
    # 民法典 Art. 201-202: 3 months from 2026-01-05 end with 04-05; a repair may be applied for the day after
    assert reason.detail["earliest_repair_date"] == "2026-04-06"
    assert "2026-04-06" in reason.message


def test_bundle_is_all_or_none(world: World) -> None:
    """三书同达: a bundle whose notice is wrong records neither the decision nor the advice."""
    receipt = CASES["notice_mismatch"](world)
    assert not receipt.accepted
    assert world.app.log.last_seq(CODE) == 0
    assert world.app.credit(CODE).records == {}
    served = world.serve()
    assert [e.type for e in served.events] == ["penalty_decided", "compliance_advice_issued", "credit_repair_notice_issued"]
    assert [e.seq for e in served.events] == [1, 2, 3]


def test_duplicate_submission_gets_first_receipt(world: World) -> None:
    first = world.send("samr-deqing", [decision()], sid="same")
    again = world.send("samr-deqing", [decision()], sid="same")
    assert first.accepted and again.accepted and again.duplicate
    assert again.events == first.events
    assert world.app.log.last_seq(CODE) == 1
    rejected = world.send("tax-deqing", [RepairGranted(decision_no="D1")], sid="r")
    again_rejected = world.send("tax-deqing", [RepairGranted(decision_no="D1")], sid="r")
    assert again_rejected.duplicate and again_rejected.reasons == rejected.reasons


def test_forged_submission_does_not_take_the_id(world: World) -> None:
    forged = Producer(LocalTransport(world.app), "samr-deqing", KeyPair.generate())
    assert forged.publish(CODE, [decision()], submission_id="x", occurred_at=world.clock.now()).codes == ["signature_invalid"]
    assert world.send("samr-deqing", [decision()], sid="x").accepted


def test_legacy_code_is_accepted_only_when_declared_and_marked(world: World) -> None:
    legacy = "91350203M0001QAY9B"
    refused = world.send("samr-deqing", [decision()], stream=legacy)
    assert refused.codes == ["credit_code_invalid"]
    unregistered = world.p["samr-deqing"].publish(legacy, [decision()], occurred_at=world.clock.now(), legacy_code=True)
    assert unregistered.codes == ["legacy_code_unregistered"]
    assert legacy not in world.app.log.streams()
    registered = world.app.emit(
        REGISTRY_STREAM, [LegacyCodeRegistered(code=legacy, source="登记机关存量数据")], submission_id="legacy-1"
    )
    assert registered.accepted, registered.reasons
    accepted = world.p["samr-deqing"].publish(legacy, [decision()], occurred_at=world.clock.now(), legacy_code=True)
    assert accepted.accepted
    assert world.app.credit(legacy).legacy_code is True
    assert world.app.log.read_stream(legacy)[0].envelope.legacy_code is True


def test_registration_only_by_the_ledger(world: World) -> None:
    event = DepartmentRegistered(
        department_id="rogue", name="x", kind="department", domain="tax", jurisdiction="33",
        public_key=KeyPair.generate().public_key,
    )
    receipt = world.send("tax-deqing", [event], stream=REGISTRY_STREAM)
    assert receipt.codes == ["not_authorized"]
    assert "rogue" not in world.app.registry().departments


def test_penalty_without_notice_counts_against_department(world: World) -> None:
    assert world.send("samr-deqing", [decision()]).accepted
    assert world.serve("D2").accepted
    figures = world.app.supervision("samr-deqing", "2026-01")
    assert (figures.penalties, figures.served_with_notice, figures.penalties_without_notice) == (2, 1, 1)


def test_repair_propagates_to_subscribers_but_not_decider(world: World) -> None:
    world.serve()
    grant = world.granted()
    inboxes = {d: world.app.inbox(d) for d in ("samr-deqing", "tax-deqing", "creditchina")}
    assert inboxes["samr-deqing"] == []
    assert [i["source_event_id"] for i in inboxes["tax-deqing"]] == [grant.events[0].event_id]
    # delivered again until acknowledged
    assert world.app.inbox("tax-deqing") == inboxes["tax-deqing"]
    world.send("tax-deqing", [DeliveryAcknowledged(source_event_id=grant.events[0].event_id)])
    assert world.app.inbox("tax-deqing") == []
    assert len(world.app.inbox("creditchina")) == 1


def test_the_area_policy_sets_the_sync_deadline_of_a_propagation(tmp_path: Path) -> None:
    """The subscribers' deadline is the working days of the enterprise's area policy (layered
    by prefix), not the default's: the same grant under 3 (default) and 7 (Huzhou, "3305")."""
    from tests.support import T0, world_with_policy

    deadlines = {}
    for days, book in ((3, PolicyBook()),
                       (7, PolicyBook(policies_by_jurisdiction={"3305": LocalPolicy(sync_deadline_working_days=7)}))):
        with world_with_policy(tmp_path / str(days), ManualClock(T0), book) as w:
            w.serve()
            grant = w.granted()
            (entry,) = w.app.inbox("tax-deqing")
            assert entry["source_event_id"] == grant.events[0].event_id
            deadlines[days] = date.fromisoformat(entry["deadline"])
            calendar = w.app.rules.calendar
    assert deadlines[7] == calendar.add_working_days(deadlines[3], 4).date
    assert deadlines[7] > deadlines[3]


def test_first_violation_is_answerable_across_departments(world: World) -> None:
    from tongxiu.projections.fold import first_violation

    world.send("samr-deqing", [decision(violation_kind="无证经营")])
    state = world.app.enterprise_state(CODE)
    assert not first_violation(state, "无证经营")
    assert first_violation(state, "超范围经营")


def test_policy_file_drives_lock_out(tmp_path: Any, clock: ManualClock) -> None:
    from tongxiu.infra.bootstrap import open_embedded
    from tongxiu.services.config import Settings

    policy = tmp_path / "policy.toml"
    policy.write_text("[policies_by_jurisdiction.3305]\nrepair_lockout_days_after_last_repair = 365\n")
    app = open_embedded(Settings(data_dir=tmp_path / "l", policy_file=policy), clock=clock)
    try:
        assert app.rules.policies.for_jurisdiction("330521").repair_lockout_days_after_last_repair == 365
        assert app.rules.policies.for_jurisdiction("320101").repair_lockout_days_after_last_repair is None
    finally:
        app.close()
