"""The fold builds its records without validating them (session 10, issue 11): it must still
produce what the validating fold of ``main`` at a0cfee6 produced — the same state (every field,
and the same Python type for every value: a ``Decimal`` stays a ``Decimal``, a date a date)
and the same supervision tallies, event by event — on the fixture ledger and on the bench's
workload (``tests/fold_snapshot.py`` says how the snapshot was made)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest

from tests.fold_snapshot import SNAPSHOT, fixture_snapshot, workload_snapshot


@pytest.fixture(scope="module")
def recorded() -> dict[str, Any]:
    with gzip.open(SNAPSHOT, "rt", encoding="utf-8") as f:
        data: dict[str, Any] = json.load(f)
    return data


def _same(now: dict[str, Any], then: dict[str, Any]) -> None:
    assert sorted(now) == sorted(then)
    for code in then:
        # round-trip through JSON: the recorded side was read from JSON (tuples became lists)
        got = json.loads(json.dumps(now[code], ensure_ascii=False))
        for part in ("tallies", "state", "types"):
            assert got[part] == then[code][part], (code, part)


def test_the_fixture_ledger_folds_to_the_recorded_states(tmp_path: Path, recorded: dict[str, Any]) -> None:
    assert len(recorded["fixture"]) == 6
    _same(fixture_snapshot(tmp_path), recorded["fixture"])


def test_the_bench_workload_folds_to_the_recorded_states(tmp_path: Path, recorded: dict[str, Any]) -> None:
    assert len(recorded["workload"]) == 24
    _same(workload_snapshot(tmp_path), recorded["workload"])


def test_replays_fold_without_tallies_to_the_recorded_states(tmp_path: Path, recorded: dict[str, Any]) -> None:
    """``replay`` and ``verify_and_replay`` fold with ``tally=False`` (no supervision tallies
    made, as they keep none): the states are still the recorded ones, and no tally comes back."""
    import shutil
    from datetime import UTC, timedelta

    from tests.fixture_ledger import LEDGER_KEY
    from tests.fold_snapshot import FIXTURE, types_of
    from tongxiu.infra.bootstrap import open_embedded
    from tongxiu.projections.fold import fold_enterprise
    from tongxiu.projections.views import EnterpriseState
    from tongxiu.services.audit import Replay, iter_envelopes, replay, verify_and_replay
    from tongxiu.services.config import Settings
    from tongxiu.services.demo import START
    from tongxiu.services.ports import ManualClock

    (tmp_path / "fixture").mkdir()
    shutil.copy(FIXTURE, tmp_path / "fixture" / "ledger.sqlite3")
    app = open_embedded(Settings(data_dir=tmp_path / "fixture"),
                        clock=ManualClock((START + timedelta(days=200)).astimezone(UTC)), key=LEDGER_KEY)
    try:
        verified: dict[str, Replay] = {}
        assert verify_and_replay(app.log, app.rules, each=lambda r: verified.setdefault(r.enterprise, r)).ok
        then = recorded["fixture"]
        assert sorted(verified) == sorted(then)
        for code in then:
            for state in (replay(app.log, app.rules, code).state, verified[code].state):
                assert json.loads(json.dumps(state.model_dump(mode="json"), ensure_ascii=False)) == then[code]["state"]
                assert json.loads(json.dumps(types_of(state))) == then[code]["types"]
            untallied = EnterpriseState.empty(code)
            assert all(fold_enterprise(untallied, env, app.rules, tally=False) == [] for env in iter_envelopes(app.log, code))
        assert any(any(t) for code in then for t in then[code]["tallies"])  # the ledger does have tallies
    finally:
        app.close()
