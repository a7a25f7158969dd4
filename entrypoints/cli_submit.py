"""Commands that write: keys and signing, the operator's registrations, ``publish``, and a
subscriber's ``ack`` of a delivery in its inbox."""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.progress import Progress

from tongxiu.events.envelope import Receipt
from tongxiu.events.models import Event
from tongxiu.events.signing import KeyPair

from . import cli_render as render
from .cli_output import (
    EXIT_ABORTED,
    EXIT_REFUSED,
    fail,
    open_app,
    print_json,
    read_file,
    say,
    tr,
    validation_message,
    write_file,
)

_DEPT = re.compile(r"[a-z0-9][a-z0-9_.-]{1,63}")


def register(app: typer.Typer) -> None:
    app.command()(keys)
    app.command()(sign)
    app.command("register")(register_department)
    app.command("legacy-code")(legacy_code)
    app.command()(backfill)
    app.command()(publish)
    app.command()(ack)


def receipt_out(r: dict[str, Any], json_out: bool = False) -> None:
    """A receipt as JSON or one line for a person (also used by ``cli_log``'s key commands)."""
    if json_out:
        print_json(r)
    else:
        render.receipt_line(Receipt.model_validate(r))


def _load_key(path: Path, option: str = "--key") -> KeyPair:
    try:
        return KeyPair.from_private(read_file(path, option).strip())
    except ValueError:
        fail(tr(f"{option}: {path} 不是十六进制的 Ed25519 私钥（用 `tongxiu keys` 生成）",
                f"{option}: {path} does not hold a hex Ed25519 private key (make one with `tongxiu keys`)"))


def _emit_as_ledger(stream: str, event: Event, submission_id: str, json_out: bool = False) -> None:
    tongxiu = open_app()
    receipt = tongxiu.emit(stream, [event], submission_id=submission_id)
    tongxiu.process()
    tongxiu.close()
    receipt_out(receipt.model_dump(mode="json"), json_out)
    if not receipt.accepted:
        raise typer.Exit(EXIT_REFUSED)


# ---------------------------------------------------------------------------- keys & signing


def keys(department: str, out_dir: Path = typer.Option(Path("."), help="where to write DEPT.key and DEPT.pub"),  # noqa: B008
         json_out: bool = typer.Option(False, "--json", help="print the file names and the public key as JSON")) -> None:
    """Make an Ed25519 key pair for a department."""
    if not _DEPT.fullmatch(department):
        fail(tr(f"DEPARTMENT: {department!r} 应为 2–64 个 a-z 0-9 _ . - 字符（即登记时的部门标识）",
                f"DEPARTMENT: {department!r} must be 2–64 of a-z 0-9 _ . - (the id it will be registered under)"))
    pair = KeyPair.generate()
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        fail(tr(f"--out-dir: 无法创建 {out_dir}：{exc.strerror or exc}", f"--out-dir: cannot create {out_dir}: {exc.strerror or exc}"))
    private, public = out_dir / f"{department}.key", out_dir / f"{department}.pub"
    write_file(private, pair.private_key + "\n", "--out-dir")
    private.chmod(0o600)
    write_file(public, pair.public_key + "\n", "--out-dir")
    if json_out:
        print_json({"private_key_file": str(private), "public_key_file": str(public), "public_key": pair.public_key})
    else:
        say(tr(f"已写入 {private}（须保密）和 {public}：{pair.public_key}",
               f"wrote {private} (keep secret) and {public}: {pair.public_key}"))


def sign(
    file: Path,
    key: Path = typer.Option(..., help="the department's private key file"),  # noqa: B008
    out: Path | None = typer.Option(None, help="write here instead of stdout"),  # noqa: B008
    exact: bool = typer.Option(False, "--exact", help="refuse (exit 2) when the file leaves out a default or "
                               "writes a value otherwise than it is signed"),
) -> None:
    """Sign an unsigned submission (events without signatures) with a department key.

    What is signed is every field of every event with its default filled in and occurred_at
    in UTC (docs/signing.md); each value the file does not say so is listed on stderr, and the
    signed submission written holds them all."""
    from tongxiu.services.signfile import SignFileError, sign_file

    text = read_file(file, "FILE")
    signer = _load_key(key)
    try:
        result = sign_file(text, signer)
    except SignFileError as exc:
        fail(f"FILE: {file}: {exc}")
    if result.changes:
        lines = "\n".join(f"  {c.describe()}" for c in result.changes)
        sys.stderr.write(tr(f"tongxiu sign: 签名中有 {len(result.changes)} 个值与 {file} 所写不同（docs/signing.md）：\n",
                            f"tongxiu sign: {len(result.changes)} signed value(s) not written so in {file} "
                            "(docs/signing.md):\n") + lines + "\n")
        if exact:
            fail(tr("--exact: nothing signed（未签名）：请按上面所列把这些值写入文件",
                    "--exact: nothing signed; write these values in the file as shown"))
    text = result.submission.model_dump_json(indent=2)
    if out:
        write_file(out, text + "\n", "--out")
    else:
        print(text)


def register_department(
    department_id: str,
    name: str = typer.Option(...),
    kind: str = typer.Option("department", help="department or credit_platform"),
    domain: str = typer.Option(...),
    jurisdiction: str = typer.Option(..., help="area code prefix, e.g. 33 or 330521"),
    public_key: Path = typer.Option(..., help="the department's .pub file"),  # noqa: B008
    json_out: bool = typer.Option(False, "--json", help="print the receipt as JSON"),
) -> None:
    """(operator) Register a department or credit platform with its public key."""
    from tongxiu.events.models import REGISTRY_STREAM, DepartmentRegistered

    key_text = read_file(public_key, "--public-key").strip()
    try:
        event = DepartmentRegistered(
            department_id=department_id, name=name, kind=kind, domain=domain,  # type: ignore[arg-type]
            jurisdiction=jurisdiction, public_key=key_text,
        )
    except ValidationError as exc:
        fail(validation_message(exc))
    _emit_as_ledger(REGISTRY_STREAM, event, f"register:{department_id}", json_out)


def legacy_code(
    code: str,
    source: str = typer.Option(..., help="where the code is known from, e.g. the registry extract"),
    json_out: bool = typer.Option(False, "--json", help="print the receipt as JSON"),
) -> None:
    """(operator) Register a known legacy credit code (fails GB 32100-2015) so it may open a stream."""
    from tongxiu.events.models import REGISTRY_STREAM, LegacyCodeRegistered

    try:
        event = LegacyCodeRegistered(code=code, source=source)
    except ValidationError as exc:
        fail(validation_message(exc))
    _emit_as_ledger(REGISTRY_STREAM, event, f"legacy-code:{code}", json_out)


def backfill(
    department_id: str,
    until: str = typer.Option(..., help="last ledger day (YYYY-MM-DD) the department may import history"),
    reason: str = typer.Option(..., help="why history is imported"),
    json_out: bool = typer.Option(False, "--json", help="print the receipt as JSON"),
) -> None:
    """(operator) Open the backfill path: DEPT may import history (submission ids 'backfill:…')."""
    from tongxiu.events.models import REGISTRY_STREAM, BackfillAuthorized

    try:
        event = BackfillAuthorized(department_id=department_id, until=date.fromisoformat(until), reason=reason)
    except (ValidationError, ValueError) as exc:
        fail(f"--until / --reason: {exc}")
    _emit_as_ledger(REGISTRY_STREAM, event, f"backfill-open:{department_id}:{until}", json_out)


# ---------------------------------------------------------------------------- publish & ack


def publish(file: Path, json_out: bool = typer.Option(False, "--json", help="print the receipts as a JSON list")) -> None:
    """Publish signed submissions from FILE (one JSON object, a JSON list, or JSON Lines).

    Each is read by the ledger's strict wire format; whatever it cannot read is rejected and
    recorded with its reason, like any other rejection. Exit 1 if any is rejected."""
    from tongxiu.events.wire import split_submissions

    try:
        data = file.read_bytes()
    except OSError as exc:
        fail(tr(f"FILE: 无法读取 {file}：{exc.strerror or exc}", f"FILE: cannot read {file}: {exc.strerror or exc}"))
    items = split_submissions(data)
    tongxiu = open_app()
    receipts: list[Receipt] = []
    try:
        with Progress(console=Console(stderr=True), transient=True, disable=len(items) < 20) as progress:
            task = progress.add_task(tr("提交中", "publishing"), total=len(items))
            for item in items:
                receipts.append(tongxiu.submit(item))
                progress.advance(task)
    except Exception as exc:  # noqa: BLE001 - a clear message and exit code, never a traceback
        tongxiu.close()
        fail(tr(f"发布中止（已处理 {len(receipts)} 件）：{type(exc).__name__}: {exc}",
                f"publishing stopped ({len(receipts)} done): {type(exc).__name__}: {exc}"), code=EXIT_ABORTED)
    tongxiu.close()
    _receipts_out(receipts, json_out)


def _receipts_out(receipts: Sequence[Receipt], json_out: bool) -> None:
    if json_out:
        print_json([r.model_dump(mode="json") for r in receipts])
    else:
        render.receipts(receipts)
    if any(not r.accepted for r in receipts):
        raise typer.Exit(EXIT_REFUSED)


def ack(
    subscriber: str = typer.Argument(..., help="the department or credit platform whose inbox it is"),
    deliveries: list[str] = typer.Argument(None, help="position or source event id, as `tongxiu inbox` shows them"),  # noqa: B008
    key: Path = typer.Option(..., help="the subscriber's private key file (the acknowledgement is signed)"),  # noqa: B008
    every: bool = typer.Option(False, "--all", help="acknowledge every pending delivery"),
    note: str = typer.Option("", help="a note recorded with the acknowledgement"),
    store: Path | None = typer.Option(None, help="keep the receipts here (default: $TONGXIU_CLIENT_DIR/SUBSCRIBER)"),  # noqa: B008
    json_out: bool = typer.Option(False, "--json", help="print the receipts as a JSON list"),
) -> None:
    """Acknowledge deliveries in a subscriber's inbox (records 修复结果接收确认, signed).

    The same path as the SDK's ``Consumer.acknowledge`` and an HTTP department's submission:
    a signed ``delivery_acknowledged`` on the enterprise's stream — the fact a credit platform's
    feed commit records, under the same submission id, so a delivery is acknowledged once
    whichever way. Exit 1 if any is rejected."""
    from tongxiu.infra.embedded import LocalInbox
    from tongxiu.services.receipt_store import ReceiptStore
    from tongxiu.services.sdk import Consumer, Producer

    wanted = list(deliveries or [])
    if bool(wanted) == every:
        fail(tr("DELIVERIES: 请给出要确认的投递（位置或来源事项编号），或 --all",
                "DELIVERIES: name the deliveries to acknowledge (position or source event id), or --all"))
    signer = _load_key(key)
    tongxiu = open_app()
    try:
        if subscriber not in tongxiu.registry().departments:
            fail(tr(f"SUBSCRIBER: {subscriber!r} 未登记", f"SUBSCRIBER: {subscriber!r} is not registered"))
        pending = tongxiu.inbox(subscriber)
        chosen = pending if every else [_pick(pending, w, subscriber) for w in wanted]
        producer = Producer(tongxiu.transport, subscriber, signer, rules=tongxiu.rules,
                            store=ReceiptStore(store) if store else "default")
        consumer = Consumer(LocalInbox(tongxiu), producer)
        receipts = [consumer.acknowledge(d, note=note) for d in chosen]
        tongxiu.process()
    finally:
        tongxiu.close()
    _receipts_out(receipts, json_out)


def _pick(pending: list[dict[str, Any]], wanted: str, subscriber: str) -> dict[str, Any]:
    found = [d for d in pending if wanted in (str(d["position"]), d["source_event_id"])]
    if len(found) != 1:
        fail(tr(f"DELIVERIES: {wanted!r} 不是 {subscriber} 待确认的投递（`tongxiu inbox {subscriber}` 列出它们）",
                f"DELIVERIES: {wanted!r} is not pending for {subscriber} (`tongxiu inbox {subscriber}` lists them)"))
    return found[0]

