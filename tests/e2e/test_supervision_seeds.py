"""The seeds' figures reproduced from events (embedded backend): the fixture published through
the SDK, then `tongxiu stats --json` as a user runs it."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from tests.seeds_fixture import START, check_figures, publish_seed_fixture
from tongxiu.entrypoints.cli import app as cli_app
from tongxiu.infra.bootstrap import open_embedded
from tongxiu.infra.embedded import LocalTransport
from tongxiu.services.config import Settings
from tongxiu.services.ports import ManualClock


def test_seed_scale_fixture_gives_the_seeds_figures_in_stats_json(tmp_path: Path) -> None:
    data = tmp_path / "ledger"
    clock = ManualClock(START)
    app = open_embedded(Settings(data_dir=data), clock=clock)
    try:
        # the seeds' scale: 36,200 inspections, 35,234 with the code shown (97.33 %)
        expected = publish_seed_fixture(app, clock, LocalTransport(app), inspections=36_200, shown=35_234)
    finally:
        app.close()
    assert (expected.files_reviewed, expected.findings, expected.rectified) == (1190, 1235, 1233)
    result = CliRunner().invoke(cli_app, ["--data-dir", str(data), "stats", "--json", "--period", "2025"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)["oversight"]
    check_figures(out, expected)
    assert out["case_review"]["rectification_rate"] == 0.9984  # 1,233 / 1,235
    assert out["inspections"]["code_shown_rate"] == 0.9733  # 亮码率 97.33 %
    assert out["no_penalty"]["waived_fine_yuan"] == 6_930_000.0  # 近700万元
    assert (out["inspections"]["inspections"], out["inspections"]["code_shown"]) == (36_200, 35_234)
    assert out["inspections"]["per_enterprise_per_month"] == 5.0
    assert json.loads(result.output)["supervision"]["ema-deqing"]["findings_raised"] == 240
    # the department's own stream lists what is still open (对账)
    result = CliRunner().invoke(cli_app, ["--data-dir", str(data), "oversight", "ema-deqing", "--json"])
    assert result.exit_code == 0, result.output
    listed = json.loads(result.output)
    assert listed["case_files_reviewed"] == 240
    assert listed["open_findings"] == ["ema-deqing-R0238-F0", "ema-deqing-R0239-F0"]
