"""Phrases are rendered once and reused (projections/basis_text.py): a reused phrase must
render exactly as a fresh one would, and parameters that print differently must never share
a phrase."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from tongxiu.projections import basis_text
from tongxiu.projections.basis_text import Items, Months, Phrase, Text, dated, phrase


def fresh(code: str, **params: object) -> Phrase:
    return Phrase(code, dict(params))


def test_the_same_parameters_give_the_same_phrase_and_the_same_text() -> None:
    a = phrase("band_none", ref="GB/T 1", amount=Decimal("5000"))
    b = phrase("band_none", ref="GB/T 1", amount=Decimal("5000"))
    assert a is b
    for lang in ("zh", "en"):
        assert a.text(lang) == Text.text(fresh("band_none", ref="GB/T 1", amount=Decimal("5000")), lang)


def test_parameters_that_print_differently_never_share_a_phrase() -> None:
    # equal as values, different as text: 5000 vs 5000.00, 1 vs True vs 1.0
    five = phrase("band_none", ref="r", amount=Decimal("5000"))
    five_00 = phrase("band_none", ref="r", amount=Decimal("5000.00"))
    assert five is not five_00
    assert "5000.00" in five_00.text("zh") and "5000.00" not in five.text("zh")
    texts = {phrase("band_none", ref="r", amount=v).text("en") for v in (1, True, 1.0)}
    assert len(texts) == 3


def test_nested_phrases_render_as_fresh_ones() -> None:
    why = phrase("most_severe_type", penalty_type="罚款")
    source = phrase("source", title="国办发〔2025〕22号", rule_set="gbf-2025-22")
    span = phrase("span_range", min=Months(3), max=Months(12))
    repair = dated("repair_from", earliest=date(2026, 4, 2), months=Months(3))
    made = dated(
        "publicized", source=source, label=phrase("class_ordinary"), why=why, span=span,
        counted=phrase("from_decision_date"), start=date(2026, 1, 1), restriction=None, repair=repair,
        max_end=date(2027, 1, 1), condition=None, gaps=(phrase("gap", gap="x"),),
    )
    rebuilt = fresh(
        "publicized", source=fresh("source", title="国办发〔2025〕22号", rule_set="gbf-2025-22"),
        label=fresh("class_ordinary"), why=fresh("most_severe_type", penalty_type="罚款"),
        span=fresh("span_range", min=Months(3), max=Months(12)), counted=fresh("from_decision_date"),
        start=date(2026, 1, 1), restriction=None,
        repair=fresh("repair_from", earliest=date(2026, 4, 2), months=Months(3)),
        max_end=date(2027, 1, 1), condition=None, gaps=(fresh("gap", gap="x"),),
    )
    for lang in ("zh", "en"):
        assert made.text(lang) == rebuilt.text(lang)
    assert made.text("zh") != made.text("en")
    assert made == rebuilt  # still a value: equal parameters, equal phrases


def test_unhashable_parameters_and_a_full_table_still_render() -> None:
    listed = phrase("repair_never", types=["a", "b"])  # a list parameter: a phrase of its own
    assert listed.text("zh") == Text.text(fresh("repair_never", types=["a", "b"]), "zh")
    items = phrase("repair_never", types=Items(("限制从业", "吊销许可证件")))
    assert "限制从业、吊销许可证件" in items.text("zh")
    kept = basis_text.PHRASES_KEPT
    try:
        basis_text.PHRASES_KEPT = 3
        made = [phrase("gap", gap=str(i)) for i in range(10)]
        assert len(basis_text._PHRASES) <= 3
        assert [p.text("en") for p in made] == [f" Gap: {i}." for i in range(10)]
    finally:
        basis_text.PHRASES_KEPT = kept
