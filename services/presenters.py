"""Display rows for people: the read models and events turned into tables of strings, in
Chinese by default (``lang="zh"``), in English with ``lang="en"``.

Shared by the pages, the CLI's tables and CSV export, so an auditor reads the same labels,
the same event names (行政处罚决定书 …, from :mod:`tongxiu.events.labels`) and the same
China time everywhere. Pure functions: no I/O, no application; every function takes what it
shows and returns a :class:`Table` (``title``, ``columns``, ``rows``; every cell a string).

Use::

    t = presenters.timeline(envelopes)               # 中文
    t = presenters.timeline(envelopes, lang="en")    # English
    rich_table = Table(title=t.title)
    for c in t.columns: rich_table.add_column(c)
    for r in t.rows: rich_table.add_row(*r)
    data = presenters.csv_bytes(t)                    # UTF-8 with BOM, opens in Excel
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from tongxiu.events.envelope import Envelope, Receipt
from tongxiu.events.labels import china_time, event_type_name
from tongxiu.projections.views import CreditView, EnterpriseState, RectificationView, SyncView

DASH = "—"

# ---------------------------------------------------------------------------- labels

#: value -> (中文, English), for the enumerations a person reads
VALUE_NAMES: dict[str, dict[str, tuple[str, str]]] = {
    "record_status": {
        "publicized": ("公示中", "publicized"),
        "not_publicized": ("不公示", "not publicized"),
        "repaired": ("已修复", "repaired"),
        "expired": ("公示期满", "expired"),
        "withdrawn": ("已撤销", "withdrawn"),
    },
    "publicity_class": {
        "none": ("无", "none"),
        "minor": ("轻微", "minor"),
        "ordinary": ("一般", "ordinary"),
        "serious": ("严重", "serious"),
    },
    "standing": {
        "good": ("良好（无公示中的处罚）", "good"),
        "publicized-minor": ("轻微失信信息公示中", "publicized (minor)"),
        "publicized-ordinary": ("一般失信信息公示中", "publicized (ordinary)"),
        "publicized-serious": ("严重失信信息公示中", "publicized (serious)"),
    },
    "record_kind": {
        "penalty": ("行政处罚", "penalty"),
        "no_penalty": ("不予行政处罚", "no penalty"),
    },
    "rectification_status": {
        "open": ("待整改", "open"),
        "evidence_submitted": ("已提交整改材料", "evidence submitted"),
        "rejected": ("验收不通过", "rejected"),
        "closed": ("已销号", "closed"),
    },
    "verdict": {
        "verified": ("通过", "verified"),
        "rejected": ("不通过", "rejected"),
    },
    "delivery_status": {
        "pending": ("待确认", "pending"),
        "acknowledged": ("已确认", "acknowledged"),
    },
    "list_kind": {
        "abnormal_operation": ("经营异常名录", "abnormal operation list"),
        "serious_illegal_dishonest": ("严重违法失信名单", "serious illegal and dishonest list"),
    },
    "receipt": {
        "accepted": ("已接收", "accepted"),
        "rejected": ("已拒绝", "rejected"),
        "duplicate": ("（重复提交，返回首次回执）", "(duplicate: the first receipt)"),
    },
    "yes_no": {"yes": ("是", "yes"), "no": ("否", "no")},
}

#: column key -> (中文, English)
COLUMN_NAMES: dict[str, tuple[str, str]] = {
    "seq": ("序号", "seq"),
    "occurred_at": ("发生时间", "occurred at"),
    "recorded_at": ("记录时间", "recorded at"),
    "department": ("部门", "department"),
    "event": ("事项", "event"),
    "document_no": ("文书编号", "document no."),
    "hash": ("哈希", "hash"),
    "item": ("项目", "item"),
    "value": ("内容", "value"),
    "decision_no": ("决定书编号", "decision no."),
    "kind": ("类别", "kind"),
    "publicity_class": ("失信等级", "class"),
    "status": ("状态", "status"),
    "publicity_until": ("公示截止", "publicity until"),
    "repair_from": ("可申请修复日期", "repair from"),
    "fulfilled": ("已履行", "fulfilled"),
    "requirement": ("整改要求", "requirement"),
    "deadline": ("期限", "deadline"),
    "owners": ("责任部门", "owners"),
    "verdicts": ("验收意见", "verdicts"),
    "overdue": ("逾期", "overdue"),
    "subscriber": ("接收部门", "subscriber"),
    "delivered_at": ("下发时间", "delivered at"),
    "acknowledged_at": ("确认时间", "acknowledged at"),
    "enterprise": ("企业", "enterprise"),
    "submission_id": ("提交编号", "submission id"),
    "result": ("结果", "result"),
    "events": ("记录事项", "events"),
    "reasons": ("拒绝原因", "reasons"),
    "code": ("原因代码", "code"),
    "field": ("字段", "field"),
    "message": ("说明", "message"),
    "position": ("位置", "position"),
}

TITLES: dict[str, tuple[str, str]] = {
    "timeline": ("{code} 的历史记录", "history of {code}"),
    "summary": ("{code} 概况", "summary of {code}"),
    "credit": ("{code} 的信用记录", "credit records of {code}"),
    "rectification": ("{code} 的整改事项", "rectification items of {code}"),
    "sync": ("{code} 的信用修复结果同步", "repair propagation of {code}"),
    "inbox": ("{code} 待确认的修复结果", "deliveries pending for {code}"),
    "receipts": ("回执", "receipts"),
    "receipt": ("回执 {code}", "receipt {code}"),
}


def _en(lang: str) -> bool:
    return lang == "en"


def value_name(group: str, value: str, lang: str = "zh") -> str:
    """The name a person reads for ``value`` of an enumeration (``record_status``,
    ``publicity_class``, ``standing`` … see :data:`VALUE_NAMES`); an unknown value shows as itself."""
    names = VALUE_NAMES.get(group, {}).get(value)
    if names is None:
        return value
    return names[1] if _en(lang) else names[0]


def column_name(key: str, lang: str = "zh") -> str:
    names = COLUMN_NAMES.get(key)
    if names is None:
        return key
    return names[1] if _en(lang) else names[0]


def title(key: str, code: str = "", lang: str = "zh") -> str:
    zh, en = TITLES[key]
    return (en if _en(lang) else zh).format(code=code)


def when(value: datetime | date | str | None, *, seconds: bool = True) -> str:
    """A time in China time (``2026-12-01 09:30:05``), a date as ``2026-12-01``, nothing as —.
    An ISO text is read first (the inbox keeps its times as text)."""
    if value is None or value == "":
        return DASH
    if isinstance(value, str):
        text = value
        try:
            value = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return text
        if value.tzinfo is None:  # a bare date ("2026-03-02") or a local time as written
            return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat(sep=" ")
    if isinstance(value, datetime):
        return china_time(value, seconds=seconds)
    return value.isoformat()


def yes_no(value: bool, lang: str = "zh") -> str:
    return value_name("yes_no", "yes" if value else "no", lang)


def money(value: Decimal | float | int, lang: str = "zh") -> str:
    text = f"{Decimal(value):,.2f}"
    return f"{text} 元" if not _en(lang) else f"¥{text}"


_DOCUMENT_FIELDS = ("decision_no", "advice_no", "notice_no", "finding_id", "complaint_id", "inspection_id",
                    "review_id", "item_id", "department_id")


def document_no(event: Any) -> str:
    """The number of the document an event is or names (decision, advice, notice …), or ""."""
    for name in _DOCUMENT_FIELDS:
        value = getattr(event, name, None)
        if value:
            return str(value)
    return ""


# ---------------------------------------------------------------------------- tables


@dataclass(frozen=True)
class Table:
    """Rows for a person: ``keys`` name the columns for machines (CSV header in English,
    JSON), ``columns`` are their labels in the language asked for."""

    title: str
    keys: list[str]
    columns: list[str]
    rows: list[list[str]] = field(default_factory=list)

    def dicts(self) -> list[dict[str, str]]:
        """The rows as ``{key: cell}`` (for templates and JSON)."""
        return [dict(zip(self.keys, row, strict=True)) for row in self.rows]


def _table(key: str, code: str, keys: Sequence[str], rows: Iterable[list[str]], lang: str) -> Table:
    return Table(title=title(key, code, lang), keys=list(keys), columns=[column_name(k, lang) for k in keys],
                 rows=list(rows))


def timeline(events: Sequence[Envelope], lang: str = "zh", *, names: Mapping[str, str] | None = None,
             code: str | None = None) -> Table:
    """An enterprise's history, one row per event in the order given: seq, occurred and
    recorded (China time), department (by its registered name when ``names`` has it), the
    event's name (行政处罚决定书 …), the document number, the first 12 hex of the hash."""
    names = names or {}
    stream = code if code is not None else (events[0].stream if events else "")
    keys = ("seq", "occurred_at", "recorded_at", "department", "event", "document_no", "hash")
    rows = [
        [str(e.seq), when(e.occurred_at), when(e.recorded_at), names.get(e.department, e.department),
         event_type_name(e.type, lang), document_no(e.event), e.hash[:12]]
        for e in events
    ]
    return _table("timeline", stream, keys, rows, lang)


def enterprise_summary(state: EnterpriseState, today: date, lang: str = "zh") -> Table:
    """Two columns (item, value): standing, records by status, open and overdue
    rectification items, pending and overdue repair deliveries, credit-list entries."""
    credit, rect, sync = state.credit, state.rectification, state.sync
    records = list(credit.records.values())
    by_status: dict[str, int] = {}
    for r in records:
        by_status[r.status] = by_status.get(r.status, 0) + 1
    open_items = [i for i in rect.items.values() if i.status != "closed"]
    overdue_items = [i for i in open_items if i.overdue_as_of(today)]
    pending = [d for d in sync.deliveries.values() if d.status == "pending"]
    late = [d for d in sync.deliveries.values() if d.overdue_marked or d.overdue_as_of(today)]
    listed = [e for e in credit.list_entries if e.removed_on is None]
    en = _en(lang)
    pairs: list[tuple[str, str]] = [
        ("unified social credit code" if en else "统一社会信用代码", state.enterprise),
        ("standing" if en else "信用状况", value_name("standing", credit.standing, lang)),
        ("events recorded" if en else "已记录事项", str(state.seq)),
        ("credit records" if en else "信用记录", str(len(records))),
    ]
    pairs += [(f"  {value_name('record_status', s, lang)}", str(n)) for s, n in sorted(by_status.items())]
    pairs += [
        ("rectification items open / overdue" if en else "整改事项 未销号 / 逾期", f"{len(open_items)} / {len(overdue_items)}"),
        ("repair deliveries pending / overdue" if en else "修复结果同步 待确认 / 逾期", f"{len(pending)} / {len(late)}"),
        ("on a credit list" if en else "列入名录（名单）",
         ", ".join(value_name("list_kind", e.list_kind, lang) for e in listed) or DASH),
        ("legacy code" if en else "旧代码", yes_no(credit.legacy_code, lang)),
    ]
    return _table("summary", state.enterprise, ("item", "value"), ([k, v] for k, v in pairs), lang)


def credit_records(view: CreditView, lang: str = "zh") -> Table:
    """One row per decision: number, department, kind, class, status, publicity end, repair
    from, fulfilled."""
    keys = ("decision_no", "department", "kind", "publicity_class", "status", "publicity_until", "repair_from",
            "fulfilled")
    rows = [
        [r.decision_no, r.department, value_name("record_kind", r.kind, lang),
         value_name("publicity_class", r.publicity_class, lang), value_name("record_status", r.status, lang),
         when(r.max_end), when(r.repair_from), yes_no(r.fulfilled or not r.needs_payment, lang)]
        for r in view.records.values()
    ]
    return _table("credit", view.enterprise, keys, rows, lang)


def rectification_items(view: RectificationView, today: date, lang: str = "zh") -> Table:
    """One row per item (``advice_no/item_id``): requirement, deadline, owners, verdicts,
    status, overdue on ``today``."""
    keys = ("item", "requirement", "deadline", "owners", "verdicts", "status", "overdue")
    rows = [
        [key, i.requirement, when(i.deadline), "、".join(i.owners) if not _en(lang) else ", ".join(i.owners),
         ("；" if not _en(lang) else "; ").join(f"{d}: {value_name('verdict', v.verdict, lang)}"
                                               for d, v in i.verdicts.items()) or DASH,
         value_name("rectification_status", i.status, lang), yes_no(i.overdue_as_of(today), lang)]
        for key, i in view.items.items()
    ]
    return _table("rectification", view.enterprise, keys, rows, lang)


def sync_rows(view: SyncView, today: date, lang: str = "zh") -> Table:
    """One row per delivery of a repair result: event, decision, subscriber, delivered,
    deadline, status, acknowledged, overdue."""
    keys = ("event", "decision_no", "subscriber", "delivered_at", "deadline", "status", "acknowledged_at", "overdue")
    deliveries = sorted(view.deliveries.values(), key=lambda d: (d.delivered_at, d.subscriber))
    rows = [
        [event_type_name(d.source_type, lang), d.decision_no, d.subscriber, when(d.delivered_at), when(d.deadline),
         value_name("delivery_status", d.status, lang), when(d.acknowledged_at),
         yes_no(d.overdue_marked or d.overdue_as_of(today), lang)]
        for d in deliveries
    ]
    return _table("sync", view.enterprise, keys, rows, lang)


def inbox_rows(entries: Sequence[Mapping[str, Any]], lang: str = "zh", *, subscriber: str = "") -> Table:
    """A subscriber's pending deliveries (``Tongxiu.inbox``): position, enterprise, event,
    decision, delivered, deadline."""
    keys = ("position", "enterprise", "event", "decision_no", "delivered_at", "deadline")
    rows = [
        [str(e.get("position", "")), str(e.get("stream", "")), event_type_name(str(e.get("source_type", "")), lang),
         str(e.get("decision_no", "")), when(e.get("delivered_at")), when(e.get("deadline"))]
        for e in entries
    ]
    return _table("inbox", subscriber, keys, rows, lang)


def _receipt_result(r: Receipt, lang: str) -> str:
    text = value_name("receipt", "accepted" if r.accepted else "rejected", lang)
    return text + (value_name("receipt", "duplicate", lang) if r.duplicate else "")


def receipt_rows(receipts: Sequence[Receipt], lang: str = "zh") -> Table:
    """One row per receipt: submission, department, enterprise, result, recorded, the events
    it recorded (by name) or the reason codes."""
    keys = ("submission_id", "department", "enterprise", "result", "recorded_at", "events", "reasons")
    sep = "、" if not _en(lang) else ", "
    rows = [
        [r.submission_id, r.department, r.stream, _receipt_result(r, lang), when(r.recorded_at),
         sep.join(f"#{e.seq} {event_type_name(e.type, lang)}" for e in r.events) or DASH,
         sep.join(r.codes) or DASH]
        for r in receipts
    ]
    return _table("receipts", "", keys, rows, lang)


def receipt_detail(receipt: Receipt, lang: str = "zh") -> Table:
    """One receipt in full: an accepted one lists its events (seq, name, hash), a rejected one
    its reasons (code, field, message)."""
    if receipt.accepted:
        keys: tuple[str, ...] = ("seq", "event", "hash")
        rows = [[str(e.seq), event_type_name(e.type, lang), e.hash] for e in receipt.events]
    else:
        keys = ("code", "field", "message")
        rows = [[r.code, r.field or DASH, r.message] for r in receipt.reasons]
    return _table("receipt", receipt.submission_id, keys, rows, lang)


def csv_bytes(table: Table, *, header: str = "labels") -> bytes:
    """The table as CSV in UTF-8 with a byte-order mark (so Excel opens Chinese correctly),
    CRLF line ends; the header row is the column labels (``header="keys"``: the keys)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(table.columns if header == "labels" else table.keys)
    writer.writerows(table.rows)
    return ("\ufeff" + out.getvalue()).encode("utf-8")
