"""Publicity classes and periods: every row of DOMAIN.md §3's two tables, with real dates."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tongxiu.projections.rules import (
    NEVER_END_EARLY,
    PENALTY_TYPES,
    PERIOD_TABLE,
    RULE_SETS,
    DecisionFacts,
    LocalPolicy,
    Periods,
    PolicyBook,
    PublicityClass,
    RuleSet,
    classify,
    compute_periods,
    never_end_early_types,
    rule_set_in_force,
)

C = PublicityClass
R = RuleSet
DEFAULT = LocalPolicy()
#: Hubei's SAMR Order 45 lower-fine thresholds: a province's setting, not a national default.
HUBEI = LocalPolicy(lower_fine_threshold_person=Decimal(10000), lower_fine_threshold_organisation=Decimal(100000))
PUBLICIZE_MINOR = LocalPolicy(publicize_minor=True)


def facts(**overrides: Any) -> DecisionFacts:
    """An organisation fined 50,000 yuan by ordinary procedure under gbf-2025-22."""
    base: dict[str, Any] = {
        "penalty_types": ("罚款",),
        "fine_yuan": Decimal(50000),
        "confiscation_yuan": Decimal(0),
        "party_kind": "organisation",
        "procedure": "ordinary",
        "rule_set": R.STATE_COUNCIL_2025,
        "decision_date": date(2025, 8, 29),
    }
    base.update(overrides)
    return DecisionFacts(**base)


def dates(p: Periods) -> tuple[date, date, date, date | None]:
    return (p.counted_from, p.min_end, p.max_end, p.repair_from)


# --------------------------------------------------------------------------- rule set in force


@pytest.mark.parametrize(
    ("day", "domain", "expected"),
    [
        (date(2019, 5, 1), "tax", R.NDRC_2019),
        (date(2023, 4, 30), "tax", R.NDRC_2019),
        (date(2023, 5, 1), "tax", R.NDRC_ORDER_58),
        (date(2025, 6, 21), "tax", R.NDRC_ORDER_58),
        (date(2025, 6, 22), "tax", R.STATE_COUNCIL_2025),  # overlaps Order 58: newest wins
        (date(2025, 12, 25), "ecology", R.STATE_COUNCIL_2025),  # SAMR rows are not for others
        (date(2026, 3, 31), "tax", R.STATE_COUNCIL_2025),
        (date(2026, 4, 1), "tax", R.NDRC_ORDER_36),
        (date(2021, 8, 31), "market_regulation", R.NDRC_2019),  # before SAMR Order 45
        (date(2021, 9, 1), "market_regulation", R.SAMR_ORDER_45),
        (date(2023, 5, 1), "market_regulation", R.SAMR_ORDER_45),
        (date(2025, 7, 1), "market_regulation", R.SAMR_ORDER_45),
        (date(2025, 12, 24), "market_regulation", R.SAMR_ORDER_45),
        (date(2025, 12, 25), "market_regulation", R.SAMR_ORDER_107),
        (date(2026, 4, 1), "market_regulation", R.SAMR_ORDER_107),
    ],
)
def test_rule_set_in_force(day: date, domain: str, expected: RuleSet) -> None:
    assert rule_set_in_force(day, domain) == expected


def test_no_rule_set_before_2019_05() -> None:
    with pytest.raises(ValueError, match="no rule set"):
        rule_set_in_force(date(2019, 4, 30), "tax")


def test_rule_set_values_are_the_stored_names() -> None:
    assert [r.value for r in RuleSet] == [
        "ndrc-2019-527",
        "ndrc-order-58",
        "gbf-2025-22",
        "ndrc-order-36",
        "samr-order-45",
        "samr-order-107",
    ]
    assert {spec.rule_set for spec in RULE_SETS} == set(RuleSet)


def test_in_force_windows_match_domain_md() -> None:
    windows = {spec.rule_set: (spec.scope, spec.in_force_from, spec.in_force_until) for spec in RULE_SETS}
    assert windows == {
        R.NDRC_2019: ("general", date(2019, 5, 1), date(2023, 4, 30)),
        R.NDRC_ORDER_58: ("general", date(2023, 5, 1), date(2026, 3, 31)),
        R.STATE_COUNCIL_2025: ("general", date(2025, 6, 22), None),
        R.NDRC_ORDER_36: ("general", date(2026, 4, 1), None),
        R.SAMR_ORDER_45: ("market_regulation", date(2021, 9, 1), date(2025, 12, 24)),
        R.SAMR_ORDER_107: ("market_regulation", date(2025, 12, 25), None),
    }


def test_every_class_a_rule_set_can_produce_has_a_period_row() -> None:
    rows = {(row.rule_set, row.publicity_class) for row in PERIOD_TABLE}
    assert len(rows) == len(PERIOD_TABLE) == 16
    for rs in RuleSet:
        assert (rs, C.ORDINARY) in rows and (rs, C.SERIOUS) in rows
    assert (R.NDRC_2019, C.MINOR) not in rows and (R.NDRC_ORDER_58, C.MINOR) not in rows


# --------------------------------------------------------------------------- table 1 × table 2, row by row

# (facts overrides, policy, class, (counted_from, min_end, max_end, repair_from), stop needs performance)
ROWS: list[tuple[str, dict[str, Any], LocalPolicy, PublicityClass, tuple[date, date, date, date | None], bool]] = [
    # NDRC 2019: ordinary 3 m - 1 y, serious 6 m - 3 y, from the decision date.
    ("2019 ordinary", {"rule_set": R.NDRC_2019, "decision_date": date(2020, 3, 15)}, DEFAULT, C.ORDINARY,
     (date(2020, 3, 15), date(2020, 6, 16), date(2021, 3, 15), date(2020, 6, 16)), False),
    ("2019 serious", {"rule_set": R.NDRC_2019, "decision_date": date(2020, 3, 15), "penalty_types": ("责令关闭",),
                      "fine_yuan": Decimal(0)}, DEFAULT, C.SERIOUS,
     (date(2020, 3, 15), date(2020, 9, 16), date(2023, 3, 15), date(2020, 9, 16)), False),
    ("2019 warning, ordinary procedure", {"rule_set": R.NDRC_2019, "decision_date": date(2021, 1, 5),
                                          "penalty_types": ("警告",), "fine_yuan": Decimal(0)}, DEFAULT, C.ORDINARY,
     (date(2021, 1, 5), date(2021, 4, 6), date(2022, 1, 5), date(2021, 4, 6)), False),
    # NDRC Order 58: min 3 m, max 3 y.
    ("58 ordinary, month-end clamp", {"rule_set": R.NDRC_ORDER_58, "decision_date": date(2024, 1, 31)}, DEFAULT,
     C.ORDINARY, (date(2024, 1, 31), date(2024, 5, 1), date(2027, 1, 31), date(2024, 5, 1)), False),
    ("58 serious", {"rule_set": R.NDRC_ORDER_58, "decision_date": date(2024, 5, 10), "penalty_types": ("责令关闭",),
                    "fine_yuan": Decimal(0)}, DEFAULT, C.SERIOUS,
     (date(2024, 5, 10), date(2024, 8, 11), date(2027, 5, 10), date(2024, 8, 11)), False),
    # gbf-2025-22: minor <= 3 m (repair on performance), ordinary 3 m - 1 y, serious 1 - 3 y.
    ("gbf minor", {"penalty_types": ("通报批评",), "fine_yuan": Decimal(0)}, PUBLICIZE_MINOR, C.MINOR,
     (date(2025, 8, 29), date(2025, 8, 29), date(2025, 11, 29), date(2025, 8, 29)), False),
    ("gbf ordinary", {"penalty_types": ("没收违法所得",), "fine_yuan": Decimal(0),
                      "confiscation_yuan": Decimal(20000)}, DEFAULT, C.ORDINARY,
     (date(2025, 8, 29), date(2025, 11, 30), date(2026, 8, 29), date(2025, 11, 30)), False),
    ("gbf serious", {"penalty_types": ("责令关闭", "罚款")}, DEFAULT, C.SERIOUS,
     (date(2025, 8, 29), date(2026, 8, 30), date(2028, 8, 29), date(2026, 8, 30)), False),
    # Order 36: the same, counted from the identification date.
    ("36 minor", {"rule_set": R.NDRC_ORDER_36, "decision_date": date(2026, 4, 10),
                  "identification_date": date(2026, 4, 20), "procedure": "simple", "fine_yuan": Decimal(100)},
     PUBLICIZE_MINOR, C.MINOR, (date(2026, 4, 20), date(2026, 4, 20), date(2026, 7, 20), date(2026, 4, 20)), False),
    ("36 ordinary", {"rule_set": R.NDRC_ORDER_36, "decision_date": date(2026, 4, 10),
                     "identification_date": date(2026, 4, 20)}, DEFAULT, C.ORDINARY,
     (date(2026, 4, 20), date(2026, 7, 21), date(2027, 4, 20), date(2026, 7, 21)), False),
    ("36 serious", {"rule_set": R.NDRC_ORDER_36, "decision_date": date(2026, 4, 10),
                    "identification_date": date(2026, 4, 20), "serious_dishonesty_list": True}, DEFAULT, C.SERIOUS,
     (date(2026, 4, 20), date(2027, 4, 21), date(2029, 4, 20), date(2027, 4, 21)), False),
    ("36 without identification date", {"rule_set": R.NDRC_ORDER_36, "decision_date": date(2026, 4, 10)}, DEFAULT,
     C.ORDINARY, (date(2026, 4, 10), date(2026, 7, 11), date(2027, 4, 10), date(2026, 7, 11)), False),
    # SAMR Order 45: 通报批评 / lower fines 3 m; others 3 y, repair after 6 m (1 y food, drugs, special eq.).
    ("45 通报批评", {"rule_set": R.SAMR_ORDER_45, "decision_date": date(2023, 3, 10), "penalty_types": ("通报批评",),
                  "fine_yuan": Decimal(0)}, DEFAULT, C.MINOR,
     (date(2023, 3, 10), date(2023, 6, 10), date(2023, 6, 10), None), False),
    ("45 lower fine, person", {"rule_set": R.SAMR_ORDER_45, "decision_date": date(2023, 3, 10),
                               "party_kind": "person", "fine_yuan": Decimal("9999.99")}, HUBEI, C.MINOR,
     (date(2023, 3, 10), date(2023, 6, 10), date(2023, 6, 10), None), False),
    ("45 other, 3 years", {"rule_set": R.SAMR_ORDER_45, "decision_date": date(2023, 3, 10),
                           "fine_yuan": Decimal(100000)}, DEFAULT, C.ORDINARY,
     (date(2023, 3, 10), date(2023, 9, 11), date(2026, 3, 10), date(2023, 9, 11)), False),
    ("45 food: repair after 1 year", {"rule_set": R.SAMR_ORDER_45, "decision_date": date(2023, 3, 10),
                                      "fine_yuan": Decimal(200000), "sector": "food"}, DEFAULT, C.ORDINARY,
     (date(2023, 3, 10), date(2024, 3, 11), date(2026, 3, 10), date(2024, 3, 11)), False),
    ("45 serious, drugs", {"rule_set": R.SAMR_ORDER_45, "decision_date": date(2023, 3, 10), "sector": "drugs",
                           "penalty_types": ("责令关闭",), "fine_yuan": Decimal(0)}, DEFAULT, C.SERIOUS,
     (date(2023, 3, 10), date(2024, 3, 11), date(2026, 3, 10), date(2024, 3, 11)), False),
    # SAMR Order 107: the three classes.
    # SAMR 107 minor (D12, open): not warnings; publicized 3 months, stops by itself, no repair.
    ("107 minor", {"rule_set": R.SAMR_ORDER_107, "decision_date": date(2026, 1, 15), "penalty_types": ("通报批评",),
                   "fine_yuan": Decimal(0)}, DEFAULT, C.MINOR,
     (date(2026, 1, 15), date(2026, 4, 15), date(2026, 4, 15), None), False),
    # Order 58: 特种设备、安全生产、消防 wait 1 year (D11).
    ("58 special equipment: 1 year", {"rule_set": R.NDRC_ORDER_58, "decision_date": date(2024, 1, 31),
                                      "sector": "special_equipment"}, DEFAULT, C.ORDINARY,
     (date(2024, 1, 31), date(2025, 2, 1), date(2027, 1, 31), date(2025, 2, 1)), False),
    # Order 45 Art. 13 (D5): counted from the publication date; a restriction over 3 years runs to its end.
    ("45 from publication", {"rule_set": R.SAMR_ORDER_45, "decision_date": date(2023, 3, 10),
                             "publication_date": date(2023, 3, 31), "fine_yuan": Decimal(200000)}, HUBEI, C.ORDINARY,
     (date(2023, 3, 31), date(2023, 10, 1), date(2026, 3, 31), date(2023, 10, 1)), False),
    ("45 restriction over 3 years", {"rule_set": R.SAMR_ORDER_45, "decision_date": date(2023, 3, 10),
                                     "penalty_types": ("限制从业",), "fine_yuan": Decimal(0),
                                     "restriction_until": date(2028, 3, 10)}, HUBEI, C.SERIOUS,
     (date(2023, 3, 10), date(2028, 3, 10), date(2028, 3, 10), None), False),
    ("107 ordinary", {"rule_set": R.SAMR_ORDER_107, "decision_date": date(2026, 1, 15), "sector": "food"}, DEFAULT,
     C.ORDINARY, (date(2026, 1, 15), date(2026, 4, 16), date(2027, 1, 15), date(2026, 4, 16)), False),
    ("107 serious", {"rule_set": R.SAMR_ORDER_107, "decision_date": date(2026, 1, 15),
                     "penalty_types": ("责令关闭",), "fine_yuan": Decimal(0)}, DEFAULT, C.SERIOUS,
     (date(2026, 1, 15), date(2027, 1, 16), date(2029, 1, 15), date(2027, 1, 16)), False),
]  # fmt: skip


@pytest.mark.parametrize(("overrides", "policy", "cls", "expected", "needs_performance"),
                         [row[1:] for row in ROWS], ids=[row[0] for row in ROWS])  # fmt: skip
def test_period_rows(
    overrides: dict[str, Any],
    policy: LocalPolicy,
    cls: PublicityClass,
    expected: tuple[date, date, date, date | None],
    needs_performance: bool,
) -> None:
    f = facts(**overrides)
    p = compute_periods(f, policy)
    assert classify(f, policy) == cls
    assert p.publicity_class == cls
    assert p.publicized is True
    assert dates(p) == expected
    assert p.ends_by_itself_requires_performance is needs_performance
    assert p.early_end_forbidden is bool(f.types & {"限制从业", "限制开展生产经营活动"})
    assert f.rule_set.value in p.basis


def test_every_period_row_is_exercised() -> None:
    exercised = {(facts(**row[1]).rule_set, row[3]) for row in ROWS}
    assert exercised == {(row.rule_set, row.publicity_class) for row in PERIOD_TABLE}


# --------------------------------------------------------------------------- not publicized


@pytest.mark.parametrize(
    ("overrides", "policy"),
    [
        ({"rule_set": R.NDRC_2019, "decision_date": date(2020, 3, 15), "procedure": "simple",
          "fine_yuan": Decimal(200)}, DEFAULT),
        ({"rule_set": R.NDRC_ORDER_58, "decision_date": date(2024, 3, 15), "procedure": "simple",
          "penalty_types": ("警告",), "fine_yuan": Decimal(0)}, PUBLICIZE_MINOR),
        ({"rule_set": R.SAMR_ORDER_45, "decision_date": date(2023, 3, 10), "procedure": "simple",
          "fine_yuan": Decimal(3000)}, DEFAULT),
        ({"rule_set": R.SAMR_ORDER_45, "decision_date": date(2023, 3, 10), "penalty_types": ("警告",),
          "fine_yuan": Decimal(0)}, DEFAULT),
        ({"penalty_types": ("通报批评",), "fine_yuan": Decimal(0)}, DEFAULT),  # gbf minor, not publicized here
        ({"procedure": "simple", "fine_yuan": Decimal(100)}, DEFAULT),
        ({"rule_set": R.SAMR_ORDER_107, "decision_date": date(2026, 1, 15), "penalty_types": ("警告",),
          "fine_yuan": Decimal(0)}, DEFAULT),
        ({"class_override": C.NONE}, DEFAULT),
    ],
)  # fmt: skip
def test_not_publicized(overrides: dict[str, Any], policy: LocalPolicy) -> None:
    f = facts(**overrides)
    p = compute_periods(f, policy)
    assert p.publicity_class is C.NONE
    assert p.publicized is False
    assert (p.min_end, p.max_end, p.repair_from) == (f.decision_date, f.decision_date, None)
    assert "不予公示" in p.basis
    assert "not publicized" in p.basis_in("en")


# --------------------------------------------------------------------------- classification


@pytest.mark.parametrize(
    ("penalty_type", "expected"),
    [
        ("警告", C.MINOR),
        ("通报批评", C.MINOR),
        ("罚款", C.ORDINARY),
        ("没收违法所得", C.ORDINARY),
        ("没收非法财物", C.ORDINARY),
        ("暂扣许可证件", C.ORDINARY),
        ("降低资质等级", C.ORDINARY),
        ("吊销许可证件", C.SERIOUS),
        ("限制开展生产经营活动", C.SERIOUS),
        ("责令停产停业", C.SERIOUS),
        ("责令关闭", C.SERIOUS),
        ("限制从业", C.SERIOUS),
        ("行政拘留", C.SERIOUS),
    ],
)
def test_class_of_each_penalty_type_alone(penalty_type: str, expected: PublicityClass) -> None:
    fine = Decimal(1000) if penalty_type == "罚款" else Decimal(0)
    f = facts(penalty_types=(penalty_type,), fine_yuan=fine, party_kind="person")
    assert classify(f, PUBLICIZE_MINOR) == expected


def test_penalty_type_lists() -> None:
    assert len(PENALTY_TYPES) == 13
    assert NEVER_END_EARLY == {
        "责令停产停业",
        "限制开展生产经营活动",
        "限制从业",
        "降低资质等级",
        "吊销许可证件",
    }
    assert NEVER_END_EARLY <= PENALTY_TYPES


def test_most_severe_type_decides() -> None:
    f = facts(penalty_types=("警告", "罚款", "吊销许可证件"))
    assert classify(f, DEFAULT) is C.SERIOUS
    assert classify(facts(penalty_types=("警告", "罚款")), DEFAULT) is C.ORDINARY


def test_serious_dishonesty_list_beats_everything() -> None:
    f = facts(
        penalty_types=("警告",), fine_yuan=Decimal(0), serious_dishonesty_list=True, class_override=C.MINOR
    )
    assert classify(f, DEFAULT) is C.SERIOUS


def test_domain_standard_overrides_the_derived_class() -> None:
    lowered = facts(class_override=C.MINOR)  # a fine the domain's standard calls minor
    assert compute_periods(lowered, PUBLICIZE_MINOR).max_end == date(2025, 11, 29)
    raised = facts(penalty_types=("通报批评",), fine_yuan=Decimal(0), class_override=C.ORDINARY)
    assert compute_periods(raised, DEFAULT).max_end == date(2026, 8, 29)


def test_samr_45_lower_fine_threshold_is_strict_and_local() -> None:
    org = {"rule_set": R.SAMR_ORDER_45, "decision_date": date(2023, 3, 10)}
    assert classify(facts(**org, fine_yuan=Decimal("99999.99")), HUBEI) is C.MINOR
    assert classify(facts(**org, fine_yuan=Decimal(100000)), HUBEI) is C.ORDINARY
    assert classify(facts(**org, fine_yuan=Decimal(10000), party_kind="person"), HUBEI) is C.ORDINARY
    # D10: no province's thresholds are a national default; without a local setting the rule is
    # a visible gap, classed by penalty type.
    gap = compute_periods(facts(**org, fine_yuan=Decimal(60000)), DEFAULT)
    assert gap.publicity_class is C.ORDINARY
    assert gap.gaps and "lower_fine_threshold_organisation" in gap.gaps[0]
    assert "缺少地方或行业数据：lower_fine_threshold_organisation" in gap.basis
    assert "Gap: lower_fine_threshold_organisation" in gap.basis_in("en")
    stricter = LocalPolicy(lower_fine_threshold_organisation=Decimal(20000))
    assert classify(facts(**org, fine_yuan=Decimal(50000)), stricter) is C.ORDINARY
    # A lower fine with a confiscation is not "only a lower fine".
    both = facts(
        **org, penalty_types=("罚款", "没收违法所得"), fine_yuan=Decimal(500), confiscation_yuan=Decimal(800)
    )
    assert classify(both, HUBEI) is C.ORDINARY


def test_samr_45_sector_only_lengthens_its_own_wait() -> None:
    base = {"rule_set": R.SAMR_ORDER_45, "decision_date": date(2023, 3, 10), "fine_yuan": Decimal(200000)}
    assert compute_periods(facts(**base, sector="special_equipment"), DEFAULT).repair_from == date(
        2024, 3, 11
    )
    assert compute_periods(facts(**base, sector="cosmetics"), DEFAULT).repair_from == date(2023, 9, 11)
    assert compute_periods(facts(sector="food"), DEFAULT).repair_from == date(2025, 11, 30)  # gbf: no effect


@pytest.mark.parametrize("penalty_type", sorted(NEVER_END_EARLY))
def test_never_end_early(penalty_type: str) -> None:
    """D7: SAMR's list applies under the SAMR rule sets; 22号 has none by default."""
    samr = {"rule_set": R.SAMR_ORDER_107, "decision_date": date(2026, 1, 15)}
    p = compute_periods(facts(**samr, penalty_types=(penalty_type,), fine_yuan=Decimal(0)), DEFAULT)
    assert p.early_end_forbidden is True
    assert p.repair_from is None
    assert p.min_end == p.max_end
    assert p.not_repairable_rule and "107" in p.not_repairable_rule
    expected_max = date(2027, 1, 15) if penalty_type == "降低资质等级" else date(2029, 1, 15)
    assert p.max_end == expected_max
    gbf = compute_periods(facts(penalty_types=(penalty_type,), fine_yuan=Decimal(0)), DEFAULT)
    assert gbf.early_end_forbidden is False and gbf.repair_from is not None


def test_never_end_early_under_527_depends_on_the_sector() -> None:
    """527号 特定严重失信: 吊销 / 责令停产停业 only in the listed sectors."""
    base = {"rule_set": R.NDRC_2019, "decision_date": date(2020, 3, 15), "fine_yuan": Decimal(0)}
    food = compute_periods(facts(**base, penalty_types=("吊销许可证件",), sector="food"), DEFAULT)
    assert food.early_end_forbidden is True and food.repair_from is None
    tax = compute_periods(facts(**base, penalty_types=("吊销许可证件",)), DEFAULT)
    assert tax.early_end_forbidden is False and tax.repair_from == date(2020, 9, 16)
    lowered = compute_periods(facts(**base, penalty_types=("降低资质等级",), sector="food"), DEFAULT)
    assert lowered.early_end_forbidden is False


def test_basis_names_rule_set_class_and_dates() -> None:
    p = compute_periods(facts(), DEFAULT)
    assert p.basis == (
        "国办发〔2025〕22号（gbf-2025-22），一般失信：最重处罚种类为罚款；公示期 3 个月至 1 年，"
        "自决定日期 2025-08-29 起算；自 2025-11-30 起可申请信用修复（满 3 个月后）；公示至 2026-08-29。"
    )
    assert p.basis_in("zh") == p.basis and p.explanation.code == "publicized"
    assert p.basis_in("en") == (
        "国办发〔2025〕22号 (gbf-2025-22), ordinary (一般) because most severe penalty type 罚款: "
        "publicity 3 months to 1 year from the decision date 2025-08-29; repair from 2025-11-30 "
        "(after 3 months); publicized through 2026-08-29."
    )


def test_basis_of_a_never_ending_and_a_not_repairable_record() -> None:
    samr = {"rule_set": R.SAMR_ORDER_107, "decision_date": date(2026, 1, 15), "fine_yuan": Decimal(0)}
    p = compute_periods(facts(**samr, penalty_types=("限制从业",)), DEFAULT)
    assert p.basis == (
        "市场监管总局令第107号（samr-order-107），严重失信：最重处罚种类为限制从业；公示期 1 年至 3 年，"
        "自决定日期 2026-01-15 起算；不得提前结束公示（限制从业）；公示至 2029-01-15。"
    )
    assert p.not_repairable_rule == "市场监管总局令第107号（沿用第45号令第十四条第三款；待核实）：限制从业 不得提前结束公示"
    minor = compute_periods(facts(**samr, penalty_types=("通报批评",)), DEFAULT)
    assert minor.not_repairable_rule == (
        "市场监管总局令第107号（samr-order-107）：轻微失信信息不可修复，其公示于 2026-04-15 届满后自动停止"
    )
    assert minor.not_repairable is not None and minor.not_repairable.text("en") == (
        "市场监管总局令第107号 (samr-order-107): minor (轻微) information is not repairable; "
        "its publicity ends by itself on 2026-04-15"
    )


# --------------------------------------------------------------------------- impossible facts


@pytest.mark.parametrize(
    "overrides",
    [
        {"penalty_types": ()},
        {"penalty_types": ("罚金",)},  # a criminal penalty, not an administrative one
        {"penalty_types": ("警告",)},  # fine amount without 罚款
        {"confiscation_yuan": Decimal(10)},  # confiscation without 没收
        {"fine_yuan": Decimal(-1)},
        {"penalty_types": ("行政拘留",), "fine_yuan": Decimal(0)},  # organisation detained
        {"party_kind": "company"},
        {"procedure": "summary"},
    ],
)
def test_impossible_facts_are_rejected(overrides: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        facts(**overrides)


@pytest.mark.parametrize(
    ("overrides", "ok"),
    [
        ({"party_kind": "person", "fine_yuan": Decimal(200)}, True),
        ({"party_kind": "person", "fine_yuan": Decimal(201)}, False),
        ({"fine_yuan": Decimal(3000)}, True),
        ({"fine_yuan": Decimal(3001)}, False),
        (
            {"penalty_types": ("没收违法所得",), "fine_yuan": Decimal(0), "confiscation_yuan": Decimal(5)},
            False,
        ),
    ],
)
def test_simple_procedure_limits(overrides: dict[str, Any], ok: bool) -> None:
    f = facts(procedure="simple", **overrides)
    if ok:
        assert classify(f, PUBLICIZE_MINOR) is C.MINOR
    else:
        with pytest.raises(ValueError, match="^简易程序"):
            classify(f, PUBLICIZE_MINOR)


# --------------------------------------------------------------------------- invariants


publicized_facts = st.builds(
    lambda rs, day, types, sector, listed, minor: (
        facts(
            rule_set=rs,
            decision_date=day,
            identification_date=day,
            penalty_types=types,
            fine_yuan=Decimal(5000) if "罚款" in types else Decimal(0),
            party_kind="person",
            sector=sector,
            serious_dishonesty_list=listed,
        ),
        LocalPolicy(publicize_minor=minor),
    ),
    st.sampled_from(list(RuleSet)),
    st.dates(min_value=date(2019, 5, 1), max_value=date(2030, 12, 31)),
    st.lists(st.sampled_from(sorted(PENALTY_TYPES)), min_size=1, max_size=4, unique=True).map(tuple),
    st.sampled_from([None, "food", "drugs", "special_equipment", "other"]),
    st.booleans(),
    st.booleans(),
)


@given(publicized_facts)
def test_period_invariants(case: tuple[DecisionFacts, LocalPolicy]) -> None:
    f, policy = case
    p = compute_periods(f, policy)
    assert p.publicized == (p.publicity_class is not C.NONE)
    assert p.counted_from <= p.min_end <= p.max_end
    assert p.max_end <= date(p.counted_from.year + 3, 12, 31)
    if p.repair_from is not None:
        assert p.repair_from == p.min_end < p.max_end
    else:
        assert p.min_end == p.max_end
    assert p.early_end_forbidden == (p.publicized and bool(never_end_early_types(f)))
    if f.serious_dishonesty_list:
        assert p.publicity_class is C.SERIOUS


# --------------------------------------------------------------------------- local policy


def test_policy_defaults() -> None:
    p = LocalPolicy()
    assert (p.lower_fine_threshold_person, p.lower_fine_threshold_organisation) == (None, None)
    assert (p.repair_lockout_days_after_last_repair, p.max_repairs_in_5_years) == (None, None)
    assert (p.sync_deadline_working_days, p.withdrawal_deadline_working_days) == (3, 3)
    assert (p.simple_procedure_fine_limit_person, p.simple_procedure_fine_limit_organisation) == (
        Decimal(200),
        Decimal(3000),
    )
    assert p.publicize_minor is False


@pytest.mark.parametrize(
    ("rule_set", "days"),
    [
        (R.STATE_COUNCIL_2025, 3),
        (R.NDRC_ORDER_36, 3),
        (R.SAMR_ORDER_45, 15),
        (R.SAMR_ORDER_107, 7),
        ("samr-order-107", 7),
        (None, 3),
    ],
)
def test_repair_decision_days(rule_set: RuleSet | str | None, days: int) -> None:
    assert LocalPolicy().repair_decision_days(rule_set) == days


def test_policy_loads_from_toml_and_json(tmp_path: Path) -> None:
    toml = tmp_path / "city.toml"
    toml.write_text(
        "repair_lockout_days_after_last_repair = 365\nmax_repairs_in_5_years = 2\n"
        "lower_fine_threshold_person = 5000\n",
        encoding="utf-8",
    )
    loaded = LocalPolicy.load(toml)
    assert loaded.repair_lockout_days_after_last_repair == 365
    assert loaded.max_repairs_in_5_years == 2
    assert loaded.lower_fine_threshold_person == Decimal(5000)
    assert loaded.sync_deadline_working_days == 3
    js = tmp_path / "city.json"
    js.write_text(json.dumps({"repair_decision_working_days": 2, "publicize_minor": True}), encoding="utf-8")
    assert LocalPolicy.load(js) == LocalPolicy(repair_decision_working_days=2, publicize_minor=True)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("p.toml", "sync_deadline_days = 3\n", "bad policy file"),  # misspelt key
        ("p.toml", "sync_deadline_working_days = -1\n", "bad policy file"),
        ("p.toml", "sync_deadline_working_days = \n", "cannot parse"),
        ("p.yaml", "sync_deadline_working_days: 3\n", "must end in"),
        ("p.json", "[1, 2]", "table/object"),
    ],
)
def test_bad_policy_files(tmp_path: Path, name: str, content: str, message: str) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        LocalPolicy.load(path)


BOOK_TOML = """
[default]
withdrawal_deadline_working_days = 3

[policies_by_jurisdiction.42]
sync_deadline_working_days = 2
lower_fine_threshold_person = 8000

[policies_by_jurisdiction.420100]
repair_lockout_days_after_last_repair = 365
max_repairs_in_5_years = 2
lower_fine_threshold_person = 6000
"""


@pytest.fixture
def book(tmp_path: Path) -> PolicyBook:
    path = tmp_path / "policies.toml"
    path.write_text(BOOK_TOML, encoding="utf-8")
    return PolicyBook.load(path)


def test_book_normalizes_padded_area_codes(book: PolicyBook) -> None:
    assert set(book.policies_by_jurisdiction) == {"42", "4201"}


def test_longest_prefix_wins_and_inherits_the_province(book: PolicyBook) -> None:
    wuhan_district = book.for_jurisdiction("420102")
    assert wuhan_district.lower_fine_threshold_person == Decimal(6000)  # Wuhan's own
    assert wuhan_district.repair_lockout_days_after_last_repair == 365
    assert wuhan_district.max_repairs_in_5_years == 2
    assert wuhan_district.sync_deadline_working_days == 2  # inherited from Hubei
    assert book.for_jurisdiction("4201") == wuhan_district
    assert book.for_jurisdiction("420100") == wuhan_district


def test_other_city_in_the_province_gets_the_province(book: PolicyBook) -> None:
    huangshi = book.for_jurisdiction("420200")
    assert huangshi.lower_fine_threshold_person == Decimal(8000)
    assert huangshi.sync_deadline_working_days == 2
    assert huangshi.repair_lockout_days_after_last_repair is None


@pytest.mark.parametrize("code", ["110101", "11", "", "4A0102", "42010"])
def test_no_match_gets_the_default(book: PolicyBook, code: str) -> None:
    assert book.for_jurisdiction(code) == LocalPolicy()


def test_empty_book_gives_the_default() -> None:
    assert PolicyBook().for_jurisdiction("420102") == LocalPolicy()


@pytest.mark.parametrize(
    "keys",
    [{"42": {}, "420000": {}}, {"4": {}}, {"42a": {}}],
)
def test_bad_book_keys(keys: dict[str, dict[str, object]]) -> None:
    with pytest.raises(ValueError):
        PolicyBook.model_validate({"policies_by_jurisdiction": keys})


def test_book_from_json(tmp_path: Path) -> None:
    path = tmp_path / "policies.json"
    path.write_text(
        json.dumps({"policies_by_jurisdiction": {"33": {"publicize_minor": True}}}), encoding="utf-8"
    )
    book = PolicyBook.load(path)
    assert book.for_jurisdiction("330106").publicize_minor is True
    assert book.for_jurisdiction("420106").publicize_minor is False
