"""The periods worked out for a decision shape and (start, restriction end) are kept
(``periods._DATED``, issue 11 session 14): the same decision folded again (write model, projector, replay) gets the
periods worked out the first time. What is kept must be exactly what is worked out afresh, for
every date and restriction end, and never another decision's: two decisions of one shape and
one start that differ only in their restriction end (SAMR Order 45: a restriction over three
years is publicized to its end) get their own periods."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from tongxiu.projections import periods
from tongxiu.projections.policy import LocalPolicy
from tongxiu.projections.rule_tables import RuleSet
from tongxiu.projections.rules import DecisionFacts, Periods, compute_periods

POLICY = LocalPolicy()


def facts(day: date, restriction_until: date | None = None, types: tuple[str, ...] = ("限制从业", "罚款"),
          rule_set: RuleSet = RuleSet.SAMR_ORDER_45) -> DecisionFacts:
    return DecisionFacts(
        penalty_types=types, fine_yuan=Decimal(200000) if "罚款" in types else Decimal(0), confiscation_yuan=Decimal(0), party_kind="organisation",
        procedure="ordinary", rule_set=rule_set, decision_date=day, identification_date=day,
        restriction_until=restriction_until,
    )


def seen(p: Periods) -> tuple[object, ...]:
    return (p, p.basis_in("zh"), p.basis_in("en"), p.gaps_in("zh"), p.gaps_in("en"), p.not_repairable_rule)


def afresh(f: DecisionFacts) -> tuple[object, ...]:
    periods._SHAPES.clear()  # no shape, nothing kept
    periods._DATED.clear()
    return seen(compute_periods(f, POLICY))


def test_decisions_differing_only_in_their_restriction_end_get_their_own_periods() -> None:
    day = date(2026, 3, 2)
    ends = [None, date(2027, 1, 1), date(2030, 6, 1), date(2031, 6, 1), date(2034, 1, 1)]
    expected = [afresh(facts(day, end)) for end in ends]
    assert len({e[0].max_end for e in expected}) >= 3  # the restriction end moves the last day
    periods._SHAPES.clear()
    periods._DATED.clear()
    for _ in range(2):  # worked out, then kept
        assert [seen(compute_periods(facts(day, end), POLICY)) for end in ends] == expected


@pytest.mark.parametrize("rule_set", list(RuleSet))
def test_the_periods_kept_are_those_worked_out_afresh(rule_set: RuleSet) -> None:
    days = [date(2023, 8, 15) + timedelta(days=37 * i) for i in range(40)]
    for types in (("罚款",), ("吊销许可证件",), ("警告",)):
        expected = [afresh(facts(d, None, types, rule_set)) for d in days]
        periods._SHAPES.clear()
        periods._DATED.clear()
        first = [compute_periods(facts(d, None, types, rule_set), POLICY) for d in reversed(days)][::-1]
        again = [compute_periods(facts(d, None, types, rule_set), POLICY) for d in days]
        assert [seen(p) for p in again] == expected
        assert all(a is b for a, b in zip(first, again, strict=True))  # kept, not worked out again


def test_a_bounded_number_of_periods_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(periods, "DATED_KEPT", 8)
    periods._SHAPES.clear()
    periods._DATED.clear()
    days = [date(2026, 1, 1) + timedelta(days=i) for i in range(30)]
    got = [seen(compute_periods(facts(d, None, types), POLICY)) for d in days for types in (("罚款",), ("警告",))]
    assert 0 < len(periods._DATED) <= 8
    assert got == [afresh(facts(d, None, types)) for d in days for types in (("罚款",), ("警告",))]


def test_periods_kept_for_a_shape_no_longer_known_are_not_given_to_another() -> None:
    periods._SHAPES.clear()
    periods._DATED.clear()
    day = date(2026, 3, 2)
    compute_periods(facts(day, None, ("罚款",)), POLICY)
    periods._SHAPES.clear()  # the shape dropped; its periods still kept, holding it
    assert seen(compute_periods(facts(day, None, ("警告",)), POLICY)) == afresh(facts(day, None, ("警告",)))


def test_none_kept_when_the_bound_is_zero(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(periods, "DATED_KEPT", 0)
    periods._SHAPES.clear()
    periods._DATED.clear()
    day = date(2026, 3, 2)
    a, b = (compute_periods(facts(day, None, ("罚款",)), POLICY) for _ in range(2))
    assert a == b and a is not b
    assert not periods._DATED
