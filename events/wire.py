"""The one strict wire format of a submission, parsed once at the edge.

Every path a submission enters by — the SDK in-process, ``tongxiu publish``, the HTTP gateway,
the Kafka worker — calls :func:`parse_submission`, which returns either the
:class:`~tongxiu.events.envelope.Submission` the ledger decides on, or an :class:`Unreadable` with the
reasons (code, field, rule in Chinese) and a bounded record of what was received. It never
raises for any input.

The rules, in the order they are checked:

1. size: at most :data:`MAX_SUBMISSION_BYTES` bytes (``too_large``);
2. encoding: UTF-8 only, no byte-order mark, no lone surrogates — neither as bytes nor as
   ``\\ud800`` escapes (``encoding_invalid``);
3. JSON: one object, no ``NaN``/``Infinity``, no duplicate keys anywhere (``json_invalid``,
   ``duplicate_key``), nesting at most :data:`MAX_DEPTH` deep (``too_deep``);
4. schema, strictly: pydantic strict mode over the JSON (no ``"1"`` for a number, no Unix
   integer for a date, no ``"false"``/``0`` for a boolean), and every value sent must be
   written exactly as the ledger writes it (amounts as decimal strings such as ``"50000"`` or
   ``"120.50"``, dates ``YYYY-MM-DD``) — so one submission has one encoding and one signature
   (``schema_invalid``); only the submission's ``occurred_at`` may carry any time zone;
5. ``schema_version`` of each fact between 1 and the version this ledger knows
   (``schema_version_unknown``);
6. every date and time between :data:`MIN_DATE` and :data:`MAX_DATE` (``date_out_of_range``).

The module is a little over 400 lines on purpose: these rules are one ordered pipeline and
read best in one place, next to each other.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ValidationError

from tongxiu.events.envelope import Reason, Submission
from tongxiu.events.models import EVENT_TYPES

MAX_SUBMISSION_BYTES = 1_000_000
"""The largest submission accepted, in bytes of UTF-8 JSON (the gateway's body limit too)."""

MAX_DEPTH = 16
"""The deepest nesting of JSON arrays and objects (a 三书同达 bundle needs 7)."""

RECORD_WHOLE_BYTES = 64_000
"""A rejected submission up to this size is recorded whole; a larger one by digest and excerpt."""

EXCERPT_CHARS = 2_000

MIN_DATE = date(1900, 1, 1)
MAX_DATE = date(2199, 12, 31)

_MONEY = re.compile(r"^(0|[1-9][0-9]{0,13})(\.[0-9]{1,2})?$")
_IDENT_LIMITS = {"submission_id": 128, "department": 64, "stream": 64}

WIRE_CODES = {
    "too_large": "提交内容超过传输格式允许的大小",
    "encoding_invalid": "提交内容不是有效的 UTF-8（含无效字节、字节顺序标记或孤立代理项）",
    "json_invalid": "提交内容不是单个 JSON 对象",
    "duplicate_key": "JSON 对象中有重复的键",
    "too_deep": "JSON 嵌套层数超过传输格式允许的深度",
    "schema_version_unknown": "事实的 schema_version 不是本账本支持的版本",
    "date_out_of_range": "日期或时间超出账本接受的范围",
}
#: The same descriptions in English (an English view of the catalogue).
WIRE_CODES_EN = {
    "too_large": "the submission is larger than the wire format allows",
    "encoding_invalid": "the submission is not valid UTF-8 (invalid bytes, a byte-order mark or a lone surrogate)",
    "json_invalid": "the submission is not one JSON object",
    "duplicate_key": "a JSON object repeats a key",
    "too_deep": "the JSON nests deeper than the wire format allows",
    "schema_version_unknown": "a fact's schema_version is not one this ledger knows",
    "date_out_of_range": "a date or time lies outside the range the ledger accepts",
}


@dataclass(frozen=True)
class Unreadable:
    """What could not be read as a submission: why, who it claims to come from (only when the
    JSON was readable), and a bounded record of the bytes received."""

    reasons: list[Reason]
    record: dict[str, Any] | str
    ident: dict[str, str] = field(default_factory=dict)

    def claiming(self, department: str) -> Unreadable:
        """The same, filed under ``department`` (the gateway's authenticated caller)."""
        return Unreadable(self.reasons, self.record, {**self.ident, "department": department})


class _Reject(Exception):
    def __init__(self, code: str, field: str | None, message: str, **detail: object) -> None:
        super().__init__(message)
        self.reason = Reason(code=code, field=field, message=message, detail=dict(detail))


# ---------------------------------------------------------------------------- recording


def bounded_record(text: str | bytes) -> dict[str, Any]:
    """A payload too large or too broken to keep whole: its digest, size and an excerpt."""
    data = text if isinstance(text, bytes) else text.encode("utf-8", errors="surrogatepass")
    excerpt = data[: EXCERPT_CHARS * 4].decode("utf-8", errors="replace")[:EXCERPT_CHARS]
    return {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data), "excerpt": clean_text(excerpt)}


def clean_text(text: str) -> str:
    """``text`` with lone surrogates replaced, so it can be stored as UTF-8."""
    return text.encode("utf-8", errors="replace").decode("utf-8")


def record_of(body: Any) -> dict[str, Any] | str:
    """What the rejection log keeps of a rejected body: the JSON itself when it is small and
    clean, otherwise digest, size and excerpt."""
    try:
        text = json.dumps(body, ensure_ascii=False, sort_keys=False)
        size = len(text.encode("utf-8"))
    except (TypeError, ValueError, UnicodeEncodeError, RecursionError):
        return bounded_record(clean_text(repr(body)[: EXCERPT_CHARS * 2]))
    if size > RECORD_WHOLE_BYTES:
        return bounded_record(text)
    if isinstance(body, (dict, str)):
        return body
    return bounded_record(text)


def _ident(obj: Any) -> dict[str, str]:
    if not isinstance(obj, dict):
        return {}
    out = {}
    for key, limit in _IDENT_LIMITS.items():
        value = obj.get(key)
        if isinstance(value, str) and 0 < len(value) <= limit and _clean(value):
            out[key] = value
    return out


def _clean(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


# ---------------------------------------------------------------------------- parsing


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _Reject("duplicate_key", clean_text(key), f"JSON 对象中键 {clean_text(key)!r} 重复出现；每个键只能出现一次")
        out[key] = value
    return out


def _no_constant(name: str) -> Any:
    raise _Reject("json_invalid", None, f"JSON 不允许 {name}；金额请写成十进制字符串")


def _walk(obj: Any, path: str = "", depth: int = 1) -> Iterator[tuple[str, Any, int]]:
    """Every value with its path and depth, without recursion."""
    stack = [(path, obj, depth)]
    while stack:
        p, value, d = stack.pop()
        yield p, value, d
        if isinstance(value, dict):
            stack.extend((f"{p}.{k}" if p else str(k), v, d + 1) for k, v in value.items())
        elif isinstance(value, list):
            stack.extend((f"{p}[{i}]", v, d + 1) for i, v in enumerate(value))


def decode_json(raw: bytes | str, *, list_of: bool = False) -> Any:
    """Size, encoding, JSON, duplicates and depth; raises :class:`_Reject`. One object, or
    with ``list_of`` a list of objects (a file of submissions; each may be the full size)."""
    limit = MAX_SUBMISSION_BYTES * (1000 if list_of else 1)
    if isinstance(raw, str):
        if len(raw) > limit:  # each character is at least one byte
            raise _Reject("too_large", None, f"提交超过 {MAX_SUBMISSION_BYTES} 字节的上限", limit=MAX_SUBMISSION_BYTES)
        try:
            data = raw.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise _Reject("encoding_invalid", None, f"文本含有孤立的代理字符（位置 {exc.start}），不是合法的 UTF-8") from None
    else:
        data = raw
    if len(data) > limit:
        raise _Reject("too_large", None, f"提交超过 {MAX_SUBMISSION_BYTES} 字节的上限", limit=MAX_SUBMISSION_BYTES)
    if data.startswith(b"\xef\xbb\xbf"):
        raise _Reject("encoding_invalid", None, "提交以字节顺序标记（BOM）开头；请发送不带 BOM 的 UTF-8")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _Reject("encoding_invalid", None, f"第 {exc.start} 字节起不是合法的 UTF-8", position=exc.start) from None
    try:
        obj = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except RecursionError:
        raise _Reject("too_deep", None, f"JSON 嵌套超过 {MAX_DEPTH} 层", limit=MAX_DEPTH) from None
    except ValueError as exc:  # JSONDecodeError, or an integer with too many digits
        raise _Reject("json_invalid", None, f"不是合法的 JSON：{exc}") from None
    for path, value, depth in _walk(obj, depth=0 if list_of and isinstance(obj, list) else 1):
        if depth > MAX_DEPTH:
            raise _Reject("too_deep", path or None, f"JSON 嵌套超过 {MAX_DEPTH} 层", limit=MAX_DEPTH)
        if isinstance(value, str) and not _clean(value):
            raise _Reject("encoding_invalid", clean_text(path) or None, "字符串含有孤立的代理字符（如 \\ud800），不是合法的 UTF-8")
        if isinstance(value, dict):
            for key in value:
                if not _clean(key):
                    raise _Reject("encoding_invalid", clean_text(path) or None, "键含有孤立的代理字符，不是合法的 UTF-8")
    if list_of and isinstance(obj, list):
        return obj
    if not isinstance(obj, dict):
        raise _Reject("json_invalid", None, f"提交必须是一个 JSON 对象，收到的是 {type(obj).__name__}")
    return obj


def split_submissions(data: bytes) -> list[Any]:
    """A file of submissions — one JSON object, a JSON list of objects, or JSON Lines — as the
    items to submit one by one. Whatever is not strictly readable is kept as raw bytes so the
    ledger records why (nothing is dropped). Never raises."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return [data]
    stripped = text.strip()
    if stripped.startswith("["):
        try:
            items = decode_json(stripped, list_of=True)
        except _Reject:
            return [data]
        return list(items) if isinstance(items, list) and items else [data]
    try:
        json.loads(stripped)
    except json.JSONDecodeError as exc:
        if exc.msg == "Extra data":
            return [line.encode("utf-8", errors="surrogatepass") for line in stripped.splitlines() if line.strip()]
    except (ValueError, RecursionError):
        pass
    return [data]


def _loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


#: The rule of each pydantic error type in Chinese (what ``schema_invalid`` messages say).
_MESSAGES = {
    "missing": "缺少必填字段",
    "extra_forbidden": "不允许的字段",
    "string_type": "应为字符串",
    "string_unicode": "应为合法的 Unicode 字符串",
    "int_type": "应为整数（不接受字符串或小数）",
    "int_parsing": "应为整数",
    "int_from_float": "应为整数，不能有小数部分",
    "float_type": "应为数字",
    "float_parsing": "应为数字",
    "finite_number": "应为有限的数字",
    "bool_type": "应为 true 或 false（不接受字符串或数字）",
    "bool_parsing": "应为 true 或 false",
    "date_type": "应为 YYYY-MM-DD 格式的日期字符串",
    "date_parsing": "日期格式不正确，应为 YYYY-MM-DD",
    "date_from_datetime_parsing": "日期格式不正确，应为 YYYY-MM-DD",
    "date_from_datetime_inexact": "应为日期，不能带时间",
    "datetime_type": "应为带时区的 ISO 8601 日期时间字符串",
    "datetime_parsing": "日期时间格式不正确，应为带时区的 ISO 8601 字符串",
    "datetime_from_date_parsing": "日期时间格式不正确，应为带时区的 ISO 8601 字符串",
    "timezone_aware": "日期时间须带时区",
    "list_type": "应为数组",
    "tuple_type": "应为数组",
    "set_type": "应为数组",
    "frozen_set_type": "应为数组",
    "dict_type": "应为对象",
    "model_type": "应为对象",
    "model_attributes_type": "应为对象",
    "union_tag_invalid": "type 不是已知的事实类型",
    "union_tag_not_found": "缺少 type 字段",
    "literal_error": "取值不在允许的范围内",
    "enum": "取值不在允许的范围内",
    "string_too_short": "字符串过短",
    "string_too_long": "字符串过长",
    "too_short": "元素太少",
    "too_long": "元素太多",
    "string_pattern_mismatch": "格式不符合规则",
    "greater_than": "数值过小",
    "greater_than_equal": "数值过小",
    "less_than": "数值过大",
    "less_than_equal": "数值过大",
    "decimal_type": "应为十进制数字（字符串或整数）",
    "decimal_parsing": "应为合法的十进制数字",
    "decimal_max_digits": "位数过多",
    "decimal_max_places": "小数位过多",
    "decimal_whole_digits": "整数部分位数过多",
    "json_invalid": "不是合法的 JSON",
    "json_type": "应为 JSON 字符串",
    "value_error": "取值不符合规则",
    "assertion_error": "取值不符合规则",
    "frozen_instance": "该字段不能修改",
    "is_instance_of": "类型不符",
}
#: What pydantic's context adds, in Chinese (``{name}`` are keys of the error's ``ctx``).
_DETAILS = {
    "union_tag_invalid": "收到 {tag}",
    "literal_error": "应为 {expected}",
    "enum": "应为 {expected}",
    "string_too_short": "至少 {min_length} 个字符",
    "string_too_long": "最多 {max_length} 个字符",
    "too_short": "至少 {min_length} 个",
    "too_long": "最多 {max_length} 个",
    "string_pattern_mismatch": "应匹配 {pattern}",
    "greater_than": "应大于 {gt}",
    "greater_than_equal": "应不小于 {ge}",
    "less_than": "应小于 {lt}",
    "less_than_equal": "应不大于 {le}",
    "decimal_max_digits": "最多 {max_digits} 位",
    "decimal_max_places": "最多 {decimal_places} 位",
    "decimal_whole_digits": "整数部分最多 {whole_digits} 位",
}
#: The rule of an error type not in ``_MESSAGES`` (followed by the type's code).
GENERIC_RULE = "不符合事实的格式"
_CJK = re.compile(r"[\u3400-\u9fff]")


def _choices(value: object) -> str:
    """pydantic's ``'a', 'b' or 'c'`` as ``'a'、'b'、'c'``."""
    return re.sub(r", | or ", "、", str(value))


def schema_rule(error: Mapping[str, Any]) -> str:
    """One pydantic error (an item of ``ValidationError.errors()``) in Chinese, without the field:
    the rule of its type and what its context adds (``字符串过长（最多 200 个字符）``); our own
    validators' messages (value_error, Chinese) as they are; an unknown type as a generic rule
    with the type's code — never pydantic's English."""
    kind = str(error.get("type", ""))
    ctx = dict(error.get("ctx") or {})
    if kind in ("value_error", "assertion_error"):
        own = str(ctx.get("error", ""))
        if _CJK.search(own):
            return clean_text(own)
    rule = _MESSAGES.get(kind)
    if rule is None:
        return f"{GENERIC_RULE}（{clean_text(kind)}）"
    template = _DETAILS.get(kind)
    if template is None:
        return rule
    try:
        detail = template.format(**{k: _choices(v) if k == "expected" else v for k, v in ctx.items()})
    except (KeyError, IndexError, ValueError):
        return rule
    return f"{rule}（{clean_text(detail)[:200]}）"


def schema_error_text(error: ValidationError, lang: str = "zh") -> str:
    """Every error of ``error`` as ``field: rule``, joined by ``；`` — Chinese rules by default,
    pydantic's own English with ``lang="en"`` (the CLI's key commands)."""
    parts = []
    for e in error.errors(include_url=False):
        where = clean_text(_loc(tuple(e["loc"])))
        said = clean_text(str(e["msg"])) if lang == "en" else schema_rule(e)
        parts.append(f"{where}: {said}" if where else said)
    return ("; " if lang == "en" else "；").join(parts)


def schema_reasons(error: ValidationError) -> list[Reason]:
    """Pydantic's errors as reasons: the field's path and the rule in Chinese; pydantic's English
    is kept in ``detail`` (``message_en``) beside the error type (``type``)."""
    out = []
    for e in error.errors(include_url=False):
        kind = str(e.get("type", ""))
        out.append(
            Reason(
                code="schema_invalid",
                field=clean_text(_loc(tuple(e["loc"]))) or None,
                message=schema_rule(e),
                detail={"type": kind, "message_en": clean_text(str(e["msg"]))},
            )
        )
    return out


def _written_as_dumped(sent: Any, dumped: Any, path: str) -> None:
    """Every value sent must be exactly what the ledger writes for it (defaults may be left
    out): one submission, one encoding."""
    if isinstance(sent, dict) and isinstance(dumped, dict):
        for key, value in sent.items():
            if key not in dumped:  # cannot happen with extra="forbid"; be safe
                raise _Reject("schema_invalid", f"{path}.{key}".lstrip("."), "不允许的字段")
            if path == "" and key == "occurred_at":
                continue  # any time zone; signed as UTC
            _written_as_dumped(value, dumped[key], f"{path}.{key}" if path else key)
        return
    if isinstance(sent, list) and isinstance(dumped, list) and len(sent) == len(dumped):
        for i, (a, b) in enumerate(zip(sent, dumped, strict=True)):
            _written_as_dumped(a, b, f"{path}[{i}]")
        return
    if type(sent) is type(dumped) and sent == dumped:
        return
    raise _Reject(
        "schema_invalid", path or None,
        f"写法不被接受：{clean_text(json.dumps(sent, ensure_ascii=False))[:80]}；应写作 "
        f"{json.dumps(dumped, ensure_ascii=False)[:80]}（不做类型转换，金额写成十进制字符串，日期写成 YYYY-MM-DD）",
        expected=dumped,
    )


def _money_fields(model: type[BaseModel]) -> set[str]:
    return {name for name, f in model.model_fields.items() if f.annotation is Decimal}


_MONEY_FIELDS = {t: _money_fields(cls) for t, cls in EVENT_TYPES.items()}


def check_values(submission: Submission) -> None:
    """The checks the schema cannot express: known schema versions, amounts in plain decimal
    notation, dates within range. Raises :class:`_Reject`."""
    _in_range(submission.occurred_at, "occurred_at")
    for i, signed in enumerate(submission.events):
        ev = signed.event
        where = f"events[{i}].event"
        current = type(ev).model_fields["schema_version"].default
        if not isinstance(ev.schema_version, int) or not 1 <= ev.schema_version <= current:
            raise _Reject(
                "schema_version_unknown", f"{where}.schema_version",
                f"{ev.type} 的 schema_version 只能是 1 到 {current}，收到 {str(ev.schema_version)[:40]}",
                known=list(range(1, current + 1)),
            )
        for name in _MONEY_FIELDS.get(ev.type, set()):
            value = getattr(ev, name)
            if value is not None and not _MONEY.match(str(value)):
                raise _Reject("schema_invalid", f"{where}.{name}",
                              f"金额应写成十进制字符串，如 \"50000\" 或 \"120.50\"，收到 {str(value)[:40]}")
        if not _dates_in_range(ev):  # then find which one, with its path
            for path, value, _ in _walk(ev.model_dump(), where):
                if isinstance(value, (date, datetime)):
                    _in_range(value, path)


def _dates_in_range(model: BaseModel) -> bool:
    """Every date and time in ``model`` (its fields, nested models, lists and dicts) lies within
    :data:`MIN_DATE` .. :data:`MAX_DATE`: the common case, checked without building a path for
    every value (the paths are built only to name one out of range)."""
    stack: list[Any] = [model]
    while stack:
        value = stack.pop()
        if isinstance(value, BaseModel):
            stack.extend(value.__dict__.values())
        elif isinstance(value, date):  # a datetime is a date
            day = value.date() if isinstance(value, datetime) else value
            if not MIN_DATE <= day <= MAX_DATE:
                return False
        elif isinstance(value, (list, tuple)):
            stack.extend(value)
        elif isinstance(value, dict):
            stack.extend(value.values())
    return True


def _in_range(value: date | datetime, path: str) -> None:
    day = value.date() if isinstance(value, datetime) else value
    if not MIN_DATE <= day <= MAX_DATE:
        raise _Reject("date_out_of_range", path,
                      f"日期 {value.isoformat()[:32]} 超出可接受的范围 {MIN_DATE} 至 {MAX_DATE}",
                      min=MIN_DATE.isoformat(), max=MAX_DATE.isoformat())


def _occurred_at_in_range(obj: dict[str, Any]) -> None:
    """Before validation: a time zone shift of year 1 or 9999 would overflow."""
    value = obj.get("occurred_at")
    if isinstance(value, str) and re.match(r"^\d{4}-", value):
        year = int(value[:4])
        if not MIN_DATE.year <= year <= MAX_DATE.year:
            raise _Reject("date_out_of_range", "occurred_at",
                          f"日期 {clean_text(value[:32])} 超出可接受的范围 {MIN_DATE} 至 {MAX_DATE}",
                          min=MIN_DATE.isoformat(), max=MAX_DATE.isoformat())


def parse_submission(raw: Submission | dict[str, Any] | str | bytes | bytearray) -> Submission | Unreadable:
    """The submission, or why it cannot be read as one. Never raises."""
    if isinstance(raw, Submission):
        try:
            check_values(raw)
        except _Reject as r:
            return Unreadable([r.reason], record_of(raw.model_dump(mode="json")), _ident(raw.model_dump()))
        except Exception as exc:  # noqa: BLE001 - the promise is: never raises
            return Unreadable([_unexpected(exc)], record_of(raw.model_dump(mode="json")), {})
        return raw
    obj: Any = None
    try:
        if isinstance(raw, dict):
            try:
                text: str | bytes = json.dumps(raw, ensure_ascii=False, allow_nan=False)
            except (TypeError, ValueError) as exc:
                raise _Reject("json_invalid", None, f"无法写成 JSON：{str(exc)[:200]}") from None
            except RecursionError:
                raise _Reject("too_deep", None, f"JSON 嵌套超过 {MAX_DEPTH} 层", limit=MAX_DEPTH) from None
        else:
            text = bytes(raw) if isinstance(raw, bytearray) else raw
        obj = decode_json(text)
        _occurred_at_in_range(obj)
        try:
            submission = Submission.model_validate_json(json.dumps(obj, ensure_ascii=False), strict=True)
        except ValidationError as exc:
            return Unreadable(schema_reasons(exc), record_of(obj), _ident(obj))
        _written_as_dumped(obj, submission.model_dump(mode="json"), "")
        check_values(submission)
        return submission
    except _Reject as r:
        return Unreadable([r.reason], _record_raw(raw, obj, r.reason.code), _ident(obj))
    except Exception as exc:  # noqa: BLE001 - the promise is: never raises (recorded, not lost)
        return Unreadable([_unexpected(exc)], _record_raw(raw, obj, "json_invalid"), _ident(obj))


def _unexpected(exc: BaseException) -> Reason:
    return Reason(code="schema_invalid", field=None, message=f"无法读取提交：{type(exc).__name__}: {clean_text(str(exc))[:200]}")


def _record_raw(raw: Any, obj: Any, code: str) -> dict[str, Any] | str:
    if obj is not None and code not in {"encoding_invalid", "too_deep"}:
        return record_of(obj)
    if isinstance(raw, (bytes, bytearray)):
        data = bytes(raw)
        if len(data) <= RECORD_WHOLE_BYTES and code == "json_invalid":
            try:
                return data.decode("utf-8")
            except UnicodeDecodeError:
                pass
        return bounded_record(data)
    if isinstance(raw, str):
        if len(raw) <= RECORD_WHOLE_BYTES and _clean(raw) and code == "json_invalid":
            return raw
        return bounded_record(raw)
    return record_of(raw) if code not in {"encoding_invalid", "too_deep"} else bounded_record(clean_text(repr(raw)[:100_000]))
