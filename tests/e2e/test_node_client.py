"""A client in another language (issue 12): ``clients/node/tongxiu-client.mjs``, written from
docs/signing.md with Node.js's built-in crypto only, re-derives every test vector, then
builds, signs and submits a 三书同达 bundle over HTTP to a ledger started here, checks the
receipt, the resend (duplicate) and the conflict rule, reads the events back and verifies
their signatures and hashes. If the specification and the code part, this fails.

Node.js is required (CI and `make test` machines have it): without ``node`` on PATH the test
fails saying so, it is not skipped."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from tests.live_server import AUDITOR, SAMR, live_ledger
from tongxiu.services.audit import verify_streams
from tongxiu.services.demo import ENTERPRISE, demo_key

REPO = Path(__file__).resolve().parents[2]
CLIENT = REPO / "clients" / "node" / "tongxiu-client.mjs"


def _node() -> str:
    node = shutil.which("node")
    assert node, ("Node.js is needed for the other-language client test (tests/e2e/test_node_client.py): "
                  "install Node.js 18 or newer (`apt-get install nodejs`) so `node` is on PATH")
    version = subprocess.run([node, "--version"], capture_output=True, text=True, check=True).stdout.strip()
    assert int(version.lstrip("v").split(".")[0]) >= 18, f"Node.js {version}: 18 or newer is needed"
    return node


def test_the_node_client_reproduces_every_signing_vector() -> None:
    out = subprocess.run([_node(), str(CLIENT), "vectors", str(REPO / "tests" / "vectors" / "signing.json"),
                          str(REPO / "docs" / "schemas")], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == {"vectors": 3, "events": 5}


def test_the_node_client_submits_a_bundle_the_ledger_accepts_and_verifies_it(tmp_path: Path) -> None:
    node = _node()
    with live_ledger(tmp_path) as live:
        config = {"url": live.url, "department_token": SAMR, "auditor_token": AUDITOR, "department": "samr-deqing",
                  "private_key": demo_key("samr-deqing").private_key, "stream": ENTERPRISE,
                  "submission_id": "node-bundle-1", "schemas_dir": str(REPO / "docs" / "schemas")}
        out = subprocess.run([node, str(CLIENT), "bundle", json.dumps(config, ensure_ascii=False)],
                             capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        result = json.loads(out.stdout)
        stored = live.app.log.read_stream(ENTERPRISE)
        assert [s.envelope.type for s in stored] == [
            "penalty_decided", "compliance_advice_issued", "credit_repair_notice_issued"]
        assert [v["hash"] for v in result["verified"]] == [s.envelope.hash for s in stored]
        assert result["conflict"] == "submission_id_conflict"
        # the defaults the Node client filled in from the schemas are what the ledger stored
        assert stored[0].envelope.event.remedies == "可依法申请行政复议或者提起行政诉讼"  # type: ignore[union-attr]
        assert verify_streams(live.app.log, [ENTERPRISE]).ok
