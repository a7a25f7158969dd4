"""Property tests: any sequence of submissions folds to the same state incrementally and from
a rebuild, and resubmitting any submission changes nothing."""

from __future__ import annotations

import tempfile
from decimal import Decimal
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support import CODE, OTHER, T0, World, decision
from tongxiu.events.models import (
    DecisionWithdrawn,
    DeliveryAcknowledged,
    RectificationEvidenceSubmitted,
    RectificationRejected,
    RectificationVerified,
    RepairGranted,
    RepairRefused,
    RepairRevoked,
)
from tongxiu.infra.bootstrap import open_embedded
from tongxiu.infra.embedded import LocalTransport
from tongxiu.projections.keys import PROJECTION
from tongxiu.services import scheduler
from tongxiu.services.config import Settings
from tongxiu.services.demo import register_departments
from tongxiu.services.ports import ManualClock

ACTIONS = [
    "serve", "decide_bare", "pay", "evidence", "verify", "verify_eco", "reject", "wait", "apply", "grant",
    "refuse", "withdraw", "revoke", "ack", "tick",
]


def _do(w: World, action: str, n: int, submissions: list[tuple[str, list[Any], str, str]]) -> None:
    no = f"D{n}"
    stream = CODE if n % 2 else OTHER

    def send(dept: str, events: list[Any]) -> None:
        sid = f"s{len(submissions)}"
        submissions.append((dept, events, stream, sid))
        w.p[dept].publish(stream, events, submission_id=sid, occurred_at=w.clock.now())

    if action == "serve":
        from tests.support import advice

        d = decision(no)
        notice = w.p["samr-deqing"].notice_for(stream, d, f"N{n}")
        send("samr-deqing", [d, advice(f"A-{no}", no, ("samr-deqing", "eco-huzhou")), notice])
    elif action == "decide_bare":
        send("eco-huzhou", [decision(f"E{n}", rule_set="gbf-2025-22", authority="生态环境局")])
    elif action == "pay":
        from tongxiu.events.models import PenaltyFulfilled

        send("samr-deqing", [PenaltyFulfilled(decision_no=no, amount_paid_yuan=Decimal("50000"),
                                              fulfilled_on=w.clock.now().date())])
    elif action == "evidence":
        send("creditchina", [RectificationEvidenceSubmitted(advice_no=f"A-{no}", item_id="1", evidence="证据")])
    elif action == "verify":
        send("samr-deqing", [RectificationVerified(advice_no=f"A-{no}", item_id="1")])
    elif action == "verify_eco":
        send("eco-huzhou", [RectificationVerified(advice_no=f"A-{no}", item_id="1")])
    elif action == "reject":
        send("eco-huzhou", [RectificationRejected(advice_no=f"A-{no}", item_id="1", reason="不合格")])
    elif action == "wait":
        w.clock.advance(days=17 * (n + 1))
    elif action == "apply":
        from tongxiu.events.models import RepairApplied

        send("creditchina", [RepairApplied(decision_no=no, credit_commitment="承诺", applied_on=w.clock.now().date())])
    elif action == "grant":
        send("samr-deqing", [RepairGranted(decision_no=no)])
    elif action == "refuse":
        send("samr-deqing", [RepairRefused(decision_no=no, reason="材料不全")])
    elif action == "withdraw":
        send("samr-deqing", [DecisionWithdrawn(decision_no=no, reason="复议撤销")])
    elif action == "revoke":
        send("samr-deqing", [RepairRevoked(decision_no=no, reason="虚假材料")])
    elif action == "ack":
        for dept in ("tax-deqing", "eco-huzhou"):
            for delivery in w.app.inbox(dept)[:1]:
                send(dept, [DeliveryAcknowledged(source_event_id=delivery["source_event_id"])])
    elif action == "tick":
        scheduler.tick(w.app)


def _snapshot(w: World) -> dict[str, Any]:
    store = w.app.projections
    return {k: store.load(PROJECTION, k) for k in store.keys(PROJECTION)}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(ACTIONS), st.integers(0, 2)), min_size=1, max_size=30))
def test_incremental_equals_rebuild_and_resubmission_changes_nothing(steps: list[tuple[str, int]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        clock = ManualClock(T0)
        app = open_embedded(Settings(data_dir=Path(tmp)), clock=clock)
        try:
            w = World(app, clock, register_departments(app, LocalTransport(app), clock))
            submissions: list[tuple[str, list[Any], str, str]] = []
            for action, n in steps:
                _do(w, action, n, submissions)
            incremental = _snapshot(w)

            # the write model (folded on the write path) agrees with the read model
            for code in (CODE, OTHER):
                assert app.ledger.enterprise(code).model_dump(mode="json") == app.enterprise_state(code).model_dump(
                    mode="json"
                )
                assert app.ledger.enterprise(code, fresh=True).model_dump(mode="json") == app.enterprise_state(
                    code
                ).model_dump(mode="json")

            # rebuild from the log in one pass
            app.projections.reset(PROJECTION)
            app.process()
            assert _snapshot(w) == incremental

            # resubmit everything: nothing changes
            counts = {s: app.log.last_seq(s) for s in app.log.streams()}
            rejections = len(app.list_rejections(limit=100_000))
            clock.advance(days=1)
            for dept, events, stream, sid in submissions:
                receipt = w.p[dept].publish(stream, events, submission_id=sid, occurred_at=clock.now())
                assert receipt.duplicate
            assert {s: app.log.last_seq(s) for s in app.log.streams()} == counts
            assert len(app.list_rejections(limit=100_000)) == rejections
            assert _snapshot(w) == incremental
        finally:
            app.close()

