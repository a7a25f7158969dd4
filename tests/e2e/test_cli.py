"""The CLI as a user drives it: examples published with `publish`, `verify` catching
tampering, `replay` as of a past time, `sign`, `keys`, schema export kept in sync.
(Its conventions — stderr, exit codes, JSON, width, language, China time — are in
test_cli_conventions.py; the inbox and `ack` in test_cli_inbox.py.)"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from tongxiu.entrypoints.cli import app
from tongxiu.events.models import EVENT_TYPES, SYSTEM_TYPES
from tongxiu.events.schemas import all_schemas, render
from tongxiu.services.demo import ENTERPRISE
from tongxiu.services.examples import LEDGER_DEMO_KEY, build_examples

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()
WIDE = {"COLUMNS": "200"}
"""Tests that look for a text in a table give it room (tests of the width set their own)."""


def run(data: Path, *args: str, env: dict[str, str] | None = None) -> Result:
    """The whole result: ``stdout``, ``stderr`` and ``output`` (both, as a terminal shows them)."""
    return runner.invoke(app, ["--data-dir", str(data), *args], env={"TONGXIU_LANG": None, **WIDE, **(env or {})})  # type: ignore[dict-item]


def cli(data: Path, *args: str) -> tuple[int, str]:
    result = run(data, *args)
    return result.exit_code, result.output


def build_examples_ledger(data: Path) -> Path:
    """A ledger holding every committed example, published one file at a time by the CLI."""
    data.mkdir()
    (data / "ledger.key").write_text(LEDGER_DEMO_KEY.private_key)
    for path in sorted((ROOT / "docs" / "examples").glob("*.json")):
        code, out = cli(data, "publish", str(path), "--json")
        assert code == 0, out
        assert json.loads(out)[0]["accepted"]
    return data


@pytest.fixture
def examples_ledger(tmp_path: Path) -> Path:
    return build_examples_ledger(tmp_path / "ledger")


def test_committed_examples_cover_every_submission_type_and_are_current() -> None:
    built = build_examples()
    on_disk = sorted((ROOT / "docs" / "examples").glob("*.json"))
    assert [p.stem for p in on_disk] == [stem for stem, _ in built]
    for path, (_, sub) in zip(on_disk, built, strict=True):
        assert path.read_text(encoding="utf-8") == sub.model_dump_json(indent=2) + "\n"
    covered = {signed.event.type for _, sub in built for signed in sub.events}
    assert covered == set(EVENT_TYPES) - SYSTEM_TYPES


def test_committed_schemas_match_the_models() -> None:
    for name, schema in all_schemas().items():
        path = ROOT / "docs" / "schemas" / f"{name}.schema.json"
        assert path.exists(), f"{path} missing: run `tongxiu schema export`"
        assert path.read_text(encoding="utf-8") == render(schema), f"{path} is stale: run `tongxiu schema export`"


def test_publish_examples_then_read_everything(examples_ledger: Path) -> None:
    code, out = cli(examples_ledger, "credit", ENTERPRISE, "--json")
    assert code == 0
    records = json.loads(out)["records"]
    assert records["德市监处罚〔2026〕7号"]["status"] == "withdrawn"
    assert records["德税不罚〔2026〕3号"]["kind"] == "no_penalty"
    apps = records["德市监处罚〔2026〕7号"]["applications"]
    assert [a["outcome"] for a in apps] == ["not_accepted", "refused", "granted"]
    assert [a["forwarded_to"] for a in apps] == [None, "samr-deqing", "samr-deqing"]
    lists = json.loads(out)["list_entries"]
    assert [(e["list_kind"], e["removed_on"]) for e in lists] == [("abnormal_operation", "2026-01-25")]
    code, out = cli(examples_ledger, "rectification", ENTERPRISE, "--json")
    assert {i["status"] for i in json.loads(out)["items"].values()} == {"closed"}
    code, out = cli(examples_ledger, "sync", ENTERPRISE, "--json")
    deliveries = json.loads(out)["deliveries"].values()
    assert {d["subscriber"]: d["status"] for d in deliveries if d["source_type"] == "repair_granted"}["tax-deqing"] == "acknowledged"
    assert cli(examples_ledger, "verify", "--all")[0] == 0
    code, out = cli(examples_ledger, "stats", "--json")
    assert json.loads(out)["supervision"]["samr-deqing"]["repairs_decided"] == 2
    # resubmitting a file is harmless and answers with the first receipt
    first = sorted((ROOT / "docs" / "examples").glob("*.json"))[10]
    code, out = cli(examples_ledger, "publish", str(first), "--json")
    assert code == 0 and json.loads(out)[0]["duplicate"] is True


def test_replay_as_of_and_known_at(examples_ledger: Path) -> None:
    code, out = cli(examples_ledger, "replay", ENTERPRISE, "--as-of", "2026-04-12", "--json")
    assert code == 0, out
    then = json.loads(out)
    assert then["credit"]["records"]["德市监处罚〔2026〕7号"]["status"] == "repaired"
    code, out = cli(examples_ledger, "replay", ENTERPRISE, "--as-of", "2026-01-20", "--json")
    early = json.loads(out)
    assert early["credit"]["records"]["德市监处罚〔2026〕7号"]["status"] == "publicized"
    assert len(early["events"]) < len(then["events"])
    # known-at before anything was recorded: nothing known
    code, out = cli(examples_ledger, "replay", ENTERPRISE, "--known-at", "2000-01-01", "--json")
    assert json.loads(out)["events"] == []
    code, out = cli(examples_ledger, "replay", ENTERPRISE, "--as-of", "yesterday")
    assert code == 2 and "--as-of" in out


def test_verify_names_the_first_altered_event(examples_ledger: Path) -> None:
    from tongxiu.infra.sqlite import Database, SqliteEventLog

    db = Database(examples_ledger / "ledger.sqlite3")
    log = SqliteEventLog(db)
    stored = log.read_stream(ENTERPRISE)[4]
    body = json.loads(stored.raw)
    body["event"]["amount_paid_yuan"] = "1.00"
    log.tamper_for_test(ENTERPRISE, stored.envelope.seq, json.dumps(body, ensure_ascii=False))
    db.close()
    code, out = cli(examples_ledger, "verify", ENTERPRISE)
    assert code == 1
    assert f"seq {stored.envelope.seq}" in out and stored.envelope.event_id in out
    code, out = cli(examples_ledger, "verify", ENTERPRISE, "--json")
    assert json.loads(out)["first_bad"]["seq"] == stored.envelope.seq


def test_keys_sign_publish_round_trip(tmp_path: Path) -> None:
    data = tmp_path / "ledger"
    assert cli(data, "keys", "new-dept", "--out-dir", str(tmp_path))[0] == 0
    code, out = cli(data, "register", "new-dept", "--name", "新部门", "--domain", "labour",
                    "--jurisdiction", "33", "--public-key", str(tmp_path / "new-dept.pub"))
    assert code == 0, out
    unsigned = {
        "submission_id": "s-1", "department": "new-dept", "stream": "registry",
        "occurred_at": "2026-01-05T09:00:00+08:00", "events": [{"type": "subscription_added", "jurisdictions": ["33"]}],
    }
    (tmp_path / "unsigned.json").write_text(json.dumps(unsigned))
    code, out = cli(data, "sign", str(tmp_path / "unsigned.json"), "--key", str(tmp_path / "new-dept.key"),
                    "--out", str(tmp_path / "signed.json"))
    assert code == 0, out
    code, out = cli(data, "publish", str(tmp_path / "signed.json"))
    assert code == 0 and "已接收" in out and "订阅登记" in out
    code, out = cli(data, "--lang", "en", "publish", str(tmp_path / "signed.json"))
    assert code == 0 and "accepted(duplicate: the first receipt)" in out and "Subscription added" in out
    # signed with the wrong key: rejected, exit 1, reason shown
    assert cli(data, "keys", "other", "--out-dir", str(tmp_path))[0] == 0
    unsigned["submission_id"] = "s-2"
    (tmp_path / "unsigned.json").write_text(json.dumps(unsigned))
    cli(data, "sign", str(tmp_path / "unsigned.json"), "--key", str(tmp_path / "other.key"), "--out", str(tmp_path / "bad.json"))
    result = run(data, "publish", str(tmp_path / "bad.json"))
    assert result.exit_code == 1 and "已拒绝" in result.stdout and "signature_invalid" in result.stdout
    assert result.stderr == ""  # a rejection is a result, not an error
    code, out = cli(data, "rejections", "--json")
    assert json.loads(out)[0]["receipt"]["reasons"][0]["code"] == "signature_invalid"


def test_demo_command_runs(tmp_path: Path) -> None:
    code, out = cli(tmp_path, "demo")
    assert code == 0, out
    assert "repair_too_early" in out and "校验: 通过" in out and "准予信用修复决定" in out
    # the narration is Chinese too: the steps, the rejections, the feed and the scheduler
    assert "① 各部门和信用平台加入账本" in out and "已拒绝 [repair_too_early]" in out, out
    assert "定时任务：修复同步逾期" in out and "Departments and a credit platform" not in out, out
    code, out = cli(tmp_path, "--lang", "en", "demo")
    assert code == 0, out
    assert "repair_too_early" in out and "verify: OK" in out and "Repair granted" in out
    assert "① Departments and a credit platform join the ledger" in out and "scheduler: sync_overdue" in out, out


def test_verify_catches_a_rewritten_registry(examples_ledger: Path) -> None:
    """Swapping a department's key in the registry (and re-chaining the hashes) must fail:
    every registry event is signed, and verify checks each signature."""
    import hashlib

    from tongxiu.events.envelope import canonical
    from tongxiu.events.signing import KeyPair
    from tongxiu.infra.sqlite import Database, SqliteEventLog

    db = Database(examples_ledger / "ledger.sqlite3")
    log = SqliteEventLog(db)
    stored = log.read_stream("registry")
    prev = None
    for s in stored:
        body = json.loads(s.raw)
        if body["seq"] == 2:
            body["event"]["public_key"] = KeyPair.generate().public_key
        if prev is not None:
            body["prev_hash"] = prev
        body.pop("hash")
        body["hash"] = hashlib.sha256(canonical(body)).hexdigest()
        prev = body["hash"]
        log.tamper_for_test("registry", s.envelope.seq, json.dumps(body, ensure_ascii=False))
    db.close()
    code, out = cli(examples_ledger, "verify", "--all", "--json")
    assert code == 1
    assert json.loads(out)["first_bad"] == {
        "stream": "registry", "seq": 2, "event_id": stored[1].envelope.event_id,
        "code": "signature_invalid", "problem": "ledger 的签名验证未通过",
        "problem_en": "signature of ledger does not verify",
    }


@pytest.mark.parametrize(
    ("args", "zh", "en"),
    [
        (["credit", "91330521MA2D7K3X47"], "CODE: 账本中没有企业", "CODE: the ledger holds no events"),
        (["verify", "NOTACODE"], "CODE: 'NOTACODE' 不是有效的统一社会信用代码",
         "CODE: 'NOTACODE' is not a valid unified social credit code"),
        (["replay", "NOTACODE", "--json"], "不是有效的统一社会信用代码", "is not a valid unified social credit code"),
        (["stats", "--period", "2026-13"], "--period: expected YYYY, YYYY-MM", "--period: expected YYYY, YYYY-MM"),
        (["stats", "--period", "2025-06..2025-01"], "--period: the range starts after it ends",
         "--period: the range starts after it ends"),
        (["publish", "/nonexistent.json"], "FILE: 无法读取 /nonexistent.json", "FILE: cannot read /nonexistent.json"),
        (["sign", "/nonexistent.json", "--key", "/nonexistent.key"], "FILE: 无法读取", "FILE: cannot read"),
        (["keys", "a/b"], "DEPARTMENT: 'a/b' 应为", "DEPARTMENT: 'a/b' must be"),
        (["register", "x1", "--name", "n", "--domain", "d", "--jurisdiction", "33", "--public-key", "/nope.pub"],
         "--public-key: 无法读取 /nope.pub", "--public-key: cannot read /nope.pub"),
        (["--config", "/nonexistent.toml", "stats"], "配置有误", "bad settings"),
        (["worker"], "worker: 只在分布式后端运行", "worker: runs on the distributed backend"),
        (["rejections", "--limit", "0"], "--limit", "--limit"),
        (["inbox", "nobody"], "SUBSCRIBER: 'nobody' 未登记", "SUBSCRIBER: 'nobody' is not registered"),
        (["--data-dir", "/nonexistent-ledger", "credit", "91330521MA2D7K3X47"],
         "--data-dir: /nonexistent-ledger 中没有账本", "--data-dir: no ledger in /nonexistent-ledger"),
    ],
)
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_bad_input_is_a_clear_error_on_stderr(tmp_path: Path, args: list[str], zh: str, en: str, lang: str) -> None:
    assert run(tmp_path / "ledger", "tick", "--json").exit_code == 0  # an (empty) ledger there
    result = run(tmp_path / "ledger", "--lang", lang, *args)
    assert result.exit_code == 2, result.output
    assert (zh if lang == "zh" else en) in " ".join(result.stderr.split()), result.stderr
    assert "Traceback" not in result.output
    assert result.stdout == "", "an error goes to stderr only"


def test_sign_names_the_bad_key_and_the_bad_file(tmp_path: Path) -> None:
    (tmp_path / "bad.key").write_text("not hex")
    (tmp_path / "list.json").write_text("[1, 2]")
    good_key = tmp_path / "k.key"
    from tongxiu.events.signing import KeyPair

    good_key.write_text(KeyPair.generate().private_key)
    code, out = cli(tmp_path, "sign", str(tmp_path / "list.json"), "--key", str(tmp_path / "bad.key"))
    assert code == 2 and "--key" in out
    code, out = cli(tmp_path, "sign", str(tmp_path / "list.json"), "--key", str(good_key))
    assert code == 2 and "must hold one JSON object" in " ".join(out.split())
    code, out = cli(tmp_path, "sign", str(tmp_path / "list.json"), "--key", str(tmp_path / "bad.key"))
    assert code == 2 and "不是十六进制的 Ed25519 私钥" in out
