"""``tongxiu.events.fastjson`` gives exactly what the ``json`` module gives (issue 11, rows a-d):

- :func:`canonical_bytes` / :func:`canonical_str` are ``json.dumps(v, sort_keys=True,
  separators=(",", ":"), ensure_ascii=False)`` (UTF-8 / text) for any JSON value — floats,
  NaN, integers beyond 64 bits, control characters, U+2028/2029, characters outside the BMP,
  lone surrogates, keys that sort differently by code point and by UTF-16 — the same bytes or
  the same error;
- :func:`loads_plain` is ``json.loads`` (the same value or the same error) on texts made to
  differ between orjson and json (floats, big integers, NaN, lone surrogate escapes, white
  space, malformed text) and on their bytes (UTF-8, with a byte order mark, UTF-16/32), and says ``plain`` only when the value has no float, and then
  :func:`dumps_plain` is the canonical encoding;
- every event of the ledger written by the old code (``tests/fixtures/ledger-2026-12-01``)
  parses plain and its hash and signed bytes from :func:`check_body` with ``plain`` are those
  of the json path.
"""

from __future__ import annotations

import enum
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.unit.test_audit_decode import fixture_raws
from tongxiu.events.fastjson import canonical_bytes, canonical_str, dumps_plain, is_plain, loads_plain
from tongxiu.services.audit import check_body, stored_hash


def reference(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def outcome(fn: Any, *args: Any) -> tuple[str, Any]:
    try:
        return "ok", fn(*args)
    except Exception as e:  # noqa: BLE001 - the kind and text of the error is what is compared
        return "error", (type(e).__name__, str(e))


any_char = st.characters(codec=None, categories=None)  # every code point, surrogates included
awkward_text = st.text(
    st.sampled_from(["a", "中", "\u2028", "\u2029", "\U0001f600", "\x00", "\x1f", "\x7f", '"', "\\", "/", "\ud800",
                     "\ufeff", "\uffff", "é", "\n", "\t"]) | any_char,
    max_size=12,
)
scalars = (
    st.none() | st.booleans()
    | st.integers(min_value=-(2**64), max_value=2**64) | st.integers()  # around 64 bits and far beyond
    | st.floats() | st.sampled_from([1e-05, 1e16, 1e22, -0.0, 5e-324, 0.1, 1.0])
    | awkward_text
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(awkward_text, inner, max_size=5),
    max_leaves=25,
)
plain_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**63), max_value=2**64 - 1) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=5),
    max_leaves=25,
)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(json_values)
def test_canonical_is_the_json_modules_for_any_value(value: Any) -> None:
    assert outcome(canonical_str, value) == outcome(reference, value)
    assert outcome(canonical_bytes, value) == outcome(lambda v: reference(v).encode("utf-8"), value)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plain_values)
def test_plain_values_are_encoded_by_orjson_with_the_same_bytes(value: Any) -> None:
    assert is_plain(value)
    assert dumps_plain(value) == reference(value).encode("utf-8")


def test_awkward_values() -> None:
    class Colour(enum.Enum):
        RED = "red"

    class Level(enum.IntEnum):
        ONE = 1

    values: list[Any] = [
        float("nan"), float("inf"), -0.0, 1e16, 1e-05, 10**40, -(2**63) - 1, 2**64, 2**64 - 1, -(2**63),
        "\u2028\x00\x1f\x7f\"\\/", "".join(chr(i) for i in range(0x80)), "\U0010ffff", "\ud800",
        {"\uffff": 1, "\U0001f600": 2, "\ue000": 3},  # code point order differs from UTF-16 order here
        {"b": 1, "a": {"é": [], "e": {}}}, [], {}, "中文", True, None, (1, "x"), {1: "int key"},
        {"nested": [[[[{"deep": [1, 2, {"x": None}]}]]]]}, Level.ONE, {"k": Level.ONE},
    ]
    for value in values:
        assert outcome(canonical_str, value) == outcome(reference, value), value
    with pytest.raises(TypeError):  # json refuses an Enum that is not a str/int; so do we
        canonical_bytes(Colour.RED)
    deep: Any = []
    for _ in range(400):  # deeper than orjson's limit: the json encoder gives the answer
        deep = [deep]
    assert canonical_str(deep) == reference(deep)
    assert not is_plain({"a": 1.0}) and not is_plain([Level.ONE]) and not is_plain({1: 2})


json_ish = st.text(st.sampled_from(list('{}[],:"\\ 0123456789-+.eEtrufalsnNIiy\t\n\r\x0cabu\ud800\u2028中')), max_size=30)


def texts_of(value: Any, indent: int | None, ascii_only: bool) -> str:
    return json.dumps(value, indent=indent, ensure_ascii=ascii_only, sort_keys=False)


@settings(max_examples=800, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(
    json_ish,
    st.builds(texts_of, json_values, st.sampled_from([None, 0, 2]), st.booleans()),
    st.sampled_from([
        "NaN", "[Infinity]", '{"a":-Infinity}', '"\\ud800"', '{"a":1.0}', '{"seq":1e2}', "[18446744073709551616]",
        "[-9223372036854775809]", "[9223372036854775807]", "99999999999999999999", "1.5", " {} ", "\ufeff{}",
        '{"a":1,"a":2.5}', '{"a":[1,{"b":1e-7}]}', "", "[1,]", "01", '"\x01"',
    ]),
))
def test_loads_plain_is_json_loads(text: str) -> None:
    check_loads_plain(text)
    for encoding in ("utf-8", "utf-8-sig", "utf-16", "utf-32-le"):  # bytes too: orjson's UTF-8 or json's detection
        try:
            data = text.encode(encoding)
        except UnicodeEncodeError:  # a lone surrogate has no UTF-8 bytes
            data = text.encode(encoding, "surrogatepass")
        check_loads_plain(data)


def check_loads_plain(text: str | bytes) -> None:
    ours = outcome(loads_plain, text)
    theirs = outcome(json.loads, text)
    if theirs[0] == "error":
        assert ours == theirs
        return
    assert ours[0] == "ok"
    value, plain = ours[1]
    assert value == theirs[1] or (value != value and theirs[1] != theirs[1])  # NaN is not equal to itself
    assert reference(value) == reference(theirs[1])  # the same types too (1 and 1.0 are equal)
    assert not plain or is_plain(theirs[1])  # plain only when it is (orjson may refuse a plain text: json parses it)
    if plain:
        assert dumps_plain(value) == reference(value).encode("utf-8")


def test_utf8_bytes_are_parsed_plain_and_others_by_json() -> None:
    text = '{"a":[1,"中"]}'
    assert loads_plain(text.encode("utf-8")) == (json.loads(text), True)
    for data in (text.encode("utf-16"), text.encode("utf-32"), text.encode("utf-8-sig"),
                 text.encode("utf-16-le"), b'{"a":"\xed\xa0\x80"}'):
        theirs = outcome(json.loads, data)  # json's detection (or its error), never called plain
        assert outcome(loads_plain, data) == (theirs if theirs[0] == "error" else ("ok", (theirs[1], False)))
    assert loads_plain(text.encode("utf-16")) == ({"a": [1, "中"]}, False)


def test_every_fixture_event_parses_plain_and_hashes_as_the_json_path() -> None:
    raws = fixture_raws()
    assert len(raws) >= 130
    for raw in raws:
        body, plain = loads_plain(raw)
        assert plain
        slow = json.loads(raw)
        assert body == slow
        fast, reference_check = check_body(body, plain=True), check_body(slow)
        assert fast.hashed == reference_check.hashed
        assert (fast.recorded, fast.recomputed) == stored_hash(slow)
        assert fast.signed() == reference_check.signed()


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(awkward_text | st.sampled_from(["event", "department", "index", "hash"]), json_values, max_size=6),
       awkward_text | st.sampled_from(["event", "stream"]), json_values)
def test_canonical_with_splices_the_same_bytes_for_any_value(obj: dict[str, Any], key: str, value: Any) -> None:
    from tongxiu.events.envelope import canonical_with

    obj.pop(key, None)
    whole = outcome(lambda: reference({**obj, key: value}).encode("utf-8"))
    text = outcome(reference, value)
    if text[0] == "ok":
        assert outcome(canonical_with, obj, key, text[1]) == whole
