"""Repair propagation to S subscribing departments and their acknowledgements, embedded backend,
through the documented SDK only (Producer / Consumer / LocalTransport / LocalInbox), processors
in-process after every submission (as in production). Adapted from the review's
``perf-scripts/propagation_bench.py``.

    python -m bench.propagation [--repeats 200] [--subscribers 20]

1 + S departments are registered and every one subscribes to Zhejiang ("33"); the decider
(samr-deqing) is not its own subscriber, so a grant propagates to S subscribers. For each of R
enterprises (set up beforehand, untimed: 三书同达, fine paid, rectification evidence and joint
verification, repair applied), the timed part is

    t0  samr.publish(RepairGranted)                      (one submission; processors run)
    t1  every subscriber's inbox holds the delivery (read via LocalInbox)
    t2  every subscriber has read its inbox and acknowledged (S submissions), all ACCEPTED,
        and no inbox still holds the delivery

Used by ``bench.table`` (row f).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, date, timedelta
from decimal import Decimal
from pathlib import Path

from tongxiu.events.models import (
    REGISTRY_STREAM,
    DepartmentRegistered,
    PenaltyFulfilled,
    RectificationEvidenceSubmitted,
    RectificationVerified,
    RepairApplied,
    RepairGranted,
    SubscriptionAdded,
)
from tongxiu.infra.bootstrap import open_embedded
from tongxiu.infra.embedded import LocalInbox, LocalTransport
from tongxiu.services.config import Settings
from tongxiu.services.demo import DEPARTMENTS, START, demo_decision_and_advice, demo_key, make_uscc
from tongxiu.services.ports import ManualClock
from tongxiu.services.sdk import Consumer, Producer


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, max(0, int(round(p / 100 * len(s))) - 1))]


@dataclass
class Propagation:
    grant_ms: list[float] = field(default_factory=list)
    visible_ms: list[float] = field(default_factory=list)
    acked_ms: list[float] = field(default_factory=list)
    cpu_ms: list[float] = field(default_factory=list)


def run(data_dir: Path, *, repeats: int = 200, subscribers: int = 20, sync: str = "FULL") -> Propagation:
    depts = [(d[0], d[1], d[2], d[3], d[4]) for d in DEPARTMENTS]
    domains = ["tax", "ecology", "emergency", "market_regulation", "housing", "transport", "labour", "health"]
    for i in range(subscribers + 1 - len(depts)):
        depts.append((f"dept-{i:02d}", f"部门{i:02d}", "department", domains[i % len(domains)], "330521"))
    clock = ManualClock(START.astimezone(UTC))
    app = open_embedded(Settings(data_dir=data_dir, sqlite_synchronous=sync), clock=clock)  # type: ignore[arg-type]
    transport, inbox = LocalTransport(app), LocalInbox(app)
    producers = {dd[0]: Producer(transport, dd[0], demo_key(dd[0]), rules=app.rules) for dd in depts}
    for dept_id, name, kind, domain, area in depts:
        r = app.ledger.emit(REGISTRY_STREAM, [DepartmentRegistered(
            department_id=dept_id, name=name, kind=kind, domain=domain, jurisdiction=area,  # type: ignore[arg-type]
            public_key=demo_key(dept_id).public_key)], submission_id=f"register:{dept_id}")
        assert r.accepted, r.reasons
    for dept_id, *_ in depts:
        r = producers[dept_id].publish(REGISTRY_STREAM, [SubscriptionAdded(jurisdictions=["33"])],
                                       submission_id=f"subscribe:{dept_id}", occurred_at=clock.now())
        assert r.accepted, r.reasons
    app.process()
    samr, platform = producers["samr-deqing"], producers["creditchina"]
    subs = app.registry().subscribers_for(make_uscc("91", "330521", "00000000"), "samr-deqing")
    assert len(subs) == subscribers, subs
    consumers = {s: Consumer(inbox, producers[s]) for s in subs}

    # ---- setup, untimed: R enterprises ready for a grant
    base_decision, base_advice = demo_decision_and_advice()
    codes, decisions = [], []
    for i in range(repeats):
        code = make_uscc("91", "330521", f"{20_000_000 + i:08d}")
        decision = base_decision.model_copy(update={"decision_no": f"德市监处罚〔2026〕P{i}号"})
        advice = base_advice.model_copy(update={"advice_no": f"德市监合规〔2026〕P{i}号",
                                                "decision_no": decision.decision_no})
        clock.set((START + timedelta(hours=1)).astimezone(UTC))
        assert samr.serve(code, decision, advice, submission_id=f"serve-{i}", occurred_at=clock.now()).accepted
        clock.set((START + timedelta(days=10)).astimezone(UTC))
        assert samr.publish(code, [PenaltyFulfilled(decision_no=decision.decision_no, amount_paid_yuan=Decimal("62000"),
                                                    fulfilled_on=date(2026, 1, 15))],
                            submission_id=f"paid-{i}", occurred_at=clock.now()).accepted
        for item in ("1", "2"):
            assert platform.publish(code, [RectificationEvidenceSubmitted(advice_no=advice.advice_no, item_id=item,
                                                                          evidence="材料")],
                                    submission_id=f"evidence-{i}-{item}", occurred_at=clock.now()).accepted
        clock.set((START + timedelta(days=20)).astimezone(UTC))
        for dept, item in (("samr-deqing", "1"), ("eco-huzhou", "2"), ("ema-deqing", "2"), ("samr-deqing", "2")):
            r = producers[dept].publish(code, [RectificationVerified(advice_no=advice.advice_no, item_id=item,
                                                                     note="现场核查通过")],
                                        submission_id=f"verify-{i}-{dept}-{item}", occurred_at=clock.now())
            assert r.accepted, r.reasons
        codes.append(code)
        decisions.append(decision.decision_no)
    clock.set((START + timedelta(days=95)).astimezone(UTC))
    for i, (code, dno) in enumerate(zip(codes, decisions, strict=True)):
        r = platform.publish(code, [RepairApplied(decision_no=dno, credit_commitment="本企业承诺依法诚信经营",
                                                  applied_on=clock.now().date())],
                             submission_id=f"apply-{i}", occurred_at=clock.now())
        assert r.accepted, r.reasons

    # ---- timed: grant -> S deliveries visible -> S acks recorded
    clock.set((START + timedelta(days=96)).astimezone(UTC))
    out = Propagation()
    for i, (code, dno) in enumerate(zip(codes, decisions, strict=True)):
        c0 = time.process_time()
        t0 = time.perf_counter()
        r = samr.publish(code, [RepairGranted(decision_no=dno, note="准予修复")], submission_id=f"grant-{i}",
                         occurred_at=clock.now())
        tg = time.perf_counter()
        assert r.accepted, r.reasons
        source = r.events[0].event_id
        for s in subs:
            mine = [x for x in consumers[s].inbox() if x["stream"] == code and x["source_event_id"] == source]
            assert len(mine) == 1, (s, mine)
        t1 = time.perf_counter()
        for s in subs:
            for delivery in consumers[s].inbox():
                if delivery["source_event_id"] == source:
                    ack = consumers[s].acknowledge(delivery, occurred_at=clock.now())
                    assert ack.accepted, ack.reasons
        t2 = time.perf_counter()
        out.cpu_ms.append((time.process_time() - c0) * 1000)
        assert all(x["source_event_id"] != source for s in subs for x in app.inbox(s))
        out.grant_ms.append((tg - t0) * 1000)
        out.visible_ms.append((t1 - t0) * 1000)
        out.acked_ms.append((t2 - t0) * 1000)
    app.close()
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=200)
    ap.add_argument("--subscribers", type=int, default=20)
    ap.add_argument("--sync", default="FULL", choices=["FULL", "NORMAL"])
    a = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="tx-prop-") as d:
        res = run(Path(d) / "data", repeats=a.repeats, subscribers=a.subscribers, sync=a.sync)
    print(f"propagation: {a.repeats} repairs x {a.subscribers} subscribers, embedded, synchronous={a.sync}")
    print(f"  {'(wall ms)':<42} {'p50':>8} {'p90':>8} {'p99':>8} {'max':>8} {'mean':>8}")
    for label, vals in (("grant submit returns (incl. processors)", res.grant_ms),
                        ("grant -> all deliveries visible", res.visible_ms),
                        ("grant -> all acknowledgements recorded", res.acked_ms),
                        ("CPU ms per repeat", res.cpu_ms)):
        print(f"  {label:<42} {pct(vals, 50):>8.1f} {pct(vals, 90):>8.1f} {pct(vals, 99):>8.1f} {max(vals):>8.1f}"
              f" {statistics.mean(vals):>8.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
