"""Display rows shared by pages, CLI and CSV: Chinese by default, English on request, China time."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

from tongxiu.events.envelope import Reason, Receipt, RecordedEvent
from tongxiu.projections.workdays import china_day
from tongxiu.services import presenters
from tongxiu.services.app import Tongxiu
from tongxiu.services.demo import ENTERPRISE


def _history(app: Tongxiu) -> list:
    return [s.envelope for s in app.log.read_stream(ENTERPRISE, from_seq=1, limit=1000)]


def test_timeline_in_chinese_names_and_china_time(demo_app: Tongxiu) -> None:
    events = _history(demo_app)
    t = presenters.timeline(events)
    assert t.columns == ["序号", "发生时间", "记录时间", "部门", "事项", "文书编号", "哈希"]
    assert t.title == f"{ENTERPRISE} 的历史记录"
    assert len(t.rows) == len(events) > 5
    first = events[0]
    row = t.rows[0]
    assert row[0] == str(first.seq)
    assert row[1] == first.occurred_at.astimezone(presenters_china()).strftime("%Y-%m-%d %H:%M:%S")
    names = {r[4] for r in t.rows}
    assert "行政处罚决定书" in names and "信用修复告知书" in names and "行政合规建议书" in names
    assert not any(r[4] == e.type for r, e in zip(t.rows, events, strict=True))  # never the code identifier
    penalty = next(i for i, e in enumerate(events) if e.type == "penalty_decided")
    assert t.rows[penalty][5] == events[penalty].event.decision_no
    english = presenters.timeline(events, lang="en")
    assert english.columns[4] == "event" and "Penalty decision" in {r[4] for r in english.rows}
    named = presenters.timeline(events, names={first.department: "某某局"})
    assert named.rows[0][3] == "某某局"


def presenters_china():  # the same constant the labels use
    from tongxiu.events.labels import CHINA

    return CHINA


def test_summary_credit_rectification_sync(demo_app: Tongxiu) -> None:
    state = demo_app.enterprise_state(ENTERPRISE)
    today = china_day(demo_app.now())
    summary = presenters.enterprise_summary(state, today)
    cells = {r[0]: r[1] for r in summary.rows}
    assert cells["统一社会信用代码"] == ENTERPRISE
    assert cells["信用状况"] == presenters.VALUE_NAMES["standing"][state.credit.standing][0]
    assert cells["已记录事项"] == str(state.seq)
    assert presenters.enterprise_summary(state, today, lang="en").rows[1][0] == "standing"

    credit = presenters.credit_records(state.credit)
    assert len(credit.rows) == len(state.credit.records)
    statuses = {r[4] for r in credit.rows}
    assert statuses <= {zh for zh, _ in presenters.VALUE_NAMES["record_status"].values()}

    rect = presenters.rectification_items(state.rectification, today)
    assert len(rect.rows) == len(state.rectification.items) > 0
    assert rect.columns[1] == "整改要求"
    sync = presenters.sync_rows(state.sync, today)
    assert len(sync.rows) == len(state.sync.deliveries)
    assert all(r[5] in ("待确认", "已确认") for r in sync.rows)


def test_inbox_rows(demo_app: Tongxiu) -> None:
    entry = {"stream": ENTERPRISE, "source_type": "repair_granted", "decision_no": "D-1",
             "deadline": "2026-03-02", "delivered_at": "2026-02-27T01:30:00+00:00", "position": 7}
    t = presenters.inbox_rows([entry], subscriber="credit-platform")
    assert t.rows == [["7", ENTERPRISE, "准予信用修复决定", "D-1", "2026-02-27 09:30:00", "2026-03-02"]]
    assert "credit-platform" in t.title


def test_receipts_accepted_and_rejected() -> None:
    at = datetime(2026, 2, 1, 2, 0, tzinfo=UTC)
    ok = Receipt(submission_id="s1", department="tax", stream="X", accepted=True, recorded_at=at,
                 events=[RecordedEvent(event_id="e", type="penalty_decided", seq=3, hash="ab" * 32)])
    bad = Receipt(submission_id="s2", department="tax", stream="X", accepted=False, recorded_at=at,
                  reasons=[Reason(code="rule_set_mismatch", field="events[0].rule_set", message="规则集不符")])
    t = presenters.receipt_rows([ok, bad])
    assert t.rows[0][3] == "已接收" and t.rows[0][4] == "2026-02-01 10:00:00" and t.rows[0][5] == "#3 行政处罚决定书"
    assert t.rows[1][3] == "已拒绝" and t.rows[1][6] == "rule_set_mismatch"
    assert presenters.receipt_rows([ok], lang="en").rows[0][3] == "accepted"
    detail = presenters.receipt_detail(bad)
    assert detail.columns == ["原因代码", "字段", "说明"]
    assert detail.rows == [["rule_set_mismatch", "events[0].rule_set", "规则集不符"]]


def test_csv_has_a_bom_and_reads_back(demo_app: Tongxiu) -> None:
    t = presenters.timeline(_history(demo_app))
    data = presenters.csv_bytes(t)
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0] == t.columns and rows[1:] == t.rows
    assert list(csv.reader(io.StringIO(presenters.csv_bytes(t, header="keys").decode("utf-8-sig"))))[0] == t.keys


def test_values_and_times() -> None:
    assert presenters.value_name("record_status", "publicized") == "公示中"
    assert presenters.value_name("record_status", "publicized", "en") == "publicized"
    assert presenters.value_name("record_status", "new_status") == "new_status"
    assert presenters.when(None) == "—"
    assert presenters.when("2026-01-01T16:00:00Z") == "2026-01-02 00:00:00"
    assert presenters.when(datetime(2026, 1, 1, 16, 0, tzinfo=UTC), seconds=False) == "2026-01-02 00:00"
    assert presenters.money(1234.5) == "1,234.50 元"
