"""The CLI's tables for people: the rows come from :mod:`tongxiu.services.presenters` (the
same labels, event names and China time as the pages) wherever the pages show the same
thing; the figures only the CLI shows (supervision, oversight, rejections with their
messages) are laid out here. Everything in the invocation's language (``Out.lang``)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any

from tongxiu.events.envelope import Envelope, Receipt
from tongxiu.events.labels import event_type_name
from tongxiu.projections.views import CreditView, RectificationView, SupervisionCounters, SyncView
from tongxiu.projections.workdays import china_day
from tongxiu.services import presenters
from tongxiu.services.ports import RejectionRecord

from .cli_output import Out, china_note, console, say, table, tr

DATE_KEYS = {"occurred_at", "recorded_at", "delivered_at", "acknowledged_at", "deadline", "publicity_until",
             "repair_from"}
"""Columns holding a date or a China time: kept as wide as a date (a time wraps before its clock)."""


def show(t: presenters.Table, *, no_wrap: Sequence[str] = (), note: bool = True) -> None:
    """Print a presenters table; ``no_wrap`` names the keys of short columns kept whole."""
    keep = [n for n, k in enumerate(t.keys) if k in no_wrap]
    dates = {n: 10 for n, k in enumerate(t.keys) if k in DATE_KEYS}
    console.print(table(t.title, t.columns, t.rows, no_wrap=keep, min_width=dates,
                        caption=china_note() if note else None))


def history(events: Sequence[Envelope], code: str) -> None:
    show(presenters.timeline(events, Out.lang, code=code), no_wrap=("seq",))


def credit(view: CreditView) -> None:
    show(presenters.credit_records(view, Out.lang), no_wrap=("publicity_until", "repair_from"), note=False)
    standing = presenters.value_name("standing", view.standing, Out.lang)
    legacy = tr("（旧代码）", " (legacy code)") if view.legacy_code else ""
    say(tr(f"{view.enterprise}{legacy} 信用状况：{standing}", f"{view.enterprise}{legacy} standing: {standing}"))
    for r in view.records.values():
        if r.basis:
            say(f"  {r.decision_no}: {tr(r.basis, r.basis_en or r.basis)}")
    for e in view.list_entries:
        kind = presenters.value_name("list_kind", e.list_kind, Out.lang)
        if e.removed_on:
            removed = tr(f"，{e.removed_on} 移出（{e.removal_decision_no}）",
                         f", removed {e.removed_on} ({e.removal_decision_no})")
        else:
            removed = tr("，仍在名录中", ", still listed")
        say(tr(f"  {kind}：{e.included_on} 由 {e.department} 列入（{e.decision_no}）{removed}",
               f"  {kind}: included {e.included_on} by {e.department} ({e.decision_no}){removed}"))


def rectification(view: RectificationView, now: datetime) -> None:
    show(presenters.rectification_items(view, china_day(now), Out.lang), no_wrap=("deadline",), note=False)
    open_demands = view.open_by_department()
    if open_demands:
        sep = tr("；", "; ")
        say(tr("各部门未销号的整改要求：", "open demands side by side: ") + sep.join(
            f"{dept}: {', '.join(i.item_id + ' ' + i.requirement for i in items)}" for dept, items in open_demands.items()))


def sync(view: SyncView, today: date) -> None:
    show(presenters.sync_rows(view, today, Out.lang), no_wrap=("deadline",))


def inbox(entries: Sequence[Mapping[str, Any]], subscriber: str) -> None:
    if not entries:
        say(tr(f"{subscriber} 没有待确认的修复结果", f"nothing pending for {subscriber}"))
        return
    show(presenters.inbox_rows(entries, Out.lang, subscriber=subscriber), no_wrap=("position", "deadline"))


def receipts(rs: Sequence[Receipt]) -> None:
    """Every receipt in one table, then the reasons of each rejection in full."""
    show(presenters.receipt_rows(rs, Out.lang))
    for r in rs:
        if not r.accepted:
            show(presenters.receipt_detail(r, Out.lang), note=False)


def receipt_line(r: Receipt) -> None:
    """One receipt, for the operator commands (one submission each)."""
    if r.accepted:
        dup = presenters.value_name("receipt", "duplicate", Out.lang) if r.duplicate else ""
        events = ", ".join(f"{event_type_name(e.type, Out.lang)}#{e.seq} {e.hash[:12]}" for e in r.events)
        say(f" {r.submission_id}{dup}: {events}", markup=f"[green]{presenters.value_name('receipt', 'accepted', Out.lang)}[/green]")
    else:
        say(f" {r.submission_id}:", markup=f"[red]{presenters.value_name('receipt', 'rejected', Out.lang)}[/red]")
        for reason in r.reasons:
            say(f"  [{reason.code}] {reason.field or ''}: {reason.message}")


def rejections(rows: Iterable[RejectionRecord]) -> None:
    keys = ("recorded_at", "department", "submission_id", "enterprise", "reasons")
    cells = [
        [presenters.when(r.receipt.recorded_at), r.receipt.department, r.receipt.submission_id, r.receipt.stream,
         "\n".join(f"[{x.code}] {x.field or ''}: {x.message}" for x in r.receipt.reasons)]
        for r in rows
    ]
    console.print(table(tr("被拒绝的提交", "rejected submissions"), [presenters.column_name(k, Out.lang) for k in keys],
                        cells, min_width={0: 10}, caption=china_note()))


def supervision(figures: Mapping[str, SupervisionCounters], period: str | None) -> None:
    columns = [
        tr("部门", "department"), tr("处罚决定", "penalties"), tr("三书同达", "served with notice and advice"),
        tr("未附告知书", "without notice"), tr("整改事项 发现/销号/逾期", "advice items found/closed/overdue"),
        tr("修复决定（按期）", "repairs decided (in time)"), tr("同步确认（按期）/逾期", "syncs acked (in time)/overdue"),
    ]
    rows = [
        [dept, str(c.penalties), f"{c.served_with_notice_and_advice}/{c.penalties}", str(c.penalties_without_notice),
         f"{c.rectification_found}/{c.rectification_closed}/{c.rectification_overdue}",
         f"{c.repairs_decided} ({c.repairs_decided_within_deadline})",
         f"{c.syncs_acknowledged} ({c.syncs_acknowledged_within_deadline})/{c.syncs_overdue}"]
        for dept, c in figures.items()
    ]
    title = tr(f"各部门监督指标 — {period or '全部期间'}", f"supervision — {period or 'all periods'}")
    console.print(table(title, columns, rows))


def ledger_totals(totals: Mapping[str, Any]) -> None:
    names = {
        "backend": ("后端", "backend"), "enterprises": ("企业", "enterprises"), "events": ("事项", "events"),
        "departments": ("部门", "departments"), "rejections": ("拒绝记录", "rejections"),
        "projection_position": ("读模型位置", "read-model position"),
    }
    rows = [[tr(*names[k]) if k in names else k, str(v)] for k, v in totals.items()]
    console.print(table(tr("账本", "ledger"), [tr("项目", "item"), tr("数值", "value")], rows))


def oversight(fig: Mapping[str, Any]) -> None:
    """执法监督 figures (案卷评查, 涉企检查, 投诉, 免罚, 信用修复) over every department."""
    cr, ins, comp, np_ = fig["case_review"], fig["inspections"], fig["complaints"], fig["no_penalty"]

    def pct(v: float | None) -> str:
        return "—" if v is None else f"{v * 100:.2f}%"

    pairs = [
        (tr("案卷评查 卷数", "case files reviewed"), cr["files_reviewed"]),
        (tr("问题 / 已整改 / 逾期", "findings / rectified / overdue"), f"{cr['findings']} / {cr['rectified']} / {cr['overdue']}"),
        (tr("整改率", "rectification rate"), pct(cr["rectification_rate"])),
        (tr("涉企检查 / 亮码", "inspections / code shown"),
         f"{ins['inspections']} / {ins['code_shown']} ({pct(ins['code_shown_rate'])})"),
        (tr("综合查一次 / 超过地方上限", "joint inspections / over the local limit"), f"{ins['joint']} / {ins['over_limit']}"),
        (tr("每企业每月检查次数", "inspections per enterprise per month"), ins["per_enterprise_per_month"]),
        (tr("投诉 受理 / 办结 / 逾期", "complaints received / resolved / overdue"),
         f"{comp['received']} / {comp['resolved']} / {comp['overdue']}"),
        (tr("不予处罚 首违 / 轻微 / 无过错", "no penalty: first / minor / no fault"),
         f"{np_['first_violation']} / {np_['minor']} / {np_['no_fault']}"),
        (tr("免除罚款", "fines waived"), presenters.money(np_["waived_fine_yuan"], Out.lang)),
        (tr("准予信用修复", "repairs granted"), fig["repairs"]["granted"]),
    ]
    title = tr(f"执法监督 — {fig.get('period') or '全部期间'}", f"oversight — {fig.get('period') or 'all periods'}")
    console.print(table(title, [tr("指标", "figure"), tr("数值", "value")], [[k, str(v)] for k, v in pairs]))
