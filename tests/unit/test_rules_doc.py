"""docs/rules.md is generated from the rule data and must match it."""

from __future__ import annotations

from pathlib import Path

from tongxiu.projections.rules import OPEN_QUESTIONS, PERIOD_TABLE, RULE_SETS
from tongxiu.projections.rules_doc import render

DOC = Path(__file__).resolve().parents[2] / "docs" / "rules.md"


def test_rules_doc_is_current() -> None:
    assert DOC.read_text(encoding="utf-8") == render(), "run: python -m tongxiu.projections.rules_doc > docs/rules.md"


def test_rules_doc_names_every_rule_set_row_and_open_question() -> None:
    text = render()
    for spec in RULE_SETS:
        assert f"| `{spec.rule_set.value}` | {spec.title} |" in text
        assert spec.source and spec.source in text
    assert text.count("\n| `") >= len(RULE_SETS) + len(PERIOD_TABLE)
    for q in OPEN_QUESTIONS:
        assert q.choice in text and q.source in text
