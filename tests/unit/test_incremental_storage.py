"""Read models are updated incrementally: what a submission writes does not depend on how long
the enterprise's history is, and the incremental result equals a rebuild, also when two
processors on one database take turns and when the processor's cache is small."""

from __future__ import annotations

from datetime import UTC, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.long_history import cycles_for, submit_cycle
from bench.write_replay import enterprise_codes
from tongxiu.events.envelope import Submission
from tongxiu.infra.bootstrap import open_embedded
from tongxiu.projections.documents import LIST_BLOCK, Tracker, assemble, changed_parts, split
from tongxiu.projections.keys import PROJECTION, enterprise_key
from tongxiu.projections.views import EnterpriseState
from tongxiu.services.app import Tongxiu
from tongxiu.services.config import Settings
from tongxiu.services.demo import START, register_only
from tongxiu.services.ports import ManualClock, PartChanges
from tongxiu.streams.processor import InProcessProjection

CLOCK_AT = (START + timedelta(days=20, hours=1)).astimezone(UTC)


def fresh(path: Path) -> Tongxiu:
    app = open_embedded(Settings(data_dir=path), clock=ManualClock(CLOCK_AT))
    register_only(app)
    app.process()
    return app


def snapshot(app: Tongxiu) -> dict[str, Any]:
    return {k: app.projections.load(PROJECTION, k) for k in app.projections.keys(PROJECTION)}


class Recorder:
    """Counts what the processors write (parts and JSON bytes) and the SQL statements run."""

    def __init__(self, app: Tongxiu) -> None:
        self.parts = 0
        self.bytes = 0
        self.statements = 0
        store = app.projections
        inner = store.write

        def write(projection: str, changes: dict[str, PartChanges], position: int, **kw: Any) -> None:
            import json

            for change in changes.values():
                assert not change.whole
                self.parts += len(change.parts)
                self.bytes += sum(len(json.dumps(v, ensure_ascii=False, default=str)) for v in change.parts.values())
            inner(projection, changes, position, **kw)

        store.write = write  # type: ignore[method-assign]
        app.log.db.conn.set_trace_callback(self._count)  # type: ignore[attr-defined]

    def _count(self, _: str) -> None:
        self.statements += 1


def measure(app: Tongxiu, cycle: list[Submission]) -> Recorder:
    rec = Recorder(app)
    try:
        assert submit_cycle(app, cycle) == 20
    finally:
        app.log.db.conn.set_trace_callback(None)  # type: ignore[attr-defined]
        del app.projections.write  # back to the class's method
    return rec


def test_what_a_submission_writes_does_not_grow_with_history(tmp_path: Path) -> None:
    app = fresh(tmp_path / "l")
    try:
        code = enterprise_codes(1)[0]
        work = cycles_for(code, 42)
        for cycle in work[:2]:
            submit_cycle(app, cycle)
        early = measure(app, work[2])
        for cycle in work[3:41]:
            submit_cycle(app, cycle)
        late = measure(app, work[41])
        # the document at cycle 42 holds 14x the records, items and submissions of cycle 3
        state = app.enterprise_state(code)
        assert len(state.credit.records) == 42 * 3 and len(state.submissions) > 40 * LIST_BLOCK // 8
        assert late.parts == early.parts
        assert late.statements == early.statements
        # the same parts, a few bytes more (longer sequence numbers, a fuller block of ids)
        assert late.bytes <= early.bytes + 3 * LIST_BLOCK * 40
        assert late.bytes < 60_000
    finally:
        app.close()


def test_two_processors_taking_turns_and_a_tiny_cache_equal_a_rebuild(tmp_path: Path) -> None:
    """Two apps (two processes, say the CLI and the web service) submit to one enterprise in
    turn: each one's processor finds the store moved on by the other and replays those
    events into its cache; a third with a cache of 2 documents evicts constantly."""
    a = fresh(tmp_path / "l")
    b = open_embedded(Settings(data_dir=tmp_path / "l"), clock=ManualClock(CLOCK_AT))
    c = open_embedded(Settings(data_dir=tmp_path / "l"), clock=ManualClock(CLOCK_AT))
    assert isinstance(c.read_models, InProcessProjection)
    c.read_models.projector.cache_size = 2
    try:
        codes = enterprise_codes(3)
        for i in range(6):
            for app, code in ((a, codes[0]), (b, codes[0]), (c, codes[1 + i % 2])):
                first = i + (0 if app is a else 100 if app is b else 200)  # distinct decision numbers
                for sub in cycles_for(code, 1, first=first)[0]:
                    assert app.submit(sub).accepted
        incremental = snapshot(a)
        assert snapshot(b) == incremental
        a.projections.reset(PROJECTION)
        a.process()
        assert snapshot(a) == incremental
        sup = incremental["supervision:samr-deqing"]["months"]
        assert sum(m["penalties"] for m in sup.values()) == 18 * 3
    finally:
        for app in (a, b, c):
            app.close()


# --------------------------------------------------------------------------- documents


KEYS = st.text(alphabet="AB/#〔〕1-", min_size=1, max_size=6)


@settings(max_examples=60, deadline=None)
@given(
    records=st.dictionaries(KEYS, st.integers(), max_size=5),
    items=st.dictionaries(KEYS, st.integers(), max_size=5),
    subs=st.lists(st.text(max_size=3), max_size=3 * LIST_BLOCK),
)
def test_split_then_assemble_is_the_identity(records: dict[str, int], items: dict[str, int], subs: list[str]) -> None:
    doc = {
        "enterprise": "E", "seq": 3, "submissions": subs,
        "credit": {"enterprise": "E", "records": records, "repairs_granted_on": []},
        "rectification": {"enterprise": "E", "items": items},
        "sync": {"enterprise": "E", "deliveries": {}},
    }
    parts = split("enterprise:E", doc)
    assert assemble("enterprise:E", parts) == doc
    assert parts[""]["credit"]["records"] == {} and parts[""]["submissions"] == []
    assert len(parts) == 1 + len(records) + len(items) + (len(subs) + LIST_BLOCK - 1) // LIST_BLOCK
    assert doc["credit"]["records"] == records  # split does not touch the document


def test_tracker_reports_only_what_changed() -> None:
    state = EnterpriseState.empty("E")
    tracker = Tracker(enterprise_key("E"), state)
    state.credit.records["D1"] = state.credit.records.get("D0") or _record("D1")
    state.credit.records["D2"] = _record("D2")
    state.note_submission("s1")
    parts, whole = changed_parts(tracker)
    assert not whole
    assert set(parts) == {"", "credit.records/D1", "credit.records/D2", "credit.records/D0", "submissions#000000000"}
    assert parts["credit.records/D0"] is None  # reached by key, absent: nothing to keep
    tracker.start()
    state.credit.records["D2"].fulfilled = True  # reached by key, changed
    _ = [r.status for r in state.credit.records.values()]  # read by iterating: not written
    parts, _ = changed_parts(tracker)
    assert set(parts) == {"", "credit.records/D2"}
    assert parts["credit.records/D2"]["fulfilled"] is True
    state.credit.records = {}  # replaced wholesale: the document is rewritten whole
    parts, whole = changed_parts(tracker)
    assert whole and parts[""]["enterprise"] == "E"


def _record(no: str) -> Any:
    from datetime import date

    from tongxiu.projections.views import CreditRecord

    return CreditRecord(decision_no=no, department="d", kind="penalty", decision_date=date(2026, 1, 5),
                        submission_id="s")


@pytest.mark.parametrize("limit", [1, 7, 20])
def test_history_pages_follow_the_cursor(tmp_path: Path, limit: int) -> None:
    from fastapi.testclient import TestClient

    from tongxiu.services.http import create_app

    app = fresh(tmp_path / "l")
    try:
        code = enterprise_codes(1)[0]
        for cycle in cycles_for(code, 3):
            submit_cycle(app, cycle)
        client = TestClient(create_app(app, {"auditor-token-0000000000": {"role": "auditor"}}))
        client.headers["Authorization"] = "Bearer auditor-token-0000000000"
        seen: list[int] = []
        after: int | None = None
        while True:
            params: dict[str, Any] = {"limit": limit}
            if after is not None:
                params["after"] = after
            page = client.get(f"/api/enterprises/{code}/history", params=params).json()
            assert page["page"]["total"] == 60
            seen += [e["seq"] for e in page["events"]]
            after = page["page"]["next_after"]
            if after is None:
                break
            assert len(page["events"]) == limit and after == page["events"][-1]["seq"]
        assert seen == list(range(1, 61))
        # with a time filter the cursor walks the kept events only
        kept = client.get(f"/api/enterprises/{code}/history",
                          params={"known_at": CLOCK_AT.isoformat(), "limit": limit}).json()
        assert len(kept["events"]) == limit and kept["page"]["total"] == 60
    finally:
        app.close()


def test_advice_index_follows_the_items() -> None:
    from datetime import UTC, date, datetime

    from tongxiu.projections.views import RectificationItem, RectificationView

    def item(advice: str, n: str) -> RectificationItem:
        return RectificationItem(advice_no=advice, item_id=n, decision_no="D", issued_by="d",
                                 issued_at=datetime(2026, 1, 5, tzinfo=UTC), requirement="r",
                                 deadline=date(2026, 2, 1), lead_department="d")

    view = RectificationView(enterprise="E")
    assert not view.has_advice("A1")
    view.items["A1/1"] = item("A1", "1")
    assert view.has_advice("A1") and not view.has_advice("A2")
    view.items["A2/1"] = item("A2", "1")
    view.items["A2/2"] = item("A2", "2")
    assert view.has_advice("A2") and view.has_advice("A1")
    view.items = {"A3/1": item("A3", "1")}  # replaced: the index is rebuilt
    assert view.has_advice("A3") and not view.has_advice("A1")


def test_timeline_page_shows_and_verifies_one_page(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from tongxiu.services.http import TIMELINE_PAGE, create_app

    app = fresh(tmp_path / "l")
    try:
        code = enterprise_codes(1)[0]
        for cycle in cycles_for(code, 11):  # 220 events: more than one page
            submit_cycle(app, cycle)
        client = TestClient(create_app(app, {"auditor-token-0000000000": {"role": "auditor"}}))
        client.headers["Authorization"] = "Bearer auditor-token-0000000000"
        latest = client.get(f"/enterprises/{code}").text
        assert latest.count("<circle") == TIMELINE_PAGE
        assert f"#{220 - TIMELINE_PAGE + 1}–#220，共 220 条" in latest and 'data-ok="true"' in latest
        assert f'?before={220 - TIMELINE_PAGE + 1}"' in latest  # the older page
        older = client.get(f"/enterprises/{code}", params={"before": 21}).text
        assert older.count("<circle") == 20 and "#1–#20，共 220 条" in older
        # tampering inside the page shown is caught by the page's verification
        import json

        stored = app.log.read_stream(code, from_seq=210, limit=1)[0]
        body = json.loads(stored.raw)
        body["occurred_at"] = body["occurred_at"].replace("2026", "2025", 1)
        app.log.tamper_for_test(code, 210, json.dumps(body, ensure_ascii=False))
        tampered = client.get(f"/enterprises/{code}").text
        assert 'data-ok="false"' in tampered and "序号 210" in tampered
        assert 'data-ok="true"' in client.get(f"/enterprises/{code}", params={"before": 21}).text
    finally:
        app.close()
