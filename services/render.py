"""Rich renderings of the views, for people."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from tongxiu.events.envelope import Envelope
from tongxiu.projections.views import CreditView, RectificationView, SupervisionCounters, SyncView
from tongxiu.projections.workdays import china_day

STATUS_STYLE = {"publicized": "red", "repaired": "green", "expired": "cyan", "withdrawn": "magenta"}


def history(console: Console, events: Sequence[Envelope]) -> None:
    table = Table(title="history")
    for col in ("seq", "occurred at", "recorded at", "department", "fact", "hash"):
        table.add_column(col)
    for e in events:
        ref = getattr(e.event, "decision_no", "") or getattr(e.event, "advice_no", "")
        table.add_row(str(e.seq), e.occurred_at.isoformat(), e.recorded_at.isoformat(), e.department,
                      f"{e.type} {ref}", e.hash[:12])
    console.print(table)


def credit(console: Console, view: CreditView) -> None:
    legacy = " [yellow](legacy code)[/yellow]" if view.legacy_code else ""
    table = Table(title=f"credit — {view.enterprise}{legacy} — standing: {view.standing}")
    for col in ("decision", "department", "class", "status", "publicity until", "repair from", "paid"):
        table.add_column(col)
    for r in view.records.values():
        style = STATUS_STYLE.get(r.status, "")
        status = escape(r.status)
        table.add_row(escape(r.decision_no), r.department, r.publicity_class, f"[{style}]{status}[/{style}]" if style else status,
                      str(r.max_end or ""), str(r.repair_from or ""), "yes" if r.fulfilled or not r.needs_payment else "no")
    console.print(table)
    for r in view.records.values():
        if r.basis:
            console.print(escape(f"  {r.decision_no}: {r.basis}"))
    titles = {"abnormal_operation": "经营异常名录", "serious_illegal_dishonest": "严重违法失信名单"}
    for e in view.list_entries:
        removed = f"，{e.removed_on} 移出（{e.removal_decision_no}）" if e.removed_on else "，仍在名录中"
        console.print(escape(f"  {titles[e.list_kind]}：{e.included_on} 由 {e.department} 列入（{e.decision_no}）{removed}"))


def rectification(console: Console, view: RectificationView, now: datetime) -> None:
    table = Table(title=f"rectification — {view.enterprise}")
    for col in ("item", "requirement", "deadline", "owners", "verdicts", "status"):
        table.add_column(col)
    for key, item in view.items.items():
        verdicts = ", ".join(f"{d}:{v.verdict}" for d, v in item.verdicts.items()) or "—"
        overdue = " [red]overdue[/red]" if item.overdue_as_of(china_day(now)) else ""
        table.add_row(key, item.requirement, str(item.deadline), ", ".join(item.owners), verdicts, item.status + overdue)
    console.print(table)
    open_demands = view.open_by_department()
    if open_demands:
        console.print("open demands side by side: " + "; ".join(
            f"{dept}: {', '.join(i.item_id + ' ' + i.requirement for i in items)}" for dept, items in open_demands.items()))


def sync(console: Console, view: SyncView) -> None:
    table = Table(title=f"repair sync — {view.enterprise}")
    for col in ("fact", "decision", "subscriber", "deadline", "status", "latency"):
        table.add_column(col)
    for d in view.deliveries.values():
        late = d.overdue_marked or (d.acknowledged_at is not None and china_day(d.acknowledged_at) > d.deadline)
        status = d.status + (" [red](overdue)[/red]" if late else "")
        latency = f"{d.latency_seconds / 3600:.1f} h" if d.latency_seconds is not None else "—"
        table.add_row(d.source_type, d.decision_no, d.subscriber, str(d.deadline), status, latency)
    console.print(table)


def supervision(console: Console, figures: dict[str, SupervisionCounters], period: str | None) -> None:
    table = Table(title=f"supervision — {period or 'all periods'}")
    for col in ("department", "penalties", "三书同达", "without notice", "advice items (企业整改建议) found/closed/overdue",
                "repairs decided (in time)", "syncs acked (in time)/overdue"):
        table.add_column(col)
    for dept, c in figures.items():
        table.add_row(dept, str(c.penalties), f"{c.served_with_notice_and_advice}/{c.penalties}",
                      str(c.penalties_without_notice),
                      f"{c.rectification_found}/{c.rectification_closed}/{c.rectification_overdue}",
                      f"{c.repairs_decided} ({c.repairs_decided_within_deadline})",
                      f"{c.syncs_acknowledged} ({c.syncs_acknowledged_within_deadline})/{c.syncs_overdue}")
    console.print(table)


def oversight(console: Console, fig: dict[str, Any]) -> None:
    """执法监督 figures (案卷评查, 涉企检查, 投诉, 免罚, 信用修复) over every department."""
    cr, ins, comp, np_ = fig["case_review"], fig["inspections"], fig["complaints"], fig["no_penalty"]

    def pct(v: float | None) -> str:
        return "—" if v is None else f"{v * 100:.2f}%"

    table = Table(title=f"执法监督 — {fig.get('period') or 'all periods'}")
    table.add_column("figure")
    table.add_column("value")
    for label, value in [
        ("案卷评查 files reviewed", cr["files_reviewed"]),
        ("findings / rectified / overdue", f"{cr['findings']} / {cr['rectified']} / {cr['overdue']}"),
        ("rectification rate 整改率", pct(cr["rectification_rate"])),
        ("inspections / code shown 亮码", f"{ins['inspections']} / {ins['code_shown']} ({pct(ins['code_shown_rate'])})"),
        ("joint 综合查一次 / over the local limit", f"{ins['joint']} / {ins['over_limit']}"),
        ("inspections per enterprise per month", ins["per_enterprise_per_month"]),
        ("complaints received / resolved / overdue", f"{comp['received']} / {comp['resolved']} / {comp['overdue']}"),
        ("不予处罚 首违 / 轻微 / 无过错", f"{np_['first_violation']} / {np_['minor']} / {np_['no_fault']}"),
        ("fines waived 免除罚款 (yuan)", f"{np_['waived_fine_yuan']:,.2f}"),
        ("repairs granted 信用修复", fig["repairs"]["granted"]),
    ]:
        table.add_row(label, str(value))
    console.print(table)
