"""Issue 7 on the Cassandra ledger: the scenarios where storage is involved (rejections
recorded, streams not opened, registry facts, deliveries, supervision tallies) behave as on the
embedded ledger (``tests/unit/test_ledger_decides.py`` runs them all there)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import drop_keyspace
from tests.integration.test_cassandra_ledger import open_cassandra
from tests.ledger_decides import (
    d1_tax_cannot_choose_a_market_regulation_rule_set,
    d2_samr_45_criticism_is_refused_not_granted,
    d3_backfill_is_explicit_and_marked,
    d3_deadlines_run_from_receipt_and_late_facts_are_counted,
    d3_future_facts_are_rejected,
    d9_not_accepted_closes_the_application,
    d9_one_window_forwards_and_the_deadline_runs_from_receipt,
    d13_samr_no_same_kind_penalty_since,
    d13_samr_repair_waits_until_off_the_lists,
    d14_replacing_decision_must_be_on_the_ledger,
    d16_applied_false_is_not_synced,
    d19_first_violation_is_answered_and_enforced,
    legacy_code_needs_the_operators_registration,
    policy_file,
)
from tests.support import World, make_world
from tongxiu.events.signing import KeyPair
from tongxiu.services.config import Settings
from tongxiu.services.demo import START
from tongxiu.services.ports import ManualClock

pytestmark = pytest.mark.integration

SCENARIOS = [
    d1_tax_cannot_choose_a_market_regulation_rule_set,
    d2_samr_45_criticism_is_refused_not_granted,
    d3_future_facts_are_rejected,
    d3_deadlines_run_from_receipt_and_late_facts_are_counted,
    d3_backfill_is_explicit_and_marked,
    d9_one_window_forwards_and_the_deadline_runs_from_receipt,
    d9_not_accepted_closes_the_application,
    d13_samr_no_same_kind_penalty_since,
    d13_samr_repair_waits_until_off_the_lists,
    d14_replacing_decision_must_be_on_the_ledger,
    d16_applied_false_is_not_synced,
    d19_first_violation_is_answered_and_enforced,
    legacy_code_needs_the_operators_registration,
]

WITHOUT_REJECTIONS = {d3_deadlines_run_from_receipt_and_late_facts_are_counted, d16_applied_false_is_not_synced}


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.__name__ for s in SCENARIOS])
def test_scenario_on_cassandra(
    cassandra_session: Any, fresh_keyspace: Callable[..., Settings], scenario: Callable[[World], None],
    tmp_path: Path,
) -> None:
    clock = ManualClock(START)
    settings = fresh_keyspace("tongxiu_test_rules")
    policy = policy_file(scenario, tmp_path)
    if policy is not None:
        settings = settings.model_copy(update={"policy_file": policy})
    app = open_cassandra(cassandra_session, settings, clock, KeyPair.generate())
    try:
        world = make_world(app, clock)
        scenario(world)
        # the rejections a scenario met are recorded in Cassandra with their reasons
        rejected = app.list_rejections(limit=1000)
        assert bool(rejected) == (scenario not in WITHOUT_REJECTIONS)
        assert all(r.receipt.reasons for r in rejected)
    finally:
        app.close()
        drop_keyspace(settings)
