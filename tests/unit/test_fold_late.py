"""Whether a fact was recorded late is worked out, in a replay (``tally=False``), only when a
decision asks (``FoldStep.late``): a replay's states are those the tallying fold gives, for
decisions recorded on time, just late, just not late (China days, not UTC ones), backfilled
and the ledger's own, and the tallying fold still counts the late ones."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.unit.test_audit_one_pass import fixture_app
from tongxiu.events.envelope import Envelope
from tongxiu.events.models import LEDGER_DEPARTMENT, PenaltyDecided
from tongxiu.projections.fold import BACKFILL_PREFIX, fold_enterprise, is_late
from tongxiu.projections.views import EnterpriseState

OCCURRED = datetime(2026, 3, 1, 15, 30, tzinfo=UTC)  # 23:30 in China


def _decision(tmp: Path) -> tuple[Envelope, object]:
    app = fixture_app(tmp)
    try:
        for stream in app.log.streams():
            for stored in app.log.read_stream(stream):
                if isinstance(stored.envelope.event, PenaltyDecided):
                    return stored.envelope, app.rules
    finally:
        app.close()
    raise AssertionError("the fixture has a penalty decision")


@pytest.mark.parametrize(("recorded", "department", "backfill", "late"), [
    (OCCURRED + timedelta(hours=1), None, False, False),
    (OCCURRED + timedelta(days=7, minutes=29), None, False, False),  # 7 China days on: 23:59
    (OCCURRED + timedelta(days=7, minutes=31), None, False, True),  # 8 China days on: 00:01
    (OCCURRED + timedelta(days=30), None, True, False),  # backfilled
    (OCCURRED + timedelta(days=30), LEDGER_DEPARTMENT, False, False),  # the ledger's own
    (OCCURRED + timedelta(days=30), None, False, True),
])
def test_a_replay_marks_late_decisions_as_the_tallying_fold_does(
    tmp_path: Path, recorded: datetime, department: str | None, backfill: bool, late: bool,
) -> None:
    env, rules = _decision(tmp_path)
    env = env.model_copy(update={
        "occurred_at": OCCURRED, "recorded_at": recorded, "department": department or env.department,
        "submission_id": (BACKFILL_PREFIX if backfill else "") + env.submission_id,
    })
    assert is_late(env) is late
    tallied, replayed = EnterpriseState.empty(env.stream), EnterpriseState.empty(env.stream)
    tallies = fold_enterprise(tallied, env, rules)  # type: ignore[arg-type]
    assert fold_enterprise(replayed, env, rules, tally=False) == []  # type: ignore[arg-type]
    assert replayed.model_dump_json() == tallied.model_dump_json()
    assert replayed.credit.records[env.event.decision_no].recorded_late is late  # type: ignore[union-attr]
    assert ("facts_recorded_late" in {t.counter for t in tallies}) is late
