"""Issue 12: the human ``message`` of every rejection reason, and every description in the reason
catalogue, is Chinese (users are Chinese civil servants); the codes stay the API. The scan reads
the source of services/, projections/ and events/ for calls that build a reason and fails on a
literal message with no CJK character, so English cannot creep back. An English view of the
catalogue is kept beside it (``REASON_CODES_EN``)."""

from __future__ import annotations

import ast
import json
import re
from datetime import date
from decimal import Decimal
from itertools import product
from pathlib import Path
from typing import Any

import pytest

from tongxiu.events import wire
from tongxiu.events.envelope import Reason
from tongxiu.events.wire import Unreadable, parse_submission
from tongxiu.projections.basis_text import BASIS_TEXTS, BASIS_TEXTS_EN
from tongxiu.projections.rules import (
    PENALTY_TYPES,
    RULE_SETS,
    ClassStandard,
    DecisionFacts,
    LocalPolicy,
    Periods,
    compute_periods,
)
from tongxiu.services.problems import PROBLEM_TEXTS, PROBLEM_TEXTS_EN, EventType, problem
from tongxiu.services.reasons import REASON_CODES, REASON_CODES_EN, describe, reason

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("services", "projections", "events")
CJK = re.compile(r"[\u3400-\u9fff]")
#: the functions that build a reason: (code, field, message, **detail), or Reason(message=...)
BUILDERS = {"reason", "_r", "_Reject", "Reason"}


def _text(node: ast.expr) -> str | None:
    """The literal text of a message expression (an f-string's constant parts), None when the
    message is not written here (a variable, a call)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        text = "".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values)
        # only placeholders and punctuation: the words come from elsewhere (checked there)
        return text if re.search(r"[A-Za-z]", text) or CJK.search(text) else None
    if isinstance(node, ast.IfExp):  # each branch must be Chinese (or empty) on its own
        branches = [_text(node.body), _text(node.orelse)]
        if None in branches:
            return None
        english = [b for b in branches if b and not CJK.search(b)]
        return english[0] if english else "".join(b or "" for b in branches)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):  # each part on its own
        left, right = _text(node.left), _text(node.right)
        if left is None or right is None:
            return None
        english = [t for t in (left, right) if re.search(r"[A-Za-z]", t) and not CJK.search(t)]
        return english[0] if english else left + right
    return None


def _messages(path: Path) -> list[tuple[int, str | None, str]]:
    """(line, literal text or None, source) of every message given to a reason builder."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Call):
            continue
        f = node.func
        name = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else None
        if name not in BUILDERS:
            continue
        message = next((k.value for k in node.keywords if k.arg == "message"), None)
        if message is None and len(node.args) >= 3:
            message = node.args[2]
        if message is not None:
            out.append((node.lineno, _text(message), ast.unparse(message)))
    return out


def _all_messages() -> list[tuple[str, int, str | None, str]]:
    return [(f"{p.relative_to(ROOT)}:{line}", line, text, src)
            for package in PACKAGES for p in sorted((ROOT / package).rglob("*.py"))
            for line, text, src in _messages(p)]


def test_the_scan_finds_the_reason_calls() -> None:
    found = _all_messages()
    literal = [m for m in found if m[2] is not None]
    # the scan is not vacuous: the write path alone builds well over a hundred reasons
    assert len(literal) > 100, len(literal)
    files = {where.split(":")[0] for where, *_ in found}
    assert {"services/checks.py", "services/decision_rules.py", "services/checks_repair.py",
            "events/wire.py"} <= files, files


def test_the_scan_catches_an_english_message(tmp_path: Path) -> None:
    src = tmp_path / "m.py"
    src.write_text('reason("item_closed", "f", f"item {x} was closed")\n'
                   'reason("item_closed", "f", message="已关闭")\n'
                   'reason("item_closed", "f", "已关闭" + (f"since {d}" if d else ""))\n', encoding="utf-8")
    texts = [text for _, text, _ in _messages(src)]
    assert texts == ["item {} was closed", "已关闭", "since {}"]
    assert [bool(CJK.search(t or "")) for t in texts] == [False, True, False]


def test_every_literal_reason_message_is_chinese() -> None:
    english = [f"{where}: {src}" for where, _, text, src in _all_messages()
               if text is not None and not CJK.search(text)]
    assert english == [], "reason messages without Chinese:\n" + "\n".join(english)


#: three English words in a row: an English sentence with a Chinese term in it (field names, codes
#: and values are single tokens such as ``submission_id`` or ``GB 32100-2015`` and do not match)
ENGLISH_RUN = re.compile(r"\b[A-Za-z]{2,} [A-Za-z]{2,} [A-Za-z]{2,}\b")


def test_no_english_sentence_hides_behind_a_chinese_term() -> None:
    mixed = [f"{where}: {src}" for where, _, text, src in _all_messages() if text and ENGLISH_RUN.search(text)]
    mixed += [f"REASON_CODES[{code!r}]: {text}" for code, text in REASON_CODES.items() if ENGLISH_RUN.search(text)]
    assert mixed == [], "English sentences in reason messages:\n" + "\n".join(mixed)
    assert ENGLISH_RUN.search("binding corrections (责令改正) not verified by every owner: {}")


def test_messages_not_written_in_place_are_known() -> None:
    """A message passed through (a variable, an exception's text) is checked where it is
    written; the scan names each such place so a new one is looked at, not skipped."""
    passed = sorted(f"{where.split(':')[0]}: {src}" for where, _, text, src in _all_messages() if text is None)
    assert passed == [
        "events/wire.py: message",  # _Reject(code, field, message): its callers are scanned
        "events/wire.py: schema_rule(e)",  # from _MESSAGES and _DETAILS, or our validators' own (checked below)
        "services/decision_rules.py: str(exc)",  # projections/periods.py's ValueErrors, in Chinese
        "services/reasons.py: message",  # reason() itself
        "services/supervision_rules.py: message",  # _r() itself
    ]


def test_the_schema_rules_are_chinese() -> None:
    """schema_invalid's message is a rule from events.wire._MESSAGES, then pydantic's detail."""
    assert wire._MESSAGES and all(CJK.search(rule) for rule in wire._MESSAGES.values())


@pytest.mark.parametrize("code", sorted(REASON_CODES))
def test_every_catalogue_description_is_chinese_with_an_english_view(code: str) -> None:
    assert CJK.search(REASON_CODES[code]), (code, REASON_CODES[code])
    assert describe(code) == REASON_CODES[code]
    assert describe(code, "en") == REASON_CODES_EN[code] != REASON_CODES[code]


def test_the_english_view_has_the_same_codes() -> None:
    assert set(REASON_CODES_EN) == set(REASON_CODES)


def test_a_built_reason_keeps_code_field_and_message() -> None:
    r = reason("item_closed", "events[0].item_id", "整改事项 A1 已于 2026-01-05 销账（已关闭）", item="A1")
    assert (r.code, r.field, r.detail) == ("item_closed", "events[0].item_id", {"item": "A1"})
    assert CJK.search(r.message)


# --------------------------------------------------------------------------- the rule explanation


def _bases() -> list[Periods]:
    """Every rule set × one and two penalty types × both procedures and party kinds × policies
    (none, minor publicized, lower-fine thresholds, a sector standard) × sectors: the periods of
    every combination a decision can have."""
    standard = ClassStandard(ref="某行业分类标准", domain="d", effective_from=date(2019, 1, 1),
                             minor_fine_below_person=Decimal(60000), serious_fine_from_organisation=Decimal(40000))
    policies = [LocalPolicy(), LocalPolicy(publicize_minor=True),
                LocalPolicy(lower_fine_threshold_person=Decimal(10000), lower_fine_threshold_organisation=Decimal(100000))]
    out = []
    for spec in RULE_SETS:
        day = spec.in_force_from
        for types in [(t,) for t in sorted(PENALTY_TYPES)] + [("罚款", "限制开展生产经营活动")]:
            for procedure, kind, sector, policy, std, listed in product(
                    ("ordinary", "simple"), ("organisation", "person"), (None, "food", "special_equipment"),
                    policies, (None, standard), (False, True)):
                fine = Decimal(50000 if procedure == "ordinary" else 100) if "罚款" in types else Decimal(0)
                gains = Decimal(10) if "没收违法所得" in types else Decimal(0)
                try:
                    f = DecisionFacts(penalty_types=types, fine_yuan=fine, confiscation_yuan=gains, party_kind=kind,  # type: ignore[arg-type]
                                      procedure=procedure, rule_set=spec.rule_set, decision_date=day, sector=sector,  # type: ignore[arg-type]
                                      serious_dishonesty_list=listed, class_standard=std,
                                      restriction_until=date(day.year + 5, 1, 1))
                    out.append(compute_periods(f, policy))
                except ValueError:
                    continue  # facts no decision can have (detention of an organisation, …)
    return out


def _english_in(text: str) -> list[str]:
    """English in a Chinese text: any run of three English words, or a text without Chinese."""
    return ENGLISH_RUN.findall(text) or ([] if CJK.search(text) else [text])


def test_every_basis_is_chinese_with_an_english_view() -> None:
    """``Periods.basis`` (stored in the read models, quoted in repair_too_early, notice_mismatch
    and not_repairable messages) is Chinese for every combination; English is ``basis_in("en")``."""
    periods = _bases()
    assert len(periods) > 1000, len(periods)
    codes = set()
    english = []
    for p in periods:
        texts = [p.basis, *p.gaps] + ([p.not_repairable_rule] if p.not_repairable_rule else [])
        english += [f"{t!r}: {e}" for t in texts for e in _english_in(t)]
        assert p.basis_in("en") != p.basis and ENGLISH_RUN.search(p.basis_in("en"))
        codes.add(p.explanation.code)
        codes.update(p.explanation.params[k].code for k in ("why", "repair") if k in p.explanation.params)
    assert english == [], "English in rule explanations:\n" + "\n".join(sorted(set(english))[:20])
    # the combinations reach every kind of explanation, not only the common one
    assert {"publicized", "not_publicized", "most_severe_type", "band_serious", "band_minor", "lower_fine",
            "serious_list", "simple_unpublicized", "warning_unpublicized", "minor_as_ordinary",
            "minor_unpublicized_here", "repair_never", "repair_ends_first", "repair_from"} <= codes, codes


def test_the_basis_catalogues_have_the_same_codes_and_no_english_sentence() -> None:
    assert set(BASIS_TEXTS) == set(BASIS_TEXTS_EN)
    for code, text in BASIS_TEXTS.items():
        assert not ENGLISH_RUN.search(re.sub(r"\{\w+\}", "", text)), (code, text)


def test_the_basis_check_catches_an_english_explanation() -> None:
    """What the check would say about the old English basis (so it cannot pass vacuously)."""
    old = ("国办发〔2025〕22号 (gbf-2025-22), ordinary (一般) because most severe penalty type 罚款: "
           "publicity 3 months to 1 year from the decision date 2025-08-29")
    assert _english_in(old)
    assert _english_in("publicity 3 months")
    assert not _english_in("国办发〔2025〕22号（gbf-2025-22），一般失信：最重处罚种类为罚款；公示期 3 个月至 1 年")


# --------------------------------------------------------------------------- audit and verification problems


def _problem_codes_used() -> set[str]:
    """The codes of every ``problem("code", …)`` call in the services and infra packages."""
    used = set()
    for package in ("services", "infra"):
        for path in sorted((ROOT / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "problem" \
                        and node.args and isinstance(node.args[0], ast.Constant):
                    used.add(str(node.args[0].value))
    return used


def test_every_problem_is_chinese_with_an_english_view() -> None:
    """The problem lines of audit, verify-log, verify-bundle and verify: a code each, Chinese
    text by default (no English sentence), English with ``lang="en"``."""
    used = _problem_codes_used()
    assert len(used) > 30 and {"missing", "truncated", "history_rewritten", "hash_mismatch"} <= used, used
    assert used <= set(PROBLEM_TEXTS), used - set(PROBLEM_TEXTS)
    assert set(PROBLEM_TEXTS) == set(PROBLEM_TEXTS_EN)
    for code, text in PROBLEM_TEXTS.items():
        words = re.sub(r"\{\w+\}", "", text)
        assert CJK.search(words) or code == "at", (code, text)
        assert not ENGLISH_RUN.search(words), (code, text)
        assert PROBLEM_TEXTS_EN[code] != text and not CJK.search(PROBLEM_TEXTS_EN[code]), code


def test_a_problem_renders_in_both_languages_and_says_what_it_is_about() -> None:
    what = problem("receipted_event", stream="91330521MA2D7K3X47", seq=5, type=EventType("penalty_fulfilled"),
                   event_id="e-5", submission_id="s-5")
    found = problem("missing", what=what)
    assert found.text() == str(found) == (
        "缺失：91330521MA2D7K3X47 第 5 号事件 行政处罚履行完毕（e-5，提交 s-5）已不在日志中")
    assert found.text("en") == "missing: 91330521MA2D7K3X47 #5 Penalty fulfilled (e-5, submission s-5) is no longer in the log"
    assert found.about() == {"stream": "91330521MA2D7K3X47", "seq": 5, "type": "penalty_fulfilled",
                             "event_id": "e-5", "submission_id": "s-5"}
    assert found.as_dict()["code"] == "missing" and found.as_dict()["message_en"] == found.text("en")
    with pytest.raises(KeyError):
        problem("no_such_problem")


# --------------------------------------------------------------------------- pydantic's errors


def _schema_rejections() -> list[Reason]:
    """A signed submission broken in every way a department's client has broken one: the
    schema_invalid reasons the wire parser gives."""
    from datetime import UTC, datetime

    from tests.support import CODE, decision
    from tongxiu.services.demo import demo_key
    from tongxiu.services.ledger import sign_submission

    good = sign_submission(demo_key("samr-deqing"), department="samr-deqing", stream=CODE, submission_id="s-1",
                           occurred_at=datetime(2026, 1, 5, 9, tzinfo=UTC), events=[decision()]).model_dump(mode="json")

    def event(**change: Any) -> dict[str, Any]:
        body = json.loads(json.dumps(good))
        for key, value in change.items():
            if value is _DROP:
                del body["events"][0]["event"][key]
            else:
                body["events"][0]["event"][key] = value
        return body

    def envelope(**change: Any) -> dict[str, Any]:
        body = json.loads(json.dumps(good))
        for key, value in change.items():
            if value is _DROP:
                del body[key]
            else:
                body[key] = value
        return body

    broken = [
        event(decision_no=_DROP), event(surprise=1), event(decision_no=5), event(fine_yuan="-5"),
        event(fine_yuan="1.234"), event(fine_yuan="abc"), event(fine_yuan=True), event(decision_date="05/01/2026"),
        event(decision_date=20260105), event(party_kind="company"), event(penalty_types="罚款"), event(penalty_types=[]),
        event(serious_dishonesty_list="yes"), event(type="no_such_fact"), event(type=_DROP), event(decision_no=""),
        event(decision_no="x" * 500), event(schema_version="1"), event(fine_yuan="1" * 30),
        envelope(occurred_at="2026-01-05T09:00:00"), envelope(occurred_at="yesterday"), envelope(events={}),
        envelope(events=[5]), envelope(submission_id=_DROP), envelope(signature_format=7), envelope(legacy_code="no"),
        envelope(stream=["a"]),
    ]
    out = []
    for body in broken:
        parsed = parse_submission(body)
        if isinstance(parsed, Unreadable):  # a few are caught later, by the rules (an empty number …)
            out += [r for r in parsed.reasons if r.code == "schema_invalid"]
    return out


_DROP = object()


def test_schema_invalid_messages_are_chinese_with_pydantic_english_kept_in_detail() -> None:
    reasons = _schema_rejections()
    types = {r.detail["type"] for r in reasons}
    # the sample reaches the common error types, not one
    assert len(types) >= 12, types
    assert {"missing", "extra_forbidden", "string_type", "literal_error", "decimal_max_places"} <= types, types
    english = [f"{r.field}: {r.message}" for r in reasons if not CJK.search(r.message) or ENGLISH_RUN.search(r.message)]
    assert english == [], english
    for r in reasons:
        assert r.detail["message_en"] and r.detail["message_en"] not in r.message, r
    assert set(types) <= set(wire._MESSAGES), set(types) - set(wire._MESSAGES)


def test_a_schema_rule_names_what_pydantic_context_adds() -> None:
    too_long = {"type": "string_too_long", "loc": ("events", 0, "event", "decision_no"), "msg": "String should have "
                "at most 200 characters", "ctx": {"max_length": 200}}
    assert wire.schema_rule(too_long) == "字符串过长（最多 200 个字符）"
    literal = {"type": "literal_error", "msg": "Input should be 'person' or 'organisation'",
               "ctx": {"expected": "'person' or 'organisation'"}}
    assert wire.schema_rule(literal) == "取值不在允许的范围内（应为 'person'、'organisation'）"
    unknown = {"type": "url_scheme", "msg": "URL scheme should be 'http' or 'https'", "ctx": {"expected_schemes": "x"}}
    assert wire.schema_rule(unknown) == "不符合事实的格式（url_scheme）"
    own = {"type": "value_error", "msg": "Value error, 须带时区", "ctx": {"error": ValueError("须带时区")}}
    assert wire.schema_rule(own) == "须带时区"
    english_own = {"type": "value_error", "msg": "Value error, bad", "ctx": {"error": ValueError("bad")}}
    assert wire.schema_rule(english_own) == "取值不符合规则"


def test_the_key_commands_render_pydantic_errors_per_language() -> None:
    from pydantic import ValidationError

    from tongxiu.events.models import DepartmentKeyRotated

    with pytest.raises(ValidationError) as caught:
        DepartmentKeyRotated(department_id="samr-deqing", public_key="zz", reason="")
    zh, en = wire.schema_error_text(caught.value), wire.schema_error_text(caught.value, "en")
    assert zh.startswith("public_key: ") and CJK.search(zh) and not ENGLISH_RUN.search(zh), zh
    assert en.startswith("public_key: ") and not CJK.search(en) and ENGLISH_RUN.search(en), en
