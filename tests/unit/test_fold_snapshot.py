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
