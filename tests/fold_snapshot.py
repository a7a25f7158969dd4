"""What the enterprise fold produces, as data: every stream's replayed state (its JSON dump,
and the Python type of every value in it) and the supervision tallies each event gave, for
the fixture ledger (``tests/fixtures/ledger-2026-12-01``) and the bench's workload.

``tests/fixtures/fold-snapshot.json.gz`` holds this snapshot as the code of ``main`` at a0cfee6
(before the fold stopped validating its own objects, session 10) produced it;
``tests/unit/test_fold_snapshot.py`` checks the current fold produces the same.

Regenerate (only on purpose, when the read models change by design):
``python -m tests.fold_snapshot tests/fixtures/fold-snapshot.json.gz``."""

from __future__ import annotations

import gzip
import json
import shutil
import sys
import tempfile
from datetime import UTC, timedelta
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from tests.fixture_ledger import LEDGER_KEY
from tongxiu.infra.bootstrap import open_embedded
from tongxiu.projections.fold import fold_enterprise
from tongxiu.projections.views import EnterpriseState
from tongxiu.services.app import Tongxiu
from tongxiu.services.audit import iter_envelopes
from tongxiu.services.config import Settings
from tongxiu.services.demo import START
from tongxiu.services.ports import ManualClock

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "ledger-2026-12-01" / "ledger.sqlite3"
SNAPSHOT = Path(__file__).resolve().parent / "fixtures" / "fold-snapshot.json.gz"
WORKLOAD_EVENTS = 480


def types_of(value: Any) -> Any:
    """The Python type of every value inside ``value`` (models by field, in field order)."""
    if isinstance(value, BaseModel):
        return {"__model__": type(value).__name__, **{k: types_of(v) for k, v in value.__dict__.items()}}
    if isinstance(value, dict):
        return {str(k): types_of(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [type(value).__name__, *[types_of(v) for v in value]]
    return type(value).__name__


def fold_of(app: Tongxiu, code: str) -> dict[str, Any]:
    """One stream folded from its first event: the state's dump, its types and the tallies."""
    state = EnterpriseState.empty(code)
    tallies = []
    for env in iter_envelopes(app.log, code):
        tallies.append([[t.department, t.month, t.counter, t.amount] for t in fold_enterprise(state, env, app.rules)])
    return {"state": state.model_dump(mode="json"), "types": types_of(state), "tallies": tallies}


def snapshot_of(app: Tongxiu) -> dict[str, Any]:
    return {code: fold_of(app, code) for code in sorted(app.log.streams()) if code != "registry"}


def fixture_snapshot(tmp: Path) -> dict[str, Any]:
    (tmp / "fixture").mkdir()
    shutil.copy(FIXTURE, tmp / "fixture" / "ledger.sqlite3")
    clock = ManualClock((START + timedelta(days=200)).astimezone(UTC))
    app = open_embedded(Settings(data_dir=tmp / "fixture"), clock=clock, key=LEDGER_KEY)
    try:
        return snapshot_of(app)
    finally:
        app.close()


def workload_snapshot(tmp: Path, events: int = WORKLOAD_EVENTS) -> dict[str, Any]:
    from bench.write_replay import build_workload, open_fresh, submit_all

    app, _clock = open_fresh(tmp, "workload")
    try:
        submit_all(app, build_workload(events).submissions)
        return snapshot_of(app)
    finally:
        app.close()


def snapshot(tmp: Path) -> dict[str, Any]:
    return {"fixture": fixture_snapshot(tmp), "workload": workload_snapshot(tmp)}


def main(argv: list[str]) -> int:
    with tempfile.TemporaryDirectory() as d:
        data = snapshot(Path(d))
    with gzip.open(argv[0], "wt", encoding="utf-8") as f:
        json.dump(data, f, ensure_ascii=False, sort_keys=True)
    print(argv[0], {k: len(v) for k, v in data.items()})
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
