"""Issue 7 on the embedded ledger: every scenario of ``tests/ledger_decides.py`` (one per
discrepancy of the domain audit), plus what only needs one backend."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from tests.ledger_decides import SCENARIOS, policy_file
from tests.support import CODE, World, advice, decision, make_world
from tongxiu.entrypoints.cli import app as cli_app
from tongxiu.events.envelope import Receipt
from tongxiu.events.models import CreditListIncluded, CreditRepairNoticeIssued, DeliveryAcknowledged
from tongxiu.infra.bootstrap import open_embedded, open_memory
from tongxiu.projections.fold import CHINA
from tongxiu.projections.fold import china_day as fold_china_day
from tongxiu.projections.workdays import china_day
from tongxiu.services.config import Settings
from tongxiu.services.demo import demo_key
from tongxiu.services.http import create_app
from tongxiu.services.ledger import sign_submission
from tongxiu.services.ports import ManualClock


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.__name__ for s in SCENARIOS])
def test_scenario(request: pytest.FixtureRequest, tmp_path: Path, clock: ManualClock,
                  scenario: Callable[[World], None]) -> None:
    policy = policy_file(scenario, tmp_path / "policy")
    if policy is None:
        scenario(request.getfixturevalue("world"))
        return
    app = open_embedded(Settings(data_dir=tmp_path / "with-policy", policy_file=policy), clock=clock)
    try:
        scenario(make_world(app, clock))
    finally:
        app.close()


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.__name__ for s in SCENARIOS])
def test_scenario_in_memory(tmp_path: Path, clock: ManualClock, scenario: Callable[[World], None]) -> None:
    """The same decisions with no database at all (the in-memory adapters, infra/memory.py):
    given the events so far, a submission gives these events or these reasons."""
    policy = policy_file(scenario, tmp_path / "policy")
    app = open_memory(Settings(policy_file=policy), clock=clock)
    try:
        scenario(make_world(app, clock))
    finally:
        app.close()


# --------------------------------------------------------------------------- one China day (architecture §2.5)

TOKENS = {"auditor-token-0000000000": {"role": "auditor", "name": "审计"}}


def _http(world: World) -> TestClient:
    c = TestClient(create_app(world.app, TOKENS))
    c.headers["Authorization"] = "Bearer auditor-token-0000000000"
    return c


def test_late_acknowledgement_at_0700_china_is_overdue_everywhere(world: World) -> None:
    """Deadline 2026-04-20; acknowledged 2026-04-21 07:00 +08:00 (still 04-20 in UTC)."""
    world.serve()
    source = world.granted().events[0].event_id  # granted 2026-04-15, deadline 04-20
    world.clock.set(datetime(2026, 4, 21, 7, 0, tzinfo=CHINA))
    assert world.send("tax-deqing", [DeliveryAcknowledged(source_event_id=source)]).accepted
    delivery = world.app.sync(CODE).deliveries[f"{source}/tax-deqing"]
    assert delivery.deadline == date(2026, 4, 20)
    assert delivery.overdue_as_of(date(2026, 4, 21)) is True
    assert world.app.supervision("tax-deqing").syncs_acknowledged_within_deadline == 0
    out = _http(world).get(f"/api/enterprises/{CODE}/sync").json()
    by_sub = {d["subscriber"]: d["overdue"] for d in out["deliveries"]}
    assert by_sub["tax-deqing"] is True


def test_rectification_overdue_at_0300_china_agrees_in_cli_and_http(world: World, tmp_path: Path) -> None:
    """Item deadline 2026-02-01; at 2026-02-02 03:00 +08:00 (02-01 in UTC) it is overdue."""
    world.serve()  # advice item 1, deadline 2026-02-01
    when = "2026-02-02T03:00:00+08:00"
    result = CliRunner().invoke(cli_app, ["--data-dir", str(tmp_path / "ledger"), "rectification", CODE,
                                          "--as-of", when, "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["items"]["A-D1/1"]["overdue"] is True
    out = _http(world).get(f"/api/enterprises/{CODE}/rectification", params={"as_of": when}).json()
    assert next(iter(out["items"].values()))["overdue"] is True


def test_china_day_is_the_one_function() -> None:
    assert fold_china_day is china_day
    assert china_day(datetime(2026, 4, 20, 23, 0, tzinfo=UTC)) == date(2026, 4, 21)
    with pytest.raises(ValueError):
        china_day(datetime(2026, 4, 20, 23, 0))  # noqa: DTZ001


def test_no_module_computes_the_china_day_by_itself() -> None:
    """Every "which day is it in China" goes through ``tongxiu.projections.workdays.china_day``."""
    root = Path(__file__).resolve().parents[2]
    own = root / "projections" / "workdays.py"
    offenders = [
        str(path.relative_to(root))
        for package in ("events", "projections", "services", "streams", "infra")
        for path in sorted((root / package).rglob("*.py"))
        if path != own and ".astimezone(CHINA).date()" in path.read_text(encoding="utf-8")
    ]
    assert offenders == []


# --------------------------------------------------------------------------- notice and first violation, CLI and HTTP


def _decision_file(tmp_path: Path, **kw: Any) -> Path:
    path = tmp_path / "decision.json"
    path.write_text(decision(**kw).model_dump_json(), encoding="utf-8")
    return path


def test_notice_cli_computes_what_the_ledger_expects(world: World, tmp_path: Path) -> None:
    data = str(tmp_path / "ledger")
    path = _decision_file(tmp_path)
    result = CliRunner().invoke(cli_app, ["--data-dir", data, "notice", str(path), "--enterprise", CODE,
                                          "--department", "samr-deqing", "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["rule_set"] == "samr-order-107"
    notice = CreditRepairNoticeIssued.model_validate(out["notice"])
    assert (notice.publicity_class, notice.publicity_until, notice.earliest_repair_date) == (
        "ordinary", date(2027, 1, 5), date(2026, 4, 6))
    assert "国家企业信用信息公示系统" in notice.how_to_apply  # D17: not 信用中国 for market regulation
    # the ledger accepts exactly that notice with the decision
    assert world.send("samr-deqing", [decision(), notice]).accepted
    # a declared rule set the ledger would reject is named, in Chinese
    bad = _decision_file(tmp_path, rule_set="samr-order-107")
    result = CliRunner().invoke(cli_app, ["--data-dir", data, "notice", str(bad), "--enterprise", CODE,
                                          "--department", "tax-deqing"])
    assert result.exit_code == 2
    assert "gbf-2025-22" in result.output and "rule_set" in result.output
    human = CliRunner().invoke(cli_app, ["--data-dir", data, "notice", str(path), "--enterprise", CODE,
                                         "--department", "samr-deqing"])
    assert "最早可申请修复: 2026-04-06" in human.output


def test_notice_http(world: World) -> None:
    body = {"enterprise": CODE, "department": "tax-deqing",
            "decision": json.loads(decision(rule_set="gbf-2025-22").model_dump_json())}
    ok = _http(world).post("/api/notice", json=body)
    assert ok.status_code == 200, ok.text
    assert ok.json()["notice"]["publicity_until"] == "2027-01-05"
    assert "信用中国" in ok.json()["notice"]["how_to_apply"]
    body["decision"]["rule_set"] = "ndrc-order-58"
    bad = _http(world).post("/api/notice", json=body)
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["loc"] == ["body", "decision", "rule_set"]
    assert "gbf-2025-22" in bad.json()["detail"][0]["msg"]


def test_first_violation_cli_http_and_credit_view(world: World, tmp_path: Path) -> None:
    assert world.send("eco-huzhou", [decision(rule_set="gbf-2025-22", violation_kind="超标排放")]).accepted
    result = CliRunner().invoke(cli_app, ["--data-dir", str(tmp_path / "ledger"), "first-violation", CODE,
                                          "--kind", "超标排放", "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["first_violation"] is False and out["prior"][0]["decision_no"] == "D1"
    assert out["prior"][0]["department"] == "eco-huzhou"
    http = _http(world).get(f"/api/enterprises/{CODE}/first-violation", params={"kind": "无证经营"}).json()
    assert http == {"enterprise": CODE, "violation_kind": "无证经营", "first_violation": True, "prior": []}
    credit = _http(world).get(f"/api/enterprises/{CODE}/credit").json()
    assert credit["records"]["D1"]["first_of_kind"] is True


# --------------------------------------------------------------------------- item identifiers (issue 8)


def _raw_advice(world: World, items: list[dict[str, Any]], advice_no: str = "A") -> Receipt:
    sub = sign_submission(
        demo_key("samr-deqing"), department="samr-deqing", stream=CODE, submission_id=f"raw-{advice_no}",
        occurred_at=world.clock.now(), events=[decision()],
    ).model_dump(mode="json")
    sub["events"][0]["event"] = {"type": "compliance_advice_issued", "advice_no": advice_no, "decision_no": "D1",
                                 "items": items}
    return world.app.submit(sub)


def _item(item_id: str) -> dict[str, Any]:
    return {"item_id": item_id, "requirement": "整改", "deadline": "2026-02-01", "lead_department": "samr-deqing"}


def test_duplicate_item_ids_in_one_advice_are_rejected(world: World) -> None:
    receipt = _raw_advice(world, [_item("1"), _item("1")])
    assert receipt.codes == ["schema_invalid"]
    assert any("items" in (r.field or "") and "在同一份合规建议书中出现了两次" in r.message for r in receipt.reasons)


def test_composite_item_keys_cannot_collide(world: World) -> None:
    world.serve(with_advice=False)
    first = world.send("samr-deqing", [advice("A/1", "D1")])  # item "1" → key "A/1/1"
    assert first.accepted
    receipt = _raw_advice(world, [_item("1/1")], advice_no="A")  # would also be "A/1/1"
    assert receipt.codes == ["schema_invalid"]
    assert any((r.field or "").endswith("item_id") for r in receipt.reasons)
    assert list(world.app.rectification(CODE).items) == ["A/1/1"]


def test_operator_cli_registers_legacy_codes_and_opens_backfill(world: World, tmp_path: Path) -> None:
    data = str(tmp_path / "ledger")
    ok = CliRunner().invoke(cli_app, ["--data-dir", data, "legacy-code", "91350203M0001QAY9B", "--source", "存量登记"])
    assert ok.exit_code == 0, ok.output
    bad = CliRunner().invoke(cli_app, ["--data-dir", data, "legacy-code", "bad code", "--source", "x"])
    assert bad.exit_code == 2 and "code" in bad.output
    opened = CliRunner().invoke(cli_app, ["--data-dir", data, "backfill", "tax-deqing", "--until", "2026-01-31",
                                          "--reason", "导入历史记录"])
    assert opened.exit_code == 0, opened.output
    registry = world.app.ledger.registry()
    assert registry.legacy_codes == {"91350203M0001QAY9B": "存量登记"}
    assert registry.backfills == {"tax-deqing": date(2026, 1, 31)}


def test_notice_http_names_an_inconsistent_decision(world: World) -> None:
    body = {"enterprise": CODE, "department": "samr-deqing",
            "decision": json.loads(decision(procedure="simple").model_dump_json())}
    bad = _http(world).post("/api/notice", json=body)
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["loc"] == ["body", "decision", "penalty_types"]
    body["department"] = "nobody"
    assert _http(world).post("/api/notice", json=body).json()["detail"][0]["loc"] == ["body", "department"]


# --------------------------------------------------------------------------- D13 lists on the credit view


def test_lists_show_on_the_credit_view_cli_http_and_page(world: World, tmp_path: Path) -> None:
    world.serve()
    assert world.send("samr-deqing", [CreditListIncluded(list_kind="abnormal_operation", decision_no="德市监异〔2026〕1号",
                                                         reason="未按规定公示年度报告", included_on=date(2026, 1, 5))]).accepted
    credit = _http(world).get(f"/api/enterprises/{CODE}/credit").json()
    assert [(e["list_kind"], e["removed_on"]) for e in credit["list_entries"]] == [("abnormal_operation", None)]
    human = CliRunner().invoke(cli_app, ["--data-dir", str(tmp_path / "ledger"), "credit", CODE])
    assert human.exit_code == 0, human.output
    assert "经营异常名录：2026-01-05 由 samr-deqing 列入（德市监异〔2026〕1号），仍在名录中" in human.output
    page = _http(world).get(f"/enterprises/{CODE}")  # the bearer header; never a token in the URL
    assert page.status_code == 200, page.text
    assert 'data-list="abnormal_operation"' in page.text and "仍在名录中" in page.text
