"""The due-date index of ``tongxiu tick`` (``tongxiu.projections.due``): ``next_due`` agrees with
``due_facts`` on every state the demo's streams pass through, and a tick that reads the index
folds only the streams it lists and emits exactly what the old full scan emits."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.integration.pipeline import enterprise_codes
from tests.support import decision
from tongxiu.events.models import REGISTRY_STREAM
from tongxiu.infra.bootstrap import open_embedded
from tongxiu.infra.embedded import LocalInbox, LocalTransport
from tongxiu.projections.due import DUE_DAYS, due_key, next_due
from tongxiu.projections.fold import china_day, fold_enterprise
from tongxiu.projections.keys import PROJECTION, enterprise_key
from tongxiu.projections.views import EnterpriseState
from tongxiu.services import scheduler
from tongxiu.services.app import Tongxiu
from tongxiu.services.config import Settings
from tongxiu.services.demo import START, demo_key, run_demo
from tongxiu.services.ports import ManualClock
from tongxiu.services.sdk import Producer

END: list[datetime] = []


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The demo, then a penalty with its notice on each of 6 more enterprises, 40 days apart
    (so that on any day some streams are due and some are not)."""
    folder = tmp_path_factory.mktemp("demo")
    clock = ManualClock(START)
    app = open_embedded(Settings(data_dir=folder, ledger_key_file=folder.parent / "ledger.key"), clock=clock)
    transport = LocalTransport(app)
    run_demo(app, clock, transport=transport, inbox=LocalInbox(app),
             say=lambda _: None)
    samr = Producer(transport, "samr-deqing", demo_key("samr-deqing"), rules=app.rules)
    start = clock.now()
    for i, code in enumerate(enterprise_codes(6, tag="MD")):
        clock.set(start + timedelta(days=40 * i))
        d = decision(f"德市监处罚〔2026〕{300 + i}号", decision_date=china_day(clock.now()))
        r = samr.publish(code, [d, samr.notice_for(code, d, f"{d.decision_no}-告知")],
                         occurred_at=clock.now(), submission_id=f"due-{i}")
        assert r.accepted, r.reasons
    END[:] = [clock.now()]
    app.process()
    app.close()
    yield folder


def copy_of(demo_dir: Path, tmp: Path, name: str, days: int) -> Tongxiu:
    target = tmp / name
    shutil.copytree(demo_dir, target)
    return open_embedded(Settings(data_dir=target, ledger_key_file=demo_dir.parent / "ledger.key"),
                         clock=ManualClock(END[0] + timedelta(days=days)))


def test_next_due_agrees_with_due_facts_on_every_state(demo_dir: Path, tmp_path: Path) -> None:
    app = copy_of(demo_dir, tmp_path, "states", 0)
    try:
        checked = dated = 0
        for stream in app.log.streams():
            if stream == REGISTRY_STREAM:
                continue
            state = EnterpriseState.empty(stream)
            for stored in app.log.read_stream(stream):
                fold_enterprise(state, stored.envelope, app.rules)
                day = next_due(state)
                checked += 1
                if day is None:
                    assert scheduler.due_facts(state, "2099-12-31") == [], (stream, stored.envelope.seq)
                    continue
                dated += 1
                assert scheduler.due_facts(state, (day - timedelta(days=1)).isoformat()) == [], (stream, day)
                assert scheduler.due_facts(state, day.isoformat()) != [], (stream, day)
        assert checked > 25 and dated > 15, (checked, dated)
    finally:
        app.close()


def test_the_projector_lists_each_stream_under_its_next_due_day(demo_dir: Path, tmp_path: Path) -> None:
    app = copy_of(demo_dir, tmp_path, "listed", 0)
    try:
        days = app.projections.load(PROJECTION, DUE_DAYS)
        assert days is not None and days["complete"] is True
        listed: dict[str, str] = {}
        for day in days["days"]:
            for stream in (app.projections.load(PROJECTION, due_key(day)) or {"streams": {}})["streams"]:
                assert stream not in listed, f"{stream} listed under {listed.get(stream)} and {day}"
                listed[stream] = day
        for stream in app.log.streams():
            if stream == REGISTRY_STREAM:
                continue
            day = next_due(app.ledger.enterprise(stream))
            assert listed.get(stream) == (day.isoformat() if day else None), stream
            doc = app.projections.load(PROJECTION, enterprise_key(stream))
            assert doc is not None and doc["_due"] == listed.get(stream)
    finally:
        app.close()


DUE_FACTS = scheduler.due_facts


class Counting:
    """Wraps ``scheduler.due_facts``: which streams a tick looked at (each one folded from the
    log first, the cost of a tick)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.inner = DUE_FACTS
        self.looked: list[str] = []
        monkeypatch.setattr(scheduler, "due_facts", self)

    def __call__(self, state: EnterpriseState, today_iso: str) -> Any:
        self.looked.append(state.enterprise)
        return self.inner(state, today_iso)


@pytest.mark.parametrize("days", [-150, -60, 30, 95, 200, 400, 800])
def test_a_tick_from_the_index_emits_what_the_full_scan_emits_and_folds_only_due_streams(
    demo_dir: Path, tmp_path: Path, days: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    scan, indexed = copy_of(demo_dir, tmp_path, "scan", days), copy_of(demo_dir, tmp_path, "indexed", days)
    try:
        everyone = [s for s in scan.log.streams() if s != REGISTRY_STREAM]
        today = china_day(END[0] + timedelta(days=days))
        due_now = {s for s in everyone if (d := next_due(scan.ledger.enterprise(s))) is not None and d <= today}
        scan_looked = Counting(monkeypatch)
        by_scan = scheduler.tick(scan, scan=True)
        index_looked = Counting(monkeypatch)
        by_index = scheduler.tick(indexed)
        assert sorted(facts(by_index)) == sorted(facts(by_scan))
        assert by_scan or days < 0  # (the copies sign with the demo's ledger key)
        assert sorted(scan_looked.looked) == sorted(everyone)
        assert sorted(index_looked.looked) == sorted(due_now)  # only the due streams are folded
        # and the two ledgers agree afterwards, read models included
        for s in everyone:
            assert indexed.log.last_seq(s) == scan.log.last_seq(s)
            assert indexed.enterprise_state(s) == scan.enterprise_state(s)
    finally:
        scan.close()
        indexed.close()


def facts(emitted: list[Any]) -> list[tuple[str, str, str]]:
    return [(d.stream, d.submission_id, d.event.model_dump_json()) for d in emitted]


def test_every_period_of_the_demo_has_streams_due_and_not_due(demo_dir: Path, tmp_path: Path) -> None:
    """The cases above are not vacuous: at day 95 some streams are due and some are not."""
    app = copy_of(demo_dir, tmp_path, "vacuous", 95)
    try:
        today = china_day(END[0] + timedelta(days=95))
        dues = [next_due(app.ledger.enterprise(s)) for s in app.log.streams() if s != REGISTRY_STREAM]
        assert any(d is not None and d <= today for d in dues)
        assert any(d is None or d > today for d in dues)
        assert all(d is None or isinstance(d, date) for d in dues)
    finally:
        app.close()
