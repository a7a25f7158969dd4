"""Inline SVG charts of the pages: an enterprise's timeline (one lane per department) and the
dashboard's bar charts (one bar per department), labelled in the page's language."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time, timedelta
from typing import Any

from tongxiu.events.labels import CHINA, china_time, event_type_name
from tongxiu.projections.workdays import china_day
from tongxiu.services.http_models import ratio


def timeline_chart(events: list[Any], kept: set[str], colours: dict[str, str], as_of: datetime | None,
                   lang: str = "zh") -> dict[str, Any]:
    """Dots on a time axis, one lane per department; events after ``as_of`` are hollow."""
    width, lane, left = 900, 28, 150
    if not events:
        return {"width": width, "height": 40, "dots": [], "lanes": [], "ticks": [], "cursor": None}
    start = min(e.occurred_at for e in events)
    end = max(e.occurred_at for e in events)
    span = max((end - start).total_seconds(), 86400.0)

    def x(t: datetime) -> float:
        return float(round(left + 10 + (t - start).total_seconds() / span * (width - left - 30), 1))

    lanes = list(colours)
    dots = [
        {
            "x": x(e.occurred_at),
            "y": 20 + lanes.index(e.department) * lane,
            "colour": colours[e.department],
            "kept": e.event_id in kept,
            "title": f"#{e.seq} {event_type_name(e.type, lang)} — {e.department} — {china_time(e.occurred_at, seconds=False)}",
        }
        for e in events
    ]
    ticks = []
    day = china_day(start).replace(day=1)
    while True:
        t = datetime.combine(day, time(), tzinfo=CHINA)
        if t > end:
            break
        if t >= start:
            ticks.append({"x": x(t), "label": day.strftime("%Y-%m")})
        day = (day + timedelta(days=32)).replace(day=1)
    cursor = x(max(min(as_of, end), start)) if as_of is not None else None
    height = 30 + len(lanes) * lane
    return {
        "width": width,
        "height": height + 20,
        "axis_y": height,
        "dots": dots,
        "lanes": [{"y": 20 + i * lane, "name": d, "colour": colours[d]} for i, d in enumerate(lanes)],
        "ticks": ticks,
        "cursor": cursor,
    }


def dashboard_charts(figures: list[Any], lang: str = "zh") -> list[dict[str, Any]]:
    """Horizontal bar charts, one per figure, one bar per department."""
    en = lang == "en"
    specs: list[tuple[str, Callable[[Any], Any], str]] = [
        ("三书同达 completeness" if en else "三书同达率（处罚决定书、合规建议书、信用修复告知书同时送达）",
         lambda f: f.three_documents_completeness, "pct"),
        ("Advice items (企业整改建议事项) closed / found — not 案卷评查 findings" if en
         else "企业整改建议事项 销号率（已销号 / 发现；不是案卷评查问题）",
         lambda f: ratio(f.rectification_closed, f.rectification_found), "pct"),
        ("Advice items overdue" if en else "企业整改建议事项 逾期", lambda f: f.rectification_overdue, "n"),
        ("Repairs decided within deadline" if en else "信用修复按期办结率", lambda f: f.repairs_within_deadline_rate, "pct"),
        ("Mean sync acknowledgement lag (hours)" if en else "修复结果同步平均确认时长（小时）",
         lambda f: f.mean_sync_ack_hours, "n"),
        ("Syncs overdue" if en else "修复结果同步逾期", lambda f: f.syncs_overdue, "n"),
    ]
    charts = []
    for title, get, kind in specs:
        values = [(f.department, get(f)) for f in figures]
        top = 1.0 if kind == "pct" else max([v for _, v in values if v] or [1])
        bars = []
        for i, (dept, v) in enumerate(values):
            bars.append({
                "y": 8 + i * 24,
                "label": dept,
                "w": round(((v or 0) / top) * 260, 1) if top else 0,
                "text": "—" if v is None else (f"{v * 100:.0f}%" if kind == "pct" else f"{v:g}"),
            })
        charts.append({"title": title, "bars": bars, "height": 16 + len(values) * 24})
    return charts
