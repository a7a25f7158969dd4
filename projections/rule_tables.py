"""The rule tables: publicity classes, penalty types, rule sets and periods (DOMAIN.md §3).

Part of :mod:`tongxiu.projections.rules` (which re-exports it with the local policy, the
computation of a decision's periods and the open questions); the reading notes below cover
all four.

Why this module looks the way it does:

* The rules changed four times between 2019 and 2026 and a decision is judged by the rules in
  force when it was made, for its whole life. So the ledger records the rule set on every
  decision, and the periods are a pure function of (facts, rule set, local policy).
* The two tables of DOMAIN.md §3 are kept as data, ``RULE_SETS`` (when each rule set is in
  force and how it treats minor decisions) and ``PERIOD_TABLE`` (one row per rule set and
  class), so that a reader can hold them side by side with the sources. The functions below
  only look rows up and add calendar months.
* Anything a province or city sets for itself is a ``LocalPolicy`` field, chosen per area code
  by a ``PolicyBook``; nothing local is hard-coded here.

Reading of the sources where they leave room (each is also stated where it is applied):

* Class follows the most severe penalty type (``PENALTY_SEVERITY``). The types are placed as
  the draft of NDRC Order 36 places them: simple procedure, 警告 and 通报批评 are minor;
  暂扣许可证件, 降低资质等级, 没收违法所得, 没收非法财物 (and fines not taken by simple
  procedure) are ordinary; 吊销许可证件, 限制开展生产经营活动, 责令停产停业, 责令关闭, 限制从业
  are serious. 行政拘留 (only ever imposed on a person) is placed with serious, being the most
  severe type in 行政处罚法 Art. 9. 降低资质等级 is ordinary although it can never be ended early.
* Being on a serious-dishonesty list makes the decision serious whatever else applies; a
  domain's own standard (``class_override``) replaces the class derived from penalty types.
* Rule sets without a minor class (NDRC 2019, Order 58) publicize ordinary-procedure warnings
  like any other ordinary decision, and do not publicize simple-procedure decisions (双公示
  covers decisions taken by ordinary procedure). SAMR Order 45 Art. 2 likewise publicizes only
  ordinary-procedure decisions, and never warning-only ones.
* 国办发〔2025〕22号 lets minor information go unpublicized ("可以不予公示"); whether it is
  publicized is ``LocalPolicy.publicize_minor`` (default False, "in principle none"). When it
  is not publicized the class is reported as ``PublicityClass.NONE``, so ``Periods.publicized``
  is exactly ``publicity_class is not NONE``.
* Stopping by itself at the maximum requires obligations to be performed only under the 2025
  framework (gbf-2025-22, Order 36, SAMR Order 107) for ordinary and serious decisions; the
  older rule sets take the information down when the maximum expires.
* Penalty types in ``NEVER_END_EARLY`` cannot be ended early: no repair date, and the
  earliest end is the maximum.
* All periods run from ``counted_from`` in calendar months (``add_months``); the earliest repair
  date is the end of the minimum period, and the repair is refused as pointless when the
  publicity ends by itself no later than that (SAMR Order 45's 3-month bucket).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Final, Literal


class PublicityClass(StrEnum):
    """How a decision is publicized; NONE means it is not publicized at all."""

    NONE = "none"
    MINOR = "minor"  # 轻微
    ORDINARY = "ordinary"  # 一般
    SERIOUS = "serious"  # 严重


_RANK: Final = {
    PublicityClass.NONE: 0,
    PublicityClass.MINOR: 1,
    PublicityClass.ORDINARY: 2,
    PublicityClass.SERIOUS: 3,
}


class RuleSet(StrEnum):
    """The rule sets a decision can be judged by; values are stored on every decision event."""

    NDRC_2019 = "ndrc-2019-527"
    NDRC_ORDER_58 = "ndrc-order-58"
    STATE_COUNCIL_2025 = "gbf-2025-22"
    NDRC_ORDER_36 = "ndrc-order-36"
    SAMR_ORDER_45 = "samr-order-45"
    SAMR_ORDER_107 = "samr-order-107"


# --------------------------------------------------------------------------- penalty types

WARNING: Final = "警告"
CRITICISM: Final = "通报批评"
FINE: Final = "罚款"
CONFISCATE_GAINS: Final = "没收违法所得"
CONFISCATE_PROPERTY: Final = "没收非法财物"
DETENTION: Final = "行政拘留"

#: The most severe class each penalty type leads to, before rule-set specifics (see module
#: docstring). A fine taken by simple procedure is minor; any other fine is ordinary unless
#: the rule set treats lower fines as minor (SAMR Order 45).
PENALTY_SEVERITY: Final[dict[str, PublicityClass]] = {
    WARNING: PublicityClass.MINOR,
    CRITICISM: PublicityClass.MINOR,
    FINE: PublicityClass.ORDINARY,
    CONFISCATE_GAINS: PublicityClass.ORDINARY,
    CONFISCATE_PROPERTY: PublicityClass.ORDINARY,
    "暂扣许可证件": PublicityClass.ORDINARY,
    "降低资质等级": PublicityClass.ORDINARY,
    "吊销许可证件": PublicityClass.SERIOUS,
    "限制开展生产经营活动": PublicityClass.SERIOUS,
    "责令停产停业": PublicityClass.SERIOUS,
    "责令关闭": PublicityClass.SERIOUS,
    "限制从业": PublicityClass.SERIOUS,
    DETENTION: PublicityClass.SERIOUS,
}

#: The penalty types of 行政处罚法 Art. 9 (and 行政拘留), as they appear on decisions.
PENALTY_TYPES: Final = frozenset(PENALTY_SEVERITY)

#: SAMR's list of types never ended early (Order 45 Art. 14(3)); each rule set has its own
#: set, ``RuleSetSpec.never_end_early`` (22号 and Order 36 have none by default).
NEVER_END_EARLY: Final = frozenset(
    {"责令停产停业", "限制开展生产经营活动", "限制从业", "降低资质等级", "吊销许可证件"}
)

#: Restrictions (SAMR Order 45 Art. 13: longer than 3 years → publicized for the restriction).
RESTRICTION_TYPES: Final = frozenset({"限制开展生产经营活动", "限制从业"})

#: Types a simple-procedure (当场) decision may carry (行政处罚法 Art. 51).
SIMPLE_PROCEDURE_TYPES: Final = frozenset({WARNING, FINE})


#: The enforcement domain whose decisions follow the SAMR rows when they are in force.
MARKET_REGULATION: Final = "market_regulation"


# --------------------------------------------------------------------------- table 2: rule sets

Scope = Literal["general", "market_regulation"]
MinorTreatment = Literal["as_ordinary", "local_option", "publicized"]


@dataclass(frozen=True)
class RuleSetSpec:
    """One row of DOMAIN.md §3's second table.

    in_force_until   last day in force, inclusive (None: still in force)
    counted_from     the date periods run from
    simple_procedure_publicized / warning_only_publicized
                     False where the rule set leaves such decisions unpublicized
    minor            "as_ordinary": no minor class, publicized like ordinary decisions;
                     "local_option": publicized (as minor) only if LocalPolicy.publicize_minor;
                     "publicized": always publicized as minor
    lower_fines_are_minor
                     fines below LocalPolicy's lower-fine threshold count as minor
    """

    rule_set: RuleSet
    title: str
    scope: Scope
    in_force_from: date
    in_force_until: date | None
    counted_from: Literal["decision_date", "identification_date", "publication_date"]
    simple_procedure_publicized: bool
    warning_only_publicized: bool
    minor: MinorTreatment
    lower_fines_are_minor: bool
    #: where the row comes from (the primary text, or the secondary copy it was read in)
    source: str = ""
    #: sectors whose minimum publicity is ``PeriodRow.min_months_sensitive_sector``
    sensitive_sectors: frozenset[str] = frozenset()
    #: penalty types whose publicity can never be ended early under this rule set
    never_end_early: frozenset[str] = frozenset()
    #: when set, ``never_end_early`` applies only in these sectors (527号 特定严重失信)
    never_end_early_sectors: frozenset[str] | None = None
    #: why no early end: the rule in words (shown in ``not_repairable`` reasons)
    never_end_early_rule: str = ""
    #: minor decisions of these types are never publicized (SAMR 107: warnings)
    minor_unpublicized_types: frozenset[str] = frozenset()

    def in_force(self, day: date) -> bool:
        return self.in_force_from <= day and (self.in_force_until is None or day <= self.in_force_until)


#: SAMR Order 45 Art. 14(3) and the SAMR 2021 repair measures: never ended early.
SAMR_NEVER_END_EARLY: Final = NEVER_END_EARLY
#: 527号 特定严重失信: 责令停产停业 or 吊销 in these sectors cannot be repaired.
NDRC_2019_NEVER_END_EARLY: Final = frozenset({"责令停产停业", "吊销许可证件"})
NDRC_2019_SPECIFIC_SERIOUS_SECTORS: Final = frozenset(
    {"food", "drugs", "ecology", "construction_quality", "work_safety", "fire_safety", "product_certification"}
)

# Kept as a table, to compare with DOMAIN.md §3 and docs/rules.md (generated from it).
# fmt: off
RULE_SETS: Final[tuple[RuleSetSpec, ...]] = (
    # DOMAIN.md gives only the month (2019-05); the notice was published in May 2019.
    RuleSetSpec(RuleSet.NDRC_2019, "发改办财金〔2019〕527号", "general",
                date(2019, 5, 1), date(2023, 4, 30), "decision_date",
                simple_procedure_publicized=False, warning_only_publicized=True,
                minor="as_ordinary", lower_fines_are_minor=False,
                source="527号 (secondary copies: 0797cx.cn, dandong credit site; 特定严重失信: crsrw); start day 05-01 assumed",
                never_end_early=NDRC_2019_NEVER_END_EARLY,
                never_end_early_sectors=NDRC_2019_SPECIFIC_SERIOUS_SECTORS,
                never_end_early_rule="527号 特定严重失信 (食品药品、生态环境、工程质量、安全生产、消防安全、强制性产品认证领域的责令停产停业、吊销)"),
    RuleSetSpec(RuleSet.NDRC_ORDER_58, "国家发展改革委令第58号（试行）", "general",
                date(2023, 5, 1), date(2026, 3, 31), "decision_date",
                simple_procedure_publicized=False, warning_only_publicized=True,
                minor="as_ordinary", lower_fines_are_minor=False,
                source="Order 58, effective 2023-05-01 (sacsnlax mirror); periods from a local guide (Shenzhen, senqisrq); repealed by Order 36 from 2026-04-01",
                sensitive_sectors=frozenset({"special_equipment", "work_safety", "fire_safety"})),
    RuleSetSpec(RuleSet.STATE_COUNCIL_2025, "国办发〔2025〕22号", "general",
                date(2025, 6, 22), None, "decision_date",
                simple_procedure_publicized=True, warning_only_publicized=True,
                minor="local_option", lower_fines_are_minor=False,
                source="国办发〔2025〕22号, dated 2025-06-22 (cf0099, cloudninemall citing gov.cn content_7029483)"),
    RuleSetSpec(RuleSet.NDRC_ORDER_36, "国家发展改革委令第36号《信用修复管理办法》", "general",
                date(2026, 4, 1), None, "identification_date",
                simple_procedure_publicized=True, warning_only_publicized=True,
                minor="local_option", lower_fines_are_minor=False,
                source="NDRC Order 36, adopted 2025-11-19, effective 2026-04-01 (toubiaole, law-lib id=786242); Art. 2: repair is the rule"),
    RuleSetSpec(RuleSet.SAMR_ORDER_45, "市场监管总局令第45号及2021年信用修复管理办法", "market_regulation",
                date(2021, 9, 1), date(2025, 12, 24), "publication_date",
                simple_procedure_publicized=False, warning_only_publicized=False,
                minor="publicized", lower_fines_are_minor=True,
                source="SAMR Order 45 Art. 2, 13, 14 (flfgsc, wenkunet, tatuatio, foodmate, it214); SAMR 2021 repair measures (yuanjiang.gov.cn)",
                sensitive_sectors=frozenset({"food", "drugs", "special_equipment"}),
                never_end_early=SAMR_NEVER_END_EARLY,
                never_end_early_rule="市场监管总局令第45号第十四条第三款及2021年信用修复管理办法"),
    RuleSetSpec(RuleSet.SAMR_ORDER_107, "市场监管总局令第107号", "market_regulation",
                date(2025, 12, 25), None, "decision_date",
                simple_procedure_publicized=True, warning_only_publicized=False,
                minor="publicized", lower_fines_are_minor=False,
                source="SAMR 2025 measures, effective 2025-12-25 (yashengluo, longway-casters); minor class from secondary summaries only [t1][11][12]: OPEN, to verify",
                never_end_early=SAMR_NEVER_END_EARLY,
                never_end_early_rule="市场监管总局令第107号（沿用第45号令第十四条第三款；待核实）",
                minor_unpublicized_types=frozenset({WARNING})),
)
# fmt: on

RULE_SET_SPECS: Final[dict[RuleSet, RuleSetSpec]] = {spec.rule_set: spec for spec in RULE_SETS}


# --------------------------------------------------------------------------- table 1: periods


@dataclass(frozen=True)
class PeriodRow:
    """Publicity periods of one class under one rule set, in calendar months.

    min_months   minimum publicity; a repair may be applied for once it has passed
    max_months   publicity stops by itself at this point
    min_months_sensitive_sector
                 replaces min_months for the rule set's ``sensitive_sectors``
    stop_requires_performance
                 the stop at max_months needs obligations performed
    """

    rule_set: RuleSet
    publicity_class: PublicityClass
    min_months: int
    max_months: int
    min_months_sensitive_sector: int | None
    stop_requires_performance: bool


_R = RuleSet
_C = PublicityClass

PERIOD_TABLE: Final[tuple[PeriodRow, ...]] = (
    # NDRC 2019 notice: ordinary 3 m - 1 y, serious 6 m - 3 y, from the decision date.
    PeriodRow(_R.NDRC_2019, _C.ORDINARY, 3, 12, None, False),
    PeriodRow(_R.NDRC_2019, _C.SERIOUS, 6, 36, None, False),
    # NDRC Order 58 (local reading): min 3 m, max 3 y for everything publicized.
    # 特种设备、安全生产、消防: minimum 1 year (same guide).
    PeriodRow(_R.NDRC_ORDER_58, _C.ORDINARY, 3, 36, 12, False),
    PeriodRow(_R.NDRC_ORDER_58, _C.SERIOUS, 3, 36, 12, False),
    # 国办发〔2025〕22号: the three classes. At the maximum publicity stops by itself (Order 36:
    # "最长公示期届满后，相关信息自动停止公示"; a sector rule that holds a record longer is a
    # sector exception, not the default).
    PeriodRow(_R.STATE_COUNCIL_2025, _C.MINOR, 0, 3, None, False),
    PeriodRow(_R.STATE_COUNCIL_2025, _C.ORDINARY, 3, 12, None, False),
    PeriodRow(_R.STATE_COUNCIL_2025, _C.SERIOUS, 12, 36, None, False),
    # NDRC Order 36: the same classes, counted from the identification date.
    PeriodRow(_R.NDRC_ORDER_36, _C.MINOR, 0, 3, None, False),
    PeriodRow(_R.NDRC_ORDER_36, _C.ORDINARY, 3, 12, None, False),
    PeriodRow(_R.NDRC_ORDER_36, _C.SERIOUS, 12, 36, None, False),
    # SAMR Order 45: 通报批评 / lower fines 3 m; others 3 y, repair after 6 m (1 y sensitive).
    PeriodRow(_R.SAMR_ORDER_45, _C.MINOR, 3, 3, None, False),
    PeriodRow(_R.SAMR_ORDER_45, _C.ORDINARY, 6, 36, 12, False),
    PeriodRow(_R.SAMR_ORDER_45, _C.SERIOUS, 6, 36, 12, False),
    # SAMR Order 107: the three classes; minor (other than warnings) publicized 3 months and
    # stops by itself, no repair (secondary summaries; open, to verify).
    PeriodRow(_R.SAMR_ORDER_107, _C.MINOR, 3, 3, None, False),
    PeriodRow(_R.SAMR_ORDER_107, _C.ORDINARY, 3, 12, None, False),
    PeriodRow(_R.SAMR_ORDER_107, _C.SERIOUS, 12, 36, None, False),
)

_ROWS: Final[dict[tuple[RuleSet, PublicityClass], PeriodRow]] = {
    (row.rule_set, row.publicity_class): row for row in PERIOD_TABLE
}


def rule_set_in_force(decision_date: date, domain: str) -> RuleSet:
    """The rule set a decision made on ``decision_date`` in ``domain`` is judged by.

    Market regulation (``domain == "market_regulation"``) follows the SAMR rows while one is in
    force (2021-09-01 on) and the general rows before. Where general rows overlap
    (gbf-2025-22 from 2025-06-22 while Order 58 runs to 2026-03-31; Order 36 from 2026-04-01
    while gbf-2025-22 stays in force) the one that came into force last wins: it is the
    newer statement of policy and the older is read in its light.

    Raises ValueError before 2019-05-01: no rule set before then is modelled.
    """
    specs: list[RuleSetSpec] = []
    if domain == MARKET_REGULATION:
        specs = [s for s in RULE_SETS if s.scope == "market_regulation" and s.in_force(decision_date)]
    if not specs:
        specs = [s for s in RULE_SETS if s.scope == "general" and s.in_force(decision_date)]
    if not specs:
        raise ValueError(f"no rule set modelled for a decision of {decision_date} (earliest 2019-05-01)")
    return max(specs, key=lambda s: s.in_force_from).rule_set


def derive_rule_set(decision_date: date, domain: str) -> RuleSet | None:
    """The rule set the ledger judges a decision by (None before 2019-05-01)."""
    try:
        return rule_set_in_force(decision_date, domain)
    except ValueError:
        return None


def procedural_rule_set(act_day: date, rule_set: RuleSet | str) -> RuleSet | None:
    """The rule set whose procedure governs an act (an application, a repair decision) on
    ``act_day`` about a decision judged by ``rule_set``: the rules in force on the day of the
    act, in the same scope (market regulation or general), not the decision's (D8)."""
    scope = RULE_SET_SPECS[RuleSet(rule_set)].scope
    return derive_rule_set(act_day, MARKET_REGULATION if scope == "market_regulation" else "general")


#: Under NDRC Order 58 (until 国办发〔2025〕22号 of 2025-06-22) 国家公共信用信息中心 (信用中国)
#: decided repairs of general-domain records; from 22号 on, 谁认定、谁修复.
DEPARTMENT_DECIDES_GENERAL_FROM: Final = date(2025, 6, 22)
