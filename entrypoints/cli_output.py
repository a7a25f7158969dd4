"""What every ``tongxiu`` command shares: the language, the two consoles, errors, JSON, the
settings and opening the application.

The rules the commands keep (README "Command line"):

* **stdout carries the result only** — a table or lines for a person, or, with ``--json``, one
  JSON document. Errors, warnings and progress bars go to **stderr**.
* An error exits with **2** (usage, bad input, a ledger that cannot be opened); with ``--json``
  it is a JSON object on stderr, ``{"error": …, "exit_code": 2}``, and stdout stays empty.
  A result that is a refusal (a rejected submission, a failed verification or audit) exits
  with **1** and is printed like any result. ``publish`` stopped by the backend exits 3.
* Human output is in Chinese (zh-CN) by default, English with ``--lang en`` or
  ``TONGXIU_LANG=en``; every time a person reads is China time (UTC+8).
* Tables take the width of the terminal (rich's detection; ``COLUMNS`` when piped) and wrap
  their cells instead of being forced wider.
"""

from __future__ import annotations

import json
import os
import sqlite3
import sys
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, NoReturn

import typer
from pydantic import TypeAdapter, ValidationError
from rich.cells import cell_len
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from typer.core import TyperGroup

from tongxiu.events.codes import check_uscc
from tongxiu.events.models import REGISTRY_STREAM, is_department_stream
from tongxiu.services.config import Settings

LANGS = ("zh", "en")
EXIT_REFUSED = 1
"""A result that says no: a submission rejected, a verification or an audit failed."""
EXIT_USAGE = 2
"""Usage and input errors: a bad option, an unreadable file, a ledger that cannot be opened."""
EXIT_ABORTED = 3
"""``publish`` stopped part-way by the backend (what was sent before has its receipts)."""

console = Console(highlight=False)
"""stdout: results only. Width from the terminal, never forced."""
err_console = Console(stderr=True, highlight=False)
"""stderr: errors, warnings, progress."""

_DATETIME: TypeAdapter[datetime] = TypeAdapter(datetime)


class Out:
    """This invocation's output mode (set afresh by :class:`CliGroup` and the root callback)."""

    lang: str = "zh"
    json: bool = False
    settings: Settings = Settings()


def lang_code(value: str | None) -> str:
    """``zh``, ``zh-CN``, ``zh_CN.UTF-8`` → ``zh``; ``en``, ``en-US`` → ``en``; else ValueError."""
    if not value:
        return "zh"
    head = value.strip().lower().replace("_", "-").split(".")[0].split("-")[0]
    if head not in LANGS:
        raise ValueError(f"expected zh or en, got {value!r}")
    return head


def _lang_from_argv(argv: Sequence[str]) -> str:
    """The language asked for before the root callback has parsed it (for usage errors)."""
    wanted = os.environ.get("TONGXIU_LANG")
    for n, arg in enumerate(argv):
        if arg == "--lang" and n + 1 < len(argv):
            wanted = argv[n + 1]
        elif arg.startswith("--lang="):
            wanted = arg.split("=", 1)[1]
    try:
        return lang_code(wanted)
    except ValueError:
        return "zh"


def tr(zh: str, en: str) -> str:
    """The message in the invocation's language."""
    return en if Out.lang == "en" else zh


def json_error(message: str, code: int) -> None:
    sys.stderr.write(json.dumps({"error": message, "exit_code": code}, ensure_ascii=False) + "\n")


def fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    """Stop with ``message`` on stderr (a JSON object with ``--json``) and exit ``code``."""
    if Out.json:
        json_error(message, code)
    else:
        err_console.print(f"[red]{tr('错误', 'error')}:[/red] " + escape(message), soft_wrap=True)
    raise typer.Exit(code)


def warn(message: str) -> None:
    err_console.print(f"[yellow]{tr('注意', 'note')}:[/yellow] " + escape(message), soft_wrap=True)


def say(message: str, *, markup: str = "") -> None:
    """One line for a person on stdout (``markup`` is a rich-styled prefix, not escaped)."""
    console.print(markup + escape(message), soft_wrap=True)


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")


def table(title: str, columns: Sequence[str], rows: Sequence[Sequence[str]], *,
          no_wrap: Sequence[int] = (), min_width: Mapping[int, int] | None = None,
          caption: str | None = None) -> Table:
    """A rich table that fits the console: long cells wrap (fold inside words such as hashes
    and ids); the ``no_wrap`` columns (short: numbers) stay whole; ``min_width`` keeps a
    column at least that wide (a date, so a time wraps between its date and its clock) when
    the console has room for it. Cells are escaped."""
    t = Table(title=escape(title), caption=escape(caption) if caption else None, expand=False)
    widths = fit_widths(columns, rows, console.width, no_wrap, min_width or {})
    for n, col in enumerate(columns):
        t.add_column(escape(col), overflow="fold", no_wrap=n in no_wrap, width=widths[n] if widths else None)
    for row in rows:
        t.add_row(*(escape(cell) for cell in row))
    return t


def fit_widths(columns: Sequence[str], rows: Sequence[Sequence[str]], width: int, no_wrap: Sequence[int],
               min_width: Mapping[int, int]) -> list[int] | None:
    """Column widths for a table wider than ``width`` cells: the ``no_wrap`` columns whole, the
    ``min_width`` ones at least that, the others cut down together from the widest (as rich
    does, but without ever undoing a minimum, which rich's own reduction can, cropping the
    table's right edge). None when the table fits as it is, or when even the minimums do not
    fit (then rich folds every column)."""
    natural = [max([cell_len(line) for row in rows for line in row[n].splitlines()] + [cell_len(col), 1])
               for n, col in enumerate(columns)]
    room = width - (3 * len(columns) + 1)  # a border and two spaces of padding per column, one border more
    if sum(natural) <= room:
        return None
    floor = [natural[n] if n in no_wrap else min(natural[n], max(min_width.get(n, 2), 2)) for n in range(len(columns))]
    if sum(floor) > room:
        return None
    level = max(natural)
    while level > 2 and sum(max(f, min(nat, level)) for f, nat in zip(floor, natural, strict=True)) > room:
        level -= 1
    return [max(f, min(nat, level)) for f, nat in zip(floor, natural, strict=True)]


def china_note() -> str:
    return tr("时间均为北京时间（UTC+8）", "times are China time (UTC+8)")


# ---------------------------------------------------------------------------- the group


class CliGroup(TyperGroup):
    """The root command: sets this invocation's language and JSON mode from the arguments
    (so even click's own usage errors follow them), and with ``--json`` reports a usage error
    as a JSON object on stderr instead of click's text."""

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None,
             complete_var: str | None = None, standalone_mode: bool = True, windows_expand_args: bool = True,
             **extra: Any) -> Any:
        argv = list(sys.argv[1:] if args is None else args)
        Out.json = "--json" in argv
        Out.lang = _lang_from_argv(argv)
        from .cli_help import localize

        localize(self, Out.lang)
        if not (Out.json and standalone_mode):
            return super().main(argv, prog_name, complete_var, standalone_mode, windows_expand_args, **extra)
        try:
            rv = super().main(argv, prog_name, complete_var, False, windows_expand_args, **extra)
        except typer.Abort:
            json_error("aborted", 1)
            sys.exit(1)
        except Exception as exc:
            # click's usage errors (typer carries its own copy of click: matched by their shape)
            code, message = getattr(exc, "exit_code", None), getattr(exc, "format_message", None)
            if not isinstance(code, int) or not callable(message):
                raise
            json_error(str(message()), code)
            sys.exit(code)
        sys.exit(rv if isinstance(rv, int) and not isinstance(rv, bool) else 0)


# ---------------------------------------------------------------------------- settings, app


def load_settings(config: Path | None, backend: str | None, data_dir: Path | None) -> None:
    try:
        Out.settings = Settings.load(config, backend=backend, data_dir=data_dir)
    except ValidationError as exc:
        fail(tr("配置有误：", "bad settings: ") + validation_message(exc))
    except (OSError, ValueError) as exc:
        fail(tr("配置有误：", "bad settings: ") + str(exc))


def open_app(**kw: Any) -> Any:
    from tongxiu.infra.bootstrap import open_app as _open_app

    backend = Out.settings.backend
    try:
        return _open_app(Out.settings, **kw)
    except (OSError, ValueError, sqlite3.Error) as exc:
        fail(tr(f"无法打开 {backend} 账本：{exc}", f"cannot open the {backend} ledger: {exc}"))
    except Exception as exc:  # noqa: BLE001 - a server that does not answer (Cassandra, Kafka): one line, no traceback
        fail(tr(f"无法打开 {backend} 账本（服务器无应答？）：{type(exc).__name__}: {exc}",
                f"cannot open the {backend} ledger (servers not answering?): {type(exc).__name__}: {exc}"))


def open_ro() -> Any:
    """For commands that only read: the embedded database file is opened read-only and left
    unchanged (nothing bootstrapped, no processors run; the read models are as the writers
    left them). A folder holding no ledger is an error (a mistyped ``--data-dir`` is not an
    empty ledger)."""
    s = Out.settings
    if s.backend == "embedded" and not (Path(s.data_dir) / "ledger.sqlite3").exists():
        fail(tr(f"--data-dir: {s.data_dir} 中没有账本（ledger.sqlite3）；写入类命令（如 publish、register）会新建账本",
                f"--data-dir: no ledger in {s.data_dir} (ledger.sqlite3); a writing command (publish, register …) "
                "makes one"))
    return open_app(read_only=True)


def require_stream(tongxiu: Any, code: str) -> None:
    """Refuse to answer about an enterprise the ledger holds nothing for (rather than show an
    empty view that looks like a clean record); a code that is not a valid unified social
    credit code is named as such."""
    if tongxiu.log.last_seq(code) != 0:
        return
    tongxiu.close()
    check = check_uscc(code)
    if not check.valid and code != REGISTRY_STREAM and not is_department_stream(code):
        fail(tr(f"CODE: {code!r} 不是有效的统一社会信用代码（GB 32100-2015：{check.reason}），账本中也没有它的记录",
                f"CODE: {code!r} is not a valid unified social credit code (GB 32100-2015: {check.reason}) "
                "and the ledger holds no events for it"))
    fail(tr(f"CODE: 账本中没有企业 {code!r} 的任何记录", f"CODE: the ledger holds no events for enterprise {code!r}"))


def require_department(tongxiu: Any, department: str, name: str = "DEPARTMENT") -> None:
    if department not in tongxiu.registry().departments:
        tongxiu.close()
        fail(tr(f"{name}: {department!r} 未登记", f"{name}: {department!r} is not registered"))


# ---------------------------------------------------------------------------- input


def parse_when(text: str | None, name: str) -> datetime | None:
    """An ISO date (the end of that day, China time) or date-time with a zone."""
    if text is None:
        return None
    try:
        value = _DATETIME.validate_python(text if "T" in text else f"{text}T23:59:59.999999+08:00")
    except ValidationError:
        fail(tr(f"{name}: 应为 ISO 日期或带时区的日期时间，实为 {text!r}",
                f"{name}: expected an ISO date or date-time with zone, got {text!r}"))
    if value.tzinfo is None:
        fail(tr(f"{name}: 请写明时区，例如 {text}+08:00", f"{name}: give a time zone, e.g. {text}+08:00"))
    return value


def read_file(path: Path, what: str) -> str:
    """A file's text, or a clear error naming the option and the file."""
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        fail(tr(f"{what}: 无法读取 {path}：{exc.strerror or exc}", f"{what}: cannot read {path}: {exc.strerror or exc}"))
    except UnicodeDecodeError as exc:
        fail(tr(f"{what}: {path} 不是合法的 UTF-8（第 {exc.start} 字节起）",
                f"{what}: {path} is not valid UTF-8 (from byte {exc.start})"))


def write_file(path: Path, text: str, what: str) -> None:
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        fail(tr(f"{what}: 无法写入 {path}：{exc.strerror or exc}", f"{what}: cannot write {path}: {exc.strerror or exc}"))


def validation_message(exc: ValidationError) -> str:
    """``field: rule`` for each error: Chinese rules by default, pydantic's English with --lang en."""
    from tongxiu.events.wire import schema_error_text

    return schema_error_text(exc, Out.lang)
