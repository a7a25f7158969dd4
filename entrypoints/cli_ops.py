"""Commands for operators: the demo, the scheduler tick, the web service, rebuilds,
generated docs, and the distributed backend (migrate, worker, the local test servers)."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import Progress

from .cli_output import Out, console, fail, open_app, print_json, say, tr


def register(app: typer.Typer) -> None:
    for command in (demo, tick, serve, rebuild, examples, migrate, worker):
        app.command()(command)
    schema_app = typer.Typer(help="Event schemas.")
    schema_app.command("export")(schema_export)
    app.add_typer(schema_app, name="schema")
    infra_app = typer.Typer(help="Local Kafka and Cassandra servers for tests and trials (not for production).")
    infra_app.command("up")(infra_up)
    infra_app.command("down")(infra_down)
    infra_app.command("status")(infra_status)
    app.add_typer(infra_app, name="infra")


def demo(
    keep: bool = typer.Option(False, help="keep an existing demo ledger instead of starting fresh"),
) -> None:
    """Run the whole mission on a fresh embedded ledger and show the result."""
    from tongxiu.infra.bootstrap import open_embedded
    from tongxiu.infra.embedded import LocalInbox, LocalTransport
    from tongxiu.projections.workdays import china_day
    from tongxiu.services.audit import verify_streams
    from tongxiu.services.demo import START, run_demo
    from tongxiu.services.ports import ManualClock

    from . import cli_render as render

    data_dir = Path(Out.settings.data_dir) / "demo"
    if data_dir.exists() and not keep:
        shutil.rmtree(data_dir)
    clock = ManualClock(START)
    tongxiu = open_embedded(Out.settings.model_copy(update={"data_dir": data_dir}), clock=clock)
    try:
        console.rule("[bold]" + escape(tr("同修 Tongxiu 演示 — 嵌入式后端", "同修 Tongxiu demo — embedded backend")))
        result = run_demo(
            tongxiu,
            clock,
            transport=LocalTransport(tongxiu),
            inbox=LocalInbox(tongxiu),
            say=say,
            lang=Out.lang,
        )
        render.credit(tongxiu.credit(result.enterprise))
        render.rectification(tongxiu.rectification(result.enterprise), clock.now())
        render.sync(tongxiu.sync(result.enterprise), china_day(clock.now()))
        render.supervision({d: tongxiu.supervision(d) for d in tongxiu.departments()}, None)
        outcome = verify_streams(tongxiu.log)
        verdict = f"[green]{tr('通过', 'OK')}[/green]" if outcome.ok else f"[red]{tr('未通过', 'FAILED')}[/red]"
        say(tr(f" — {outcome.streams} 个流中的 {outcome.events} 个事项，哈希链与签名均已校验",
               f" — {outcome.events} events in {outcome.streams} streams, chains and signatures checked"),
            markup=f"{tr('校验', 'verify')}: {verdict}")
        exe = Path(sys.argv[0])
        command = os.path.relpath(exe) if exe.exists() else "tongxiu"
        say(tr(f"账本保存在 {data_dir} — 试试：{command} --data-dir {data_dir} replay {result.enterprise}",
               f"ledger kept in {data_dir} — try: {command} --data-dir {data_dir} replay {result.enterprise}"))
    finally:
        tongxiu.close()


def tick(
    json_out: bool = typer.Option(False, "--json", help="the facts emitted, as a JSON list"),
    scan: bool = typer.Option(False, "--scan", help="look at every stream of the log, not only those the due-date "
                              "index lists up to today (the index needs read models projected or rebuilt since it exists)"),
) -> None:
    """Emit the time-driven facts that are due now (eligibility, expiry, overdue)."""
    from tongxiu.events.labels import event_type_name
    from tongxiu.services import scheduler

    tongxiu = open_app()
    due = scheduler.tick(tongxiu, scan=scan)
    tongxiu.close()
    if json_out:
        print_json([{"stream": d.stream, "type": d.event.type} for d in due])
    elif not due:
        say(tr("没有到期的事项", "no facts due"))
    else:
        say(tr(f"记录了 {len(due)} 个到期事项：", f"{len(due)} facts emitted: ")
            + tr("、", ", ").join(f"{event_type_name(d.event.type, Out.lang)}@{d.stream}" for d in due))


def serve(
    host: str | None = typer.Option(None, help="default: settings http_host (127.0.0.1)"),
    port: int | None = typer.Option(None, help="default: settings http_port (8700)"),
    tokens: Path | None = typer.Option(None, help="tokens file (TOML/JSON); default: settings tokens_file"),  # noqa: B008
) -> None:
    """Start the auditor and supervisor web service (API, gateway, feed, pages)."""
    import uvicorn

    from tongxiu.services.http import create_app, load_tokens
    from tongxiu.services.http_logging import UVICORN_LOG_CONFIG

    settings = Out.settings
    tokens_file = tokens or settings.tokens_file
    if tokens_file is None:
        fail(tr("没有令牌文件：请给出 --tokens、tongxiu.toml 中的 tokens_file 或 TONGXIU_TOKENS_FILE",
                "no tokens file: give --tokens, tokens_file in tongxiu.toml or TONGXIU_TOKENS_FILE"))
    try:
        grants = load_tokens(tokens_file)
    except (OSError, ValueError) as exc:
        fail(tr(f"令牌文件 {tokens_file}：{exc}", f"tokens file {tokens_file}: {exc}"))
    tongxiu = open_app()
    try:
        api = create_app(tongxiu, grants)
        bind, at = host or settings.http_host, port or settings.http_port
        say(tr(f"同修 Tongxiu 运行于 http://{bind}:{at} — {settings.backend} 后端，{len(grants)} 个令牌；接口文档见 /docs",
               f"同修 Tongxiu on http://{bind}:{at} — {settings.backend} backend, {len(grants)} tokens; API docs at /docs"))
        uvicorn.run(api, host=bind, port=at, log_level="info", log_config=UVICORN_LOG_CONFIG)
    finally:
        tongxiu.close()


def rebuild(
    json_out: bool = typer.Option(False, "--json", help="the count as JSON"),
    part: str | None = typer.Option(None, "--part", metavar="I/N", help="distributed backend: fold only part I of N "
                                    "(streams by hash), into the read models as they are, resuming from this part's "
                                    "checkpoint; run `rebuild --reset` once first, then every part 0..N-1"),
    reset_only: bool = typer.Option(False, "--reset", help="only forget the read models and the parts' checkpoints "
                                    "(the first step of a rebuild in parts)"),
) -> None:
    """Forget every read model and rebuild it from the log (the result equals the incremental one)."""
    from tongxiu.services.ports import ShardedProjectionStore
    from tongxiu.streams import rebuild_parts
    from tongxiu.streams.projector import Projector

    split = None
    if part is not None:
        try:
            split = rebuild_parts.parse_part(part)
        except ValueError as exc:
            fail(tr(f"--part 须为 I/N（0 ≤ I < N）：{exc}", f"--part: {exc}"))
    tongxiu = open_app()
    try:
        if (split or reset_only) and not isinstance(tongxiu.projections, ShardedProjectionStore):
            fail(tr("分片重建只用于分布式后端", "a rebuild in parts is for the distributed backend"))
        if reset_only:
            rebuild_parts.reset(tongxiu.projections)
            applied = 0
        else:
            with Progress(console=Console(stderr=True), transient=True, disable=json_out) as progress:
                task = progress.add_task(tr("重建中", "rebuilding"), total=None)
                if split is None:
                    applied = tongxiu.rebuild(lambda n: progress.advance(task, n))
                else:
                    projector = Projector(tongxiu.projections, tongxiu.log, tongxiu.rules)
                    applied = rebuild_parts.rebuild_part(projector, tongxiu.log, *split,
                                                         progress=lambda n: progress.advance(task, n))
    finally:
        tongxiu.close()
    if json_out:
        print_json({"events_applied": applied, **({"part": part} if part else {}), **({"reset": True} if reset_only else {})})
    elif reset_only:
        say(tr("已清空读模型与各分片的进度，可分别运行 rebuild --part I/N", "read models and part checkpoints forgotten: "
               "now run rebuild --part I/N for every part"))
    elif split is not None:
        say(tr(f"分片 {part}：已应用 {applied} 个事项", f"part {part}: {applied} events applied"))
    else:
        say(tr(f"已从日志的 {applied} 个事项重建读模型", f"rebuilt the read models from {applied} events"))


def schema_export(out_dir: Path = typer.Option(Path("docs/schemas"))) -> None:  # noqa: B008
    """Write JSON Schema for every event and the submission to docs/schemas/."""
    from tongxiu.events.schemas import write_schemas

    written = write_schemas(out_dir)
    say(tr(f"已将 {len(written)} 个 schema 写入 {out_dir}", f"wrote {len(written)} schemas to {out_dir}"))


def examples(out_dir: Path = typer.Option(Path("docs/examples"))) -> None:  # noqa: B008
    """Write a worked, signed example of every submission type to docs/examples/."""
    from tongxiu.services.examples import write_examples

    written = write_examples(out_dir)
    say(tr(f"已将 {len(written)} 个示例写入 {out_dir}", f"wrote {len(written)} examples to {out_dir}"))


# ---------------------------------------------------------------------- distributed backend


def migrate() -> None:
    """Create the Cassandra keyspace and tables and the Kafka topics (idempotent)."""
    from tongxiu.infra.distributed import migrate as migrate_all

    created = migrate_all(Out.settings)
    s = Out.settings
    none = tr("无（均已存在）", "none (all existed)")
    say(tr(f"键空间 {s.keyspace} 就绪；新建主题：{', '.join(created) or none}",
           f"keyspace {s.keyspace} ready; topics created: {', '.join(created) or none}"))


def worker(
    engine: str = typer.Option("faust", help="faust (default) or plain (kafka-python loops)"),
    clock_file: Path | None = typer.Option(None, hidden=True, help="tests: read the clock from this file"),  # noqa: B008
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
    status_file: Path | None = typer.Option(  # noqa: B008
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

    if Out.settings.backend != "distributed":
        fail(tr("worker: 只在分布式后端运行；请给出 --backend distributed（或在 tongxiu.toml 中设置 backend）",
                "worker: runs on the distributed backend; give --backend distributed (or backend in tongxiu.toml)"))
    if engine not in ("faust", "plain"):
        fail(tr(f"--engine: 应为 faust 或 plain，实为 {engine!r}", f"--engine: expected faust or plain, got {engine!r}"))
    if agents not in ("all", "ledger", "projection"):
        fail(tr(f"--agents: 应为 all、ledger 或 projection，实为 {agents!r}",
                f"--agents: expected all, ledger or projection, got {agents!r}"))
    if engine == "plain" and agents != "all":
        fail(tr("--agents 只用于 faust 引擎；plain 引擎同时运行两个循环",
                "--agents applies to the faust engine; the plain engine runs both loops"))
    logging.basicConfig(level=loglevel.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s")
    if supervise:
        from tongxiu.entrypoints.supervisor import Supervisor, child_argv

        logging.getLogger("tongxiu.supervisor").setLevel(logging.INFO)
        sup = Supervisor(Out.settings, child_argv(), status_file=status_file, health_port=health_port)
        raise typer.Exit(sup.run())
    deps = worker_deps(Out.settings, clock=FileClock(clock_file) if clock_file else None)
    if engine == "faust":
        from tongxiu.streams import faust_app

        chosen = {"all": faust_app.AGENTS, "ledger": ("ledger",), "projection": ("projection",)}[agents]
        faust_app.run(Out.settings, deps, loglevel=loglevel, commit_interval=commit_interval, agents=chosen)
        return
    from tongxiu.streams.worker import run_plain

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        run_plain(deps, stop)
    finally:
        deps.close()


def infra_up() -> None:
    """Start (or reuse) the local Kafka and Cassandra servers (JSON on stdout)."""
    from tongxiu.infra import launch

    print_json(launch.up())


def infra_down() -> None:
    """Stop the local servers this state dir started (JSON on stdout: what is left running)."""
    from tongxiu.infra import launch

    launch.down()
    print_json(launch.status(probe=False))


def infra_status() -> None:
    """Report whether the local servers run and answer (JSON on stdout)."""
    from tongxiu.infra import launch

    print_json(launch.status())
