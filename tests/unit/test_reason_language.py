"""Issue 12: the human ``message`` of every rejection reason, and every description in the reason
catalogue, is Chinese (users are Chinese civil servants); the codes stay the API. The scan reads
the source of services/, projections/ and events/ for calls that build a reason and fails on a
literal message with no CJK character, so English cannot creep back. An English view of the
catalogue is kept beside it (``REASON_CODES_EN``)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from tongxiu.events import wire
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
        "events/wire.py: f\"{rule}：{clean_text(str(e['msg']))}\"",  # rule from _MESSAGES (checked below)
        "events/wire.py: message",  # _Reject(code, field, message): its callers are scanned
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
