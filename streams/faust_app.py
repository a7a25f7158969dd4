"""The Faust worker: ``make_app(settings, deps)`` builds (no global app at import) an app with
two agents, both at concurrency=1 (faust-streaming can commit past an in-flight message at
higher concurrency; scale by partitions instead):

* ``ledger``     — submissions -> ``Ledger.submit`` on Cassandra ports -> envelopes to the events
  topic (awaited), then the receipt to the receipts topic.
* ``projection`` — events -> :class:`tongxiu.streams.projector.Projector` (idempotent by each stream's seq), the
  same projector the embedded backend runs in process, each partition of the events topic
  applied as one shard (any number of projection workers share the partitions).

Offsets are committed by Faust after the agent has handled (acked) a message, so a crash
redelivers; both steps are idempotent (the log answers a resubmission with the same receipt
and republishes its envelopes; the projector drops what it already applied).

With ``TONGXIU_STAGES_FILE`` set (``bench.distributed`` does), each agent appends one line per
batch there: its size, the Kafka timestamps of its first and last message, when the agent
started it and when it was handled (and published): where a submission's latency goes.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from tongxiu.events.envelope import Envelope
from tongxiu.services.config import Settings
from tongxiu.streams.topics import event_records, outgoing, topic_names
from tongxiu.streams.worker import WorkerDeps, apply_shards, tune_gc

log = logging.getLogger("tongxiu.faust")


def _credentials(settings: Settings) -> Any:
    import faust

    if settings.kafka_sasl_mechanism:
        return faust.SASLCredentials(
            username=settings.kafka_sasl_username,
            password=settings.kafka_sasl_password,
            mechanism=settings.kafka_sasl_mechanism,
            ssl_context=None,
        )
    return None


AGENTS = ("ledger", "projection")


class QuietRepeats(logging.Filter):
    """Lets a repeated log message (same logger, level and format string) through once per
    ``interval`` seconds and counts the rest: while Kafka is down aiokafka logs a connection
    error several times a second (3,000 lines in a 30 s outage, measured), which buried the
    one line that matters. The next line that passes says how many were held back."""

    def __init__(self, interval: float = 30.0) -> None:
        super().__init__()
        self.interval = interval
        self._last: dict[tuple[str, int, str], tuple[float, int]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        import time

        key = (record.name, record.levelno, str(record.msg))
        now = time.monotonic()
        last, held = self._last.get(key, (float("-inf"), 0))
        if now - last < self.interval:
            self._last[key] = (last, held + 1)
            return False
        self._last[key] = (now, 0)
        if held:
            record.msg = f"{record.msg} (and {held} more like it in the last {self.interval:.0f}s)"
        return True


def quiet_repeats(interval: float = 30.0) -> QuietRepeats:
    """Install :class:`QuietRepeats` on every handler of the root logger and on the Kafka
    client loggers (call after logging is set up)."""
    quiet = QuietRepeats(interval)
    for handler in logging.getLogger().handlers:
        handler.addFilter(quiet)
    for name in list(logging.Logger.manager.loggerDict):
        if name.split(".")[0] in ("aiokafka", "kafka", "faust", "mode", "cassandra"):
            logging.getLogger(name).addFilter(quiet)
    return quiet


def make_app(
    settings: Settings, deps: WorkerDeps, *, commit_interval: float = 1.0, agents: tuple[str, ...] = AGENTS,
    loglevel: str | None = None,
) -> Any:
    """``agents`` picks what this worker runs. Both scale out across processes: the ledger
    agents have one writer per partition of the submissions topic; the projection agents
    share the partitions of the events topic as one consumer group, each partition a shard of
    the read models (``Projector.apply(shard=...)``). Run every projection agent with the same
    ``agents`` (the group is named after them): two groups would both write every shard."""
    import faust

    topics = topic_names(settings)
    brokers = ";".join(f"kafka://{b}" for b in settings.kafka_bootstrap.split(","))
    # one consumer group per role, so ledger-only and projection-only workers never share a
    # group with different subscriptions
    group = f"{settings.topic_prefix}-faust" + ("" if tuple(agents) == AGENTS else "-" + "-".join(agents))
    datadir = Path(settings.data_dir).resolve() / "faust" / group  # not the working directory
    datadir.mkdir(parents=True, exist_ok=True)
    app = faust.App(
        group,
        datadir=str(datadir),
        broker=brokers,
        broker_credentials=_credentials(settings),
        store="memory://",
        web_enabled=False,
        autodiscover=False,
        topic_partitions=settings.partitions,
        topic_replication_factor=settings.kafka_replication,
        topic_allow_declare=False,
        producer_acks=-1,
        consumer_auto_offset_reset="earliest",
        broker_commit_interval=commit_interval,
        # a SIGKILLed member leaves the group after this, then its partitions move
        broker_session_timeout=10.0,
        broker_heartbeat_interval=1.0,
        key_serializer="raw",
        value_serializer="raw",
    )
    submissions = app.topic(topics.submissions, key_type=bytes, value_type=bytes, internal=False)
    events = app.topic(topics.events, key_type=bytes, value_type=bytes, internal=False)
    receipts = app.topic(topics.receipts, key_type=bytes, value_type=bytes, internal=False)
    repairs = app.topic(topics.repairs, key_type=bytes, value_type=bytes, internal=False)
    by_name = {topics.events: events, topics.receipts: receipts, topics.repairs: repairs}

    async def quiet_logs() -> None:  # once Faust has set up logging and imported aiokafka
        if loglevel is not None:
            # Faust leaves the root logger at DEBUG (its handlers drop the records): every
            # debug call of aiokafka and Faust then built a record, ~3 % of the worker's CPU
            # (issue 11, py-spy); the root at the worker's level skips them
            logging.getLogger().setLevel(loglevel.upper())
        quiet_repeats()

    app.task(quiet_logs)

    async def bootstrap() -> None:
        key = deps.handler.ledger.key  # signs the public repair records
        for rec in (r for stream, raw in deps.handler.bootstrap_events() for r in event_records(topics, stream, raw, key)):
            fut = await by_name[rec.topic].send(key=rec.key, value=rec.value, headers=rec.headers)
            await fut

    # The blocking Cassandra work runs in one thread per agent (single writer each), so the
    # event loop keeps heartbeating and the two agents overlap.
    ledger_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ledger")
    projection_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="projection")

    def die(agent: str) -> None:
        """An agent that raised must not be restarted in place: Faust acks the failed batch on
        restart and moves on (observed: events skipped after a Cassandra error). Exit the
        process instead; the supervisor restarts it and Kafka redelivers from the last
        commit, which both steps handle idempotently."""
        log.exception("agent %s failed; exiting so the batch is redelivered", agent)
        logging.shutdown()
        os._exit(70)

    async def ledger(stream: Any) -> None:
        try:
            await _ledger(stream)
        except asyncio.CancelledError:
            raise
        except BaseException:
            die("ledger")

    async def projection(stream: Any) -> None:
        try:
            await _projection(stream)
        except asyncio.CancelledError:
            raise
        except BaseException:
            die("projection")

    async def _ledger(stream: Any) -> None:
        # take_events acks a batch only after this body returns: submissions handled in
        # order, every envelope and receipt of the batch delivered (acks=all) first.
        loop = asyncio.get_running_loop()
        stages = open(os.environ["TONGXIU_STAGES_FILE"], "a") if os.environ.get("TONGXIU_STAGES_FILE") else None
        async for batch in stream.take_events(100, within=0.005):
            t0 = time.time()
            results = await loop.run_in_executor(
                ledger_pool, deps.handler.handle_keyed, [(e.key, e.value) for e in batch])
            t1 = time.time()
            futures = []
            for receipt, published in results:
                for rec in outgoing(topics, receipt, published, deps.handler.ledger.key):  # headers, repairs copy (asyncapi)
                    futures.append(await by_name[rec.topic].send(key=rec.key, value=rec.value, headers=rec.headers))
            for fut in futures:
                await fut
            if stages is not None:  # bench.distributed: where the time of a batch goes
                stamps = [e.message.timestamp for e in batch]
                stages.write(f"ledger {len(batch)} {min(stamps):.4f} {max(stamps):.4f} {t0:.4f} {t1:.4f} {time.time():.4f}\n")
                stages.flush()

    async def _projection(stream: Any) -> None:
        # take_events acks a batch only after this body has handled it (saved), so a crash
        # redelivers the batch; the projector skips what it had already applied.
        # Each partition of the events topic is a shard of the read models (per-stream
        # documents, and each shard's own rows of the shared ones): the workers of the
        # projection group share the partitions, one writer per partition.
        loop = asyncio.get_running_loop()
        stages = open(os.environ["TONGXIU_STAGES_FILE"], "a") if os.environ.get("TONGXIU_STAGES_FILE") else None
        async for batch in stream.take_events(500, within=0.02):
            t0 = time.time()
            by_partition: dict[int, list[Envelope]] = {}
            for e in batch:
                by_partition.setdefault(e.message.partition, []).append(Envelope.from_json(e.value))
            await loop.run_in_executor(projection_pool, apply_shards, deps.projector, by_partition)
            if stages is not None:
                stamps = [e.message.timestamp for e in batch]
                stages.write(f"projection {len(batch)} {min(stamps):.4f} {max(stamps):.4f} {t0:.4f} {time.time():.4f}\n")
                stages.flush()

    if os.environ.get("TONGXIU_STAGES_FILE"):
        _note_gc_pauses(Path(os.environ["TONGXIU_STAGES_FILE"]))
    if "ledger" in agents:
        app.task(bootstrap)
        app.agent(submissions, concurrency=1, name="ledger")(ledger)
    if "projection" in agents:
        app.agent(events, concurrency=1, name="projection")(projection)
    app.tongxiu_deps = deps  # type: ignore[attr-defined]
    return app


def _note_gc_pauses(path: Path) -> None:
    """bench.distributed: one line per garbage collection of generation 1 or 2 in this
    process (``gc <generation> <start> <seconds>``): every thread waits while it runs."""
    import gc
    import threading

    lock = threading.Lock()
    started = [0.0]
    out = open(path, "a")  # noqa: SIM115 - open for the life of the process

    def timed(phase: str, info: dict[str, Any]) -> None:
        if info.get("generation", 0) < 1:
            return
        if phase == "start":
            started[0] = time.time()
            return
        with lock:
            out.write(f"gc {info['generation']} {started[0]:.4f} {time.time() - started[0]:.4f}\n")
            out.flush()

    gc.callbacks.append(timed)


def run(
    settings: Settings,
    deps: WorkerDeps,
    *,
    loglevel: str = "WARNING",
    commit_interval: float = 1.0,
    agents: tuple[str, ...] = AGENTS,
) -> None:
    """Run the Faust worker in this process until it is stopped (SIGTERM/SIGINT)."""
    import faust

    app = make_app(settings, deps, commit_interval=commit_interval, agents=agents, loglevel=loglevel)
    tune_gc(settings.worker_gc_young)
    worker = faust.Worker(app, loglevel=loglevel, quiet=True)
    try:
        worker.execute_from_commandline()
    finally:
        deps.close()
