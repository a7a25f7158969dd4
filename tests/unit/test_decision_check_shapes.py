"""The write path's decision check (``services/decision_rules.py: check_decision``) works out a
decision's periods through the fold's own glue (``projections/fold.py: periods_for``): the area's
policy layered once (``Rules.policy``) and a shape already met taken from the shape cache. Before,
it layered the policy afresh for every decision (``PolicyBook.for_jurisdiction`` copies the
policy when an area has a layer) and the shape cache is keyed by the policy's identity, so under
a local policy the check worked every decision's shape out anew (one more cache entry each, until
the cache is cleared, the fold's entries with it). A decision the periods refuse is still
rejected with its reason."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from tongxiu.events.models import PenaltyDecided
from tongxiu.projections import periods
from tongxiu.projections.fold import Rules, periods_for
from tongxiu.projections.policy import LocalPolicy, PolicyBook
from tongxiu.projections.rule_tables import MARKET_REGULATION, derive_rule_set
from tongxiu.services.decision_rules import check_decision

ENTERPRISE = "91330521MA2B3C4D5E"  # area 330521: under the "33" layer below


def decision(n: int, **over: Any) -> PenaltyDecided:
    day = date(2026, 2, 2)
    rule_set = derive_rule_set(day, MARKET_REGULATION)
    assert rule_set is not None
    fields: dict[str, Any] = dict(
        decision_no=f"处罚〔2026〕{n}号", party_name="某公司", address="某地", legal_representative="张某",
        facts="事实", legal_basis="依据", penalty_types=["罚款"], fine_yuan=Decimal(60000), authority="某局",
        decision_date=day, procedure="ordinary", rule_set=rule_set.value, party_kind="organisation",
    )
    fields.update(over)
    return PenaltyDecided(**fields)


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    made = [0]
    new_shape = periods._new_shape

    def counting(*a: Any) -> Any:
        made[0] += 1
        return new_shape(*a)

    monkeypatch.setattr(periods, "_new_shape", counting)
    monkeypatch.setattr(periods, "_SHAPES", {})
    return made


def test_a_layered_policy_shape_is_worked_out_once_for_check_and_fold(counted: list[int]) -> None:
    rules = Rules(policies=PolicyBook(policies_by_jurisdiction={"33": LocalPolicy(publicize_minor=True)}))
    assert rules.policies.for_jurisdiction("330521") is not rules.policies.for_jurisdiction("330521")  # a copy each time
    for n in range(1, 21):
        ev = decision(n)
        assert check_decision(ev, "events[0]", rules, ENTERPRISE, MARKET_REGULATION) == []
        assert periods_for(rules, ENTERPRISE, ev).publicized
    assert counted[0] == 1


def test_a_decision_the_periods_refuse_is_still_rejected(counted: list[int]) -> None:
    rules = Rules(policies=PolicyBook(policies_by_jurisdiction={"33": LocalPolicy(publicize_minor=True)}))
    assert check_decision(decision(1), "events[0]", rules, ENTERPRISE, MARKET_REGULATION) == []
    # a fine amount without a fine among the penalty types: refused by the decision's facts
    for _ in range(2):  # and again once a shape of the same rules is known
        (bad,) = check_decision(
            decision(2, penalty_types=["警告"]), "events[0]", rules, ENTERPRISE, MARKET_REGULATION
        )
        assert bad.code == "decision_inconsistent" and bad.field == "events[0].penalty_types"
        assert "处罚种类中没有罚款" in bad.message
