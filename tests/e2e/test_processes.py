"""Several real OS processes on one embedded data directory: writers (each running the
processors after its submissions), the web service (``tongxiu serve``, queried throughout)
and many read-only ``tongxiu stats`` runs at the same time.
Afterwards the read models equal a rebuild from the log, the supervision figures count every
accepted decision once, and read-only commands never change the database file."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.support import T0
from tongxiu.infra.bootstrap import open_embedded
from tongxiu.infra.embedded import LocalTransport
from tongxiu.projections.keys import PROJECTION
from tongxiu.services.config import Settings
from tongxiu.services.demo import register_departments
from tongxiu.services.ports import ManualClock

ROOT = Path(__file__).resolve().parents[2]
TONGXIU = str(Path(sys.executable).with_name("tongxiu"))


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TONGXIU_")}
    env["PYTHONPATH"] = str(ROOT)
    return env


def _registered(data_dir: Path) -> None:
    app = open_embedded(Settings(data_dir=data_dir), clock=ManualClock(T0))
    try:
        register_departments(app, LocalTransport(app), ManualClock(T0))
    finally:
        app.close()


def _snapshot(data_dir: Path, *, rebuild: bool) -> dict[str, Any]:
    app = open_embedded(Settings(data_dir=data_dir))
    try:
        if rebuild:
            app.projections.reset(PROJECTION)
            app.process()
        store = app.projections
        return {k: store.load(PROJECTION, k) for k in store.keys(PROJECTION)}
    finally:
        app.close()


def _files(data_dir: Path) -> dict[str, str]:
    """The data folder's files and their digests. SQLite's WAL-mode coordination files a
    reader may create are left out when they hold nothing: an empty ``-wal`` (no frames
    written) and the ``-shm`` index."""
    out = {}
    for p in sorted(data_dir.iterdir()):
        if p.name.endswith("-shm") or (p.name.endswith("-wal") and p.stat().st_size == 0):
            continue
        out[p.name] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(data: Path, tmp_path: Path) -> tuple[subprocess.Popen[str], str]:
    """``tongxiu serve`` on the same data directory (the web service, itself a processor)."""
    tokens = tmp_path / "tokens.json"
    tokens.write_text(json.dumps({AUDITOR: {"role": "auditor"}}))
    tokens.chmod(0o600)
    port = _free_port()
    proc = subprocess.Popen([TONGXIU, "--data-dir", str(data), "serve", "--port", str(port), "--tokens", str(tokens)],
                            cwd=tmp_path, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    return proc, f"http://127.0.0.1:{port}"


def _get(url: str) -> Any:
    import urllib.request

    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {AUDITOR}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


AUDITOR = "auditor-token-processes-0000"


def test_writers_and_readers_in_parallel_give_the_rebuild(tmp_path: Path) -> None:
    import time
    import urllib.error

    data = tmp_path / "ledger"
    _registered(data)
    web, base = _serve(data, tmp_path)
    try:
        for _ in range(300):  # bounded wait for the service to listen
            try:
                _get(base + "/health")
                break
            except (urllib.error.URLError, ConnectionError):
                assert web.poll() is None, web.stderr.read() if web.stderr else ""
                time.sleep(0.1)
        _run_writers_and_readers(data, tmp_path, base)
    finally:
        web.terminate()
        web.wait(timeout=30)


def _run_writers_and_readers(data: Path, tmp_path: Path, base: str) -> None:
    writers = [
        subprocess.Popen([sys.executable, "-m", "tests.procs", str(data), name, "12"], cwd=ROOT, env=_env(),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for name in ("WA", "WB", "WC")
    ]
    stats_runs = 0
    outputs: list[dict[str, Any]] = []
    while stats_runs < 60:  # 60 read-only runs, at most 6 at a time, while the writers work
        wave = [
            subprocess.Popen([TONGXIU, "--data-dir", str(data), "stats", "--json"], cwd=tmp_path, env=_env(),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for _ in range(6)
        ]
        for p in wave:
            out, err = p.communicate(timeout=120)
            assert p.returncode == 0, err
            outputs.append(json.loads(out))
        stats_runs += len(wave)
        web_figures = _get(base + "/api/departments/samr-deqing/supervision")
        assert web_figures["penalties"] <= 36
    accepted = 0
    for w in writers:
        out, err = w.communicate(timeout=300)
        assert w.returncode == 0, err
        accepted += int(out.strip().splitlines()[-1])
    assert accepted == 36
    assert len(outputs) == 60
    # every reader saw a consistent count: never more penalties than decisions accepted
    assert all(o["supervision"]["samr-deqing"]["penalties"] <= accepted for o in outputs if o["supervision"])

    incremental = _snapshot(data, rebuild=False)
    rebuilt = _snapshot(data, rebuild=True)
    assert incremental == rebuilt
    months = incremental["supervision:samr-deqing"]["months"]
    assert sum(m["penalties"] for m in months.values()) == 36
    assert sum(m["served_with_notice"] for m in months.values()) == 36
    assert _get(base + "/api/departments/samr-deqing/supervision")["penalties"] == 36  # the web service agrees


def test_read_only_commands_leave_the_database_file_unchanged(tmp_path: Path) -> None:
    data = tmp_path / "ledger"
    _registered(data)
    subprocess.run([sys.executable, "-m", "tests.procs", str(data), "WR", "4"], cwd=ROOT, env=_env(), check=True,
                   capture_output=True)
    before = _files(data)
    assert "ledger.sqlite3" in before
    code = json.loads(subprocess.run([TONGXIU, "--data-dir", str(data), "stats", "--json"], env=_env(),
                                     capture_output=True, text=True, check=True).stdout)
    assert code["ledger"]["events"] > 0
    from tests.support import CODE

    for args in (["stats"], ["credit", CODE], ["rectification", CODE], ["sync", CODE], ["replay", CODE, "--json"],
                 ["verify", "--all"], ["export", CODE], ["rejections"]):
        run = subprocess.run([TONGXIU, "--data-dir", str(data), *args], env=_env(), capture_output=True, text=True)
        assert run.returncode == 0, (args, run.stdout, run.stderr)
        assert _files(data) == before, args
        if args[0] == "replay":  # streamed out event by event, still one JSON document
            replayed = json.loads(run.stdout)
            assert [e["seq"] for e in replayed["events"]] == list(range(1, len(replayed["events"]) + 1))
            assert len(replayed["events"]) > 0 and replayed["credit"]["records"]
