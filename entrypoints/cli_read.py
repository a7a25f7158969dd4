"""Commands that read: an enterprise's history and views, verification and export, the
figures, rejections, and a subscriber's inbox. They open the ledger read-only where they can."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.progress import Progress

from tongxiu.projections.workdays import china_day

from . import cli_render as render
from .cli_output import (
    EXIT_REFUSED,
    fail,
    open_app,
    open_ro,
    parse_when,
    print_json,
    read_file,
    require_department,
    require_stream,
    say,
    tr,
    write_file,
)

JSON = typer.Option(False, "--json", help="one JSON document on stdout (errors: a JSON object on stderr)")


def register(app: typer.Typer) -> None:
    for command in (replay, verify, export, credit, notice, rectification, sync, stats, oversight, rejections, inbox):
        app.command()(command)
    app.command("first-violation")(first_violation_cmd)


def replay(
    code: str,
    as_of: str | None = typer.Option(None, help="what had happened by then (occurred-at)"),
    known_at: str | None = typer.Option(None, help="what the ledger knew by then (recorded-at)"),
    json_out: bool = JSON,
) -> None:
    """The full history across departments and the views as they stood (streamed: memory
    does not grow with the length of the history)."""
    from itertools import islice

    from tongxiu.projections.views import EnterpriseState
    from tongxiu.services.audit import iter_replay

    when, known = parse_when(as_of, "--as-of"), parse_when(known_at, "--known-at")
    tongxiu = open_ro()
    require_stream(tongxiu, code)
    state = EnterpriseState.empty(code)
    events = iter_replay(tongxiu.log, tongxiu.rules, code, state, as_of=when, known_at=known)
    try:
        if json_out:
            out = sys.stdout
            head = {"enterprise": code, "as_of": when, "known_at": known}
            out.write(json.dumps(head, ensure_ascii=False, indent=2, default=str)[:-2] + ',\n  "events": [')
            for n, env in enumerate(events):
                out.write(("," if n else "") + "\n    " + env.to_json())
            tail = {
                "credit": state.credit.model_dump(mode="json"),
                "rectification": state.rectification.model_dump(mode="json"),
                "sync": state.sync.model_dump(mode="json"),
            }
            body = json.dumps(tail, ensure_ascii=False, indent=2, default=str)
            out.write("\n  ],\n" + body[2:] + "\n")
            return
        while chunk := list(islice(events, 500)):
            render.history(chunk, code)
    finally:
        tongxiu.close()
    render.credit(state.credit)
    render.rectification(state.rectification, when or known or datetime.now().astimezone())


def verify(
    code: str | None = typer.Argument(None),
    all_streams: bool = typer.Option(False, "--all", help="every stream"),
    json_out: bool = JSON,
    projections: bool = typer.Option(False, "--projections", help="compare the read models with a rebuild"),
) -> None:
    """Check hash chains, sequence and every signature; exit 1 naming the first bad event.
    With --projections: compare the read models with a rebuild and name the first difference."""
    from tongxiu.services.audit import verify_streams

    from .cli_output import console

    if projections:  # issue 9
        from tongxiu.entrypoints.cli_log import verify_projections_cmd

        verify_projections_cmd(open_ro, console, print_json, json_out)
        return
    if not code and not all_streams:
        fail(tr("请给出企业代码或 --all", "give an enterprise code or --all"))
    tongxiu = open_ro()
    if code and not all_streams:
        require_stream(tongxiu, code)
    streams = None if all_streams or code is None else [code]
    total = len(tongxiu.log.streams()) if all_streams else 1
    with Progress(console=Console(stderr=True), transient=True, disable=json_out) as progress:
        task = progress.add_task(tr("校验中", "verifying"), total=total)
        outcome = verify_streams(tongxiu.log, streams, progress=lambda: progress.advance(task))
    tongxiu.close()
    if json_out:
        print_json(outcome.__dict__)
    elif outcome.ok:
        say(tr(f" {outcome.streams} 个流中的 {outcome.events} 个事项已校验（哈希链、序号、签名）",
               f" {outcome.events} events in {outcome.streams} streams verified"),
            markup=f"[green]{tr('通过', 'OK')}[/green]")
    else:
        bad = outcome.first_bad or {}
        say(tr(f" 第一个有问题的事项：流 {bad.get('stream')} seq {bad.get('seq')}（{bad.get('event_id')}）：{bad.get('problem')}",
               f" first bad event: stream {bad.get('stream')} seq {bad.get('seq')} ({bad.get('event_id')}): "
               f"{bad.get('problem_en')}"),
            markup=f"[red]{tr('未通过', 'FAILED')}[/red]")
    if not outcome.ok:
        raise typer.Exit(EXIT_REFUSED)


def export(
    code: str,
    out: Path | None = typer.Option(None),  # noqa: B008
    bundle: Path | None = typer.Option(None, help="write an offline audit bundle (events, registry, proofs) here"),  # noqa: B008
    at: Path | None = typer.Option(None, help="with --bundle: prove against this checkpoint file"),  # noqa: B008
) -> None:
    """Export an enterprise's events as JSON Lines (the stored bytes), or an offline audit
    bundle (--bundle; check it with `tongxiu verify-bundle`)."""
    from tongxiu.services.audit import export_jsonl

    from .cli_output import console

    tongxiu = open_ro()
    require_stream(tongxiu, code)
    if bundle is not None:  # issue 9
        from tongxiu.entrypoints.cli_log import export_bundle_cmd

        export_bundle_cmd(tongxiu, code, bundle, at, console, fail)
        return
    lines = list(export_jsonl(tongxiu.log, code))
    tongxiu.close()
    text = "".join(line + "\n" for line in lines)
    if out:
        write_file(out, text, "--out")
        say(tr(f"已将 {len(lines)} 个事项写入 {out}", f"wrote {len(lines)} events to {out}"))
    else:
        sys.stdout.write(text)


def credit(code: str, json_out: bool = JSON) -> None:
    """An enterprise's credit records and standing."""
    tongxiu = open_ro()
    require_stream(tongxiu, code)
    view = tongxiu.credit(code)
    tongxiu.close()
    print_json(view.model_dump(mode="json")) if json_out else render.credit(view)


def notice(
    decision_file: Path = typer.Argument(..., help="a penalty_decided event as JSON (or a submission holding one)"),  # noqa: B008
    enterprise: str = typer.Option(..., "--enterprise", help="unified social credit code"),
    department: str = typer.Option(..., "--department", help="the deciding department"),
    notice_no: str | None = typer.Option(None, "--notice-no"),
    json_out: bool = JSON,
) -> None:
    """The 信用修复告知书 the ledger expects for a decision (computed, nothing written)."""
    from pydantic import ValidationError

    from tongxiu.events.models import PenaltyDecided
    from tongxiu.services.rules_api import expected_notice

    try:
        raw = json.loads(read_file(decision_file, "DECISION_FILE"))
    except ValueError as exc:
        fail(tr(f"DECISION_FILE: {decision_file} 不是 JSON：{exc}", f"DECISION_FILE: {decision_file} is not JSON: {exc}"))
    if isinstance(raw, dict) and "events" in raw:
        found = [e.get("event", e) for e in raw["events"] if e.get("event", e).get("type") == "penalty_decided"]
        if not found:
            fail(tr(f"{decision_file}: 该提交中没有行政处罚决定（penalty_decided）",
                    f"{decision_file}: the submission holds no penalty_decided event"))
        raw = found[0]
    try:
        decision = PenaltyDecided.model_validate(raw)
    except ValidationError as exc:
        fail(tr(f"{decision_file}: 不是行政处罚决定（penalty_decided）：{exc}", f"{decision_file}: not a penalty_decided event: {exc}"))
    tongxiu = open_app()
    try:
        out = expected_notice(tongxiu, enterprise, department, decision, notice_no)
    except ValueError as exc:
        fail(str(exc))
    finally:
        tongxiu.close()
    if json_out:
        print_json(out)
        return
    n = out["notice"]
    never = tr("不可修复", "not repairable")
    lines = [
        (f"信用修复告知书 {n['notice_no']}（决定 {n['decision_no']}，规则 {out['rule_set']}）",
         f"credit-repair notice {n['notice_no']} (decision {n['decision_no']}, rule set {out['rule_set']})"),
        (f"  公示类别: {n['publicity_class']}（违法类别 {out['recorded_class']}）",
         f"  publicity class: {n['publicity_class']} (recorded class {out['recorded_class']})"),
        (f"  公示截止: {n['publicity_until']}", f"  publicity until: {n['publicity_until']}"),
        (f"  最早可申请修复: {n['earliest_repair_date'] or never}", f"  earliest repair: {n['earliest_repair_date'] or never}"),
        (f"  条件: {n['conditions']}", f"  conditions: {n['conditions']}"),
        (f"  申请方式: {n['how_to_apply']}", f"  how to apply: {n['how_to_apply']}"),
        (f"  依据: {out['basis']}", f"  basis: {out['basis_en']}"),
    ]
    for zh, en in lines:
        say(tr(zh, en))
    for gap, gap_en in zip(out["gaps"], out["gaps_en"], strict=True):
        say(tr(f"  [缺少地方/行业数据] {gap}", f"  [missing local/sector data] {gap_en}"))


def first_violation_cmd(
    code: str,
    kind: str = typer.Option(..., "--kind", help="the violation kind (violation_kind)"),
    json_out: bool = JSON,
) -> None:
    """首违: is a violation of this kind the enterprise's first, across every department."""
    from tongxiu.services.rules_api import first_violation

    tongxiu = open_app()
    require_stream(tongxiu, code)
    out = first_violation(tongxiu.enterprise_state(code), kind)
    tongxiu.close()
    if json_out:
        print_json(out)
        return
    if out["first_violation"]:
        say(tr(f"{code}: 「{kind}」是首次违法（各部门均无同类记录）",
               f"{code}: {kind!r} is a first violation (no department holds one of this kind)"))
    else:
        prior = "; ".join(f"{p['decision_no']}（{p['department']}，{p['decision_date']}）" for p in out["prior"])
        say(tr(f"{code}: 「{kind}」不是首次违法，已有: {prior}", f"{code}: {kind!r} is not a first violation; prior: {prior}"))


def rectification(
    code: str,
    as_of: str | None = typer.Option(None, help="the items as they stood then, overdue judged then"),
    json_out: bool = JSON,
) -> None:
    """An enterprise's rectification items; open demands side by side."""
    from tongxiu.services.audit import replay as do_replay

    past = parse_when(as_of, "--as-of")
    tongxiu = open_ro()
    require_stream(tongxiu, code)
    view = (
        do_replay(tongxiu.log, tongxiu.rules, code, as_of=past).state.rectification
        if past is not None
        else tongxiu.rectification(code)
    )
    when = past or tongxiu.now()
    tongxiu.close()
    if json_out:
        data = view.model_dump(mode="json")
        for key, item in view.items.items():
            data["items"][key]["overdue"] = item.overdue_as_of(china_day(when))
        data["open_by_department"] = {d: [f"{i.advice_no}/{i.item_id}" for i in items]
                                      for d, items in view.open_by_department().items()}
        print_json(data)
    else:
        render.rectification(view, when)


def sync(code: str, json_out: bool = JSON) -> None:
    """Per repair, per subscriber: pending, acknowledged or overdue."""
    tongxiu = open_ro()
    require_stream(tongxiu, code)
    view, now = tongxiu.sync(code), tongxiu.now()
    tongxiu.close()
    print_json(view.model_dump(mode="json")) if json_out else render.sync(view, china_day(now))


def stats(
    period: str | None = typer.Option(None, help="YYYY, YYYY-MM or YYYY-MM..YYYY-MM"),
    json_out: bool = JSON,
) -> None:
    """Ledger totals and per-department supervision figures."""
    from tongxiu.services.app import period_error

    if period and (problem := period_error(period)) is not None:
        fail(tr(f"--period: {problem}，实为 {period!r}", f"--period: {problem}, got {period!r}"))
    tongxiu = open_ro()
    figures = {d: tongxiu.supervision(d, period) for d in tongxiu.departments()}
    totals = tongxiu.stats()
    oversight_figures = tongxiu.supervision_figures(period)
    tongxiu.close()
    if json_out:
        print_json({"ledger": totals, "supervision": {d: {**c.model_dump(), "penalties_without_notice":
                                                          c.penalties_without_notice} for d, c in figures.items()},
                    "oversight": oversight_figures})
    else:
        render.ledger_totals(totals)
        render.supervision(figures, period)
        render.oversight(oversight_figures)


def oversight(department: str, json_out: bool = JSON) -> None:
    """A department's case reviews, findings (open / overdue: 对账、核账、销账) and complaints."""
    from tongxiu.services.supervision_api import oversight_out

    tongxiu = open_app()
    require_department(tongxiu, department)
    out = oversight_out(tongxiu, department, china_day(tongxiu.now()))
    tongxiu.close()
    if json_out:
        print_json(out)
        return
    say(tr(f"{department}：评查案卷 {out['case_files_reviewed']} 件，监督意见 {len(out['findings'])} 条，"
           f"未办结 {len(out['open_findings'])} 条，逾期 {len(out['overdue_findings'])} 条，投诉 {len(out['complaints'])} 件",
           f"{department}: {out['case_files_reviewed']} case files reviewed, {len(out['findings'])} findings, "
           f"{len(out['open_findings'])} open, {len(out['overdue_findings'])} overdue, {len(out['complaints'])} complaints"))
    for f in out["findings"]:
        if f["status"] != "closed":
            late = tr("  逾期", "  OVERDUE") if f["overdue"] else ""
            say(f"  {f['finding_id']}  {f['source']}  {f['category']}  {tr('期限', 'deadline')} {f['deadline']}"
                f"  {f['status']}{late}")


def rejections(
    department: str | None = typer.Option(None),
    code: str | None = typer.Option(None, help="enterprise"),
    limit: int = typer.Option(50, min=1, max=100_000),
    json_out: bool = JSON,
) -> None:
    """Rejected submissions with their reasons."""
    tongxiu = open_ro()
    rows = tongxiu.list_rejections(department=department, stream=code, limit=limit)
    tongxiu.close()
    if json_out:
        print_json([{"receipt": r.receipt.model_dump(mode="json"), "authenticated": r.authenticated} for r in rows])
    else:
        render.rejections(rows)


def inbox(subscriber: str = typer.Argument(..., help="a registered department or credit platform"),
          json_out: bool = JSON) -> None:
    """A subscriber's repair results not yet acknowledged (the HTTP inbox's list); acknowledge
    them with `tongxiu ack` (a credit platform reading the repair feed acknowledges by
    committing it: the same fact)."""
    tongxiu = open_ro()
    require_department(tongxiu, subscriber, "SUBSCRIBER")
    pending: list[dict[str, Any]] = tongxiu.inbox(subscriber)
    tongxiu.close()
    print_json(pending) if json_out else render.inbox(pending, subscriber)
