"""The rule explanation of a decision's periods (``Periods.basis``) as structured phrases: a
stable code with parameters, rendered in Chinese (the users' language, the default) or English
(``lang="en"``), the way :func:`tongxiu.services.reasons.describe` renders the reason catalogue.

A :class:`Phrase`'s parameters may be phrases themselves (the reason a class was chosen sits
inside the basis), tuples of phrases (joined), :class:`Months` (a span, ``3 个月`` / ``3 months``)
or plain values (dates, amounts, penalty types, rule-set titles), which are the same in both
languages. ``tests/unit/test_reason_language.py`` renders every code and fails on an English
sentence in the Chinese catalogue."""

from __future__ import annotations

import operator
import string
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, ClassVar

#: The Chinese text of every phrase (str.format templates over the phrase's parameters).
BASIS_TEXTS: dict[str, str] = {
    # the source: the rule set's title and its stored value
    "source": "{title}（{rule_set}）",
    # why a class (PublicityClass) was chosen
    "serious_list": "列入严重失信主体名单",
    "class_override": "按领域自身的分类标准确定类别",
    "simple_procedure": "适用简易程序",
    "most_severe_type": "最重处罚种类为{penalty_type}",
    "band_serious": "{ref}：巨额罚款（≥ {amount} 元）",
    "band_minor": "{ref}：较低数额罚款（< {amount} 元）",
    "band_none": "{ref}：{amount} 元不属于任何档次",
    "lower_fine": "仅有通报批评或较低数额罚款（低于 {threshold} 元）",
    # why a minor decision is not publicized, or publicized as ordinary
    "simple_unpublicized": "{why}；本规则集下简易程序决定不予公示",
    "warning_unpublicized": "{why}；本规则集下仅予警告的决定不予公示",
    "minor_as_ordinary": "{why}；本规则集不设轻微失信类别，按一般失信公示",
    "minor_unpublicized_here": "{why}；本地轻微失信信息不予公示（可以不予公示）",
    # a rule the ledger could not apply for want of local data
    "gap_lower_fine": "lower_fine_threshold_{party_kind}：{title} 将较低数额罚款列为轻微失信，但本地未设定省级标准；"
    "设定之前按处罚种类分类",
    # the classes
    "class_none": "不予公示",
    "class_minor": "轻微失信",
    "class_ordinary": "一般失信",
    "class_serious": "严重失信",
    # the date periods run from
    "from_identification_date": "认定之日",
    "from_publication_date": "公示之日",
    "from_decision_date_no_publication": "决定日期（未给出公示日期）",
    "from_decision_date": "决定日期",
    # spans
    "span_at_most": "最长 {months}",
    "span_range": "{min}至 {max}",
    "span_exact": "{months}",
    # repair
    "repair_never": "不得提前结束公示（{types}）",
    "repair_ends_first": "公示期先行届满自动停止，无需修复",
    "repair_once_performed": "履行义务后自 {earliest} 起可申请信用修复",
    "repair_from": "自 {earliest} 起可申请信用修复（满 {months}后）",
    "repair_from_sector": "自 {earliest} 起可申请信用修复（{sector} 领域，满 {months}后）",
    "restriction": "（限制期至 {until}，市场监管总局令第45号第十三条）",
    "condition_performed": "（须已履行义务）",
    "gap": "缺少地方或行业数据：{gap}。",
    # the whole basis
    "not_publicized": "{source}：不予公示，{why}。",
    "publicized": "{source}，{label}：{why}；公示期 {span}，自{counted} {start} 起算{restriction}；{repair}；"
    "公示至 {max_end}{condition}。{gaps}",
    # why no repair can succeed (``Periods.not_repairable_rule``)
    "not_repairable_unpublicized": "{source}：不予公示，{why}",
    "not_repairable_never": "{rule}：{types} 不得提前结束公示",
    "not_repairable_ends_first": "{source}：{label}信息不可修复，其公示于 {max_end} 届满后自动停止",
}

#: The same phrases in English.
BASIS_TEXTS_EN: dict[str, str] = {
    "source": "{title} ({rule_set})",
    "serious_list": "on a serious-dishonesty list (严重失信主体名单)",
    "class_override": "class set by the domain's own standard",
    "simple_procedure": "simple procedure (简易程序)",
    "most_severe_type": "most severe penalty type {penalty_type}",
    "band_serious": "{ref}: 巨额罚款 (≥ {amount} yuan)",
    "band_minor": "{ref}: 较低数额罚款 (< {amount} yuan)",
    "band_none": "{ref}: {amount} yuan is in no band",
    "lower_fine": "only 通报批评 or a lower fine (below {threshold} yuan)",
    "simple_unpublicized": "{why}: simple-procedure decisions are not publicized under this rule set",
    "warning_unpublicized": "{why}: warning-only decisions are not publicized under this rule set",
    "minor_as_ordinary": "{why}; this rule set has no minor class, so publicized as ordinary",
    "minor_unpublicized_here": "{why}: minor information is not publicized here (可以不予公示)",
    "gap_lower_fine": "lower_fine_threshold_{party_kind}: {title} makes 较低数额罚款 minor, but no provincial "
    "threshold is set here; classed by penalty type until one is",
    "class_none": "not publicized",
    "class_minor": "minor (轻微)",
    "class_ordinary": "ordinary (一般)",
    "class_serious": "serious (严重)",
    "from_identification_date": "identification date",
    "from_publication_date": "publication date",
    "from_decision_date_no_publication": "decision date (no publication date given)",
    "from_decision_date": "decision date",
    "span_at_most": "at most {months}",
    "span_range": "{min} to {max}",
    "span_exact": "{months}",
    "repair_never": "it can never be ended early ({types})",
    "repair_ends_first": "no repair, as publicity ends by itself first",
    "repair_once_performed": "repair from {earliest} once obligations are performed",
    "repair_from": "repair from {earliest} (after {months})",
    "repair_from_sector": "repair from {earliest} (after {months}, {sector})",
    "restriction": " (the restriction runs to {until}, Order 45 Art. 13)",
    "condition_performed": " if obligations are performed",
    "gap": " Gap: {gap}.",
    "not_publicized": "{source}: not publicized, {why}.",
    "publicized": "{source}, {label} because {why}: publicity {span} from the {counted} {start}{restriction}; "
    "{repair}; publicized through {max_end}{condition}.{gaps}",
    "not_repairable_unpublicized": "{source}: not publicized, {why}",
    "not_repairable_never": "{rule}: {types} can never be ended early",
    "not_repairable_ends_first": "{source}: {label} information is not repairable; its publicity ends by itself on {max_end}",
}

LIST_SEPARATOR = {"zh": "、", "en": ", "}


@dataclass(frozen=True)
class Months:
    """A span of calendar months: ``1 年`` / ``1 year``, ``3 个月`` / ``3 months``."""

    n: int

    def text(self, lang: str = "zh") -> str:
        years, rest = divmod(self.n, 12)
        if self.n and not rest:
            return f"{years} year" + ("s" if years > 1 else "") if lang == "en" else f"{years} 年"
        return f"{self.n} month" + ("s" if self.n != 1 else "") if lang == "en" else f"{self.n} 个月"


@dataclass(frozen=True)
class Items:
    """Several values written as one list (``限制从业、吊销许可证件`` / ``限制从业, 吊销许可证件``)."""

    values: tuple[str, ...]

    def text(self, lang: str = "zh") -> str:
        return LIST_SEPARATOR["en" if lang == "en" else "zh"].join(self.values)


@dataclass(frozen=True)
class Text:
    """A message as data: a stable ``code`` and its parameters, rendered from a Chinese and an
    English catalogue of ``str.format`` templates (``ZH``/``EN``, set by each kind of message:
    :class:`Phrase` here, ``tongxiu.services.problems.Problem`` for audit problems). Parameters
    with a ``text(lang)`` method (another message, :class:`Months`, :class:`Items`) are rendered
    in the same language; other values are written as they are."""

    code: str
    params: dict[str, Any] = field(default_factory=dict)

    ZH: ClassVar[dict[str, str]] = {}
    EN: ClassVar[dict[str, str]] = {}

    def __post_init__(self) -> None:
        if self.code not in self.ZH or self.code not in self.EN:
            raise KeyError(f"no {type(self).__name__} text for {self.code!r}")

    def text(self, lang: str = "zh") -> str:
        """The message in ``lang`` ("zh" by default, "en" for English)."""
        template = (self.EN if lang == "en" else self.ZH)[self.code]
        return template.format_map({k: _value(v, lang) for k, v in self.params.items()})

    def __str__(self) -> str:
        return self.text()


@dataclass(frozen=True)
class Phrase(Text):
    """One phrase of a rule explanation: a code of :data:`BASIS_TEXTS` and its parameters.

    A phrase is a value (its parameters are never changed once it is made): its text in each
    language is rendered once and kept on it, and :func:`phrase` hands out one instance per
    code and parameters that render alike. A decision's explanation is rendered in two
    languages on every fold of the decision (write path, replay, rebuild), and most of its
    phrases (the rule set's title, the class, why it was chosen, the span, when it is counted
    from) recur from one decision to the next, so most of that rendering is a lookup."""

    ZH: ClassVar[dict[str, str]] = BASIS_TEXTS
    EN: ClassVar[dict[str, str]] = BASIS_TEXTS_EN

    def text(self, lang: str = "zh") -> str:
        """The message in ``lang`` ("zh" by default, "en" for English), rendered once per language."""
        slot = "_en" if lang == "en" else "_zh"
        cached: str | None = self.__dict__.get(slot)
        if cached is None:
            values: dict[str, str] = {}
            for k, v in self.params.items():
                if type(v) is Phrase:  # most parameters: a phrase, usually rendered already
                    done = v.__dict__.get(slot)
                    values[k] = done if done is not None else v.text(lang)
                else:
                    values[k] = _value(v, lang)
            template = (self.EN if lang == "en" else self.ZH)[self.code]
            cached = self.__dict__[slot] = template.format_map(values)
        return cached


class _Unkeyable(Exception):
    """A phrase parameter whose text cannot be told from a key (:func:`_key`)."""


def _key(value: Any) -> Any:
    """A key that is equal for two parameter values only if they render alike in every
    language: a plain value (a date, an amount, a title) renders as ``str(value)`` in both,
    so its key is that string; a phrase is keyed by identity (the phrase made by
    :func:`phrase` for the same parameters is the same one; the table that holds the key also
    holds the phrase, so the identity is not reused while the key is there); a span or a list
    is its own value."""
    kind = type(value)
    if kind is str:
        return value
    if kind is Phrase:
        return (Phrase, id(value))
    if kind is Months or kind is Items:
        return value
    if value is None:
        return ""
    if kind is tuple:
        return (tuple, *[_key(v) for v in value])
    if isinstance(value, Text | tuple) or callable(getattr(value, "text", None)):
        raise _Unkeyable(kind.__name__)
    return str(value)


_PHRASES: dict[Any, Phrase] = {}
"""Phrase key -> the one phrase made for it (emptied when :data:`PHRASES_KEPT` is reached)."""

PHRASES_KEPT = 4096


def phrase(code: str, **params: Any) -> Phrase:
    """The phrase ``code`` with ``params``: the instance already made for parameters that
    render alike when there is one (:class:`Phrase`)."""
    if params:
        try:
            key: Any = (code, *[(k, _key(v)) for k, v in params.items()])
        except _Unkeyable:
            return Phrase(code, params)
    else:
        key = code
    try:
        made = _PHRASES.get(key)
    except TypeError:  # a parameter that is not hashable
        return Phrase(code, params)
    if made is None:
        if len(_PHRASES) >= PHRASES_KEPT:
            _PHRASES.clear()
        made = _PHRASES[key] = Phrase(code, params)
    return made


OPEN: Any = object()
"""A parameter of a :class:`Partly` phrase given to each phrase made from it."""


class Partly:
    """A phrase's template with every parameter but its :data:`OPEN` ones already written in,
    per language: phrases of one kind that differ only in those (a decision's explanation
    differs from the next one of the same shape only in its dates) are then rendered by filling
    in those few. A parameter may itself be a :class:`Partly` (a phrase inside the phrase, e.g.
    from when a repair may be applied for): its template is written in, its open parameters
    become this one's, and each phrase made gets that inner phrase with its parameters (its own
    text rendered only if asked for). :meth:`made` gives the phrase with its texts set, the same
    texts :meth:`Phrase.text` renders (``tests/unit/test_period_shapes.py`` compares them)."""

    __slots__ = ("code", "filling", "inner", "open", "outer", "params", "templates")

    code: str
    params: dict[str, Any]
    inner: dict[str, Partly]
    outer: frozenset[str]
    open: frozenset[str]
    templates: dict[str, str]
    filling: tuple[tuple[str, Callable[[dict[str, str]], Any]], tuple[str, Callable[[dict[str, str]], Any]]] | None
    """The (Chinese, English) templates as ``%`` formats with a getter of their open
    parameters' texts in order (:func:`_filling`); None: filled by ``str.format_map``."""

    def __init__(self, code: str, **params: Any) -> None:
        self.code = code
        self.params = params
        self.inner = {k: v for k, v in params.items() if isinstance(v, Partly)}
        self.outer = frozenset(k for k, v in params.items() if v is OPEN)
        opened = list(self.outer) + [name for part in self.inner.values() for name in part.open]
        if len(set(opened)) != len(opened) or set(opened) & (params.keys() - self.outer):
            raise TypeError(f"{code}: an open parameter named twice: {sorted(opened)}")
        self.open = frozenset(opened)

        def written(k: str, v: Any, lang: str) -> str:
            if v is OPEN:
                return "{" + k + "}"
            if isinstance(v, Partly):
                return v.templates[lang]  # a template already: its open parameters stay open
            return _value(v, lang).replace("{", "{{").replace("}", "}}")

        self.templates = {"zh": BASIS_TEXTS[code].format_map({k: written(k, v, "zh") for k, v in params.items()}),
                          "en": BASIS_TEXTS_EN[code].format_map({k: written(k, v, "en") for k, v in params.items()})}
        zh, en = _filling(self.templates["zh"]), _filling(self.templates["en"])
        self.filling = (zh, en) if zh is not None and en is not None else None

    def _phrase(self, params: dict[str, Any], texts: tuple[str, str] | None) -> Phrase:
        """What ``Phrase(code, ...)`` sets, the open parameters taken from ``params`` (the code
        was checked when the templates were made); the texts set when given."""
        filled = {}
        for k, v in self.params.items():
            if v is OPEN:
                filled[k] = params[k]
            elif k in self.inner:
                filled[k] = v._phrase(params, None)
            else:
                filled[k] = v
        made = object.__new__(Phrase)
        made.__dict__.update(code=self.code, params=filled)
        if texts is not None:
            made.__dict__.update(_zh=texts[0], _en=texts[1])
        return made

    def texts(self, params: dict[str, Any]) -> tuple[str, str]:
        """(Chinese, English) text of the phrase with the open parameters ``params``, rendered
        from the partly written templates (what :meth:`made` sets on its phrase)."""
        if params.keys() != self.open:
            raise TypeError(f"{self.code}: the open parameters are {sorted(self.open)}")
        zh: dict[str, str] = {}
        en: dict[str, str] = {}
        for k, v in params.items():
            if type(v) is date or v is None:  # the same in both languages (a decision's dates)
                zh[k] = en[k] = "" if v is None else str(v)
            else:
                zh[k], en[k] = _value(v, "zh"), _value(v, "en")
        filling = self.filling
        if filling is None:
            return self.templates["zh"].format_map(zh), self.templates["en"].format_map(en)
        (zh_format, zh_values), (en_format, en_values) = filling
        return zh_format % zh_values(zh), en_format % en_values(en)

    def made(self, **params: Any) -> Phrase:
        """The phrase (not kept, as :func:`dated`) with the open parameters ``params``, its
        text in both languages rendered from the partly written templates."""
        return self._phrase(params, self.texts(params))


_FORMATTER = string.Formatter()


def _filling(template: str) -> tuple[str, Callable[[dict[str, str]], Any]] | None:
    """``template`` (a ``str.format`` template whose fields are plain names) as a ``%`` format
    with a getter of the fields' values in order: ``fmt % get(values) ==
    template.format_map(values)`` for string values, and ~3 times faster for the long
    explanation templates (``str.format`` parses its template on every call). None when a
    field has a conversion, a format spec or an attribute/index, or there is no field."""
    parts: list[str] = []
    names: list[str] = []
    for literal, name, spec, conversion in _FORMATTER.parse(template):
        parts.append(literal.replace("%", "%%"))
        if name is None:
            continue
        if spec or conversion or not name.isidentifier():
            return None
        parts.append("%s")
        names.append(name)
    if not names:
        return None
    getter = operator.itemgetter(*names)
    if len(names) == 1:  # itemgetter of one name gives the value itself, not a tuple
        return "".join(parts), lambda values: (getter(values),)
    return "".join(parts), getter


def dated(code: str, **params: Any) -> Phrase:
    """A phrase naming one decision's own dates (when its periods end, from when a repair may
    be applied for): rendered once like any phrase, but not kept for reuse (:func:`phrase`),
    as no other decision is likely to need it."""
    return Phrase(code, params)


_PLAIN = frozenset({date, int, Decimal})
"""Parameter types written as ``str(value)`` in every language (checked first: the dates and
amounts of a decision)."""


def _value(value: Any, lang: str) -> str:
    kind = type(value)
    if kind is str:
        return value  # type: ignore[no-any-return]
    if value is None:
        return ""
    if kind in _PLAIN:
        return str(value)
    if kind is Phrase or kind is Months or kind is Items:
        return value.text(lang)  # type: ignore[no-any-return]
    if isinstance(value, Text) or callable(getattr(value, "text", None)):
        return str(value.text(lang))
    if isinstance(value, tuple):  # phrases written one after another (the gaps)
        return "".join(_value(v, lang) for v in value)
    return str(value)
