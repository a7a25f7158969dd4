"""Issue 9 through the CLI: a department keeps the receipts `publish` gave it and a checkpoint
file; `audit`, `checkpoint`, `proof`, `cosign`, `verify-log`, `verify --projections`,
`export --bundle` and `verify-bundle` — and the same commands failing after tampering."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from tests.e2e.test_cli import ROOT, cli
from tongxiu.events.signing import KeyPair
from tongxiu.services.demo import ENTERPRISE
from tongxiu.services.examples import LEDGER_DEMO_KEY


def _ledger(tmp_path: Path) -> tuple[Path, Path]:
    data = tmp_path / "ledger"
    data.mkdir()
    (data / "ledger.key").write_text(LEDGER_DEMO_KEY.private_key)
    store = tmp_path / "store"
    store.mkdir()
    with (store / "receipts.jsonl").open("w") as kept:
        for path in sorted((ROOT / "docs" / "examples").glob("*.json")):
            code, out = cli(data, "publish", str(path), "--json")
            assert code == 0, out
            for receipt in json.loads(out):
                assert receipt["log"]["checkpoint"]["size"] > max(receipt["log"]["leaves"])
                kept.write(json.dumps(receipt, ensure_ascii=False) + "\n")
    return data, store


def test_audit_proofs_witnesses_and_bundles(tmp_path: Path) -> None:
    data, store = _ledger(tmp_path)
    cp = tmp_path / "cp.json"
    code, out = cli(data, "checkpoint", "--out", str(cp))
    assert code == 0 and out.startswith("检查点：规模 "), out
    code, out = cli(data, "--lang", "en", "checkpoint")
    assert code == 0 and out.startswith("checkpoint: size "), out
    (store / "checkpoints.jsonl").write_text(json.dumps(json.loads(cp.read_text())) + "\n")
    code, out = cli(data, "audit", "--store", str(store))
    assert code == 0 and out.startswith("通过 ") and "与" in out and "个叶子的日志一致" in out, out
    code, out = cli(data, "--lang", "en", "audit", "--store", str(store))
    assert code == 0 and out.startswith("OK ") and "consistent with the log of" in out, out
    code, out = cli(data, "verify-log")
    assert code == 0 and out.startswith("通过 ") and "个叶子与存储的事件和拒绝记录一致" in out, out
    code, out = cli(data, "--lang", "en", "verify-log")
    assert code == 0 and out.startswith("OK ") and "leaves match the stored events and rejections" in out, out
    code, out = cli(data, "verify", "--projections")
    assert code == 0 and "个读模型文档与按日志重建的结果一致" in out, out
    code, out = cli(data, "--lang", "en", "verify", "--projections")
    assert code == 0 and "equal a rebuild" in out, out
    code, out = cli(data, "proof", "--leaf", "0")
    proof = json.loads(out)
    assert code == 0 and proof["leaf_index"] == 0 and len(proof["inclusion"]) >= 1

    # a witness cosigns the checkpoint file; the auditor requires 1, then 2 cosignatures
    w = KeyPair.generate()
    (tmp_path / "w.key").write_text(w.private_key)
    code, out = cli(data, "cosign", str(cp), "--witness", "mof", "--key", str(tmp_path / "w.key"))
    assert code == 0 and out.startswith("已由 mof 联署：规模 "), out
    code, out = cli(data, "audit", "--store", str(store), "--checkpoint", str(cp),
                    "--witness", f"mof={w.public_key}", "--require", "1")
    assert code == 0 and out.startswith("通过 "), out
    other = KeyPair.generate()
    code, out = cli(data, "audit", "--store", str(tmp_path / "none"), "--checkpoint", str(cp),
                    "--witness", f"mof={w.public_key}", "--witness", f"court={other.public_key}", "--require", "2")
    assert code == 1 and out.startswith("未通过 发现 ") and "联署最多的只有 1 个，要求 2 个见证联署" in out, out
    code, out = cli(data, "--lang", "en", "audit", "--store", str(tmp_path / "none"), "--checkpoint", str(cp),
                    "--witness", f"mof={w.public_key}", "--witness", f"court={other.public_key}", "--require", "2")
    assert code == 1 and out.startswith("FAILED ") and "1 of the 2 required witness cosignatures" in out, out
    code, out = cli(data, "audit", "--json", "--store", str(tmp_path / "none"), "--checkpoint", str(cp),
                    "--witness", f"mof={w.public_key}", "--witness", f"court={other.public_key}", "--require", "2")
    (found,) = json.loads(out)["problems"]
    assert code == 1 and (found["code"], found["about"]) == ("not_witnessed", {"best": 1, "require": 2}), found

    # an offline bundle, proved against the checkpoint file
    bundle = tmp_path / "bundle.json"
    code, out = cli(data, "export", ENTERPRISE, "--bundle", str(bundle), "--at", str(cp))
    assert code == 0 and out.startswith("已将 ") and str(bundle) in " ".join(out.split()), out
    ahead = json.loads(cp.read_text())
    ahead["size"] += 1000  # a checkpoint this log does not reach: refused, in the reader's language
    (tmp_path / "ahead.json").write_text(json.dumps(ahead))
    refused = ("export", ENTERPRISE, "--bundle", str(tmp_path / "none.json"), "--at", str(tmp_path / "ahead.json"))
    code, out = cli(data, *refused)
    assert code == 2 and f"日志的叶子少于检查点的 {ahead['size']} 个" in out, out
    code, out = cli(data, "--lang", "en", *refused)
    assert code == 2 and f"the log has fewer than the checkpoint's {ahead['size']} leaves" in out, out
    assert not (tmp_path / "none.json").exists()
    code, out = cli(tmp_path / "elsewhere", "verify-bundle", str(bundle), "--checkpoint", str(cp))
    assert code == 0 and out.startswith("通过 ") and f"{ENTERPRISE} 的" in out, out
    code, out = cli(tmp_path / "elsewhere", "--lang", "en", "verify-bundle", str(bundle), "--checkpoint", str(cp))
    assert code == 0 and out.startswith("OK ") and f"events of {ENTERPRISE}" in out, out
    doc = json.loads(bundle.read_text())
    first = json.loads(doc["events"][0]["raw"])
    first["event"]["fine_yuan"] = "5"
    doc["events"][0]["raw"] = json.dumps(first, ensure_ascii=False)
    bundle.write_text(json.dumps(doc, ensure_ascii=False))
    code, out = cli(tmp_path / "elsewhere", "verify-bundle", str(bundle))
    assert code == 1 and out.startswith("未通过 发现 ") and f"{ENTERPRISE} 第 1 号：哈希与事件内容不符（已被改动）" in out, out
    code, out = cli(tmp_path / "elsewhere", "--lang", "en", "verify-bundle", str(bundle))
    assert code == 1 and out.startswith("FAILED ") and f"{ENTERPRISE} #1: hash does not match" in out, out

    # the insider truncates the enterprise's stream
    with sqlite3.connect(data / "ledger.sqlite3") as conn:
        last = conn.execute("SELECT MAX(seq) FROM events WHERE stream = ?", (ENTERPRISE,)).fetchone()[0]
        conn.execute("DELETE FROM events WHERE stream = ? AND seq = ?", (ENTERPRISE, last))
    assert cli(data, "verify", "--all")[0] == 0  # the chains alone see nothing
    code, out = cli(data, "verify-log")
    assert code == 1 and out.startswith("未通过 发现 ") and "已不在日志中" in out, out
    assert "no longer" not in out, out
    code, out = cli(data, "--lang", "en", "verify-log")
    assert code == 1 and out.startswith("FAILED ") and "problems:" in out and "is no longer in the log" in out, out
    code, out = cli(data, "verify-log", "--json")
    assert code == 1 and {p["code"] for p in json.loads(out)["problems"]} >= {"event_not_in_log"}, out
    code, out = cli(data, "audit", "--store", str(store))
    assert code == 1 and f"缺失：{ENTERPRISE} 第 {last} 号事件" in out and "已不在日志中" in out, out
    code, out = cli(data, "--lang", "en", "audit", "--store", str(store))
    assert code == 1 and f"missing: {ENTERPRISE} #{last}" in out, out
    code, out = cli(data, "audit", "--json", "--store", str(store))
    missing = [p for p in json.loads(out)["problems"] if p["code"] == "missing"]
    assert code == 1 and [(p["about"]["stream"], p["about"]["seq"]) for p in missing] == [(ENTERPRISE, last)], out


def test_key_lifecycle_commands_and_a_rotated_ledger_key(tmp_path: Path) -> None:
    data, store = _ledger(tmp_path)
    code, out = cli(data, "keys", "samr-deqing", "--out-dir", str(tmp_path / "k"))
    assert code == 0
    new_pub = tmp_path / "k" / "samr-deqing.pub"
    code, out = cli(data, "rotate-key", "samr-deqing", "--public-key", str(new_pub), "--reason", "年度轮换")
    assert code == 0 and "已接收" in out and "部门密钥轮换" in out, out
    bad_pub = tmp_path / "bad.pub"
    bad_pub.write_text("not-a-key")
    code, out = cli(data, "rotate-key", "samr-deqing", "--public-key", str(bad_pub), "--reason", "年度轮换")
    assert code == 2 and "public_key: 格式不符合规则（应匹配 " in out and "should" not in out, out
    code, out = cli(data, "--lang", "en", "revoke-key", "samr-deqing", "--public-key", str(bad_pub), "--reason", "x")
    assert code == 2 and "public_key: String should match pattern" in out, out
    old_pub = tmp_path / "old.pub"
    from tongxiu.services.demo import demo_key

    old_pub.write_text(demo_key("samr-deqing").public_key)
    code, out = cli(data, "revoke-key", "samr-deqing", "--public-key", str(old_pub), "--reason", "泄露")
    assert code == 0, out
    code, out = cli(data, "revoke-key", "samr-deqing", "--public-key", str(old_pub), "--reason", "泄露")
    assert code == 0 and "（重复提交，返回首次回执）" in out, out  # idempotent: the first receipt again
    # the same revocation id with another body is a conflict (docs/signing.md §7), not recorded twice
    code, out = cli(data, "revoke-key", "samr-deqing", "--public-key", str(old_pub), "--reason", "again")
    assert code == 1 and "submission_id_conflict" in out, out
    # an example signed with the revoked key is refused with key_revoked
    example = sorted((ROOT / "docs" / "examples").glob("*penalty_fulfilled*.json"))[0]
    doc = json.loads(example.read_text())
    doc["submission_id"] = "after-revocation"
    from tongxiu.events.envelope import Submission
    from tongxiu.services.ledger import sign_submission

    sub = Submission.model_validate(doc)
    resigned = sign_submission(demo_key("samr-deqing"), department=sub.department, stream=sub.stream,
                               submission_id=sub.submission_id, occurred_at=sub.occurred_at,
                               events=[e.event for e in sub.events])
    f = tmp_path / "late.json"
    f.write_text(resigned.model_dump_json())
    code, out = cli(data, "publish", str(f), "--json")
    assert code == 1 and json.loads(out)[0]["reasons"][0]["code"] == "key_revoked", out

    code, out = cli(data, "rotate-ledger-key", "--reason", "年度轮换")
    assert code == 0 and "账本密钥已更换：" in out and "ledger.key.retired-1" in out, out
    assert (data / "ledger.key.retired-1").read_text() == LEDGER_DEMO_KEY.private_key
    assert cli(data, "verify", "--all")[0] == 0
    assert cli(data, "tick")[0] == 0  # a fact and a checkpoint signed with the new key
    # the department's checkpoints were signed by the old key; the new one is trusted because
    # the old key announced it in the registry
    code, out = cli(data, "audit", "--store", str(store))
    assert code == 0 and out.startswith("通过 "), out


def test_a_ledger_from_before_the_log_gets_its_tree_when_first_opened_for_writing(tmp_path: Path) -> None:
    data, store = _ledger(tmp_path)
    with sqlite3.connect(data / "ledger.sqlite3") as conn:  # as a ledger written before issue 9
        conn.execute("DROP TABLE merkle_leaves")
        conn.execute("DROP TABLE merkle_state")
    code, out = cli(data, "audit", "--store", str(store))
    assert code == 2 and "has no transparency log yet" in out, out  # read-only: a clear message
    assert cli(data, "tick")[0] == 0  # a writing command builds it from the log
    assert cli(data, "verify-log")[0] == 0
    # the examples had no rejection: the tree is rebuilt in the original order, the receipts audit
    code, out = cli(data, "audit", "--store", str(store))
    assert code == 0 and out.startswith("通过 "), out
