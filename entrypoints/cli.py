"""``tongxiu``: the command line. Thin: it parses, calls the application, renders.

This module is the root (``app``, ``main``, the global options); the commands live in
``cli_submit`` (keys, signing, registrations, publish, ack), ``cli_read`` (history, views,
verify, export, figures, inbox), ``cli_ops`` (demo, tick, serve, rebuild, distributed backend)
and ``cli_log`` (the transparency log); what they share — language, consoles, errors, JSON,
settings — is in ``cli_output``.
"""

from __future__ import annotations

from pathlib import Path

import typer

from tongxiu.entrypoints import cli_log, cli_ops, cli_read, cli_submit
from tongxiu.entrypoints.cli_help import ROOT
from tongxiu.entrypoints.cli_output import (
    LANGS,
    CliGroup,
    Out,
    console,
    fail,
    lang_code,
    load_settings,
    open_app,
    open_ro,
    print_json,
    tr,
)

app = typer.Typer(
    cls=CliGroup,
    help=ROOT[1],  # in the invocation's language at run time (cli_help)
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


def version() -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as dist_version

    try:
        return dist_version("tongxiu")
    except PackageNotFoundError:  # running from a checkout that was never installed
        return "unknown"


def _show_version(value: bool) -> None:
    if value:
        print(f"tongxiu {version()}")
        raise typer.Exit()


def _lang(value: str | None) -> str:
    try:
        return lang_code(value)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc


@app.callback()
def _main(
    backend: str | None = typer.Option(None, help="embedded (default) or distributed"),
    data_dir: Path | None = typer.Option(None, help="embedded backend's folder"),
    config: Path | None = typer.Option(None, help="settings file (TOML); default ./tongxiu.toml"),
    lang: str = typer.Option("zh", envvar="TONGXIU_LANG", callback=_lang, metavar="|".join(LANGS),
                             help="language of the human output: zh (default, 中文) or en"),
    _version: bool = typer.Option(False, "--version", "-V", callback=_show_version, is_eager=True,
                                  help="print the version and exit"),
) -> None:
    Out.lang = lang
    load_settings(config, backend, data_dir)


cli_submit.register(app)
cli_read.register(app)
cli_ops.register(app)

# issue 9: transparency-log commands (checkpoint, proof, cosign, audit, verify-log, key rotation)
cli_log.register(app, open_app, open_ro, fail, console, print_json)
cli_log.register_bundle(app, fail, console)
cli_log.register_keys(app, open_app, fail, console, cli_submit.receipt_out)

State = Out
"""``State.settings``: the settings of this invocation (read by ``cli_log``)."""

__all__ = ["State", "app", "main", "tr", "version"]


def main() -> None:
    app()


if __name__ == "__main__":
    main()
