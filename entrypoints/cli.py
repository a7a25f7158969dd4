"""``tongxiu``: the command line. Thin: it parses, calls the application, renders."""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import sys
from datetime import datetime
from pathlib import Path
from typing import Any, NoReturn

import typer
from pydantic import TypeAdapter, ValidationError
from rich.console import Console
from rich.markup import escape
from rich.progress import Progress
from rich.table import Table

from tongxiu.events.signing import KeyPair
from tongxiu.projections.workdays import china_day
from tongxiu.services.config import Settings

app = typer.Typer(help="同修 Tongxiu — a cross-department ledger for enforcement decisions and credit repair.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
schema_app = typer.Typer(help="Event schemas.")
infra_app = typer.Typer(help="Local Kafka and Cassandra servers (distributed backend).")
app.add_typer(schema_app, name="schema")
app.add_typer(infra_app, name="infra")
console = Console(width=max(shutil.get_terminal_size((140, 40)).columns, 120))

_DATETIME: TypeAdapter[datetime] = TypeAdapter(datetime)


class State:
    settings: Settings = Settings()


@app.callback()
def _main(
    backend: str | None = typer.Option(None, help="embedded (default) or distributed"),
    data_dir: Path | None = typer.Option(None, help="embedded backend's folder"),
    config: Path | None = typer.Option(None, help="settings file (TOML); default ./tongxiu.toml"),
) -> None:
    try:
        State.settings = Settings.load(config, backend=backend, data_dir=data_dir)
    except ValidationError as exc:
        _fail("bad settings: " + "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()))
    except (OSError, ValueError) as exc:
        _fail(f"bad settings: {exc}")


def _open(**kw: Any) -> Any:
    from tongxiu.infra.bootstrap import open_app

    try:
        return open_app(State.settings, **kw)
    except (OSError, ValueError, sqlite3.Error) as exc:
        _fail(f"cannot open the {State.settings.backend} ledger: {exc}")


def _open_ro() -> Any:
    """For commands that only read: the embedded database file is opened read-only and left
    unchanged (nothing bootstrapped, no processors run; the read models are as the writers
    left them)."""
    return _open(read_only=True)


def _fail(message: str, code: int = 2) -> NoReturn:
    console.print("[red]error:[/red] " + escape(message))
    raise typer.Exit(code)


def _read(path: Path, what: str) -> str:
    """A file's text, or a clear error naming the option and the file."""
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        _fail(f"{what}: cannot read {path}: {exc.strerror or exc}")
    except UnicodeDecodeError as exc:
        _fail(f"{what}: {path} 不是合法的 UTF-8（第 {exc.start} 字节起）")


def _write(path: Path, text: str, what: str) -> None:
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        _fail(f"{what}: cannot write {path}: {exc.strerror or exc}")


def _require_stream(tongxiu: Any, code: str) -> None:
    """Refuse to answer about an enterprise the ledger holds nothing for (rather than show an
    empty view that looks like a clean record)."""
    if tongxiu.log.last_seq(code) == 0:
        tongxiu.close()
        _fail(f"CODE: the ledger holds no events for enterprise {code!r}")


def _when(text: str | None, name: str) -> datetime | None:
    if text is None:
        return None
    try:
        value = _DATETIME.validate_python(text if "T" in text else f"{text}T23:59:59.999999+08:00")
    except ValidationError:
        _fail(f"{name}: expected an ISO date or date-time with zone, got {text!r}")
    if value.tzinfo is None:
        _fail(f"{name}: give a time zone, e.g. {text}+08:00")
    return value


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")


# ---------------------------------------------------------------------------- demo


@app.command()
def demo(
    keep: bool = typer.Option(False, help="keep an existing demo ledger instead of starting fresh"),
) -> None:
    """Run the whole mission on a fresh embedded ledger and show the result."""
    from tongxiu.infra.bootstrap import open_embedded
    from tongxiu.infra.embedded import LocalInbox, LocalTransport
    from tongxiu.services import render
    from tongxiu.services.demo import START, run_demo
    from tongxiu.services.ports import ManualClock

    data_dir = Path(State.settings.data_dir) / "demo"
    if data_dir.exists() and not keep:
        shutil.rmtree(data_dir)
    clock = ManualClock(START)
    tongxiu = open_embedded(State.settings.model_copy(update={"data_dir": data_dir}), clock=clock)
    try:
        console.rule("[bold]同修 Tongxiu demo — embedded backend")
        result = run_demo(
            tongxiu,
            clock,
            transport=LocalTransport(tongxiu),
            inbox=LocalInbox(tongxiu),
            feed=tongxiu.feed,
            say=lambda s: console.print(escape(s)),
        )
        render.credit(console, tongxiu.credit(result.enterprise))
        render.rectification(console, tongxiu.rectification(result.enterprise), clock.now())
        render.sync(console, tongxiu.sync(result.enterprise))
        render.supervision(console, {d: tongxiu.supervision(d) for d in tongxiu.departments()}, None)
        from tongxiu.services.audit import verify_streams

        outcome = verify_streams(tongxiu.log)
        console.print(
            f"verify: {'[green]OK[/green]' if outcome.ok else '[red]FAILED[/red]'} — "
            f"{outcome.events} events in {outcome.streams} streams, chains and signatures checked"
        )
        exe = Path(sys.argv[0])
        command = os.path.relpath(exe) if exe.exists() else "tongxiu"
        console.print(f"ledger kept in {data_dir} — try: {command} --data-dir {data_dir} replay {result.enterprise}")
    finally:
        tongxiu.close()


# ---------------------------------------------------------------------------- keys & signing


@app.command()
def keys(department: str, out_dir: Path = typer.Option(Path("."), help="where to write DEPT.key and DEPT.pub")) -> None:
    """Make an Ed25519 key pair for a department."""
    if not re.fullmatch(r"[a-z0-9][a-z0-9_.-]{1,63}", department):
        _fail(f"DEPARTMENT: {department!r} must be 2–64 of a-z 0-9 _ . - (the id it will be registered under)")
    pair = KeyPair.generate()
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        _fail(f"--out-dir: cannot create {out_dir}: {exc.strerror or exc}")
    _write(out_dir / f"{department}.key", pair.private_key + "\n", "--out-dir")
    (out_dir / f"{department}.key").chmod(0o600)
    _write(out_dir / f"{department}.pub", pair.public_key + "\n", "--out-dir")
    console.print(f"wrote {out_dir / (department + '.key')} (keep secret) and {department}.pub: {pair.public_key}")


@app.command()
def sign(
    file: Path,
    key: Path = typer.Option(..., help="the department's private key file"),
    out: Path | None = typer.Option(None, help="write here instead of stdout"),
    exact: bool = typer.Option(False, "--exact", help="refuse (exit 2) when the file leaves out a default or "
                               "writes a value otherwise than it is signed"),
) -> None:
    """Sign an unsigned submission (events without signatures) with a department key.

    What is signed is every field of every event with its default filled in and occurred_at
    in UTC (docs/signing.md); each value the file does not say so is listed on stderr, and the
    signed submission written holds them all."""
    from tongxiu.services.signfile import SignFileError, sign_file

    text = _read(file, "FILE")
    try:
        signer = KeyPair.from_private(_read(key, "--key").strip())
    except ValueError:
        _fail(f"--key: {key} does not hold a hex Ed25519 private key (make one with `tongxiu keys`)")
    try:
        result = sign_file(text, signer)
    except SignFileError as exc:
        _fail(f"FILE: {file}: {exc}")
    if result.changes:
        lines = "\n".join(f"  {c.describe()}" for c in result.changes)
        sys.stderr.write(f"tongxiu sign: {len(result.changes)} signed value(s) not written so in {file} "
                         f"(docs/signing.md):\n{lines}\n")
        if exact:
            _fail("--exact: nothing signed; write these values in the file as shown")
    text = result.submission.model_dump_json(indent=2)
    if out:
        _write(out, text + "\n", "--out")
    else:
        sys.stdout.write(text + "\n")


@app.command()
def register(
    department_id: str,
    name: str = typer.Option(...),
    kind: str = typer.Option("department", help="department or credit_platform"),
    domain: str = typer.Option(...),
    jurisdiction: str = typer.Option(..., help="area code prefix, e.g. 33 or 330521"),
    public_key: Path = typer.Option(..., help="the department's .pub file"),
) -> None:
    """(operator) Register a department or credit platform with its public key."""
    from tongxiu.events.models import REGISTRY_STREAM, DepartmentRegistered

    key_text = _read(public_key, "--public-key").strip()
    try:
        event = DepartmentRegistered(
            department_id=department_id, name=name, kind=kind, domain=domain,  # type: ignore[arg-type]
            jurisdiction=jurisdiction, public_key=key_text,
        )
    except ValidationError as exc:
        _fail("; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()))
    tongxiu = _open()
    receipt = tongxiu.emit(REGISTRY_STREAM, [event], submission_id=f"register:{department_id}")
    tongxiu.process()
    _receipt_out(receipt.model_dump(mode="json"), json_out=False)
    tongxiu.close()
    if not receipt.accepted:
        raise typer.Exit(1)


@app.command("legacy-code")
def legacy_code(
    code: str,
    source: str = typer.Option(..., help="where the code is known from, e.g. the registry extract"),
) -> None:
    """(operator) Register a known legacy credit code (fails GB 32100-2015) so it may open a stream."""
    from tongxiu.events.models import REGISTRY_STREAM, LegacyCodeRegistered

    try:
        event = LegacyCodeRegistered(code=code, source=source)
    except ValidationError as exc:
        _fail("; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()))
    tongxiu = _open()
    receipt = tongxiu.emit(REGISTRY_STREAM, [event], submission_id=f"legacy-code:{code}")
    tongxiu.process()
    _receipt_out(receipt.model_dump(mode="json"), json_out=False)
    tongxiu.close()
    if not receipt.accepted:
        raise typer.Exit(1)


@app.command()
def backfill(
    department_id: str,
    until: str = typer.Option(..., help="last ledger day (YYYY-MM-DD) the department may import history"),
    reason: str = typer.Option(..., help="why history is imported"),
) -> None:
    """(operator) Open the backfill path: DEPT may import history (submission ids 'backfill:…')."""
    from datetime import date as _date

    from tongxiu.events.models import REGISTRY_STREAM, BackfillAuthorized

    try:
        event = BackfillAuthorized(department_id=department_id, until=_date.fromisoformat(until), reason=reason)
    except (ValidationError, ValueError) as exc:
        _fail(f"--until / --reason: {exc}")
    tongxiu = _open()
    receipt = tongxiu.emit(REGISTRY_STREAM, [event], submission_id=f"backfill-open:{department_id}:{until}")
    tongxiu.process()
    _receipt_out(receipt.model_dump(mode="json"), json_out=False)
    tongxiu.close()
    if not receipt.accepted:
        raise typer.Exit(1)


@app.command()
def publish(file: Path, json_out: bool = typer.Option(False, "--json")) -> None:
    """Publish signed submissions from FILE (one JSON object, a JSON list, or JSON Lines).
    Each is read by the ledger's strict wire format; whatever it cannot read is rejected and
    recorded with its reason, like any other rejection."""
    from tongxiu.events.wire import split_submissions

    try:
        data = file.read_bytes()
    except OSError as exc:
        _fail(f"FILE: cannot read {file}: {exc.strerror or exc}")
    items = split_submissions(data)
    tongxiu = _open()
    failed = 0
    receipts = []
    try:
        with Progress(console=Console(stderr=True), transient=True, disable=len(items) < 20) as progress:
            task = progress.add_task("publishing", total=len(items))
            for item in items:
                receipt = tongxiu.submit(item)
                failed += not receipt.accepted
                receipts.append(receipt.model_dump(mode="json"))
                progress.advance(task)
    except Exception as exc:  # noqa: BLE001 - a clear message and exit code, never a traceback
        tongxiu.close()
        _fail(f"发布中止（已处理 {len(receipts)} 件）：{type(exc).__name__}: {exc}", code=3)
    tongxiu.close()
    if json_out:
        _print_json(receipts)
    else:
        for r in receipts:
            _receipt_out(r, json_out=False)
    if failed:
        raise typer.Exit(1)


def _receipt_out(r: dict[str, Any], json_out: bool) -> None:
    if json_out:
        _print_json(r)
        return
    if r["accepted"]:
        dup = " (duplicate: first receipt)" if r.get("duplicate") else ""
        console.print(f"[green]accepted[/green] {r['submission_id']}{dup}: " +
                      ", ".join(f"{e['type']}#{e['seq']} {e['hash'][:12]}" for e in r["events"]))
    else:
        console.print(f"[red]rejected[/red] {r['submission_id']}:")
        for reason in r["reasons"]:
            console.print(escape(f"  [{reason['code']}] {reason.get('field') or ''}: {reason['message']}"))


# ---------------------------------------------------------------------------- reads


@app.command()
def replay(
    code: str,
    as_of: str | None = typer.Option(None, help="what had happened by then (occurred-at)"),
    known_at: str | None = typer.Option(None, help="what the ledger knew by then (recorded-at)"),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """The full history across departments and the views as they stood (streamed: memory
    does not grow with the length of the history)."""
    from itertools import islice

    from tongxiu.projections.views import EnterpriseState
    from tongxiu.services import render
    from tongxiu.services.audit import iter_replay

    when, known = _when(as_of, "--as-of"), _when(known_at, "--known-at")
    tongxiu = _open_ro()
    _require_stream(tongxiu, code)
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
            render.history(console, chunk)
    finally:
        tongxiu.close()
    render.credit(console, state.credit)
    render.rectification(console, state.rectification, when or known or datetime.now().astimezone())


@app.command()
def verify(
    code: str | None = typer.Argument(None),
    all_streams: bool = typer.Option(False, "--all", help="every stream"),
    json_out: bool = typer.Option(False, "--json"),
    projections: bool = typer.Option(False, "--projections", help="compare the read models with a rebuild"),
) -> None:
    """Check hash chains, sequence and every signature; exit 1 naming the first bad event.
    With --projections: compare the read models with a rebuild and name the first difference."""
    from tongxiu.services.audit import verify_streams

    if projections:  # issue 9
        from tongxiu.entrypoints.cli_log import verify_projections_cmd

        verify_projections_cmd(_open_ro, console, _print_json, json_out)
        return
    if not code and not all_streams:
        _fail("give an enterprise code or --all")
    tongxiu = _open_ro()
    if code and not all_streams:
        _require_stream(tongxiu, code)
    streams = None if all_streams or code is None else [code]
    total = len(tongxiu.log.streams()) if all_streams else 1
    with Progress(console=Console(stderr=True), transient=True, disable=json_out) as progress:
        task = progress.add_task("verifying", total=total)
        outcome = verify_streams(tongxiu.log, streams, progress=lambda: progress.advance(task))
    tongxiu.close()
    if json_out:
        _print_json(outcome.__dict__)
    elif outcome.ok:
        console.print(f"[green]OK[/green] {outcome.events} events in {outcome.streams} streams verified")
    else:
        bad = outcome.first_bad or {}
        console.print("[red]FAILED[/red] " + escape(f"first bad event: stream {bad.get('stream')} seq {bad.get('seq')} "
                                                     f"({bad.get('event_id')}): {bad.get('problem')}"))
    if not outcome.ok:
        raise typer.Exit(1)


@app.command()
def export(
    code: str,
    out: Path | None = typer.Option(None),
    bundle: Path | None = typer.Option(None, help="write an offline audit bundle (events, registry, proofs) here"),
    at: Path | None = typer.Option(None, help="with --bundle: prove against this checkpoint file"),
) -> None:
    """Export an enterprise's events as JSON Lines (the stored bytes), or an offline audit
    bundle (--bundle; check it with `tongxiu verify-bundle`)."""
    from tongxiu.services.audit import export_jsonl

    tongxiu = _open_ro()
    _require_stream(tongxiu, code)
    if bundle is not None:  # issue 9
        from tongxiu.entrypoints.cli_log import export_bundle_cmd

        export_bundle_cmd(tongxiu, code, bundle, at, console, _fail)
        return
    lines = list(export_jsonl(tongxiu.log, code))
    tongxiu.close()
    text = "".join(line + "\n" for line in lines)
    if out:
        _write(out, text, "--out")
        console.print(f"wrote {len(lines)} events to {out}")
    else:
        sys.stdout.write(text)


@app.command()
def credit(code: str, json_out: bool = typer.Option(False, "--json")) -> None:
    """An enterprise's credit records and standing."""
    from tongxiu.services import render

    tongxiu = _open_ro()
    _require_stream(tongxiu, code)
    view = tongxiu.credit(code)
    tongxiu.close()
    _print_json(view.model_dump(mode="json")) if json_out else render.credit(console, view)


@app.command()
def notice(
    decision_file: Path = typer.Argument(..., help="a penalty_decided event as JSON (or a submission holding one)"),
    enterprise: str = typer.Option(..., "--enterprise", help="unified social credit code"),
    department: str = typer.Option(..., "--department", help="the deciding department"),
    notice_no: str | None = typer.Option(None, "--notice-no"),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """The 信用修复告知书 the ledger expects for a decision (computed, nothing written)."""
    from tongxiu.events.models import PenaltyDecided
    from tongxiu.services.rules_api import expected_notice

    raw = json.loads(_read(decision_file, "DECISION_FILE"))
    if isinstance(raw, dict) and "events" in raw:
        found = [e.get("event", e) for e in raw["events"] if e.get("event", e).get("type") == "penalty_decided"]
        if not found:
            _fail(f"{decision_file}: the submission holds no penalty_decided event")
        raw = found[0]
    try:
        decision = PenaltyDecided.model_validate(raw)
    except ValidationError as exc:
        _fail(f"{decision_file}: not a penalty_decided event: {exc}")
    tongxiu = _open()
    try:
        out = expected_notice(tongxiu, enterprise, department, decision, notice_no)
    except ValueError as exc:
        _fail(str(exc))
    finally:
        tongxiu.close()
    if json_out:
        _print_json(out)
        return
    n = out["notice"]
    console.print(escape(f"信用修复告知书 {n['notice_no']}（决定 {n['decision_no']}，规则 {out['rule_set']}）"))
    console.print(escape(f"  公示类别: {n['publicity_class']}（违法类别 {out['recorded_class']}）"))
    console.print(escape(f"  公示截止: {n['publicity_until']}"))
    console.print(escape(f"  最早可申请修复: {n['earliest_repair_date'] or '不可修复'}"))
    console.print(escape(f"  条件: {n['conditions']}"))
    console.print(escape(f"  申请方式: {n['how_to_apply']}"))
    console.print(escape(f"  依据: {out['basis']}"))
    for gap in out["gaps"]:
        console.print(escape(f"  [缺少地方/行业数据] {gap}"))


@app.command("first-violation")
def first_violation_cmd(
    code: str,
    kind: str = typer.Option(..., "--kind", help="the violation kind (violation_kind)"),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """首违: is a violation of this kind the enterprise's first, across every department."""
    from tongxiu.services.rules_api import first_violation

    tongxiu = _open()
    _require_stream(tongxiu, code)
    out = first_violation(tongxiu.enterprise_state(code), kind)
    tongxiu.close()
    if json_out:
        _print_json(out)
        return
    if out["first_violation"]:
        console.print(escape(f"{code}: 「{kind}」是首次违法（各部门均无同类记录）"))
    else:
        prior = "; ".join(f"{p['decision_no']}（{p['department']}，{p['decision_date']}）" for p in out["prior"])
        console.print(escape(f"{code}: 「{kind}」不是首次违法，已有: {prior}"))


@app.command()
def rectification(
    code: str,
    as_of: str | None = typer.Option(None, help="the items as they stood then, overdue judged then"),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """An enterprise's rectification items; open demands side by side."""
    from tongxiu.services import render
    from tongxiu.services.audit import replay as do_replay

    past = _when(as_of, "--as-of")
    tongxiu = _open_ro()
    _require_stream(tongxiu, code)
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
        _print_json(data)
    else:
        render.rectification(console, view, when)


@app.command()
def sync(code: str, json_out: bool = typer.Option(False, "--json")) -> None:
    """Per repair, per subscriber: pending, acknowledged (latency) or overdue."""
    from tongxiu.services import render

    tongxiu = _open_ro()
    _require_stream(tongxiu, code)
    view = tongxiu.sync(code)
    tongxiu.close()
    _print_json(view.model_dump(mode="json")) if json_out else render.sync(console, view)


@app.command()
def stats(
    period: str | None = typer.Option(None, help="YYYY, YYYY-MM or YYYY-MM..YYYY-MM"),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Ledger totals and per-department supervision figures."""
    from tongxiu.services import render
    from tongxiu.services.app import period_error

    if period and (problem := period_error(period)) is not None:
        _fail(f"--period: {problem}, got {period!r}")
    tongxiu = _open_ro()
    figures = {d: tongxiu.supervision(d, period) for d in tongxiu.departments()}
    totals = tongxiu.stats()
    oversight = tongxiu.supervision_figures(period)
    tongxiu.close()
    if json_out:
        _print_json({"ledger": totals, "supervision": {d: {**c.model_dump(), "penalties_without_notice":
                                                           c.penalties_without_notice} for d, c in figures.items()},
                     "oversight": oversight})
    else:
        console.print(totals)
        render.supervision(console, figures, period)
        render.oversight(console, oversight)


@app.command()
def oversight(department: str, json_out: bool = typer.Option(False, "--json")) -> None:
    """A department's case reviews, findings (open / overdue: 对账、核账、销账) and complaints."""
    from tongxiu.projections.fold import china_day
    from tongxiu.services.supervision_api import oversight_out

    tongxiu = _open()
    if department not in tongxiu.registry().departments:
        tongxiu.close()
        _fail(f"DEPARTMENT: {department!r} is not registered")
    out = oversight_out(tongxiu, department, china_day(tongxiu.now()))
    tongxiu.close()
    if json_out:
        _print_json(out)
        return
    console.print(f"{department}: {out['case_files_reviewed']} case files reviewed, {len(out['findings'])} findings, "
                  f"{len(out['open_findings'])} open, {len(out['overdue_findings'])} overdue, "
                  f"{len(out['complaints'])} complaints")
    for f in out["findings"]:
        if f["status"] != "closed":
            console.print(f"  {escape(f['finding_id'])}  {f['source']}  {escape(f['category'])}  deadline {f['deadline']}"
                          f"  {f['status']}{'  OVERDUE' if f['overdue'] else ''}")


@app.command()
def rejections(
    department: str | None = typer.Option(None),
    code: str | None = typer.Option(None, help="enterprise"),
    limit: int = typer.Option(50, min=1, max=100_000),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Rejected submissions with their reasons."""
    tongxiu = _open_ro()
    rows = tongxiu.list_rejections(department=department, stream=code, limit=limit)
    tongxiu.close()
    if json_out:
        _print_json([{"receipt": r.receipt.model_dump(mode="json"), "authenticated": r.authenticated} for r in rows])
        return
    table = Table(title="rejections")
    for col in ("recorded at", "department", "submission", "enterprise", "reasons"):
        table.add_column(col)
    for r in rows:
        rc = r.receipt
        table.add_row(str(rc.recorded_at), rc.department, rc.submission_id, rc.stream,
                      escape("\n".join(f"[{x.code}] {x.field or ''}: {x.message}" for x in rc.reasons)))
    console.print(table)


@app.command()
def tick(json_out: bool = typer.Option(False, "--json")) -> None:
    """Emit the time-driven facts that are due now (eligibility, expiry, overdue)."""
    from tongxiu.services import scheduler

    tongxiu = _open()
    due = scheduler.tick(tongxiu)
    tongxiu.close()
    if json_out:
        _print_json([{"stream": d.stream, "type": d.event.type} for d in due])
    else:
        console.print(f"{len(due)} facts emitted: " + ", ".join(f"{d.event.type}@{d.stream}" for d in due))


@app.command()
def serve(
    host: str | None = typer.Option(None, help="default: settings http_host (127.0.0.1)"),
    port: int | None = typer.Option(None, help="default: settings http_port (8700)"),
    tokens: Path | None = typer.Option(None, help="tokens file (TOML/JSON); default: settings tokens_file"),
) -> None:
    """Start the auditor and supervisor web service (API, gateway, feed, pages)."""
    import uvicorn

    from tongxiu.services.http import create_app, load_tokens

    settings = State.settings
    tokens_file = tokens or settings.tokens_file
    if tokens_file is None:
        _fail("no tokens file: give --tokens, tokens_file in tongxiu.toml or TONGXIU_TOKENS_FILE")
    try:
        grants = load_tokens(tokens_file)
    except (OSError, ValueError) as exc:
        _fail(f"tokens file {tokens_file}: {exc}")
    tongxiu = _open()
    try:
        api = create_app(tongxiu, grants)
        bind, at = host or settings.http_host, port or settings.http_port
        console.print(f"同修 Tongxiu on http://{bind}:{at} — {settings.backend} backend, {len(grants)} tokens; "
                      f"API docs at /docs")
        uvicorn.run(api, host=bind, port=at, log_level="info")
    finally:
        tongxiu.close()


@app.command()
def rebuild() -> None:
    """Forget every read model and rebuild it from the log (the result equals the incremental one)."""
    tongxiu = _open()
    with Progress(console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task("rebuilding", total=None)
        applied = tongxiu.rebuild(lambda n: progress.advance(task, n))
    tongxiu.close()
    console.print(f"rebuilt the read models from {applied} events")


@schema_app.command("export")
def schema_export(out_dir: Path = typer.Option(Path("docs/schemas"))) -> None:
    """Write JSON Schema for every event and the submission to docs/schemas/."""
    from tongxiu.events.schemas import write_schemas

    written = write_schemas(out_dir)
    console.print(f"wrote {len(written)} schemas to {out_dir}")


@app.command()
def examples(out_dir: Path = typer.Option(Path("docs/examples"))) -> None:
    """Write a worked, signed example of every submission type to docs/examples/."""
    from tongxiu.services.examples import write_examples

    written = write_examples(out_dir)
    console.print(f"wrote {len(written)} examples to {out_dir}")


# ---------------------------------------------------------------------- distributed backend


@app.command()
def migrate() -> None:
    """Create the Cassandra keyspace and tables and the Kafka topics (idempotent)."""
    from tongxiu.infra.distributed import migrate as migrate_all

    created = migrate_all(State.settings)
    s = State.settings
    console.print(f"keyspace {s.keyspace} ready; topics created: {', '.join(created) or 'none (all existed)'}")


@app.command()
def worker(
    engine: str = typer.Option("faust", help="faust (default) or plain (kafka-python loops)"),
    clock_file: Path | None = typer.Option(None, hidden=True, help="tests: read the clock from this file"),
    loglevel: str = typer.Option("WARNING"),
    commit_interval: float = typer.Option(1.0, help="seconds between Kafka offset commits (faust engine)"),
    agents: str = typer.Option(
        "all", help="all, ledger or projection: run ledger agents in many workers, the projection agent in one"
    ),
    supervise: bool = typer.Option(
        True, help="run the worker as a child process that is restarted (after Kafka and Cassandra answer)"
        " whenever it stops; --no-supervise runs it in this process and exits on a server error",
    ),
    health_port: int | None = typer.Option(
        None, help="supervised: serve GET /health and GET /ready (JSON state) on 127.0.0.1:PORT"
    ),
    status_file: Path | None = typer.Option(
        None, help="supervised: where to write the JSON state (default <data_dir>/worker-status.json)"
    ),
) -> None:
    """Run the distributed worker: the ledger agent and the projection agent.

    By default it is supervised (entrypoints/supervisor.py): it waits for Kafka and Cassandra,
    restarts after a failure with a bounded backoff, logs one line per change of state and
    reports it (status file, --health-port). See docs/faults.md and infra/systemd/."""
    import logging
    import signal
    import threading

    from tongxiu.infra.distributed import FileClock, worker_deps

    if State.settings.backend != "distributed":
        _fail("worker: runs on the distributed backend; give --backend distributed (or backend in tongxiu.toml)")
    if engine not in ("faust", "plain"):
        _fail(f"--engine: expected faust or plain, got {engine!r}")
    if agents not in ("all", "ledger", "projection"):
        _fail(f"--agents: expected all, ledger or projection, got {agents!r}")
    if engine == "plain" and agents != "all":
        _fail("--agents applies to the faust engine; the plain engine runs both loops")
    logging.basicConfig(level=loglevel.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s")
    if supervise:
        from tongxiu.entrypoints.supervisor import Supervisor, child_argv

        logging.getLogger("tongxiu.supervisor").setLevel(logging.INFO)
        sup = Supervisor(State.settings, child_argv(), status_file=status_file, health_port=health_port)
        raise typer.Exit(sup.run())
    deps = worker_deps(State.settings, clock=FileClock(clock_file) if clock_file else None)
    if engine == "faust":
        from tongxiu.streams import faust_app

        chosen = {"all": faust_app.AGENTS, "ledger": ("ledger",), "projection": ("projection",)}.get(agents)
        if chosen is None:
            _fail(f"--agents: expected all, ledger or projection, got {agents!r}")
        faust_app.run(State.settings, deps, loglevel=loglevel, commit_interval=commit_interval, agents=chosen)
    elif engine == "plain":
        from tongxiu.streams.worker import run_plain

        if agents != "all":
            _fail("--agents applies to the faust engine; the plain engine runs both loops")

        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        try:
            run_plain(deps, stop)
        finally:
            deps.close()
    else:
        _fail(f"unknown engine {engine!r}")


@infra_app.command("up")
def infra_up() -> None:
    """Start (or reuse) the local Kafka and Cassandra servers."""
    from tongxiu.infra import launch

    _print_json(launch.up())


@infra_app.command("down")
def infra_down() -> None:
    """Stop the local servers this state dir started."""
    from tongxiu.infra import launch

    launch.down()
    _print_json(launch.status(probe=False))  # what is left running (it used to print null)


@infra_app.command("status")
def infra_status() -> None:
    """Report whether the local servers run and answer."""
    from tongxiu.infra import launch

    _print_json(launch.status())


# issue 9: transparency-log commands (checkpoint, proof, cosign, audit, verify-log)
from tongxiu.entrypoints import cli_log  # noqa: E402

cli_log.register(app, _open, _open_ro, _fail, console, _print_json)
cli_log.register_bundle(app, _fail, console)
cli_log.register_keys(app, _open, _fail, console, _receipt_out)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
