"""JSON parsing and canonical encoding through orjson where it gives exactly what the ``json``
module gives, and through ``json`` everywhere else.

*Plain* JSON values are those made only of ``str``, ``int``, ``bool``, ``None``, ``list`` (or
``tuple``) and ``dict`` with ``str`` keys — no float. Every stored envelope, receipt and
checkpoint the ledger writes is plain (amounts are decimal strings, times ISO strings).

* Parsing: ``orjson.loads`` accepts a subset of what ``json.loads`` accepts (the same JSON
  grammar; it refuses ``NaN``/``Infinity``, lone surrogate escapes and very deep nesting, which
  ``json.loads`` takes) and gives the same value, except that it reads an integer outside 64
  bits as a float. So a text orjson parses to a plain value is parsed as ``json.loads`` would;
  anything else (an error, a float anywhere in the result) is parsed again by ``json.loads``:
  the same value or the same error as before.
* Encoding: for a plain value, ``orjson.dumps(value, option=OPT_SORT_KEYS)`` is byte for byte
  ``json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)`` encoded in
  UTF-8 (keys sorted by code point, which is UTF-8 byte order; the same escapes: ``\\"``,
  ``\\\\``, ``\\b \\f \\n \\r \\t`` and ``\\u00xx`` for other control characters, nothing else
  escaped — U+2028/2029 and characters outside the BMP written as they are). orjson refuses
  (``TypeError``) what it would render differently: integers outside 64 bits, strings with
  surrogates, nesting deeper than 254; those, and any value that is not plain (floats render
  differently: ``1e-05`` against ``0.00001``, ``NaN`` against ``null``), go to the ``json``
  encoder. ``tests/unit/test_fastjson.py`` holds both to ``json`` with hypothesis.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import orjson

_SORT = orjson.OPT_SORT_KEYS
_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)
_SCAN: Callable[[str, int], tuple[Any, int]] = json.JSONDecoder().scan_once  # type: ignore[attr-defined]


def _plain_items(items: Any) -> bool:
    for v in items:
        t = type(v)
        if t is str or t is int or t is bool or v is None:
            continue
        if t is dict:
            if not _plain_dict(v):
                return False
        elif t is list or t is tuple:
            if not _plain_items(v):
                return False
        else:
            return False
    return True


def _plain_dict(d: dict[Any, Any]) -> bool:
    for k in d:
        if type(k) is not str:
            return False
    return _plain_items(d.values())


def is_plain(value: Any) -> bool:
    """Whether ``value`` holds only str, int, bool, None, list/tuple and dicts with str keys
    (exact types, not subclasses: an enum or a float anywhere makes it not plain)."""
    if type(value) is dict:
        return _plain_dict(value)
    return _plain_items((value,))


def _has_float(items: Any) -> bool:
    """Whether a value orjson parsed holds a float (its values are only str, int, float, bool,
    None, list and dict with str keys)."""
    for v in items:
        t = type(v)
        if t is float:
            return True
        if t is dict:
            if _has_float(v.values()):
                return True
        elif t is list and _has_float(v):
            return True
    return False


has_float = _has_float
"""Whether the values of a value orjson parsed (``parsed.values()`` of a dict, or a list) hold
a float: a dict orjson parsed without one is plain (what :func:`loads_plain` tests; a caller
that inlines it, the audit's read loop, uses this)."""


def json_loads(raw: str | bytes) -> Any:
    """``json.loads(raw)``; for text that is exactly one JSON value (what a log stores) the
    decoder's C scanner is called directly (anything else goes to ``json.loads`` itself: the
    same value or the same error)."""
    if type(raw) is not str:
        return json.loads(raw)
    try:
        value, end = _SCAN(raw, 0)
    except StopIteration:
        return json.loads(raw)
    return value if end == len(raw) else json.loads(raw)


def loads_plain(raw: str | bytes) -> tuple[Any, bool]:
    """``(json.loads(raw), plain)``: the value ``json.loads`` gives (or its error), and whether
    orjson parsed it to a plain value (:func:`is_plain`; then :func:`dumps_plain` encodes it;
    False for a plain value only orjson refused, e.g. one with a lone surrogate escape). Text
    and bytes are parsed by orjson when the result is plain, by ``json`` otherwise. Bytes
    orjson accepts are UTF-8 without a NUL byte (a NUL is not JSON outside a string, and
    raw inside one), so ``json.loads``' encoding detection reads them as UTF-8 too; anything
    else (UTF-16/32, a byte order mark, invalid UTF-8) goes to ``json``, which detects it."""
    if type(raw) is str or type(raw) is bytes:
        try:
            value = orjson.loads(raw)
        except (ValueError, RecursionError):  # orjson.JSONDecodeError is a ValueError
            pass
        else:
            if type(value) is dict:
                if not _has_float(value.values()):
                    return value, True
            elif type(value) is list:
                if not _has_float(value):
                    return value, True
            elif type(value) is not float:
                return value, True
    return json_loads(raw), False


def dumps_plain(value: Any) -> bytes:
    """The canonical bytes of a value known to be plain (from :func:`loads_plain`, or a part
    of one): orjson's, or the ``json`` encoder's where orjson refuses it."""
    try:
        return orjson.dumps(value, option=_SORT)
    except TypeError:
        return _ENCODER.encode(value).encode("utf-8")


def canonical_bytes(value: Any) -> bytes:
    """``json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)`` in
    UTF-8, for any value: orjson for a plain value, the ``json`` encoder otherwise."""
    if is_plain(value):
        try:
            return orjson.dumps(value, option=_SORT)
        except TypeError:
            pass
    return _ENCODER.encode(value).encode("utf-8")


def canonical_str(value: Any) -> str:
    """``json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)`` (text:
    a lone surrogate, which has no UTF-8 bytes, is written as ``json`` writes it)."""
    if is_plain(value):
        try:
            return orjson.dumps(value, option=_SORT).decode("utf-8")
        except TypeError:
            pass
    return _ENCODER.encode(value)


def canonical_with_text(obj: dict[str, Any], key: str, text: str) -> bytes | None:
    """The canonical bytes of ``{**obj, key: value}`` where ``text`` is the canonical text of
    ``value`` (``key`` not in ``obj``), written by orjson with ``text`` spliced in as it is
    (``orjson.Fragment``); None when ``obj`` is not plain or orjson refuses it (the caller
    then encodes it with ``json``)."""
    if type(key) is not str or key in obj or not _plain_dict(obj):
        return None
    try:
        return orjson.dumps({**obj, key: orjson.Fragment(text)}, option=_SORT)
    except TypeError:
        return None
