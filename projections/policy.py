"""Local policy: what a province or city sets for itself (``LocalPolicy``), chosen per area
code by a ``PolicyBook``, and sector classification standards (``ClassStandard``). Part of
:mod:`tongxiu.projections.rules`; nothing local is hard-coded in the tables."""

from __future__ import annotations

import json
import tomllib
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from tongxiu.projections.basis_text import Phrase, phrase
from tongxiu.projections.rule_tables import PublicityClass, RuleSet

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

    def band(self, party_kind: str, fine: Decimal) -> tuple[PublicityClass | None, Phrase]:
        """The class the standard gives a fine of ``fine`` yuan (None: no band applies), and why."""
        person = party_kind == "person"
        serious = self.serious_fine_from_person if person else self.serious_fine_from_organisation
        minor = self.minor_fine_below_person if person else self.minor_fine_below_organisation
        if serious is not None and fine >= serious:
            return PublicityClass.SERIOUS, phrase("band_serious", ref=self.ref, amount=serious)
        if minor is not None and fine < minor:
            return PublicityClass.MINOR, phrase("band_minor", ref=self.ref, amount=minor)
        return None, phrase("band_none", ref=self.ref, amount=fine)


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
