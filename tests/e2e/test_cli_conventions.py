"""The CLI's conventions (README "Command line"): results on stdout and errors on stderr with
exit 2; ``--json`` gives one JSON document on stdout, or a JSON error object on stderr; tables
fit the terminal's width; times in China time; Chinese by default, English with ``--lang en``
or ``TONGXIU_LANG=en``; ``--version``."""

from __future__ import annotations

import json
from importlib.metadata import version
from pathlib import Path

import pytest
from rich.cells import cell_len

from tests.e2e.test_cli import ROOT, build_examples_ledger, run
from tongxiu.events.labels import china_time
from tongxiu.infra.sqlite import Database, SqliteEventLog
from tongxiu.services.demo import ENTERPRISE

READS = [
    ["credit", ENTERPRISE],
    ["rectification", ENTERPRISE],
    ["rectification", ENTERPRISE, "--as-of", "2026-02-01"],
    ["sync", ENTERPRISE],
    ["replay", ENTERPRISE],
    ["replay", ENTERPRISE, "--as-of", "2026-01-20"],
    ["verify", "--all"],
    ["verify", ENTERPRISE],
    ["stats"],
    ["stats", "--period", "2026"],
    ["rejections"],
    ["inbox", "tax-deqing"],
    ["inbox", "samr-deqing"],
    ["oversight", "samr-deqing"],
    ["first-violation", ENTERPRISE, "--kind", "产品质量"],
]
BOX = set("┏┃┡│└┗━─┳╇┻┴┬┼╋")


@pytest.fixture(scope="module")
def examples_ledger(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One ledger of every example for this module's read-only commands (they open it read-only)."""
    return build_examples_ledger(tmp_path_factory.mktemp("cli-conventions") / "ledger")


@pytest.mark.parametrize("args", READS, ids=lambda a: " ".join(a))
def test_json_output_is_one_json_document_on_stdout(examples_ledger: Path, args: list[str]) -> None:
    result = run(examples_ledger, *args, "--json")
    assert result.exit_code == 0, result.output
    json.loads(result.stdout)  # the whole of stdout, nothing before or after
    assert result.stderr == ""


def test_writing_commands_answer_in_json_too(tmp_path: Path) -> None:
    data = tmp_path / "ledger"
    result = run(data, "keys", "labour-x", "--out-dir", str(tmp_path), "--json")
    assert result.exit_code == 0, result.output
    made = json.loads(result.stdout)
    assert Path(made["public_key_file"]).read_text().strip() == made["public_key"]
    result = run(data, "register", "labour-x", "--name", "劳动", "--domain", "labour", "--jurisdiction", "33",
                 "--public-key", made["public_key_file"], "--json")
    assert result.exit_code == 0, result.output
    receipt = json.loads(result.stdout)
    assert receipt["accepted"] and receipt["events"][0]["type"] == "department_registered"
    for args in (["rebuild"], ["tick"]):
        result = run(data, *args, "--json")
        assert result.exit_code == 0, result.output
        json.loads(result.stdout)


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["credit", "91330521MA2D7K3X47", "--json"], "CODE:"),
        (["stats", "--period", "2026-13", "--json"], "--period:"),
        (["publish", "/nonexistent.json", "--json"], "FILE:"),
        (["inbox", "nobody", "--json"], "SUBSCRIBER:"),
        (["replay", "91330521MA2D7K3X47", "--as-of", "yesterday", "--json"], "--as-of:"),
        (["--config", "/nonexistent.toml", "stats", "--json"], "/nonexistent.toml"),
        (["--data-dir", "/nonexistent-ledger", "rejections", "--json"], "--data-dir:"),
        # click's own usage errors too
        (["credit", "--json"], "Missing argument 'code'"),
        (["credit", "91330521MA2D7K3X47", "--json", "--no-such-option"], "--no-such-option"),
        (["--lang", "fr", "credit", "91330521MA2D7K3X47", "--json"], "--lang"),
    ],
)
def test_json_errors_are_a_json_object_on_stderr(tmp_path: Path, args: list[str], says: str) -> None:
    assert run(tmp_path / "ledger", "tick", "--json").exit_code == 0  # an (empty) ledger there
    result = run(tmp_path / "ledger", *args)
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    error = json.loads(result.stderr)
    assert error["exit_code"] == 2 and says in error["error"], error


def test_a_refusal_is_a_result_with_exit_1(tmp_path: Path) -> None:
    """A rejected submission is a result (stdout, exit 1), not an error."""
    first = sorted((ROOT / "docs" / "examples").glob("*.json"))[12]
    doc = json.loads(first.read_text())
    doc["submission_id"] = "tampered"
    doc["events"][0]["event"]["decision_no"] = "改过的编号"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc, ensure_ascii=False))
    result = run(tmp_path / "ledger", "publish", str(bad), "--json")
    assert result.exit_code == 1 and result.stderr == ""
    assert json.loads(result.stdout)[0]["accepted"] is False
    human = run(tmp_path / "ledger", "publish", str(bad))
    assert human.exit_code == 1 and human.stderr == "" and "已拒绝" in human.stdout


@pytest.mark.parametrize("width", [80, 60])
@pytest.mark.parametrize("args", [a for a in READS if a[0] not in ("verify", "first-violation", "oversight")],
                         ids=lambda a: " ".join(a))
def test_tables_fit_the_terminal(examples_ledger: Path, args: list[str], width: int) -> None:
    result = run(examples_ledger, *args, env={"COLUMNS": str(width)})
    assert result.exit_code == 0, result.output
    rows = [line for line in result.stdout.splitlines() if BOX & set(line)]
    assert rows or args[0] == "inbox", result.stdout
    too_wide = [line for line in rows if cell_len(line) > width]
    assert not too_wide, "\n".join(too_wide)
    cropped = [line for line in rows if line.rstrip()[-1] not in "┓┃┩│┘"]  # rich crops what does not fit
    assert not cropped, "\n".join(cropped)


def test_times_a_person_reads_are_china_time(examples_ledger: Path) -> None:
    db = Database(examples_ledger / "ledger.sqlite3", read_only=True)
    first = SqliteEventLog(db).read_stream(ENTERPRISE)[0].envelope
    db.close()
    out = run(examples_ledger, "replay", ENTERPRISE).stdout
    assert china_time(first.recorded_at) in out and china_time(first.occurred_at) in out
    assert "+00:00" not in out and first.recorded_at.isoformat() not in out
    assert "北京时间" in out
    assert "China time" in run(examples_ledger, "--lang", "en", "replay", ENTERPRISE).stdout


def test_chinese_by_default_english_on_request(examples_ledger: Path) -> None:
    zh = run(examples_ledger, "replay", ENTERPRISE).stdout
    assert "行政处罚决定书" in zh and "信用修复告知书" in zh and "发生时间" in zh
    assert "penalty_decided" not in zh  # event types by their names, not their identifiers
    for en in (run(examples_ledger, "--lang", "en", "replay", ENTERPRISE).stdout,
               run(examples_ledger, "replay", ENTERPRISE, env={"TONGXIU_LANG": "en"}).stdout,
               run(examples_ledger, "--lang", "en-US", "replay", ENTERPRISE).stdout):
        assert "Penalty decision" in en and "occurred at" in en and "行政处罚决定书" not in en
    # the option wins over the environment
    assert "行政处罚决定书" in run(examples_ledger, "--lang", "zh", "replay", ENTERPRISE,
                                 env={"TONGXIU_LANG": "en"}).stdout
    bad = run(examples_ledger, "--lang", "fr", "credit", ENTERPRISE)
    assert bad.exit_code == 2 and bad.stdout == "" and "--lang" in bad.stderr


def test_version(tmp_path: Path) -> None:
    for flag in ("--version", "-V"):
        result = run(tmp_path, flag)
        assert result.exit_code == 0
        assert result.stdout == f"tongxiu {version('tongxiu')}\n"


def test_a_backend_that_does_not_answer_is_an_error_not_a_traceback(tmp_path: Path) -> None:
    env = {"TONGXIU_CASSANDRA_PORT": "1", "TONGXIU_KAFKA_BOOTSTRAP": "127.0.0.1:1"}
    result = run(tmp_path, "--backend", "distributed", "credit", ENTERPRISE, "--json", env=env)
    assert result.exit_code == 2 and result.stdout == ""
    assert "无法打开 distributed 账本" in json.loads(result.stderr)["error"]
    human = run(tmp_path, "--backend", "distributed", "--lang", "en", "stats", env=env)
    assert human.exit_code == 2 and "cannot open the distributed ledger" in human.stderr
    assert "Traceback" not in human.output


def test_fit_widths_keeps_minimums_and_whole_columns() -> None:
    from tongxiu.entrypoints.cli_output import fit_widths

    cols = ["seq", "recorded at", "event", "hash"]
    rows = [["12", "2026-01-05 09:00:00", "行政处罚决定书", "b2761c52f5bd0123"]]
    assert fit_widths(cols, rows, 200, [0], {1: 10}) is None  # fits as it is
    widths = fit_widths(cols, rows, 40, [0], {1: 10})
    assert widths is not None and sum(widths) + 3 * len(cols) + 1 <= 40
    assert widths[0] == 3 and widths[1] >= 10  # "seq" whole, the date kept whole
    assert fit_widths(cols, rows, 20, [0], {1: 10}) is None  # not even the minimums: rich folds all


def test_help_in_the_language_asked_for(tmp_path: Path) -> None:
    zh = run(tmp_path, "--help")
    assert zh.exit_code == 0 and "退出码" in zh.stdout and "为部门生成 Ed25519 密钥对" in zh.stdout
    en = run(tmp_path, "--lang", "en", "--help")
    assert en.exit_code == 0 and "Exit codes" in en.stdout and "Make an Ed25519 key pair" in en.stdout
    assert "企业的信用记录与信用状况" in run(tmp_path, "credit", "--help").stdout
    assert "credit records and standing" in run(tmp_path, "credit", "--help", env={"TONGXIU_LANG": "en"}).stdout
