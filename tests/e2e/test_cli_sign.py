"""``tongxiu sign`` signs what the file says, or shows what it added (issue 12): each default
filled in and each value re-written is listed on stderr and written into the signed file;
``--exact`` refuses to sign when there is any."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from tests.vectors.signing import DECISION
from tongxiu.entrypoints.cli import app
from tongxiu.events.envelope import Submission
from tongxiu.events.signing import verify
from tongxiu.services.demo import ENTERPRISE, demo_key

runner = CliRunner()


def _files(tmp_path: Path, body: dict[str, object]) -> tuple[Path, Path]:
    (tmp_path / "k.key").write_text(demo_key("samr-deqing").private_key)
    (tmp_path / "in.json").write_text(json.dumps(body, ensure_ascii=False), encoding="utf-8")
    return tmp_path / "in.json", tmp_path / "k.key"


def test_sign_lists_every_default_and_rewrite_and_writes_them(tmp_path: Path) -> None:
    body = {"submission_id": "s-1", "department": "samr-deqing", "stream": ENTERPRISE,
            "occurred_at": "2026-01-05T10:00:00+08:00", "events": [{**DECISION, "fine_yuan": 50000}]}
    src, key = _files(tmp_path, body)
    result = runner.invoke(app, ["sign", str(src), "--key", str(key), "--out", str(tmp_path / "out.json")])
    assert result.exit_code == 0, result.output
    err = result.stderr
    # the legal text the department never wrote is named, with its value
    assert "events[0].event.performance = \"罚款自收到本决定书之日起十五日内缴纳" in err
    assert "events[0].event.remedies = \"可依法申请行政复议或者提起行政诉讼\"" in err
    assert "events[0].event.schema_version = 1" in err
    assert 'occurred_at = "2026-01-05T02:00:00Z"  (the file says "2026-01-05T10:00:00+08:00")' in err
    assert 'events[0].event.fine_yuan = "50000"  (the file says 50000)' in err
    assert "events[0].event.decision_no" not in err  # written in the file as signed
    signed = Submission.model_validate_json((tmp_path / "out.json").read_text(encoding="utf-8"))
    written = json.loads((tmp_path / "out.json").read_text(encoding="utf-8"))["events"][0]["event"]
    assert written["performance"].startswith("罚款自收到") and written["fine_yuan"] == "50000"
    assert verify(demo_key("samr-deqing").public_key, signed.signed_bytes(0), signed.events[0].signature)
    # signing the signed file again changes nothing: it says everything it signs
    again = runner.invoke(app, ["sign", str(tmp_path / "out.json"), "--key", str(key), "--exact"])
    assert again.exit_code == 0, again.output
    assert again.stderr == ""
    assert json.loads(again.stdout) == written_file(tmp_path)


def written_file(tmp_path: Path) -> object:
    return json.loads((tmp_path / "out.json").read_text(encoding="utf-8"))


def test_sign_exact_refuses_a_file_that_leaves_a_default_out(tmp_path: Path) -> None:
    body = {"submission_id": "s-1", "department": "samr-deqing", "stream": ENTERPRISE,
            "occurred_at": "2026-01-05T02:00:00Z", "events": [DECISION]}
    src, key = _files(tmp_path, body)
    result = runner.invoke(app, ["sign", str(src), "--key", str(key), "--exact"])
    assert result.exit_code == 2
    assert "events[0].event.remedies" in result.stderr
    assert "--exact: nothing signed" in result.output
    assert "signature" not in result.stdout
