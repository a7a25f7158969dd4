"""`tongxiu inbox` and `tongxiu ack` end to end on the embedded backend: the repairs,
revocations and withdrawals of the examples are pending for the subscribers; a subscriber
acknowledges them with its own key (signed, recorded, counted in `sync`); a wrong key is
refused and recorded; the inbox empties. (The distributed backend: tests/integration/
test_cli_distributed.py.)"""

from __future__ import annotations

import json
from pathlib import Path

from tests.e2e.test_cli import examples_ledger, run  # noqa: F401 (fixture)
from tongxiu.services.demo import ENTERPRISE, demo_key


def key_file(tmp_path: Path, department: str) -> Path:
    path = tmp_path / f"{department}.key"
    path.write_text(demo_key(department).private_key)
    return path


def pending(data: Path, subscriber: str) -> list[dict[str, object]]:
    result = run(data, "inbox", subscriber, "--json")
    assert result.exit_code == 0, result.output
    out: list[dict[str, object]] = json.loads(result.stdout)
    return out


def test_inbox_lists_and_ack_acknowledges(examples_ledger: Path, tmp_path: Path) -> None:  # noqa: F811
    tax = pending(examples_ledger, "tax-deqing")
    assert [d["source_type"] for d in tax] == ["repair_revoked", "decision_withdrawn"]
    assert {d["stream"] for d in tax} == {ENTERPRISE}
    assert pending(examples_ledger, "samr-deqing") == []  # the decider gets nothing

    human = run(examples_ledger, "inbox", "tax-deqing")
    assert "撤销信用修复决定" in human.stdout and "行政处罚决定撤销" in human.stdout and str(tax[0]["position"]) in human.stdout
    assert "Repair revoked" in run(examples_ledger, "--lang", "en", "inbox", "tax-deqing").stdout
    assert "没有待确认" in run(examples_ledger, "inbox", "samr-deqing").stdout

    # one by its position, signed with the subscriber's key; the receipt is kept in --store
    store = tmp_path / "store"
    result = run(examples_ledger, "ack", "tax-deqing", str(tax[0]["position"]), "--key", str(key_file(tmp_path, "tax-deqing")),
                 "--store", str(store), "--note", "已同步到税务系统", "--json")
    assert result.exit_code == 0, result.output
    (receipt,) = json.loads(result.stdout)
    assert receipt["accepted"] and receipt["department"] == "tax-deqing"
    assert [e["type"] for e in receipt["events"]] == ["delivery_acknowledged"]
    kept = [json.loads(line) for line in (store / "receipts.jsonl").read_text().splitlines()]
    assert [k["submission_id"] for k in kept] == [receipt["submission_id"]]
    assert pending(examples_ledger, "tax-deqing") == tax[1:]

    # the acknowledged one is no longer pending: naming it again is an input error
    again = run(examples_ledger, "ack", "tax-deqing", str(tax[0]["position"]), "--key", str(tmp_path / "tax-deqing.key"),
                "--store", str(store))
    assert again.exit_code == 2 and again.stdout == "" and "不是 tax-deqing 待确认的投递" in again.stderr

    # another department's key: refused (signature), recorded, still pending
    wrong = run(examples_ledger, "ack", "eco-huzhou", "--all", "--key", str(key_file(tmp_path, "tax-deqing")),
                "--store", str(store))
    assert wrong.exit_code == 1 and "已拒绝" in wrong.stdout and wrong.stderr == ""
    assert len(pending(examples_ledger, "eco-huzhou")) == 3
    rejected = json.loads(run(examples_ledger, "rejections", "--department", "eco-huzhou", "--json").stdout)
    assert rejected and all(r["receipt"]["stream"] == ENTERPRISE for r in rejected)

    # --all, by the source event id too
    eco = pending(examples_ledger, "eco-huzhou")
    result = run(examples_ledger, "ack", "eco-huzhou", str(eco[0]["source_event_id"]), "--key",
                 str(key_file(tmp_path, "eco-huzhou")), "--store", str(store))
    assert result.exit_code == 0 and "已接收" in result.stdout and "修复结果接收确认" in result.stdout
    result = run(examples_ledger, "ack", "eco-huzhou", "--all", "--key", str(tmp_path / "eco-huzhou.key"),
                 "--store", str(store), "--json")
    assert result.exit_code == 0 and len(json.loads(result.stdout)) == 2
    assert pending(examples_ledger, "eco-huzhou") == []

    # the sync view counts them acknowledged; the ledger still verifies
    sync = json.loads(run(examples_ledger, "sync", ENTERPRISE, "--json").stdout)["deliveries"].values()
    eco_status = {d["source_type"]: d["status"] for d in sync if d["subscriber"] == "eco-huzhou"}
    assert eco_status == {"repair_granted": "acknowledged", "repair_revoked": "acknowledged",
                          "decision_withdrawn": "acknowledged"}
    assert run(examples_ledger, "verify", "--all").exit_code == 0


def test_ack_needs_deliveries_or_all(examples_ledger: Path, tmp_path: Path) -> None:  # noqa: F811
    key = str(key_file(tmp_path, "tax-deqing"))
    for args in (["ack", "tax-deqing", "--key", key], ["ack", "tax-deqing", "1", "--all", "--key", key]):
        result = run(examples_ledger, *args)
        assert result.exit_code == 2 and "DELIVERIES" in result.stderr and result.stdout == ""
    result = run(examples_ledger, "ack", "nobody", "--all", "--key", key, "--json")
    assert result.exit_code == 2 and json.loads(result.stderr)["error"].startswith("SUBSCRIBER:")
    result = run(examples_ledger, "ack", "tax-deqing", "--all", "--key", str(tmp_path / "missing.key"))
    assert result.exit_code == 2 and "--key" in result.stderr
