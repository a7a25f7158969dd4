"""``compute_periods`` works out the part of a decision's periods that names no date once per
shape of decision (``periods._Shape``) and the dates for each decision. A shape must never
carry one decision's dates, amounts or policy into another: over a grid of decisions (every
rule set, penalty types, procedures, parties, sectors, amounts written two ways, lists, a
sector standard, three local policies, dates a day and years apart), each decision's periods
— every field and the explanation, gaps and "not repairable" rule in both languages — are
the same whether its shape was already known (from a decision of another date) or not, and
the explanation's texts (written into a template once per shape) are those a phrase made afresh
from the same parameters renders."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import date
from decimal import Decimal

import pytest

from tongxiu.projections import periods
from tongxiu.projections.basis_text import Phrase
from tongxiu.projections.policy import ClassStandard, LocalPolicy
from tongxiu.projections.rule_tables import RULE_SET_SPECS, RuleSet
from tongxiu.projections.rules import DecisionFacts, Periods, compute_periods

POLICIES = [LocalPolicy(), LocalPolicy(publicize_minor=True),
            LocalPolicy(lower_fine_threshold_person=Decimal(10000), lower_fine_threshold_organisation=Decimal(100000))]
STANDARD = ClassStandard(ref="std-1", domain="market", effective_from=date(2020, 1, 1),
                         minor_fine_below_organisation=Decimal(8000), serious_fine_from_organisation=Decimal(500000))
TYPES = [("警告",), ("罚款",), ("罚款", "警告"), ("没收违法所得", "罚款"), ("吊销许可证件",), ("限制从业", "罚款"),
         ("降低资质等级",), ("责令停产停业",)]
SECTORS = [None, "food", "special_equipment", "work_safety"]
FINES = [Decimal(0), Decimal(5000), Decimal("5000.00"), Decimal(200000), Decimal(600000)]
DATES = [date(2026, 1, 31), date(2026, 2, 1), date(2023, 8, 15)]


def outcome(p: Periods) -> tuple[object, ...]:
    """The periods with every text a reader sees, in both languages."""
    return (p, p.basis_in("zh"), p.basis_in("en"), p.gaps_in("zh"), p.gaps_in("en"), p.not_repairable_rule,
            None if p.not_repairable is None else p.not_repairable.text("en"))


def rendered(p: Periods) -> tuple[object, ...]:
    # the explanation's texts as a phrase made afresh from its parameters renders them
    fresh = Phrase(p.explanation.code, dict(p.explanation.params))
    assert (p.basis_in("zh"), p.basis_in("en")) == (fresh.text("zh"), fresh.text("en"))
    # the gaps' texts (kept per shape) are those their phrases made afresh render
    for lang in ("zh", "en"):
        assert p.gaps_in(lang) == tuple(Phrase(g.code, dict(g.params)).text(lang) for g in p.gap_phrases)
    return outcome(p)


def decisions() -> list[tuple[DecisionFacts, LocalPolicy]]:
    out = []
    for rule_set, types, fine, procedure, party, sector, listed, standard, policy in itertools.product(
        list(RuleSet), TYPES, FINES, ("ordinary", "simple"), ("organisation", "person"), SECTORS, (False, True),
        (None, STANDARD), POLICIES,
    ):
        if listed and (sector is not None or standard is not None or fine not in (Decimal(0), Decimal(5000))):
            continue  # fewer combinations: the list decides the class whatever else applies
        for day in DATES:
            try:
                facts = DecisionFacts(
                    penalty_types=types, fine_yuan=fine if "罚款" in types else Decimal(0),
                    confiscation_yuan=Decimal(0), party_kind=party, procedure=procedure, rule_set=rule_set,  # type: ignore[arg-type]
                    decision_date=day, identification_date=day, sector=sector, serious_dishonesty_list=listed,
                    publication_date=day if day.day == 1 else None,
                    restriction_until=date(day.year + 4, 1, 1) if "限制从业" in types else None,
                    class_standard=standard,
                )
            except ValueError:
                continue
            out.append((facts, policy))
    return out


def refused_or(outcome_of: Callable[[], tuple[object, ...]]) -> tuple[object, ...] | str:
    """``outcome_of()``, or the refusal's text when the periods refuse the decision."""
    try:
        return outcome_of()
    except ValueError as e:
        return f"ValueError: {e}"


def warm(facts: DecisionFacts, policy: LocalPolicy) -> tuple[object, ...] | str:
    return refused_or(lambda: rendered(compute_periods(facts, policy)))


def cold(facts: DecisionFacts, policy: LocalPolicy) -> tuple[object, ...] | str:
    periods._SHAPES.clear()
    return warm(facts, policy)


def test_a_known_shape_gives_each_decision_its_own_periods() -> None:
    grid = decisions()
    assert len(grid) > 3000
    expected = [cold(f, p) for f, p in grid]
    assert len({str(e) for e in expected if not isinstance(e, str)}) > 300  # many distinct outcomes
    periods._SHAPES.clear()
    # every shape first met with another decision's dates (the grid in reverse), then each again
    for f, p in reversed(grid):
        warm(f, p)
    assert len(periods._SHAPES) < len(grid)  # shapes are shared
    assert [warm(f, p) for f, p in grid] == expected


@pytest.mark.parametrize("spec", list(RULE_SET_SPECS))
def test_amounts_written_two_ways_do_not_share_a_shape(spec: RuleSet) -> None:
    a, b = (DecisionFacts(penalty_types=("罚款",), fine_yuan=Decimal(x), confiscation_yuan=Decimal(0),
                          party_kind="organisation", procedure="ordinary", rule_set=spec, decision_date=date(2026, 3, 1))
            for x in ("5000", "5000.00"))
    assert periods._shape_key(a, POLICIES[0]) != periods._shape_key(b, POLICIES[0])


@pytest.mark.parametrize("template", [
    "a {x} b", "{x}", "100% {x} {{literal}} %s %% {y}{x}", "公示至 {max_end}。（{start} 起）", "{x}{y}{z}",
])
def test_a_template_filled_by_percent_is_what_format_map_gives(template: str) -> None:
    from tongxiu.projections.basis_text import _filling

    values = {"x": "1%d", "y": "{y}", "z": "", "max_end": "2027-03-01", "start": "%(a)s"}
    filling = _filling(template)
    assert filling is not None
    fmt, get = filling
    assert fmt % get(values) == template.format_map(values)


@pytest.mark.parametrize("template", ["no field", "{x!r}", "{x:>4}", "{x.y}", "{x[0]}"])
def test_a_template_percent_cannot_fill_is_left_to_format_map(template: str) -> None:
    from tongxiu.projections.basis_text import _filling

    assert _filling(template) is None
