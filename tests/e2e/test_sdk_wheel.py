"""``pip install tongxiu`` without extras (issue 12): the wheel built from the repository,
installed into a fresh venv, brings a small closure — and the HTTP producer works from it
against a ledger served from the repository's venv (a signed 三书同达 bundle, its receipt).

Slow (a venv and a pip install from the package index): about half a minute. The package
count and size it prints are the ones recorded in README.md ("Installing")."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import venv
from pathlib import Path

import pytest

from tests.live_server import SAMR, live_ledger
from tongxiu.services.demo import ENTERPRISE

REPO = Path(__file__).resolve().parents[2]
CORE = {"tongxiu", "pydantic", "pydantic-core", "pynacl", "httpx", "chinesecalendar", "orjson"}
HEAVY = {"fastapi", "uvicorn", "starlette", "faust-streaming", "aiokafka", "kafka-python", "cassandra-driver",
         "typer", "rich", "jinja2", "aiohttp"}
MAX_PACKAGES = 20
"""The closure today is 17 distributions with tongxiu, besides pip (see README); a new dependency of the SDK
must be a deliberate choice, so the test fails well before the old 60."""

PRODUCER = textwrap.dedent(
    """
    import json, sys, hashlib
    from datetime import date, datetime, timezone, timedelta
    from decimal import Decimal
    from tongxiu.events.models import AdviceItem, ComplianceAdviceIssued, PenaltyDecided
    from tongxiu.events.signing import KeyPair
    from tongxiu.services.http_client import HttpTransport
    from tongxiu.services.sdk import Producer

    url, token, enterprise = sys.argv[1:4]
    key = KeyPair.from_private(hashlib.sha256(b"tongxiu-demo/samr-deqing").hexdigest())
    decision = PenaltyDecided(
        decision_no="德市监处罚〔2026〕7号", party_name="德清县某某化工有限公司",
        address="浙江省湖州市德清县武康街道某路1号", legal_representative="张某",
        facts="生产的产品质量抽检不合格", legal_basis="《中华人民共和国产品质量法》第四十九条",
        penalty_types=["罚款"], fine_yuan=Decimal("50000"), authority="德清县市场监督管理局",
        decision_date=date(2026, 1, 5), procedure="ordinary", rule_set="samr-order-107",
    )
    advice = ComplianceAdviceIssued(
        advice_no="德市监合规〔2026〕7号", decision_no=decision.decision_no,
        items=[AdviceItem(item_id="1", requirement="建立出厂检验制度", deadline=date(2026, 2, 27),
                          lead_department="samr-deqing")],
    )
    producer = Producer(HttpTransport(url, token=token), "samr-deqing", key, store=None)
    at = datetime(2026, 1, 5, 10, 0, tzinfo=timezone(timedelta(hours=8)))
    receipt = producer.serve(enterprise, decision, advice, submission_id="wheel-1", occurred_at=at)
    again = producer.serve(enterprise, decision, advice, submission_id="wheel-1", occurred_at=at)
    heavy = sorted(m for m in ("fastapi", "uvicorn", "faust", "kafka", "cassandra", "typer") if m in sys.modules)
    print(json.dumps({"receipt": receipt.model_dump(mode="json"), "again": again.model_dump(mode="json"),
                      "heavy_imported": heavy}))
    """
)


def _run(*args: str | Path, **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=600, **kw)  # type: ignore[call-overload,no-any-return]


def _dir_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


@pytest.fixture(scope="module")
def sdk_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    where = tmp_path_factory.mktemp("wheel")
    built = _run(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
                 "-w", where / "dist", REPO)
    assert built.returncode == 0, built.stderr
    (wheel,) = (where / "dist").glob("tongxiu-*.whl")
    env_dir = where / "venv"
    venv.create(env_dir, with_pip=True)
    installed = _run(env_dir / "bin" / "python", "-m", "pip", "install", "-q", "--disable-pip-version-check", wheel)
    assert installed.returncode == 0, installed.stderr
    return env_dir


def test_the_sdk_installs_without_extras_and_publishes_over_http(sdk_venv: Path, tmp_path: Path) -> None:
    py = sdk_venv / "bin" / "python"
    listed = _run(py, "-m", "pip", "list", "--format", "json", "--disable-pip-version-check")
    names = {p["name"].lower().replace("_", "-") for p in json.loads(listed.stdout)} - {"pip", "setuptools"}
    site = Path(_run(py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").stdout.strip())
    size = sum(_dir_size(p) for p in site.iterdir() if not p.name.startswith(("pip", "setuptools", "_distutils")))
    print(f"\nSDK install (no extras): {len(names)} distributions besides pip, {size / 1e6:.1f} MB in site-packages: "
          f"{sorted(names)}")
    assert CORE <= names, CORE - names
    assert not names & HEAVY, names & HEAVY
    assert len(names) <= MAX_PACKAGES, sorted(names)

    with live_ledger(tmp_path) as live:
        out = _run(py, "-c", PRODUCER, live.url, SAMR, ENTERPRISE, cwd=tmp_path,
                   env={**os.environ, "PYTHONPATH": ""})
        assert out.returncode == 0, out.stderr
        result = json.loads(out.stdout)
        receipt, again = result["receipt"], result["again"]
        assert receipt["accepted"], receipt["reasons"]
        assert [e["type"] for e in receipt["events"]] == [
            "penalty_decided", "compliance_advice_issued", "credit_repair_notice_issued"]
        assert again["duplicate"] and again["events"] == receipt["events"]
        assert result["heavy_imported"] == []
        # the ledger holds what the receipt says
        stored = live.app.log.read_stream(ENTERPRISE)
        assert [s.envelope.hash for s in stored] == [e["hash"] for e in receipt["events"]]


def test_the_console_script_without_the_cli_extra_says_what_to_install(sdk_venv: Path) -> None:
    out = _run(sdk_venv / "bin" / "tongxiu", "--help")
    assert out.returncode == 2
    assert "pip install 'tongxiu[cli]'" in out.stderr and "typer" in out.stderr
    assert out.stdout == ""
