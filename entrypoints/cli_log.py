"""CLI commands of the transparency log (issue 9): checkpoints, proofs, cosignatures, the
department audit, the log check, and (infra.bundle) offline bundles. Registered on the
main ``tongxiu`` app by :func:`register`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from tongxiu.entrypoints.cli_output import Out, tr, validation_message
from tongxiu.events.signing import KeyPair
from tongxiu.events.tlog import Checkpoint, cosign


def register(app: typer.Typer, open_rw: Any, open_ro: Any, fail: Any, console: Any, print_json: Any) -> None:
    def _view(tongxiu: Any) -> Any:
        from tongxiu.infra.audit_log import LocalLedgerView

        _has_log(tongxiu)
        return LocalLedgerView(tongxiu)

    def _has_log(tongxiu: Any) -> None:
        if tongxiu.ledger.transparency is None:
            tongxiu.close()
            fail(tr(f"{tongxiu.backend} 后端不保存透明日志（见 docs/verification.md）",
                    f"the {tongxiu.backend} backend keeps no transparency log (docs/verification.md)"))
        try:
            tongxiu.ledger.transparency.tlog.head()
        except ValueError as exc:
            tongxiu.close()
            fail(str(exc))

    @app.command()
    def checkpoint(
        out: Path | None = typer.Option(None, help="also write it to this file (plain JSON, exchangeable)"),
        json_out: bool = typer.Option(False, "--json"),
    ) -> None:
        """Sign and record a checkpoint of the transparency log now (tree size, root, time)."""
        tongxiu = open_rw()
        t = tongxiu.ledger.transparency
        if t is None:
            tongxiu.close()
            fail(tr(f"{tongxiu.backend} 后端不保存透明日志", f"the {tongxiu.backend} backend keeps no transparency log"))
        cp = t.checkpoint(save=True)
        tongxiu.close()
        if out:
            out.write_text(cp.to_file(), encoding="utf-8")
        if json_out:
            print_json(cp.model_dump(mode="json"))
        else:
            console.print(tr(f"检查点：规模 {cp.size}，根 {cp.root}，时间 {cp.time.isoformat()}",
                             f"checkpoint: size {cp.size} root {cp.root} at {cp.time.isoformat()}"))

    @app.command()
    def proof(
        leaf: int | None = typer.Option(None, help="inclusion proof of this leaf index"),
        first: int | None = typer.Option(None, help="consistency proof from this tree size"),
        size: int | None = typer.Option(None, help="tree size (default: the current one)"),
    ) -> None:
        """Print an inclusion proof (--leaf) or a consistency proof (--first) as JSON."""
        tongxiu = open_ro()
        view = _view(tongxiu)
        current = view.checkpoint()
        n = current.size if size is None else size
        try:
            if leaf is not None:
                data = {"leaf_index": leaf, "tree_size": n, "inclusion": view.inclusion(leaf, n)}
            elif first is not None:
                data = {"first": first, "second": n, "consistency": view.consistency(first, n)}
            else:
                fail(tr("请给出 --leaf 或 --first", "give --leaf or --first"))
        except ValueError as exc:
            fail(str(exc))
        finally:
            tongxiu.close()
        data["checkpoint"] = current.model_dump(mode="json")
        print_json(data)

    @app.command("cosign")
    def cosign_cmd(
        file: Path = typer.Argument(..., help="checkpoint file"),
        witness: str = typer.Option(..., help="the witness's name (a department id or a witness)"),
        key_file: Path = typer.Option(..., "--key", help="the witness's private key file"),
        last: Path | None = typer.Option(None, help="the last checkpoint this witness cosigned"),
    ) -> None:
        """Cosign a checkpoint file as a witness, after checking it extends the last one cosigned."""
        cp = Checkpoint.model_validate_json(file.read_text(encoding="utf-8"))
        if not cp.verify():
            fail(tr(f"{file}：账本签名验证未通过", f"{file}: the ledger's signature does not verify"))
        if last is not None:
            prev = Checkpoint.model_validate_json(last.read_text(encoding="utf-8"))
            tongxiu = open_ro()
            try:
                view = _view(tongxiu)
                from tongxiu.events import merkle

                ok = prev.size <= cp.size and merkle.verify_consistency(
                    prev.size, cp.size, bytes.fromhex(prev.root), bytes.fromhex(cp.root),
                    [bytes.fromhex(h) for h in view.consistency(prev.size, cp.size)],
                )
            finally:
                tongxiu.close()
            if not ok:
                fail(tr(f"{file} 不是 {last} 的一致延续，拒绝联署",
                        f"{file} is not a consistent extension of {last}: refusing to cosign"))
        key = KeyPair.from_private(key_file.read_text().strip())
        file.write_text(cosign(cp, witness, key.sign, key.public_key).to_file(), encoding="utf-8")
        console.print(tr(f"已由 {witness} 联署：规模 {cp.size}，根 {cp.root[:16]}",
                         f"cosigned by {witness}: size {cp.size} root {cp.root[:16]}"))

    @app.command()
    def audit(
        store: Path = typer.Option(..., help="the department's receipt store (receipts.jsonl, checkpoints.jsonl)"),
        checkpoint_files: list[Path] = typer.Option([], "--checkpoint", help="more checkpoint files seen"),
        ledger_key: str | None = typer.Option(None, help="the trusted ledger public key (hex)"),
        witness: list[str] = typer.Option([], help="NAME=PUBLICKEY of a trusted witness (repeatable)"),
        require: int = typer.Option(0, help="witness cosignatures each checkpoint needs"),
        json_out: bool = typer.Option(False, "--json"),
    ) -> None:
        """Check a department's kept receipts and checkpoints against the ledger; exit 1 naming
        every missing or changed fact and every checkpoint the log no longer extends."""
        from tongxiu.infra.audit_log import audit_store
        from tongxiu.services.receipt_store import ReceiptStore

        kept = ReceiptStore(store)
        cps = kept.checkpoints() + [Checkpoint.model_validate_json(p.read_text(encoding="utf-8")) for p in checkpoint_files]
        witnesses = dict(w.split("=", 1) for w in witness)
        tongxiu = open_ro()
        try:
            result = audit_store(_view(tongxiu), kept.receipts(), cps, ledger_keys={ledger_key} if ledger_key else None,
                                 witnesses=witnesses, require=require)
        finally:
            tongxiu.close()
        if json_out:
            print_json(result.as_dict())
        elif result.ok:
            console.print(tr(
                f"[green]通过[/green] {result.receipts} 张回执（{result.events} 个事件、{result.rejections} 个拒绝）"
                f"和 {result.checkpoints} 个检查点与 {result.size} 个叶子的日志一致",
                f"[green]OK[/green] {result.receipts} receipts ({result.events} events, {result.rejections} "
                f"rejections) and {result.checkpoints} checkpoints consistent with the log of {result.size} leaves"))
        else:
            console.print(tr(f"[red]未通过[/red] 发现 {len(result.problems)} 个问题：", f"[red]FAILED[/red] {len(result.problems)} problems:"))
            for p in result.problems:
                console.print("  " + p.text(Out.lang), markup=False)
        if not result.ok:
            raise typer.Exit(1)

    @app.command("verify-log")
    def verify_log_cmd(json_out: bool = typer.Option(False, "--json")) -> None:
        """Check that every stored event and rejection is the leaf the transparency log holds
        for it, and the stored tree head is the root of the stored leaves."""
        from tongxiu.services.transparency import verify_log

        tongxiu = open_ro()
        _has_log(tongxiu)
        try:
            tlog = tongxiu.ledger.transparency.tlog
            completed = tlog.complete()  # distributed: leaves of events whose writer died first
            if completed:
                console.print(tr(f"已先补全 {completed} 个已提交事件的叶子", f"completed the leaves of {completed} committed events first"))
            result = verify_log(tlog, tongxiu.log)
        finally:
            tongxiu.close()
        if json_out:
            print_json(result.as_dict())
        elif result.ok:
            console.print(tr(f"[green]通过[/green] {result.leaves} 个叶子与存储的事件和拒绝记录一致",
                             f"[green]OK[/green] {result.leaves} leaves match the stored events and rejections"))
        else:
            console.print(tr(f"[red]未通过[/red] 发现 {len(result.problems)} 个问题：", f"[red]FAILED[/red] {len(result.problems)} problems:"))
            for p in result.problems[:50]:
                console.print("  " + p.text(Out.lang), markup=False)
        if not result.ok:
            raise typer.Exit(1)


def verify_projections_cmd(open_ro: Any, console: Any, print_json: Any, json_out: bool) -> None:
    """Called by ``tongxiu verify --projections``."""
    from tongxiu.infra.verify_projections import verify_projections

    tongxiu = open_ro()
    try:
        result = verify_projections(tongxiu)
    finally:
        tongxiu.close()
    if json_out:
        print_json(result.as_dict())
    elif result.ok:
        console.print(tr(f"[green]通过[/green] {result.documents} 个读模型文档与按日志重建的结果一致",
                         f"[green]OK[/green] {result.documents} read-model documents equal a rebuild from the log"))
    else:
        first = result.first_difference
        said = "" if first is None else first.text(Out.lang)
        console.print(tr(f"未通过 第一处差异：{said}", f"FAILED first difference: {said}"), markup=False)
    if not result.ok:
        raise typer.Exit(1)


def export_bundle_cmd(tongxiu: Any, code: str, out: Path, at: Path | None, console: Any, fail: Any) -> None:
    import json

    from tongxiu.infra.bundle import export_bundle
    from tongxiu.services.problems import ProblemError

    try:
        cp = Checkpoint.model_validate_json(at.read_text(encoding="utf-8")) if at else None
        data = export_bundle(tongxiu, code, at=cp)
    except ProblemError as exc:
        tongxiu.close()
        fail(exc.text(Out.lang))
    except (OSError, ValueError) as exc:
        tongxiu.close()
        fail(str(exc))
    tongxiu.close()
    out.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    console.print(tr(f"已将 {len(data['events'])} 个事件、{len(data['registry'])} 条登记事实及其相对于规模为 "
                     f"{data['checkpoint']['size']} 的检查点的证明写入 {out}",
                     f"wrote {len(data['events'])} events, {len(data['registry'])} registry facts and their proofs "
                     f"against checkpoint size {data['checkpoint']['size']} to {out}"))


def register_bundle(app: typer.Typer, fail: Any, console: Any) -> None:
    @app.command("verify-bundle")
    def verify_bundle_cmd(
        file: Path = typer.Argument(..., help="the bundle written by `tongxiu export CODE --bundle FILE`"),
        checkpoint: Path | None = typer.Option(None, help="a checkpoint file the bundle must be proved against"),
        ledger_key: str | None = typer.Option(None, help="the trusted ledger public key (hex)"),
    ) -> None:
        """Verify an offline audit bundle with no access to the ledger; exit 1 naming every problem."""
        import json

        from tongxiu.infra.bundle import verify_bundle

        try:
            data = json.loads(file.read_text(encoding="utf-8"))
            cp = Checkpoint.model_validate_json(checkpoint.read_text(encoding="utf-8")) if checkpoint else None
        except (OSError, ValueError) as exc:
            fail(tr(f"FILE: 无法读取：{exc}", f"FILE: cannot read: {exc}"))
        problems = verify_bundle(data, checkpoint=cp, ledger_keys={ledger_key} if ledger_key else None)
        if problems:
            console.print(tr(f"[red]未通过[/red] 发现 {len(problems)} 个问题：", f"[red]FAILED[/red] {len(problems)} problems:"))
            for p in problems:
                console.print("  " + p.text(Out.lang), markup=False)
            raise typer.Exit(1)
        console.print(tr(f"[green]通过[/green] {data['enterprise']} 的 {len(data['events'])} 个事件和 "
                         f"{len(data['registry'])} 条登记事实已相对于规模为 {data['checkpoint']['size']} 的检查点验证",
                         f"[green]OK[/green] {len(data['events'])} events of {data['enterprise']} and "
                         f"{len(data['registry'])} registry facts verified against checkpoint size {data['checkpoint']['size']}"))


def register_keys(app: typer.Typer, open_rw: Any, fail: Any, console: Any, receipt_out: Any) -> None:
    """Operator commands of the key lifecycle (issue 9)."""

    def _key_text(path: Path) -> str:
        try:
            return path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            fail(tr(f"--public-key: 无法读取 {path}：{exc.strerror or exc}", f"--public-key: cannot read {path}: {exc.strerror or exc}"))
            raise  # fail() exits

    def _emit(event: Any, sid: str) -> None:
        from tongxiu.events.models import REGISTRY_STREAM

        tongxiu = open_rw()
        receipt = tongxiu.ledger.emit(REGISTRY_STREAM, [event], submission_id=sid)
        tongxiu.process()
        tongxiu.close()
        receipt_out(receipt.model_dump(mode="json"), json_out=False)
        if not receipt.accepted:
            raise typer.Exit(1)

    @app.command("rotate-key")
    def rotate_key(
        department: str,
        public_key: Path = typer.Option(..., help="the department's new .pub file"),
        reason: str = typer.Option(..., help="why (recorded)"),
    ) -> None:
        """(operator) Give a department a new signing key; its earlier events keep verifying."""
        from pydantic import ValidationError

        from tongxiu.events.models import DepartmentKeyRotated

        try:
            event = DepartmentKeyRotated(department_id=department, public_key=_key_text(public_key), reason=reason)
        except ValidationError as exc:
            fail(validation_message(exc))
        _emit(event, f"rotate-key:{department}:{event.public_key[:16]}")

    @app.command("revoke-key")
    def revoke_key(
        department: str,
        public_key: Path = typer.Option(..., help="the .pub file of the key to revoke"),
        reason: str = typer.Option(..., help="why (recorded)"),
    ) -> None:
        """(operator) Revoke a department's key: submissions signed with it are refused (key_revoked)."""
        from pydantic import ValidationError

        from tongxiu.events.models import DepartmentKeyRevoked

        try:
            event = DepartmentKeyRevoked(department_id=department, public_key=_key_text(public_key), reason=reason)
        except ValidationError as exc:
            fail(validation_message(exc))
        _emit(event, f"revoke-key:{department}:{event.public_key[:16]}")

    @app.command("rotate-ledger-key")
    def rotate_ledger_key_cmd(reason: str = typer.Option(..., help="why (recorded)")) -> None:
        """(operator) Make a new ledger key, announce it in the registry signed by the old one, and
        store it in place of the old (kept as ledger.key.retired-<n>)."""
        import os

        from tongxiu.infra.bootstrap import ledger_key_path
        from tongxiu.services.key_lifecycle import rotate_ledger_key

        tongxiu = open_rw()
        settings = _settings()
        path = ledger_key_path(Path(settings.data_dir), settings.ledger_key_file)
        new = KeyPair.generate()
        receipt = rotate_ledger_key(tongxiu, new, reason)
        tongxiu.close()
        receipt_out(receipt.model_dump(mode="json"), json_out=False)  # type: ignore[attr-defined]
        if not receipt.accepted:  # type: ignore[attr-defined]
            raise typer.Exit(1)
        n = 1
        while path.with_name(f"ledger.key.retired-{n}").exists():
            n += 1
        os.replace(path, path.with_name(f"ledger.key.retired-{n}"))
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(new.private_key)
        console.print(tr(f"账本密钥已更换：{new.public_key}（旧密钥保存为 {path.name}.retired-{n}）",
                         f"ledger key rotated: {new.public_key} (old key kept as {path.name}.retired-{n})"))


def _settings() -> Any:
    from tongxiu.entrypoints.cli import State

    return State.settings
