"""A decision's class and periods: ``compute_periods(DecisionFacts, LocalPolicy) -> Periods``,
a pure function of the facts, the rule set in force and the local policy, looked up in the
tables of :mod:`tongxiu.projections.rule_tables`. Part of :mod:`tongxiu.projections.rules`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, Literal

from tongxiu.projections.basis_text import OPEN, Items, Months, Partly, Phrase, dated, phrase
from tongxiu.projections.policy import ClassStandard, LocalPolicy
from tongxiu.projections.rule_tables import (
    _RANK,
    _ROWS,
    CONFISCATE_GAINS,
    CONFISCATE_PROPERTY,
    CRITICISM,
    DETENTION,
    FINE,
    PENALTY_SEVERITY,
    PENALTY_TYPES,
    RESTRICTION_TYPES,
    RULE_SET_SPECS,
    SIMPLE_PROCEDURE_TYPES,
    WARNING,
    PeriodRow,
    PublicityClass,
    RuleSet,
)
from tongxiu.projections.workdays import add_months

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
            raise ValueError("行政处罚决定至少须有一种处罚种类")
        unknown = sorted(types - PENALTY_TYPES)
        if unknown:
            raise ValueError(f"未知的处罚种类：{'、'.join(unknown)}")
        if self.party_kind not in ("person", "organisation"):
            raise ValueError(f"party_kind 须为 person（自然人）或 organisation（单位），收到 {self.party_kind!r}")
        if self.procedure not in ("simple", "ordinary"):
            raise ValueError(f"procedure 须为 simple（简易程序）或 ordinary（普通程序），收到 {self.procedure!r}")
        if self.fine_yuan < 0 or self.confiscation_yuan < 0:
            raise ValueError("罚没款金额不能为负数")
        if self.fine_yuan > 0 and FINE not in types:
            raise ValueError("填写了罚款金额，但处罚种类中没有罚款")
        if self.confiscation_yuan > 0 and not types & {CONFISCATE_GAINS, CONFISCATE_PROPERTY}:
            raise ValueError("填写了没收金额，但处罚种类中没有没收类处罚")
        if DETENTION in types and self.party_kind != "person":
            raise ValueError("行政拘留只能对自然人作出")

    @property
    def types(self) -> frozenset[str]:
        """The penalty types as a set (order and repeats on the decision do not matter)."""
        return frozenset(self.penalty_types)

    @property
    def counted_from(self) -> date:
        """The date periods run from under this decision's rule set."""
        return counted_from(self.rule_set, self.decision_date, self.identification_date, self.publication_date)


def counted_from(rule_set: str, decision_date: date, identification_date: date | None,
                 publication_date: date | None) -> date:
    """The date a decision's periods run from under ``rule_set`` (:attr:`DecisionFacts.counted_from`)."""
    how = RULE_SET_SPECS[rule_set].counted_from  # type: ignore[index]  # a RuleSet is its value
    if how == "identification_date":
        return identification_date or decision_date
    if how == "publication_date":
        return publication_date or decision_date
    return decision_date


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
    #: the rule explanation, structured (rendered by ``basis_in(lang)``; ``basis`` is Chinese)
    explanation: Phrase
    #: the class of the violation, even when not publicized ("minor, not publicized" is a
    #: recorded class, distinct from no record)
    recorded_class: PublicityClass = PublicityClass.NONE
    #: rules the ledger could not apply for want of local or sector data (visible, not guessed)
    gap_phrases: tuple[Phrase, ...] = ()
    #: why no repair can succeed, naming the rule (None when repair_from is set)
    not_repairable: Phrase | None = None

    def basis_in(self, lang: str = "zh") -> str:
        """The rule explanation in ``lang`` ("zh" by default, "en" for English)."""
        return self.explanation.text(lang)

    def gaps_in(self, lang: str = "zh") -> tuple[str, ...]:
        return tuple(g.text(lang) for g in self.gap_phrases)

    @property
    def basis(self) -> str:
        """The rule explanation in Chinese, e.g. ``国办发〔2025〕22号（gbf-2025-22），一般失信：最重处罚
        种类为罚款；公示期 3 个月至 1 年 …`` (stored in the read models, quoted in reasons)."""
        return self.basis_in("zh")

    @property
    def gaps(self) -> tuple[str, ...]:
        """The gaps in Chinese (each starts with the missing setting's name)."""
        return self.gaps_in("zh")

    @property
    def not_repairable_rule(self) -> str | None:
        """Why no repair can succeed, naming the rule, in Chinese (None when one can)."""
        return None if self.not_repairable is None else self.not_repairable.text("zh")


def _check_procedure(facts: DecisionFacts, policy: LocalPolicy) -> None:
    if facts.procedure != "simple":
        return
    extra = sorted(facts.types - SIMPLE_PROCEDURE_TYPES)
    if extra:
        raise ValueError(f"简易程序只能作出警告或罚款，不能作出 {'、'.join(extra)}")
    limit = policy.simple_procedure_fine_limit(facts.party_kind)
    if facts.fine_yuan > limit:
        raise ValueError(
            f"简易程序罚款 {facts.fine_yuan} 元超过对{'自然人' if facts.party_kind == 'person' else '单位'}的上限 {limit} 元"
        )


def _classify(facts: DecisionFacts, policy: LocalPolicy) -> tuple[PublicityClass, Phrase, PublicityClass, list[Phrase]]:
    """(publicity class, the reason as a phrase, recorded class, gaps)."""
    _check_procedure(facts, policy)
    spec = RULE_SET_SPECS[facts.rule_set]
    gaps: list[Phrase] = []
    if facts.serious_dishonesty_list:
        return PublicityClass.SERIOUS, phrase("serious_list"), PublicityClass.SERIOUS, gaps

    why: Phrase
    if facts.class_override is not None:
        severity, why = facts.class_override, phrase("class_override")
    elif facts.procedure == "simple":
        severity, why = PublicityClass.MINOR, phrase("simple_procedure")
    else:
        worst = max(facts.penalty_types, key=lambda t: _RANK[PENALTY_SEVERITY[t]])
        severity, why = PENALTY_SEVERITY[worst], phrase("most_severe_type", penalty_type=worst)
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
                gaps.append(phrase("gap_lower_fine", party_kind=facts.party_kind, title=spec.title))
            elif facts.fine_yuan < threshold:
                severity, why = PublicityClass.MINOR, phrase("lower_fine", threshold=threshold)

    recorded = severity
    if severity is not PublicityClass.MINOR:
        return severity, why, recorded, gaps
    if facts.procedure == "simple" and not spec.simple_procedure_publicized:
        return PublicityClass.NONE, phrase("simple_unpublicized", why=why), recorded, gaps
    if facts.types == {WARNING} and not spec.warning_only_publicized:
        return PublicityClass.NONE, phrase("warning_unpublicized", why=why), recorded, gaps
    if spec.minor == "as_ordinary":
        return PublicityClass.ORDINARY, phrase("minor_as_ordinary", why=why), PublicityClass.ORDINARY, gaps
    publicize = policy.publicize_minor
    if facts.class_standard is not None and facts.class_standard.publicize_minor is not None:
        publicize = facts.class_standard.publicize_minor
    if spec.minor == "local_option" and not publicize:
        return PublicityClass.NONE, phrase("minor_unpublicized_here", why=why), recorded, gaps
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


def _label(cls: PublicityClass) -> Phrase:
    return phrase(f"class_{cls.value}")


@dataclass(frozen=True, slots=True)
class _Shape:
    """What :func:`compute_periods` derives from a decision without its dates: the class, why,
    the table row and the phrases that name no date. Decisions of the same shape (rule set,
    penalty types, amounts, party, procedure, sector, lists, standard, local policy) share it."""

    policy: LocalPolicy
    standard: ClassStandard | None
    cls: PublicityClass
    recorded: PublicityClass
    gaps: tuple[Phrase, ...]
    source: Phrase
    why: Phrase
    counted: Phrase
    unpublicized: Phrase | None
    """For a decision not publicized: its explanation (the rest below is then unused)."""
    unrepairable: Phrase | None
    """Not publicized: why no repair can succeed; never ending early: the same for that."""
    row: PeriodRow | None
    min_months: int
    sensitive: bool
    restricts: bool
    never: Items | None
    """The penalty types that can never end early (None: none)."""
    label: Phrase | None
    sector: str | None
    explaining: dict[str, Any] | None
    """The parameters of a publicized decision's explanation that name no date (None when not
    publicized)."""
    explanations: dict[str, Partly]
    """The explanation written but for its dates, one per kind of repair sentence (made when
    first needed: :meth:`explained`)."""

    def explained(self, repair: str) -> Partly:
        """The explanation of a publicized decision of this shape whose repair sentence is of
        kind ``repair`` ("never", "ends_first", "once_performed", "sector", "from"), written but
        for its dates: ``start``, ``restriction``, ``max_end`` and, for the last three kinds,
        ``earliest`` are open."""
        made = self.explanations.get(repair)
        if made is None:
            assert self.explaining is not None
            sentence: Phrase | Partly
            if repair == "never":
                sentence = phrase("repair_never", types=self.never)
            elif repair == "ends_first":
                sentence = phrase("repair_ends_first")
            elif repair == "once_performed":
                sentence = Partly("repair_once_performed", earliest=OPEN)
            elif repair == "sector":
                sentence = Partly("repair_from_sector", earliest=OPEN, months=Months(self.min_months),
                                  sector=self.sector)
            else:
                sentence = Partly("repair_from", earliest=OPEN, months=Months(self.min_months))
            params = dict(self.explaining)
            params["repair"] = sentence
            made = self.explanations[repair] = Partly(
                "publicized", **{k: params[k] for k in _EXPLANATION_ORDER})
        return made


_EXPLANATION_ORDER = ("source", "label", "why", "span", "counted", "start", "restriction", "repair", "max_end",
                      "condition", "gaps")
"""The explanation's parameters in the order it has always been made with."""


_SHAPES: dict[tuple[object, ...], _Shape] = {}
"""Shape key -> shape (emptied when :data:`SHAPES_KEPT` is reached)."""

SHAPES_KEPT = 4096


def _shape_key(facts: DecisionFacts, policy: LocalPolicy) -> tuple[object, ...]:
    """Everything a shape depends on. Amounts are keyed by their text too (``5000`` and
    ``5000.00`` are equal but could be written differently); the policy and the standard by
    identity (checked on a hit, as the shape holds them)."""
    return shape_key(
        facts.rule_set, facts.penalty_types, facts.fine_yuan, facts.confiscation_yuan, facts.party_kind,
        facts.procedure, facts.sector, facts.serious_dishonesty_list, facts.class_override,
        facts.publication_date is not None, policy, facts.class_standard,
    )


def shape_key(
    rule_set: str, penalty_types: tuple[str, ...], fine_yuan: Decimal, confiscation_yuan: Decimal, party_kind: str,
    procedure: str, sector: str | None, serious_dishonesty_list: bool, class_override: PublicityClass | None,
    publication_given: bool, policy: LocalPolicy, standard: ClassStandard | None,
) -> tuple[object, ...]:
    """The key of a decision's shape from its facts as given (a rule set and its value, which
    is equal and hashes alike, give the same key): see :func:`_shape_key`."""
    return (
        rule_set, penalty_types, fine_yuan, str(fine_yuan), confiscation_yuan, str(confiscation_yuan), party_kind,
        procedure, sector, serious_dishonesty_list, class_override, not publication_given, id(policy), id(standard),
    )


def known_periods(key: tuple[object, ...], policy: LocalPolicy, standard: ClassStandard | None, start: date,
                  restriction_until: date | None) -> Periods | None:
    """The periods of a decision whose shape (``key``, :func:`shape_key`) is already known, from
    its start (:func:`counted_from`) and restriction end; None when the shape is not known yet
    (then :func:`compute_periods` works it out from the decision's :class:`DecisionFacts`).
    Everything :class:`DecisionFacts` checks and the class follow from the shape, so a known
    shape was checked when it was first worked out."""
    shape = _SHAPES.get(key)
    if shape is None or shape.policy is not policy or shape.standard is not standard:
        return None
    return _dated(shape, start, restriction_until)


def _shape(facts: DecisionFacts, policy: LocalPolicy) -> _Shape:
    key = _shape_key(facts, policy)
    shape = _SHAPES.get(key)
    if shape is not None and shape.policy is policy and shape.standard is facts.class_standard:
        return shape
    shape = _new_shape(facts, policy)
    if len(_SHAPES) >= SHAPES_KEPT:
        _SHAPES.clear()
    _SHAPES[key] = shape
    return shape


def _new_shape(facts: DecisionFacts, policy: LocalPolicy) -> _Shape:
    spec = RULE_SET_SPECS[facts.rule_set]
    cls, why, recorded, gaps = _classify(facts, policy)
    source = phrase("source", title=spec.title, rule_set=spec.rule_set.value)
    counted = phrase(
        "from_decision_date_no_publication"
        if spec.counted_from == "publication_date" and not facts.publication_date
        else f"from_{spec.counted_from}"
    )
    if cls is PublicityClass.NONE:
        return _Shape(
            policy, facts.class_standard, cls, recorded, tuple(gaps), source, why, counted,
            unpublicized=phrase("not_publicized", source=source, why=why),
            unrepairable=phrase("not_repairable_unpublicized", source=source, why=why),
            row=None, min_months=0, sensitive=False, restricts=False, never=None, label=None, sector=facts.sector,
            explaining=None, explanations={},
        )
    row = _ROWS[(facts.rule_set, cls)]
    sensitive_min = row.min_months_sensitive_sector if facts.sector in spec.sensitive_sectors else None
    min_months = sensitive_min if sensitive_min is not None else row.min_months
    never = never_end_early_types(facts)
    types = Items(tuple(sorted(never))) if never else None
    if row.min_months == 0:
        span = phrase("span_at_most", months=Months(row.max_months))
    elif min_months != row.max_months:
        span = phrase("span_range", min=Months(min_months), max=Months(row.max_months))
    else:
        span = phrase("span_exact", months=Months(row.max_months))
    return _Shape(
        policy, facts.class_standard, cls, recorded, tuple(gaps), source, why, counted,
        unpublicized=None,
        unrepairable=(
            phrase("not_repairable_never", rule=spec.never_end_early_rule or source, types=types)
            if types is not None else None
        ),
        row=row, min_months=min_months, sensitive=sensitive_min is not None,
        restricts=spec.rule_set is RuleSet.SAMR_ORDER_45 and bool(facts.types & RESTRICTION_TYPES),
        never=types, label=_label(cls), sector=facts.sector,
        explaining={
            "source": source, "label": _label(cls), "why": why, "span": span, "counted": counted, "start": OPEN,
            "restriction": OPEN, "max_end": OPEN,
            "condition": phrase("condition_performed") if row.stop_requires_performance else None,
            "gaps": tuple(phrase("gap", gap=g) for g in gaps),
        },
        explanations={},
    )


def compute_periods(facts: DecisionFacts, policy: LocalPolicy) -> Periods:
    """Publicity periods of a decision, looked up in ``PERIOD_TABLE`` (see module docstring):
    the part that names no date is worked out once per shape of decision (:class:`_Shape`),
    the dates and the phrases naming them for each decision."""
    return _dated(_shape(facts, policy), facts.counted_from, facts.restriction_until)


_DATED: dict[tuple[int, date, date | None], tuple[_Shape, Periods]] = {}
"""(id of a shape, start, restriction end) -> (the shape, its periods from those dates), as
:func:`_dated` worked them out (a :class:`Periods` is a value: frozen, its phrases too). Every
fold of a decision asks for them (the write model's, the projector's, each replay and
rebuild), so a decision is worked out once while it is kept. The entry holds the shape, so
its id is not reused while the entry is there (checked on a hit all the same)."""

DATED_KEPT = 4096
"""How many periods :data:`_DATED` keeps in all (emptied when reached; 0: none kept, every
decision's periods worked out at each fold)."""


def _dated(shape: _Shape, start: date, restriction_until: date | None) -> Periods:
    """A decision's periods from its shape, the date they run from and its restriction's end
    (kept: :data:`_DATED`)."""
    key = (id(shape), start, restriction_until)
    kept = _DATED.get(key)
    if kept is not None and kept[0] is shape:
        return kept[1]
    periods = _dated_anew(shape, start, restriction_until)
    if len(_DATED) >= DATED_KEPT:
        _DATED.clear()
    if DATED_KEPT > 0:
        _DATED[key] = (shape, periods)
    return periods


def _dated_anew(shape: _Shape, start: date, restriction_until: date | None) -> Periods:
    """:func:`_dated`, worked out."""
    row = shape.row
    if row is None:
        assert shape.unpublicized is not None
        return _periods(
            publicity_class=shape.cls,
            publicized=False,
            counted_from=start,
            min_end=start,
            max_end=start,
            repair_from=None,
            ends_by_itself_requires_performance=False,
            early_end_forbidden=False,
            explanation=shape.unpublicized,
            recorded_class=shape.recorded,
            gap_phrases=shape.gaps,
            not_repairable=shape.unrepairable,
        )

    min_months = shape.min_months
    max_end = add_months(start, row.max_months)
    restriction: Phrase | None = None
    if shape.restricts and restriction_until is not None and restriction_until > max_end:
        # Order 45 Art. 13: "限制开展生产经营活动、限制从业超过三年的，公示期按照实际限制期限执行"
        max_end = restriction_until
        restriction = dated("restriction", until=max_end)
    forbidden = shape.never is not None
    # 民法典 Art. 201-202: a period "from" day X starts on X+1 and its last day is the
    # corresponding day, so the minimum has passed on the day after it; publicity runs through
    # ``max_end`` inclusive and stops on the day after (D15).
    earliest = add_months(start, min_months) + timedelta(days=1) if min_months else start

    not_repairable: Phrase | None = None
    # the explanation's repair sentence: the shape's explanation for its kind, with its dates
    if forbidden:
        repair_from: date | None = None
        not_repairable = shape.unrepairable
        explanation = shape.explained("never").made(start=start, restriction=restriction, max_end=max_end)
    elif earliest > max_end:
        repair_from = None
        not_repairable = dated("not_repairable_ends_first", source=shape.source, label=shape.label, max_end=max_end)
        explanation = shape.explained("ends_first").made(start=start, restriction=restriction, max_end=max_end)
    else:
        repair_from = earliest
        kind = "once_performed" if min_months == 0 else "sector" if shape.sensitive else "from"
        explanation = shape.explained(kind).made(start=start, restriction=restriction, max_end=max_end,
                                                 earliest=earliest)
    min_end = repair_from if repair_from is not None else max_end
    return _periods(
        publicity_class=shape.cls,
        publicized=True,
        counted_from=start,
        min_end=min_end,
        max_end=max_end,
        repair_from=repair_from,
        ends_by_itself_requires_performance=row.stop_requires_performance,
        early_end_forbidden=forbidden,
        explanation=explanation,
        recorded_class=shape.recorded,
        gap_phrases=shape.gaps,
        not_repairable=not_repairable,
    )


_PERIODS_FIELDS = frozenset(Periods.__dataclass_fields__)


def _periods(**fields: Any) -> Periods:
    """``Periods(**fields)`` given every field, as its ``__init__`` sets them (it has no
    post-init), without a frozen dataclass's ``object.__setattr__`` per field."""
    if fields.keys() != _PERIODS_FIELDS:
        raise TypeError(f"Periods needs every field, not {sorted(fields.keys() ^ _PERIODS_FIELDS)}")
    made = object.__new__(Periods)
    made.__dict__.update(fields)
    return made
