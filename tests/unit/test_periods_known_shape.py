"""The fold's ``periods_for`` takes a decision of a shape already met straight to its dated
periods (``periods.known_periods``), without building its ``DecisionFacts``; a shape not met
yet goes through ``compute_periods(decision_facts(...))`` as before. Over a grid of decisions
(rule sets, penalty types, amounts written two ways, procedures, parties, sectors, lists, a
sector standard, three local policies, dates with and without identification and publication
dates and a restriction), every decision's periods — every field and every text in both
languages — and every refusal (``ValueError``) are the same whether its shape was known or not,
and the same as ``compute_periods`` of its facts."""

from __future__ import annotations

import itertools
from datetime import date
from decimal import Decimal

from pydantic import ValidationError

from tests.unit.test_period_shapes import outcome, refused_or
from tongxiu.events.models import PenaltyDecided
from tongxiu.projections import periods
from tongxiu.projections.fold import Rules, decision_facts, jurisdiction_of, periods_for
from tongxiu.projections.policy import ClassStandard, LocalPolicy, PolicyBook
from tongxiu.projections.rule_tables import RuleSet
from tongxiu.projections.rules import compute_periods

STANDARD = ClassStandard(ref="std-1", domain="market", effective_from=date(2020, 1, 1),
                         minor_fine_below_organisation=Decimal(8000), serious_fine_from_organisation=Decimal(500000))
RULES = [
    Rules(policies=PolicyBook(class_standards=[STANDARD])),
    Rules(policies=PolicyBook(default=LocalPolicy(publicize_minor=True), class_standards=[STANDARD])),
    Rules(policies=PolicyBook(default=LocalPolicy(lower_fine_threshold_person=Decimal(10000),
                                                  lower_fine_threshold_organisation=Decimal(100000)),
                              class_standards=[STANDARD])),
]
ENTERPRISE = "91330521MA2B3C4D5E"
TYPES = [("警告",), ("罚款",), ("罚款", "警告"), ("没收违法所得", "罚款"), ("吊销许可证件",), ("限制从业", "罚款"),
         ("责令停产停业",)]
FINES = ["0", "5000", "5000.00", "600000"]
DAYS = [date(2026, 1, 31), date(2026, 2, 1), date(2023, 8, 15)]


def grid() -> list[tuple[Rules, PenaltyDecided]]:
    out = []
    for rules, rule_set, types, fine, procedure, party, sector, listed, basis in itertools.product(
        RULES, list(RuleSet), TYPES, FINES, ("ordinary", "simple"), ("organisation", "person"),
        (None, "food", "special_equipment"), (False, True), (False, True),
    ):
        if listed and (sector is not None or basis or fine not in ("0", "5000")):
            continue  # fewer combinations: the list decides the class whatever else applies
        for day in DAYS:
            try:
                out.append((rules, PenaltyDecided(
                    decision_no=f"处罚〔{day.year}〕1号", party_name="某公司", address="某地", legal_representative="张某",
                    facts="事实", legal_basis="依据", penalty_types=list(types), fine_yuan=Decimal(fine),
                    authority="某局", decision_date=day, procedure=procedure, rule_set=rule_set.value,
                    party_kind=party, sector=sector, serious_dishonesty_list=listed,
                    identification_date=day if day.month == 1 else None,
                    publicized_on=day if day.day == 1 else None,
                    restriction_until=date(day.year + 4, 1, 1) if "限制从业" in types else None,
                    class_basis={"standard_ref": "std-1", "amount_yuan": fine} if basis else None,
                )))
            except ValidationError:
                continue
    return out


def by_periods_for(rules: Rules, ev: PenaltyDecided) -> tuple[object, ...] | str:
    return refused_or(lambda: outcome(periods_for(rules, ENTERPRISE, ev)))


def by_facts(rules: Rules, ev: PenaltyDecided) -> tuple[object, ...] | str:
    periods._SHAPES.clear()
    policy = rules.policy(jurisdiction_of(ENTERPRISE))
    return refused_or(lambda: outcome(compute_periods(decision_facts(ev, rules.policies), policy)))


def test_a_known_shape_gives_what_the_decisions_facts_give() -> None:
    decisions = grid()
    assert len(decisions) > 2000
    expected = [by_facts(r, ev) for r, ev in decisions]
    refused = sum(isinstance(e, str) for e in expected)
    assert 0 < refused < len(expected) - 1000  # some refusals, mostly periods
    periods._SHAPES.clear()
    cold = [by_periods_for(r, ev) for r, ev in decisions]  # each shape met first here, in this order
    assert cold == expected
    assert len(periods._SHAPES) < len(decisions) - refused  # shapes are shared: the known path is taken
    periods._SHAPES.clear()
    for r, ev in reversed(decisions):  # every shape first met through a decision of other dates
        by_periods_for(r, ev)
    assert [by_periods_for(r, ev) for r, ev in decisions] == expected
