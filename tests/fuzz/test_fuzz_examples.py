"""Fuzzing the edge: every worked example in docs/examples/, mutated — bytes, encodings,
nesting, types, dates, sizes, dropped and duplicated fields — and sent on the SDK path
(``Tongxiu.submit``), the CLI (``tongxiu publish``) and HTTP (``POST /submissions``).

Asserted for every case: no uncaught exception, no traceback, no 5xx; a rejection carries only
known reason codes (with the field where one applies) and is recorded; afterwards the ledger
verifies and the read models equal a rebuild from the log.

A bounded number of cases runs in the normal test run; ``make fuzz`` runs many more
(``TONGXIU_FUZZ_EXAMPLES`` cases per path).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from tongxiu.events.envelope import Receipt
from tongxiu.infra.bootstrap import open_embedded
from tongxiu.projections.keys import PROJECTION
from tongxiu.services.app import Tongxiu
from tongxiu.services.audit import verify_streams
from tongxiu.services.config import Settings
from tongxiu.services.decide import REASON_CODES
from tongxiu.services.demo import DEPARTMENTS
from tongxiu.services.examples import LEDGER_DEMO_KEY, build_examples
from tongxiu.services.http import create_app
from tongxiu.services.ports import ManualClock

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "docs" / "examples").glob("*.json"))
TEXTS = [p.read_bytes() for p in EXAMPLES]
N = int(os.environ.get("TONGXIU_FUZZ_EXAMPLES", "0"))
SDK_CASES, HTTP_CASES, CLI_CASES = (N, N, max(1, N // 10)) if N else (300, 150, 25)
NO_FIELD = {"unknown_department", "too_large", "encoding_invalid", "json_invalid", "too_deep"}
TOKENS = {f"fuzz-token-{d}-000000": {"role": "department", "department": d} for d, *_ in DEPARTMENTS}
TOKENS["fuzz-token-ledger-0000000"] = {"role": "department", "department": "ledger"}
TOKEN_OF = {g["department"]: t for t, g in TOKENS.items()}

# ---------------------------------------------------------------------------- mutations

ODD_VALUES: list[Any] = [
    None, True, False, 0, -1, 1.5, 10**30, -(10**30), "", " ", "0", "false", "1", "50000", "5E+4", "NaN",
    "1767571200", 1767571200, "0001-01-01", "9999-12-31", "0001-01-01T00:00:00+08:00", "9999-12-31T23:59:59-12:00",
    "2026-02-30", "2026-01-05T01:00:00", "\ud800", "\u0000", "a" * 3000, [], {}, [1, [2, [3]]], {"a": {"b": 1}},
]
ODD_BYTES = [b"\xff", b"\xc3", b"\xed\xa0\x80", b"\x00", b"\xef\xbb\xbf", b"\\ud800", b"\\", b'"', b"{", b"]"]


def _leaves(obj: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    yield path, obj
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _leaves(v, (*path, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _leaves(v, (*path, i))


def _set(obj: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    parent = obj
    for part in path[:-1]:
        parent = parent[part]
    parent[path[-1]] = value
    return obj


def _drop(obj: Any, path: tuple[Any, ...]) -> Any:
    if not path:
        return obj
    parent = obj
    for part in path[:-1]:
        parent = parent[part]
    del parent[path[-1]]
    return obj


def _dumps(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False).encode("utf-8", errors="surrogatepass")


@st.composite
def mutated(draw: st.DrawFn) -> bytes | dict[str, Any]:
    text = draw(st.sampled_from(TEXTS))
    obj = json.loads(text)
    kind = draw(st.sampled_from(["bytes", "encoding", "nesting", "type", "date", "size", "drop", "duplicate",
                                 "dict", "none"]))
    paths = [p for p, _ in _leaves(obj) if p]
    path = draw(st.sampled_from(paths))
    if kind == "bytes":
        data = bytearray(text)
        for _ in range(draw(st.integers(1, 4))):
            at = draw(st.integers(0, len(data)))
            op = draw(st.sampled_from(["flip", "insert", "cut"]))
            if op == "flip" and at < len(data):
                data[at] = draw(st.integers(0, 255))
            elif op == "insert":
                data[at:at] = draw(st.sampled_from(ODD_BYTES))
            else:
                del data[at:]
        return bytes(data)
    if kind == "encoding":
        codec = draw(st.sampled_from(["utf-16", "utf-16-le", "gb18030", "latin-1-escape", "bom", "surrogate"]))
        raw = text.decode("utf-8")
        if codec == "bom":
            return b"\xef\xbb\xbf" + text
        if codec == "surrogate":
            return _dumps(_set(obj, path, "\udc80x"))
        if codec == "latin-1-escape":
            return raw.encode("unicode_escape")
        return raw.encode(codec)
    if kind == "nesting":
        depth = draw(st.sampled_from([15, 17, 64, 1000, 5000, 200_000]))
        if depth > 1000:
            return text[:-1].rstrip() + b', "x": ' + b"[" * depth + b"]" * depth + b"}"
        value: Any = draw(st.sampled_from([1, "x"]))
        for _ in range(depth):
            value = [value]
        return _dumps(_set(obj, path, value))
    if kind == "type":
        return _dumps(_set(obj, path, draw(st.sampled_from(ODD_VALUES))))
    if kind == "date":
        dates = [p for p, v in _leaves(obj) if isinstance(v, str) and len(v) >= 10 and v[4:5] == "-" and v[:4].isdigit()]
        target = draw(st.sampled_from(dates)) if dates else path
        return _dumps(_set(obj, target, draw(st.sampled_from(
            ["0001-01-01", "9999-12-31", "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", 0,
             -62135596800, 253402300799, "2026-13-01", "1899-12-31", "2200-01-01", "2026-01-05T01:00:00"]))))
    if kind == "size":
        n = draw(st.sampled_from([2_000, 70_000, 999_000, 1_100_000]))
        return _dumps(_set(obj, path, "字" * (n // 3)))
    if kind == "drop":
        return _dumps(_drop(obj, path))
    if kind == "duplicate":
        key = draw(st.sampled_from(["department", "submission_id", "stream", "signature_format", "events"]))
        dup = json.dumps(key).encode() + b":" + _dumps(draw(st.sampled_from(ODD_VALUES[:12] + ["tax-deqing"]))) + b","
        return text.replace(b"{", b"{" + dup, 1) if draw(st.booleans()) else text.replace(b"{", b"{" + dup, 2)
    if kind == "dict":  # the SDK's dict path
        result: dict[str, Any] = _set(obj, path, draw(st.sampled_from(ODD_VALUES)))
        return result
    return text


# ---------------------------------------------------------------------------- ledgers


def _clock() -> ManualClock:
    last = max(sub.occurred_at for _, sub in build_examples())
    return ManualClock(last + timedelta(days=1))


class Counted:
    """The rejection log, counting what is recorded (counting the stored rows on every case
    would make the run quadratic); ``_settled`` checks the count against the stored rows."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.recorded = 0

    def record(self, rejection: Any) -> None:
        self.inner.record(rejection)
        self.recorded += 1

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def _ledger(tmp: Path) -> Tongxiu:
    data = tmp / "ledger"
    data.mkdir(parents=True)
    app = open_embedded(Settings(data_dir=data), clock=_clock(), key=LEDGER_DEMO_KEY)
    for text in TEXTS:
        receipt = app.submit(text)
        assert receipt.accepted, receipt.reasons
    counted = Counted(app.rejections)
    app.ledger.rejections = counted
    return app


def _recorded(app: Tongxiu) -> int:
    log = app.ledger.rejections
    return log.recorded if isinstance(log, Counted) else len(app.list_rejections(limit=10**7))


def _check_receipt(app: Tongxiu, receipt: Receipt, before: int) -> None:
    after = _recorded(app)
    if receipt.accepted:
        return
    assert receipt.reasons
    for r in receipt.reasons:
        assert r.code in REASON_CODES, r
        assert r.field or r.code in NO_FIELD, r
        assert r.message
    assert after == before + 1 or receipt.duplicate, "a rejection was not recorded"
    if receipt.duplicate:
        assert app.rejections.get(receipt.department, receipt.submission_id) is not None


def _settled(app: Tongxiu) -> None:
    """The ledger verifies, and the read models equal a rebuild from the log."""
    outcome = verify_streams(app.log)
    assert outcome.ok, outcome.problems[:3]
    if isinstance(app.ledger.rejections, Counted):  # every rejection counted was stored
        assert len(app.list_rejections(limit=10**7)) == app.ledger.rejections.recorded
    app.process()
    before = {k: app.projections.load(PROJECTION, k) for k in app.projections.keys(PROJECTION)}
    app.rebuild()
    after = {k: app.projections.load(PROJECTION, k) for k in app.projections.keys(PROJECTION)}
    assert after == before


FUZZ = dict(deadline=None, database=None, derandomize=True, suppress_health_check=list(HealthCheck))


def test_sdk_path(tmp_path_factory: pytest.TempPathFactory) -> None:
    app = _ledger(tmp_path_factory.mktemp("sdk"))

    @settings(max_examples=SDK_CASES, **FUZZ)  # type: ignore[arg-type]
    @given(raw=mutated())
    def run(raw: bytes | dict[str, Any]) -> None:
        before = _recorded(app)
        _check_receipt(app, app.submit(raw), before)

    run()
    _settled(app)
    app.close()


def test_http_path(tmp_path_factory: pytest.TempPathFactory) -> None:
    app = _ledger(tmp_path_factory.mktemp("http"))
    client = TestClient(create_app(app, TOKENS, max_failed_auth=10**9), raise_server_exceptions=False)

    @settings(max_examples=HTTP_CASES, **FUZZ)  # type: ignore[arg-type]
    @given(raw=mutated(), who=st.sampled_from(sorted(TOKEN_OF)))
    def run(raw: bytes | dict[str, Any], who: str) -> None:
        body = raw if isinstance(raw, bytes) else _dumps(raw)
        before = _recorded(app)
        r = client.post("/submissions", content=body, headers={"Authorization": f"Bearer {TOKEN_OF[who]}",
                                                               "Content-Type": "application/json"})
        assert r.status_code < 500, r.text[:500]
        assert r.status_code in {200, 403, 413, 422}, (r.status_code, r.text[:300])
        if r.status_code in (200, 422):
            receipt = Receipt.model_validate(r.json())
            assert receipt.accepted == (r.status_code == 200)
            assert receipt.accepted or receipt.department in ("", who) or receipt.duplicate
            _check_receipt(app, receipt, before)
        if r.status_code == 403:
            assert _recorded(app) == before

    run()
    _settled(app)
    app.close()


def test_cli_path(tmp_path_factory: pytest.TempPathFactory) -> None:
    tmp = tmp_path_factory.mktemp("cli")
    app = _ledger(tmp)
    app.close()
    data = tmp / "ledger"
    (data / "ledger.key").write_text(LEDGER_DEMO_KEY.private_key)
    runner = CliRunner()
    files = tmp / "files"
    files.mkdir()

    @settings(max_examples=CLI_CASES, **FUZZ)  # type: ignore[arg-type]
    @given(raw=mutated())
    def run(raw: bytes | dict[str, Any]) -> None:
        path = files / "submission.json"
        path.write_bytes(raw if isinstance(raw, bytes) else _dumps(raw))
        result = runner.invoke(__import__("tongxiu.entrypoints.cli", fromlist=["app"]).app,
                               ["--data-dir", str(data), "publish", str(path), "--json"])
        assert result.exit_code in (0, 1), (result.exit_code, result.output[-2000:], result.exception)
        assert "Traceback" not in result.output
        assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
        for receipt in json.loads(result.output):
            for r in receipt["reasons"]:
                assert r["code"] in REASON_CODES

    run()
    app = open_embedded(Settings(data_dir=data), clock=_clock(), key=LEDGER_DEMO_KEY)
    _settled(app)
    app.close()


# ---------------------------------------------------------------------------- any request, any endpoint

AUDIT_TOKEN = "fuzz-token-auditor-000000"
PLATFORM_TOKEN = "fuzz-token-platform-00000"
ROUTES = ["/", "/dashboard", "/login", "/health", "/api/whoami", "/api/enterprises", "/api/enterprises/{code}/history",
          "/api/enterprises/{code}/credit", "/api/enterprises/{code}/rectification", "/api/enterprises/{code}/verify",
          "/api/verify", "/api/enterprises/{code}/sync", "/api/departments", "/api/supervision",
          "/api/departments/{dept}/supervision", "/api/departments/{dept}/decisions", "/api/departments/{dept}/inbox",
          "/api/rejections", "/feed", "/feed/commit", "/submissions", "/enterprises/{code}",
          "/enterprises/{code}/repairs", "/static/app.js", "/nowhere", "/api/enterprises/{code}"]
PARAMS = ["as_of", "known_at", "limit", "offset", "period", "decision_no", "consumer", "department", "enterprise",
          "after", "token"]
ODD_TEXT = st.sampled_from(["", "0", "-1", "10000000000000000000000", "0001-01-01", "9999-12-31",
                            "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "2026-02-30", "2026", "2026-13",
                            "2026-01..2025-01", "%ff", "\u0000", "字" * 50, "../../etc/passwd", "91330521MA2D7K3X47",
                            "samr-deqing", "德市监处罚〔2026〕7号", "a" * 300, "true", "null", "1e999"])


@st.composite
def any_request(draw: st.DrawFn) -> tuple[str, str, dict[str, str], bytes, dict[str, str]]:
    route = draw(st.sampled_from(ROUTES))
    real = draw(st.integers(0, 3)) > 0
    path = route.replace("{code}", "91330521MA2D7K3X47" if real else quote(draw(ODD_TEXT) or "x", safe=""))
    path = path.replace("{dept}", "samr-deqing" if real else quote(draw(ODD_TEXT) or "x", safe=""))
    method = "POST" if route in ("/feed/commit", "/submissions") else draw(
        st.sampled_from(["GET"] * 8 + ["POST", "PUT", "DELETE", "HEAD", "OPTIONS"]))
    params = {k: draw(ODD_TEXT) for k in draw(st.lists(st.sampled_from(PARAMS), max_size=4, unique=True))}
    body = draw(st.one_of(st.sampled_from(TEXTS), st.binary(max_size=200), st.sampled_from(
        [b"", b"{}", b'{"consumer":"default","event_id":"x"}', b'{"consumer":"a","position":-1}',
         b'{"consumer":"a","position":1e400}', b"[" * 5000, b'{"a":1,"a":2}', b"\xff"]),
        mutated().map(lambda r: r if isinstance(r, bytes) else _dumps(r))))
    token = draw(st.sampled_from([AUDIT_TOKEN] * 4 + [PLATFORM_TOKEN, TOKEN_OF["samr-deqing"], "", "wrong-token-00000000"]))
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if draw(st.booleans()):
        headers["Content-Type"] = draw(st.sampled_from(["application/json", "text/plain", "application/json; charset=latin-1"]))
    if draw(st.integers(0, 9)) == 0:
        headers["Cookie"] = f"tongxiu_token={draw(st.sampled_from([AUDIT_TOKEN, 'x', '']))}"
    return method, path, params, body, headers


def test_http_no_endpoint_answers_5xx(tmp_path_factory: pytest.TempPathFactory) -> None:
    app = _ledger(tmp_path_factory.mktemp("any"))
    tokens = {**TOKENS, AUDIT_TOKEN: {"role": "auditor"}, PLATFORM_TOKEN: {"role": "credit_platform"}}
    client = TestClient(create_app(app, tokens, max_failed_auth=10**9), raise_server_exceptions=False)

    @settings(max_examples=HTTP_CASES, **FUZZ)  # type: ignore[arg-type]
    @given(req=any_request())
    def run(req: tuple[str, str, dict[str, str], bytes, dict[str, str]]) -> None:
        method, path, params, body, headers = req
        r = client.request(method, path, params=params, content=body if method in ("POST", "PUT") else None,
                           headers=headers)
        assert r.status_code < 500, (method, path, params, r.status_code, r.text[:300])

    run()
    _settled(app)
    app.close()


# ---------------------------------------------------------------------------- every example, every kind

FIXED: dict[str, Any] = {
    "truncated": lambda t, o: t[: len(t) // 2],
    "invalid byte": lambda t, o: t.replace(b'"events"', b'"ev\xffents"', 1),
    "bom": lambda t, o: b"\xef\xbb\xbf" + t,
    "utf-16": lambda t, o: t.decode().encode("utf-16"),
    "lone surrogate": lambda t, o: t.replace(b'"submission_id": "', b'"submission_id": "\\udc80', 1),
    "shadowed department": lambda t, o: t.replace(b"{", b'{"department": "tax-deqing",', 1),
    "deep": lambda t, o: t[:-2] + b', "x": ' + b"[" * 3000 + b"]" * 3000 + b"}",
    "too large": lambda t, o: t[:-2] + b', "x": "' + b"a" * 1_000_001 + b'"}',
    "drop events": lambda t, o: _dumps({k: v for k, v in o.items() if k != "events"}),
    "drop signature": lambda t, o: _dumps(_drop(o, ("events", 0, "signature"))),
    "year 1": lambda t, o: _dumps(_set(o, ("occurred_at",), "0001-01-01T00:00:00+08:00")),
    "year 9999": lambda t, o: _dumps(_set(o, ("occurred_at",), "9999-12-31T23:59:59-08:00")),
    "unix time": lambda t, o: _dumps(_set(o, ("occurred_at",), 1767571200)),
    "schema_version 0": lambda t, o: _dumps(_set(o, ("events", 0, "event", "schema_version"), 0)),
    "schema_version 10^30": lambda t, o: _dumps(_set(o, ("events", 0, "event", "schema_version"), 10**30)),
    "legacy_code 'false'": lambda t, o: _dumps(_set(o, ("legacy_code",), "false")),
    "events reversed": lambda t, o: _dumps(_set(o, ("events",), o["events"][::-1])),
    "only the first event": lambda t, o: _dumps(_set(o, ("events",), o["events"][:1])),
    "extra field": lambda t, o: _dumps(_set(o, ("events", 0, "event", "surprise"), 1)),
}


@pytest.mark.parametrize("kind", sorted(FIXED))
def test_every_example_every_kind(tmp_path: Path, kind: str) -> None:
    """Each fixed mutation on every worked example: rejected (or a duplicate of the genuine
    one, for mutations a one-event example cannot tell apart), recorded, nothing lost."""
    app = _ledger(tmp_path)
    heads = {s: app.log.last_seq(s) for s in app.log.streams()}
    for text in TEXTS:
        before = _recorded(app)
        receipt = app.submit(FIXED[kind](text, json.loads(text)))
        assert not receipt.accepted or receipt.duplicate, (kind, receipt)
        _check_receipt(app, receipt, before)
    assert {s: app.log.last_seq(s) for s in app.log.streams()} == heads
    _settled(app)
    app.close()
