"""Helpers shared by the distributed pipeline tests (``test_distributed_pipeline``,
``test_http_distributed``) and the fault tests (``test_faults``): the worker subprocess, a
clock the worker follows through a file, waiting, signed test submissions, and the checks that
nothing was lost or doubled (the log, ``verify``, projections equal to a rebuild)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from tests.support import decision
from tongxiu.events.envelope import Submission
from tongxiu.events.models import REGISTRY_STREAM, DepartmentRegistered, PenaltyDecided, SubscriptionAdded
from tongxiu.infra.kafka_topics import client_config, topic_names
from tongxiu.infra.sqlite import Database, SqliteProjectionStore
from tongxiu.infra.verify_projections import differences
from tongxiu.projections.keys import PROJECTION, REGISTRY_KEY, SEEN, enterprise_key
from tongxiu.services.app import Tongxiu
from tongxiu.services.audit import verify_streams
from tongxiu.services.config import Settings
from tongxiu.services.demo import DEPARTMENTS, demo_key, make_uscc
from tongxiu.services.ports import ManualClock
from tongxiu.services.sdk import Producer
from tongxiu.streams.projector import Projector

REPO = Path(__file__).resolve().parents[2]


class FileDrivenClock(ManualClock):
    """A manual clock that also writes its time to a file the worker process reads."""

    def __init__(self, start: datetime, path: Path) -> None:
        self.path = path
        super().__init__(start)
        self.set(start)

    def set(self, value: datetime) -> None:
        super().set(value)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(value.astimezone(UTC).isoformat())
        tmp.replace(self.path)


class Worker:
    """``tongxiu worker`` in a subprocess with the settings passed as TONGXIU_* variables
    (supervised, as by default: killing it kills its child worker too)."""

    def __init__(
        self, settings: Settings, log_path: Path, *, clock_file: Path | None = None, engine: str = "faust",
        commit_interval: float = 1.0, agents: str = "all", extra_args: Sequence[str] = (),
    ) -> None:
        self.extra_args = list(extra_args)
        self.engine = engine
        self.agents = agents
        self.commit_interval = commit_interval
        self.settings = settings
        self.log_path = log_path
        self.clock_file = clock_file
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        s = self.settings
        env = {
            **os.environ,
            "TONGXIU_BACKEND": "distributed",
            "TONGXIU_TOPIC_PREFIX": s.topic_prefix,
            "TONGXIU_KEYSPACE": s.keyspace,
            "TONGXIU_DATA_DIR": str(s.data_dir),
            "TONGXIU_PARTITIONS": str(s.partitions),
            "TONGXIU_KAFKA_BOOTSTRAP": s.kafka_bootstrap,
            "TONGXIU_CASSANDRA_PORT": str(s.cassandra_port),
            "TONGXIU_CASSANDRA_CONTACT_POINTS": ",".join(s.cassandra_contact_points),
            "TONGXIU_CASSANDRA_REPLICATION": json.dumps(s.cassandra_replication),
            "TONGXIU_CONSISTENCY": s.consistency,
        }
        cmd = [sys.executable, "-m", "tongxiu.entrypoints.cli", "worker", "--loglevel", "WARNING", "--engine", self.engine,
               "--commit-interval", str(self.commit_interval), "--agents", self.agents, *self.extra_args]
        if self.clock_file is not None:
            cmd += ["--clock-file", str(self.clock_file)]
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
                                     start_new_session=True)

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.proc = None

    def tail_all(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def tail(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:] if self.log_path.exists() else ""


def wait_for(check: Callable[[], Any], timeout_s: float, what: str, worker: Worker | None = None) -> Any:
    """Poll ``check`` until it is truthy. A check that raises (a server still settling, e.g.
    Cassandra's "CAS operation result is unknown" while a node of a cluster comes up) is polled
    again; the last error is reported if the time runs out."""
    deadline = time.monotonic() + timeout_s
    error: Exception | None = None
    while True:
        try:
            value = check()
        except Exception as exc:  # noqa: BLE001 - polled again, reported at the deadline
            value, error = None, exc
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what} (last error: {error!r})\n{worker.tail() if worker else ''}")
        time.sleep(0.1)


def chains(app: Tongxiu) -> dict[str, list[tuple[int, str, str]]]:
    return {s: [(e.envelope.seq, e.envelope.event_id, e.envelope.hash) for e in app.log.read_stream(s)]
            for s in app.log.streams()}


def rebuild(log: Any, rules: Any, tmp: Path) -> SqliteProjectionStore:
    """A fresh rebuild of the read models from the log (per-stream order) into SQLite."""
    store = SqliteProjectionStore(Database(tmp / f"rebuild-{uuid.uuid4().hex[:6]}.sqlite3"))
    projector = Projector(store, log, rules)
    for stream in [REGISTRY_STREAM] + [s for s in log.streams() if s != REGISTRY_STREAM]:
        projector.apply([s.envelope for s in log.read_stream(stream)])
    return store


def assert_every_stream_applied(app: Tongxiu) -> None:
    """Every stream's read model has applied the stream up to its head. (The applied-events
    count, ``position``, may stay below the log's size for good when a worker was killed in a
    save split over several Cassandra batches: the per-stream seq guard then skips what was
    written; so the exact test is per stream, and "applied once" is the equality with a fresh
    rebuild that follows.)"""
    heads = {s: app.log.last_seq(s) for s in app.log.streams()}
    behind = {}
    for stream, head in heads.items():
        key = REGISTRY_KEY if stream == REGISTRY_STREAM else enterprise_key(stream)
        doc = app.projections.load(PROJECTION, key)
        seq = int(doc.get("seq", 0)) if doc else 0
        if seq != head:
            behind[stream] = (seq, head)
    assert behind == {}, f"read models behind the log (applied, head): {behind}"
    assert app.projections.position(PROJECTION) <= sum(heads.values())


def strip(state: dict[str, Any] | None) -> dict[str, Any] | None:
    """Drop the bookkeeping that differs by construction (watermarks, inbox positions, how the
    supervision tallies are split between the projection workers' shards)."""
    if state is None:
        return None
    out = {k: v for k, v in state.items() if k != SEEN}
    if "months" in out and "department" in out:  # supervision: each shard's tallies added up
        from tongxiu.projections.views import SupervisionState

        months = SupervisionState.model_validate(out).by_month()
        out["months"] = {m: c.model_dump() for m, c in months.items()}
    if "pending" in out:
        out["pending"] = {k: {kk: vv for kk, vv in v.items() if kk != "position"} for k, v in out["pending"].items()}
    return out


def decision_no(n: int) -> PenaltyDecided:
    return decision(f"德市监处罚〔2026〕{1000 + n}号", fine_yuan=Decimal("5000"))


def redelivered_submissions(settings: Settings) -> int:
    """How many submissions got more than one receipt (handled again after redelivery)."""
    from collections import Counter

    from kafka import KafkaConsumer, TopicPartition

    c = KafkaConsumer(group_id=None, isolation_level="read_committed", **client_config(settings))
    topic = topic_names(settings).receipts
    tps = [TopicPartition(topic, p) for p in c.partitions_for_topic(topic) or []]
    c.assign(tps)
    c.seek_to_beginning(*tps)
    end = c.end_offsets(tps)
    seen: Counter[tuple[str, str]] = Counter()
    deadline = time.monotonic() + 30
    while any(c.position(tp) < end[tp] for tp in tps) and time.monotonic() < deadline:
        for records in c.poll(timeout_ms=200).values():
            for rec in records:
                r = json.loads(rec.value)
                seen[(r["department"], r["submission_id"])] += 1
    c.close()
    return sum(1 for n in seen.values() if n > 1)


def register(app: Tongxiu, transport: Any) -> None:
    """The two departments the test submissions need, and creditchina's subscription."""
    for dept in ("samr-deqing", "creditchina"):
        info = next(d for d in DEPARTMENTS if d[0] == dept)
        r = app.emit(REGISTRY_STREAM, [DepartmentRegistered(
            department_id=dept, name=info[1], kind=info[2], domain=info[3], jurisdiction=info[4],
            public_key=demo_key(dept).public_key)], submission_id=f"register:{dept}")
        assert r.accepted, r
    sub = Producer(transport, "creditchina", demo_key("creditchina")).publish(
        REGISTRY_STREAM, [SubscriptionAdded(jurisdictions=["33"])], submission_id="subscribe:creditchina")
    assert sub.accepted, sub


def enterprise_codes(n: int = 12, tag: str = "MA") -> list[str]:
    return [make_uscc("91", "330521", f"{tag}{i:06d}") for i in range(n)]


def signed_submissions(app: Tongxiu, codes: Sequence[str], n: int, *, prefix: str = "s") -> list[Submission]:
    """``n`` signed 决定书 + 告知书 submissions by samr-deqing over ``codes`` (two events each)."""
    from tongxiu.services.ledger import sign_submission

    samr = Producer(app.transport, "samr-deqing", demo_key("samr-deqing"), rules=app.rules)
    out = []
    for i in range(n):
        code = codes[i % len(codes)]
        d = decision_no(i)
        notice = samr.notice_for(code, d, f"{d.decision_no}-告知")
        out.append(sign_submission(samr.key, department="samr-deqing", stream=code, submission_id=f"{prefix}-{i}",
                                   occurred_at=datetime.now(UTC), events=[d, notice]))
    return out


def assert_exactly_once(app: Tongxiu, codes: Sequence[str], submission_ids: Sequence[str], tmp: Path) -> int:
    """Every submission recorded exactly once (its two events), every stream gap-free with
    unique events, the hash chains verify, and the projections — caught up, each event applied
    once — equal a fresh rebuild from the log. Returns the number of events checked."""
    total = 0
    for code in codes:
        stored = app.log.read_stream(code)
        assert [s.envelope.seq for s in stored] == list(range(1, len(stored) + 1)), code
        assert len({s.envelope.event_id for s in stored}) == len(stored), code
        total += len(stored)
    lost = [sid for sid in submission_ids if not app.log.find_submission("samr-deqing", sid)]
    doubled = [sid for sid in submission_ids if len(app.log.find_submission("samr-deqing", sid)) > 2]
    assert (lost, doubled) == ([], []), f"lost {len(lost)}: {lost[:5]}; duplicated {len(doubled)}: {doubled[:5]}"
    assert total == 2 * len(submission_ids)
    assert verify_streams(app.log).ok
    app.process()
    assert_every_stream_applied(app)
    fresh = rebuild(app.log, app.rules, tmp)
    keys_live = sorted(app.projections.keys(PROJECTION))
    assert keys_live == sorted(fresh.keys(PROJECTION))
    for k in keys_live:
        live, again = strip(app.projections.load(PROJECTION, k)), strip(fresh.load(PROJECTION, k))
        assert live == again, (k, differences(live, again))
    assert app.supervision("samr-deqing").penalties == len(submission_ids)
    return total
