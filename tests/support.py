"""Shared helpers for tests that drive the ledger as departments would."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from tongxiu.events.envelope import Receipt
from tongxiu.events.models import (
    AdviceItem,
    ComplianceAdviceIssued,
    PenaltyDecided,
    PenaltyFulfilled,
    RectificationEvidenceSubmitted,
    RectificationVerified,
    RepairApplied,
    RepairGranted,
)
from tongxiu.infra.embedded import LocalTransport
from tongxiu.projections.fold import CHINA, china_day
from tongxiu.projections.rules import PolicyBook
from tongxiu.services.app import Tongxiu
from tongxiu.services.demo import make_uscc, register_departments
from tongxiu.services.ports import ManualClock
from tongxiu.services.sdk import Producer

CODE = make_uscc("91", "330521", "MA2D7K3X")
OTHER = make_uscc("91", "330521", "MA2D7K4Y")
T0 = datetime(2026, 1, 5, 9, 0, tzinfo=CHINA)


def decision(no: str = "D1", **kw: Any) -> PenaltyDecided:
    base: dict[str, Any] = dict(
        decision_no=no,
        party_name="某公司",
        address="某地",
        legal_representative="张某",
        facts="事实",
        legal_basis="依据",
        penalty_types=["罚款"],
        fine_yuan=Decimal("50000"),
        authority="德清县市场监督管理局",
        decision_date=date(2026, 1, 5),
        procedure="ordinary",
        rule_set="samr-order-107",
    )
    base.update(kw)
    return PenaltyDecided(**base)


def advice(
    no: str = "A1", decision_no: str = "D1", owners: tuple[str, ...] = ("samr-deqing",), *, binding: bool = False
) -> ComplianceAdviceIssued:
    return ComplianceAdviceIssued(
        advice_no=no,
        decision_no=decision_no,
        items=[
            AdviceItem(
                item_id="1",
                requirement="整改",
                deadline=date(2026, 2, 1),
                lead_department=owners[0],
                participating_departments=list(owners[1:]),
                binding=binding,
            )
        ],
    )


@dataclass
class World:
    app: Tongxiu
    clock: ManualClock
    p: dict[str, Producer]

    def at(self, days: float) -> datetime:
        self.clock.set(T0 + timedelta(days=days))
        return self.clock.now()

    def send(self, dept: str, events: list[Any], *, stream: str = CODE, sid: str | None = None) -> Receipt:
        return self.p[dept].publish(stream, events, submission_id=sid, occurred_at=self.clock.now())

    def serve(self, no: str = "D1", *, with_advice: bool = True, binding: bool = False, **kw: Any) -> Receipt:
        d = decision(no, **kw)
        a = advice(f"A-{no}", no, binding=binding) if with_advice else None
        return self.p["samr-deqing"].serve(CODE, d, a, occurred_at=self.clock.now())

    def close_items(self, no: str = "D1") -> None:
        self.send("creditchina", [RectificationEvidenceSubmitted(advice_no=f"A-{no}", item_id="1", evidence="证明")])
        self.send("samr-deqing", [RectificationVerified(advice_no=f"A-{no}", item_id="1")])

    def pay(self, no: str = "D1", amount: str = "50000") -> Receipt:
        return self.send(
            "samr-deqing",
            [PenaltyFulfilled(decision_no=no, amount_paid_yuan=Decimal(amount), fulfilled_on=china_day(self.clock.now()))],
        )

    def apply(self, no: str = "D1") -> Receipt:
        return self.send(
            "creditchina", [RepairApplied(decision_no=no, credit_commitment="承诺", applied_on=china_day(self.clock.now()))]
        )

    def granted(self, no: str = "D1") -> Receipt:
        self.pay(no)
        self.close_items(no)
        self.at(100)
        assert self.apply(no).accepted
        receipt = self.send("samr-deqing", [RepairGranted(decision_no=no)])
        assert receipt.accepted, receipt.reasons
        return receipt


def make_world(app: Tongxiu, clock: ManualClock) -> World:
    clock.set(T0)
    return World(app, clock, register_departments(app, LocalTransport(app), clock))


@contextlib.contextmanager
def world_with_policy(folder: Path, clock: ManualClock, book: PolicyBook) -> Iterator[World]:
    """A fresh embedded world whose ledger is opened with ``book`` as its policy file (the
    rules are configuration: never changed on a built app)."""
    from tongxiu.infra.bootstrap import open_embedded
    from tongxiu.services.config import Settings

    folder.mkdir(parents=True, exist_ok=True)
    policy = folder / "policy.json"
    policy.write_text(book.model_dump_json())
    app = open_embedded(Settings(data_dir=folder / "ledger", policy_file=policy), clock=clock)
    try:
        yield make_world(app, clock)
    finally:
        app.close()
