"""Publicity classes and periods of penalty decisions, by the rule set in force (DOMAIN.md §3).

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

import json
import tomllib
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from tongxiu.projections.workdays import add_months


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

_LABEL: Final = {
    PublicityClass.NONE: "not publicized",
    PublicityClass.MINOR: "minor (轻微)",
    PublicityClass.ORDINARY: "ordinary (一般)",
    PublicityClass.SERIOUS: "serious (严重)",
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
                never_end_early_rule="市场监管总局令第107号 (carried over from Order 45 Art. 14(3); to verify)",
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


# --------------------------------------------------------------------------- local policy


def _read_mapping(path: Path) -> dict[str, Any]:
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    try:
        if path.suffix == ".toml":
            data: Any = tomllib.loads(text)
        elif path.suffix == ".json":
            data = json.loads(text)
        else:
            raise ValueError(f"policy file {path} must end in .toml or .json")
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"cannot parse policy file {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise ValueError(f"policy file {path} must hold a table/object at the top")
    return data


NonNegativeInt = Annotated[int, Field(ge=0)]
Yuan = Annotated[Decimal, Field(ge=0)]


class LocalPolicy(BaseModel):
    """Settings a province or city fixes for itself; defaults are the national rules.

    No province's numbers are a national default: SAMR Order 45's "较低数额罚款" thresholds are
    set by each province (Hubei 10,000 / 100,000; Guizhou and Fujian 5,000 / 50,000 yuan), so
    they default to None, and a lower-fine rule without a local setting is a visible gap
    (``Periods.gaps``), not Hubei's numbers.

    Unknown keys are rejected so that a misspelt setting in a policy file fails loudly
    instead of silently leaving the default in force.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    #: SAMR Order 45 "lower fines" (较低数额罚款): strictly below these count as minor.
    lower_fine_threshold_person: Yuan | None = None
    lower_fine_threshold_organisation: Yuan | None = None
    #: Local lock-outs (one city: none within 1 year of the last repair, at most 2 in 5 years).
    repair_lockout_days_after_last_repair: NonNegativeInt | None = None
    max_repairs_in_5_years: NonNegativeInt | None = None
    #: 一处修复、处处同步: other holders apply a repair within this many working days.
    sync_deadline_working_days: NonNegativeInt = 3
    #: Publicity of a changed/revoked/invalid decision is withdrawn within this many.
    withdrawal_deadline_working_days: NonNegativeInt = 3
    #: The identifying department decides a repair within this many working days of receipt.
    repair_decision_working_days: NonNegativeInt = 3
    repair_decision_working_days_samr_order_45: NonNegativeInt = 15
    repair_decision_working_days_samr_order_107: NonNegativeInt = 7
    #: The applicant is told the outcome within this many working days (DOMAIN.md §4).
    repair_reply_working_days: NonNegativeInt = 10
    #: 行政处罚法 Art. 51: simple (on-the-spot) procedure fines may not exceed these.
    simple_procedure_fine_limit_person: Yuan = Decimal(200)
    simple_procedure_fine_limit_organisation: Yuan = Decimal(3000)
    #: Minor information under the 2025 rules is publicized (≤ 3 months) only if True.
    publicize_minor: bool = False
    #: 无事不扰: inspections of one enterprise per calendar year across all departments (a joint
    #: inspection counts once); above it an inspection is recorded and flagged. None: no limit.
    max_inspections_per_enterprise_per_year: NonNegativeInt | None = None
    #: A complaint about a department is answered within this many working days of receipt.
    complaint_reply_working_days: NonNegativeInt = 15

    def repair_decision_days(self, rule_set: RuleSet | str | None) -> int:
        """Working days the deciding department has, under the rule set in force on the day the
        application was received (``procedural_rule_set``), not the decision's."""
        if rule_set == RuleSet.SAMR_ORDER_45:
            return self.repair_decision_working_days_samr_order_45
        if rule_set == RuleSet.SAMR_ORDER_107:
            return self.repair_decision_working_days_samr_order_107
        return self.repair_decision_working_days

    def lower_fine_threshold(self, party_kind: Literal["person", "organisation"]) -> Decimal | None:
        if party_kind == "person":
            return self.lower_fine_threshold_person
        return self.lower_fine_threshold_organisation

    def simple_procedure_fine_limit(self, party_kind: Literal["person", "organisation"]) -> Decimal:
        if party_kind == "person":
            return self.simple_procedure_fine_limit_person
        return self.simple_procedure_fine_limit_organisation

    @classmethod
    def load(cls, path: Path) -> LocalPolicy:
        """Read one policy from a .toml or .json file holding the fields at the top level."""
        try:
            return cls.model_validate(_read_mapping(path))
        except ValidationError as exc:
            raise ValueError(f"bad policy file {path}: {exc}") from exc


def _normalize_area(code: str) -> str | None:
    """ "420100" -> "4201", "420000" -> "42": GB/T 2260 pads higher levels with zeros.

    Returns None for anything that is not 2, 4 or 6 digits.
    """
    code = code.strip()
    if not code.isascii() or not code.isdigit() or len(code) not in (2, 4, 6):
        return None
    while len(code) > 2 and code.endswith("00"):
        code = code[:-2]
    return code


class ClassStandard(BaseModel):
    """A sector's classification standard (行政处罚信息分类标准): 22号 "各领域具体分类标准由行业主管
    部门制定并在'信用中国'网站统一发布". Versioned by date; which fines it calls minor (较低数额)
    and serious (巨额). Fines in between, and the other penalty types, keep their class.

    These are data a sector publishes: none is built in, because no national numbers exist in
    the sources; an operator loads them with the policy book (``class_standards``).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    ref: Annotated[str, Field(min_length=1, max_length=200)]
    domain: Annotated[str, Field(min_length=1)]
    jurisdiction: Annotated[str, Field(pattern=r"^[0-9]{2,6}$")] = Field(
        default="00", description="area prefix it applies to; 00 = national"
    )
    effective_from: date
    effective_until: date | None = None
    minor_fine_below_person: Yuan | None = None
    minor_fine_below_organisation: Yuan | None = None
    serious_fine_from_person: Yuan | None = None
    serious_fine_from_organisation: Yuan | None = None
    #: whether the sector publicizes minor information (行业主管部门认为确有必要公示的); None: the
    #: local policy's ``publicize_minor`` decides
    publicize_minor: bool | None = None
    source: str = ""

    def in_force(self, day: date) -> bool:
        return self.effective_from <= day and (self.effective_until is None or day <= self.effective_until)

    def applies_to(self, area: str) -> bool:
        return self.jurisdiction == "00" or area.startswith(self.jurisdiction.rstrip("0") or self.jurisdiction)

    def band(self, party_kind: str, fine: Decimal) -> tuple[PublicityClass | None, str]:
        """The class the standard gives a fine of ``fine`` yuan (None: no band applies)."""
        person = party_kind == "person"
        serious = self.serious_fine_from_person if person else self.serious_fine_from_organisation
        minor = self.minor_fine_below_person if person else self.minor_fine_below_organisation
        if serious is not None and fine >= serious:
            return PublicityClass.SERIOUS, f"{self.ref}: 巨额罚款 (≥ {serious} yuan)"
        if minor is not None and fine < minor:
            return PublicityClass.MINOR, f"{self.ref}: 较低数额罚款 (< {minor} yuan)"
        return None, f"{self.ref}: {fine} yuan is in no band"


class PolicyBook(BaseModel):
    """Local policies by area code (GB/T 2260), with a national default.

    ``for_jurisdiction`` layers every matching prefix from the shortest to the longest over
    the default, taking from each only the fields it sets explicitly: Wuhan ("4201") need only
    state what differs from Hubei ("42"), because a city's rules add to its province's.

    File format (TOML; JSON with the same shape also works)::

        [default]
        sync_deadline_working_days = 3

        [policies_by_jurisdiction.42]        # Hubei
        lower_fine_threshold_person = 10000

        [policies_by_jurisdiction.4201]      # Wuhan
        repair_lockout_days_after_last_repair = 365
        max_repairs_in_5_years = 2
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    default: LocalPolicy = Field(default_factory=LocalPolicy)
    policies_by_jurisdiction: dict[str, LocalPolicy] = Field(default_factory=dict)
    class_standards: list[ClassStandard] = Field(default_factory=list)

    def standard_for(self, domain: str, area: str, day: date) -> ClassStandard | None:
        """The sector standard in force for ``domain`` in ``area`` on ``day`` (the most local,
        then the newest), or None when the sector has published none."""
        found = [s for s in self.class_standards if s.domain == domain and s.in_force(day) and s.applies_to(area)]
        if not found:
            return None
        return max(found, key=lambda s: (len(s.jurisdiction), s.effective_from))

    def standard(self, ref: str) -> ClassStandard | None:
        return next((s for s in self.class_standards if s.ref == ref), None)

    @field_validator("policies_by_jurisdiction")
    @classmethod
    def _area_codes(cls, value: dict[str, LocalPolicy]) -> dict[str, LocalPolicy]:
        out: dict[str, LocalPolicy] = {}
        for raw, policy in value.items():
            key = _normalize_area(raw)
            if key is None:
                raise ValueError(f"jurisdiction {raw!r} is not a 2-, 4- or 6-digit area code")
            if key in out:
                raise ValueError(f"jurisdiction {raw!r} duplicates another key (both mean {key!r})")
            out[key] = policy
        return out

    def for_jurisdiction(self, code: str) -> LocalPolicy:
        """The policy for an area code such as "420102"; the default if nothing matches.

        A code that is not an area code (e.g. "" for an enterprise without a valid USCC)
        matches nothing and gets the default.
        """
        key = _normalize_area(code)
        if key is None:
            return self.default
        matches = sorted((k for k in self.policies_by_jurisdiction if key.startswith(k)), key=len)
        policy = self.default
        for k in matches:
            layer = self.policies_by_jurisdiction[k]
            policy = policy.model_copy(update={name: getattr(layer, name) for name in layer.model_fields_set})
        return policy

    @classmethod
    def load(cls, path: Path) -> PolicyBook:
        """Read a book from a .toml or .json file (format in the class docstring)."""
        try:
            return cls.model_validate(_read_mapping(path))
        except ValidationError as exc:
            raise ValueError(f"bad policy book {path}: {exc}") from exc


# --------------------------------------------------------------------------- decisions


@dataclass(frozen=True, kw_only=True)
class DecisionFacts:
    """What the period rules need to know about one penalty decision.

    identification_date  认定之日, Order 36 counts from it; None means the decision date
    sector               "food", "drugs", "special_equipment" lengthen SAMR Order 45's wait
    class_override       the class a domain's own standard assigns, replacing the derived one
    """

    penalty_types: tuple[str, ...]
    fine_yuan: Decimal
    confiscation_yuan: Decimal
    party_kind: Literal["person", "organisation"]
    procedure: Literal["simple", "ordinary"]
    rule_set: RuleSet
    decision_date: date
    identification_date: date | None = None
    sector: str | None = None
    serious_dishonesty_list: bool = False
    class_override: PublicityClass | None = None
    publication_date: date | None = None
    restriction_until: date | None = None
    class_standard: ClassStandard | None = None

    def __post_init__(self) -> None:
        # Reject facts no decision can have, so the rules are never asked about nonsense.
        object.__setattr__(self, "penalty_types", tuple(self.penalty_types))
        object.__setattr__(self, "fine_yuan", Decimal(self.fine_yuan))
        object.__setattr__(self, "confiscation_yuan", Decimal(self.confiscation_yuan))
        object.__setattr__(self, "rule_set", RuleSet(self.rule_set))
        types = self.types
        if not types:
            raise ValueError("a penalty decision has at least one penalty type")
        unknown = sorted(types - PENALTY_TYPES)
        if unknown:
            raise ValueError(f"unknown penalty types: {', '.join(unknown)}")
        if self.party_kind not in ("person", "organisation"):
            raise ValueError(f"party_kind must be person or organisation, got {self.party_kind!r}")
        if self.procedure not in ("simple", "ordinary"):
            raise ValueError(f"procedure must be simple or ordinary, got {self.procedure!r}")
        if self.fine_yuan < 0 or self.confiscation_yuan < 0:
            raise ValueError("amounts cannot be negative")
        if self.fine_yuan > 0 and FINE not in types:
            raise ValueError("a fine amount is given but 罚款 is not among the penalty types")
        if self.confiscation_yuan > 0 and not types & {CONFISCATE_GAINS, CONFISCATE_PROPERTY}:
            raise ValueError("a confiscated amount is given but no 没收 penalty type")
        if DETENTION in types and self.party_kind != "person":
            raise ValueError("行政拘留 can only be imposed on a person")

    @property
    def types(self) -> frozenset[str]:
        """The penalty types as a set (order and repeats on the decision do not matter)."""
        return frozenset(self.penalty_types)

    @property
    def counted_from(self) -> date:
        """The date periods run from under this decision's rule set."""
        how = RULE_SET_SPECS[self.rule_set].counted_from
        if how == "identification_date":
            return self.identification_date or self.decision_date
        if how == "publication_date":
            return self.publication_date or self.decision_date
        return self.decision_date


@dataclass(frozen=True)
class Periods:
    """When a decision's publicity may end, must end, and when a repair may be applied for.

    min_end     earliest end of publicity (by repair); equals max_end when it cannot end early
    max_end     the last day of publicity (民法典 Art. 201-202: the corresponding day); it stops by
                itself the day after (if ``ends_by_itself_requires_performance``, only once
                obligations are performed)
    repair_from earliest date a repair application may be made; None if none can succeed
                (not publicized, never-end-early types, or publicity ends first). For minor
                it is ``counted_from``, conditional on obligations being performed.
    When not publicized, all three dates equal ``counted_from`` and repair_from is None.
    """

    publicity_class: PublicityClass
    publicized: bool
    counted_from: date
    min_end: date
    max_end: date
    repair_from: date | None
    ends_by_itself_requires_performance: bool
    early_end_forbidden: bool
    basis: str
    #: the class of the violation, even when not publicized ("minor, not publicized" is a
    #: recorded class, distinct from no record)
    recorded_class: PublicityClass = PublicityClass.NONE
    #: rules the ledger could not apply for want of local or sector data (visible, not guessed)
    gaps: tuple[str, ...] = ()
    #: why no repair can succeed, naming the rule (None when repair_from is set)
    not_repairable_rule: str | None = None


def _check_procedure(facts: DecisionFacts, policy: LocalPolicy) -> None:
    if facts.procedure != "simple":
        return
    extra = sorted(facts.types - SIMPLE_PROCEDURE_TYPES)
    if extra:
        raise ValueError(f"simple procedure allows only 警告 or 罚款, not {', '.join(extra)}")
    limit = policy.simple_procedure_fine_limit(facts.party_kind)
    if facts.fine_yuan > limit:
        raise ValueError(
            f"simple procedure fine {facts.fine_yuan} exceeds {limit} yuan for a {facts.party_kind}"
        )


def _classify(facts: DecisionFacts, policy: LocalPolicy) -> tuple[PublicityClass, str, PublicityClass, list[str]]:
    """(publicity class, the reason in words, recorded class, gaps)."""
    _check_procedure(facts, policy)
    spec = RULE_SET_SPECS[facts.rule_set]
    gaps: list[str] = []
    if facts.serious_dishonesty_list:
        return PublicityClass.SERIOUS, "on a serious-dishonesty list (严重失信主体名单)", PublicityClass.SERIOUS, gaps

    if facts.class_override is not None:
        severity, why = facts.class_override, "class set by the domain's own standard"
    elif facts.procedure == "simple":
        severity, why = PublicityClass.MINOR, "simple procedure (简易程序)"
    else:
        worst = max(facts.penalty_types, key=lambda t: _RANK[PENALTY_SEVERITY[t]])
        severity, why = PENALTY_SEVERITY[worst], f"most severe penalty type {worst}"
        fine_only = facts.types <= {WARNING, CRITICISM, FINE}
        if facts.class_standard is not None and FINE in facts.types:
            banded, band_why = facts.class_standard.band(facts.party_kind, facts.fine_yuan)
            if banded is PublicityClass.SERIOUS and _RANK[banded] > _RANK[severity]:
                severity, why = banded, band_why
            elif banded is PublicityClass.MINOR and severity is PublicityClass.ORDINARY and fine_only:
                severity, why = banded, band_why
        if spec.lower_fines_are_minor and severity is PublicityClass.ORDINARY and fine_only:
            threshold = policy.lower_fine_threshold(facts.party_kind)
            if threshold is None:
                gaps.append(
                    f"lower_fine_threshold_{facts.party_kind}: {spec.title} makes 较低数额罚款 minor, but no "
                    "provincial threshold is set here; classed by penalty type until one is"
                )
            elif facts.fine_yuan < threshold:
                severity, why = PublicityClass.MINOR, f"only 通报批评 or a lower fine (below {threshold} yuan)"

    recorded = severity
    if severity is not PublicityClass.MINOR:
        return severity, why, recorded, gaps
    if facts.procedure == "simple" and not spec.simple_procedure_publicized:
        return (
            PublicityClass.NONE,
            f"{why}: simple-procedure decisions are not publicized under this rule set",
            recorded,
            gaps,
        )
    if facts.types == {WARNING} and not spec.warning_only_publicized:
        return PublicityClass.NONE, f"{why}: warning-only decisions are not publicized under this rule set", recorded, gaps
    if spec.minor == "as_ordinary":
        return (
            PublicityClass.ORDINARY,
            f"{why}; this rule set has no minor class, so publicized as ordinary",
            PublicityClass.ORDINARY,
            gaps,
        )
    publicize = policy.publicize_minor
    if facts.class_standard is not None and facts.class_standard.publicize_minor is not None:
        publicize = facts.class_standard.publicize_minor
    if spec.minor == "local_option" and not publicize:
        return PublicityClass.NONE, f"{why}: minor information is not publicized here (可以不予公示)", recorded, gaps
    return PublicityClass.MINOR, why, recorded, gaps


def classify(facts: DecisionFacts, policy: LocalPolicy) -> PublicityClass:
    """The publicity class of a decision under its rule set and the local policy.

    Raises ValueError for a simple-procedure decision that simple procedure cannot produce
    (other types than 警告/罚款, or a fine above the limit).
    """
    return _classify(facts, policy)[0]


def never_end_early_types(facts: DecisionFacts) -> frozenset[str]:
    """The decision's penalty types that its rule set (and sector) never lets end early."""
    spec = RULE_SET_SPECS[facts.rule_set]
    if spec.never_end_early_sectors is not None and facts.sector not in spec.never_end_early_sectors:
        return frozenset()
    return facts.types & spec.never_end_early


def _span(months: int) -> str:
    if months % 12 == 0 and months:
        years = months // 12
        return f"{years} year" + ("s" if years > 1 else "")
    return f"{months} month" + ("s" if months != 1 else "")


def compute_periods(facts: DecisionFacts, policy: LocalPolicy) -> Periods:
    """Publicity periods of a decision, looked up in ``PERIOD_TABLE`` (see module docstring)."""
    spec = RULE_SET_SPECS[facts.rule_set]
    cls, why, recorded, gaps = _classify(facts, policy)
    start = facts.counted_from
    source = f"{spec.title} ({spec.rule_set.value})"
    counted = {
        "identification_date": "identification date",
        "publication_date": "publication date" if facts.publication_date else "decision date (no publication date given)",
        "decision_date": "decision date",
    }[spec.counted_from]
    if cls is PublicityClass.NONE:
        return Periods(
            publicity_class=cls,
            publicized=False,
            counted_from=start,
            min_end=start,
            max_end=start,
            repair_from=None,
            ends_by_itself_requires_performance=False,
            early_end_forbidden=False,
            basis=f"{source}: not publicized, {why}.",
            recorded_class=recorded,
            gaps=tuple(gaps),
            not_repairable_rule=f"{source}: not publicized, {why}",
        )

    row = _ROWS[(facts.rule_set, cls)]
    sensitive_min = row.min_months_sensitive_sector if facts.sector in spec.sensitive_sectors else None
    sensitive = sensitive_min is not None
    min_months = sensitive_min if sensitive_min is not None else row.min_months
    max_end = add_months(start, row.max_months)
    restriction_text = ""
    if (
        spec.rule_set is RuleSet.SAMR_ORDER_45
        and facts.restriction_until is not None
        and facts.types & RESTRICTION_TYPES
        and facts.restriction_until > max_end
    ):
        # Order 45 Art. 13: "限制开展生产经营活动、限制从业超过三年的，公示期按照实际限制期限执行"
        max_end = facts.restriction_until
        restriction_text = f" (the restriction runs to {max_end}, Order 45 Art. 13)"
    never = never_end_early_types(facts)
    forbidden = bool(never)
    # 民法典 Art. 201-202: a period "from" day X starts on X+1 and its last day is the
    # corresponding day, so the minimum has passed on the day after it; publicity runs through
    # ``max_end`` inclusive and stops on the day after (D15).
    earliest = add_months(start, min_months) + timedelta(days=1) if min_months else start

    not_repairable: str | None = None
    if forbidden:
        repair_from: date | None = None
        repair_text = f"it can never be ended early ({', '.join(sorted(never))})"
        not_repairable = f"{spec.never_end_early_rule or source}: {', '.join(sorted(never))} can never be ended early"
    elif earliest > max_end:
        repair_from = None
        repair_text = "no repair, as publicity ends by itself first"
        not_repairable = (
            f"{source}: {_LABEL[cls]} information is not repairable; its publicity ends by itself on {max_end}"
        )
    else:
        repair_from = earliest
        if min_months == 0:
            repair_text = f"repair from {earliest} once obligations are performed"
        else:
            repair_text = f"repair from {earliest} (after {_span(min_months)}"
            repair_text += f", {facts.sector})" if sensitive else ")"
    min_end = repair_from if repair_from is not None else max_end
    condition = " if obligations are performed" if row.stop_requires_performance else ""
    span = (
        f"at most {_span(row.max_months)}"
        if row.min_months == 0
        else f"{_span(min_months)} to {_span(row.max_months)}"
        if min_months != row.max_months
        else _span(row.max_months)
    )
    gap_text = "".join(f" Gap: {g}." for g in gaps)
    basis = (
        f"{source}, {_LABEL[cls]} because {why}: publicity {span} from the {counted} {start}{restriction_text}; "
        f"{repair_text}; publicized through {max_end}{condition}.{gap_text}"
    )
    return Periods(
        publicity_class=cls,
        publicized=True,
        counted_from=start,
        min_end=min_end,
        max_end=max_end,
        repair_from=repair_from,
        ends_by_itself_requires_performance=row.stop_requires_performance,
        early_end_forbidden=forbidden,
        basis=basis,
        recorded_class=recorded,
        gaps=tuple(gaps),
        not_repairable_rule=not_repairable,
    )


# --------------------------------------------------------------------------- open questions


@dataclass(frozen=True)
class OpenQuestion:
    """A point the sources leave open: the choice the ledger makes, as data, with its source."""

    key: str
    question: str
    choice: str
    source: str


OPEN_QUESTIONS: Final[tuple[OpenQuestion, ...]] = (
    OpenQuestion(
        "overlap",
        "Which rule set governs a decision while two are in force (Order 58 and 22号 from 2025-06-22 to "
        "2026-03-31; 22号 and Order 36 from 2026-04-01)?",
        "The one that came into force last (22号, then Order 36): the newer statement of policy. The ledger "
        "derives it; a declared rule set that differs is rejected (rule_set_mismatch).",
        "No transitional article found in 22号 or Order 36 (domain audit §1.1); 行政处罚法 Art. 37 (从旧兼从轻) "
        "as the reference principle",
    ),
    OpenQuestion(
        "transition",
        "Is a record decided under older, longer rules re-judged when lighter rules arrive?",
        "No: periods are frozen at the decision's rule set; procedural rules (days to decide, who decides) "
        "follow the rules in force on the day of the act.",
        "Domain audit §1.1 (open); DOMAIN.md §8",
    ),
    OpenQuestion(
        "samr-107-minor",
        "SAMR Order 107: are minor records publicized?",
        "Warnings are not publicized (recorded as minor); other minor information is publicized for 3 months "
        "and stops by itself, with no repair.",
        "Secondary summaries only ([t1][11][12]); to verify against the official text (D12)",
    ),
    OpenQuestion(
        "samr-107-never-end-early",
        "Does SAMR Order 107 keep Order 45 Art. 14(3)'s never-end-early list?",
        "Yes, carried over until the official text says otherwise.",
        "Order 45 Art. 14(3); SAMR 2021 measures (yuanjiang.gov.cn guide)",
    ),
    OpenQuestion(
        "order-36-lockouts",
        "Does NDRC Order 36 set national lock-outs (屡禁不止、屡罚不改, false materials) and bankruptcy "
        "temporary repair (暂时屏蔽)?",
        "Not modelled as national rules: lock-outs stay LocalPolicy settings (repair_lockout_days_after_last_repair, "
        "max_repairs_in_5_years), off by default; false materials are handled by repair_revoked.",
        "Garbled copies of Order 36 (zjbijin); to verify against the official text (D18)",
    ),
    OpenQuestion(
        "ndrc-2019-start",
        "On which day did the NDRC 2019 notice (527号) take effect?",
        "2019-05-01 (DOMAIN.md gives only the month).",
        "527号 published May 2019 (domain audit §1.1)",
    ),
    OpenQuestion(
        "lower-fines",
        "Which fines are SAMR Order 45's 较低数额罚款?",
        "Only what a province sets (LocalPolicy.lower_fine_threshold_*); without a setting the rule is reported "
        "as a gap and the fine is classed by penalty type.",
        "Order 45 Art. 13 (由省级以上市场监督管理部门规定); Hubei 10,000/100,000, Guizhou and Fujian 5,000/50,000 "
        "(foodmate notices)",
    ),
    OpenQuestion(
        "replaced-by",
        "May a withdrawal name a replacing decision (replaced_by) that the ledger does not hold yet?",
        "No: it is rejected (replacement_unknown, naming the field). The changed decision is submitted first, or "
        "before the withdrawal in the same submission (all or none), so the ledger never shows a promise it "
        "cannot check and the replacement is always on the same enterprise.",
        "行政处罚法 Art. 48 (变更 is the authority's act, so the new decision exists when the old is withdrawn); "
        "domain audit D14",
    ),
    OpenQuestion(
        "unforwarded-deadline",
        "From when does the department's decision deadline run if the one window never records a forwarding "
        "(e.g. the application reached the department another way)?",
        "From the ledger's receipt of the application (the earliest receipt the ledger can prove); a recorded "
        "forwarding recounts it from the forwarding.",
        "22号 (一个窗口受理、转交认定部门; 3 working days from receipt); domain audit D9",
    ),
    OpenQuestion(
        "class-standards",
        "Where do sector classification standards (较大数额 / 巨额) come from?",
        "From each sector's published standard, loaded as data (PolicyBook.class_standards, versioned by date); "
        "none is built in. A decision carries the standard it follows (class_basis); without one on file the "
        "class follows the penalty types.",
        "22号: 各领域具体分类标准由行业主管部门制定并在'信用中国'网站统一发布",
    ),
)
