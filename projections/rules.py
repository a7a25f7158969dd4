"""The publicity rules as one import (DOMAIN.md §3): the tables, the local policy, the
computation of a decision's class and periods, and the open questions, each in its own module:

* :mod:`tongxiu.projections.rule_tables` — classes, penalty types, ``RULE_SETS`` and
  ``PERIOD_TABLE`` kept as data, and which rule set is in force (its docstring holds the
  reading notes for all four);
* :mod:`tongxiu.projections.policy` — ``LocalPolicy``, ``PolicyBook``, ``ClassStandard``;
* :mod:`tongxiu.projections.periods` — ``DecisionFacts``, ``Periods``, ``classify``,
  ``compute_periods``;
* :mod:`tongxiu.projections.open_questions` — ``OPEN_QUESTIONS``.
"""

from __future__ import annotations

from tongxiu.projections.open_questions import (
    OPEN_QUESTIONS,
    OpenQuestion,
)
from tongxiu.projections.periods import (
    DecisionFacts,
    Periods,
    classify,
    compute_periods,
    never_end_early_types,
)
from tongxiu.projections.policy import (
    ClassStandard,
    LocalPolicy,
    NonNegativeInt,
    PolicyBook,
    Yuan,
)
from tongxiu.projections.rule_tables import (
    CONFISCATE_GAINS,
    CONFISCATE_PROPERTY,
    CRITICISM,
    DEPARTMENT_DECIDES_GENERAL_FROM,
    DETENTION,
    FINE,
    MARKET_REGULATION,
    NDRC_2019_NEVER_END_EARLY,
    NDRC_2019_SPECIFIC_SERIOUS_SECTORS,
    NEVER_END_EARLY,
    PENALTY_SEVERITY,
    PENALTY_TYPES,
    PERIOD_TABLE,
    RESTRICTION_TYPES,
    RULE_SET_SPECS,
    RULE_SETS,
    SAMR_NEVER_END_EARLY,
    SIMPLE_PROCEDURE_TYPES,
    WARNING,
    MinorTreatment,
    PeriodRow,
    PublicityClass,
    RuleSet,
    RuleSetSpec,
    Scope,
    derive_rule_set,
    procedural_rule_set,
    rule_set_in_force,
)

__all__ = [
    "CONFISCATE_GAINS",
    "CONFISCATE_PROPERTY",
    "CRITICISM",
    "ClassStandard",
    "DEPARTMENT_DECIDES_GENERAL_FROM",
    "DETENTION",
    "DecisionFacts",
    "FINE",
    "LocalPolicy",
    "MARKET_REGULATION",
    "MinorTreatment",
    "NDRC_2019_NEVER_END_EARLY",
    "NDRC_2019_SPECIFIC_SERIOUS_SECTORS",
    "NEVER_END_EARLY",
    "NonNegativeInt",
    "OPEN_QUESTIONS",
    "OpenQuestion",
    "PENALTY_SEVERITY",
    "PENALTY_TYPES",
    "PERIOD_TABLE",
    "PeriodRow",
    "Periods",
    "PolicyBook",
    "PublicityClass",
    "RESTRICTION_TYPES",
    "RULE_SETS",
    "RULE_SET_SPECS",
    "RuleSet",
    "RuleSetSpec",
    "SAMR_NEVER_END_EARLY",
    "SIMPLE_PROCEDURE_TYPES",
    "Scope",
    "WARNING",
    "Yuan",
    "classify",
    "compute_periods",
    "derive_rule_set",
    "never_end_early_types",
    "procedural_rule_set",
    "rule_set_in_force",
]
