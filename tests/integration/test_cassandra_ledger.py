"""The whole demo scenario on the Cassandra adapters, compared with the embedded backend.

The same submissions, with the same manual clock times and the same ledger key, go to an
embedded (SQLite) ledger and to a ledger on the Cassandra adapters; both must build identical
hash chains (byte-identical stored events) and identical read models.

Cassandra's ``read_all`` is a snapshot order whose positions shift under appends (see
``infra/cassandra_store.py``), so the Cassandra app here rebuilds its projection from the log
after each submission instead of tailing (the distributed backend feeds its processors from
Kafka). That is fine for a single-threaded scenario and keeps the comparison about storage.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tongxiu.events.envelope import Receipt, Submission
from tongxiu.events.signing import KeyPair
from tongxiu.infra.bootstrap import load_rules, open_embedded
from tongxiu.infra.cassandra_store import (
    CassandraEventLog,
    CassandraOffsetStore,
    CassandraProjectionStore,
    CassandraRejectionLog,
)
from tongxiu.infra.embedded import InProcessTransport, LocalFeed, LocalInbox, LocalTransport
from tongxiu.projections.fold import Rules
from tongxiu.services.app import Tongxiu
from tongxiu.services.audit import verify_streams
from tongxiu.services.config import Settings
from tongxiu.services.demo import START, run_demo
from tongxiu.services.ledger import Ledger
from tongxiu.services.ports import EventLog, ManualClock, ProjectionStore, ReadSync
from tongxiu.services.sdk import Transport
from tongxiu.streams.processor import rebuild
from tongxiu.streams.projector import Projector

pytestmark = pytest.mark.integration


class RebuildingReadModels(ReadSync):
    """Rebuilds the read models from the whole log on every catch-up (snapshot read_all)."""

    def __init__(self, store: ProjectionStore, log: EventLog, rules: Rules) -> None:
        self.projector = Projector(store, log, rules)
        self.log = log

    def position(self) -> int:
        return self.projector.position()

    def catch_up(self) -> int:
        return rebuild(self.projector, self.log)

    def rebuild(self, progress: Callable[[int], None] | None = None) -> int:
        return rebuild(self.projector, self.log, progress)


class LedgerOnly(Transport):
    """Submissions reach ``Ledger.submit`` in this process; the read models wait for an
    explicit ``process()``."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger

    def send(self, submission: Submission) -> Receipt:
        return self.ledger.submit(submission)


def open_cassandra(session: Any, settings: Settings, clock: ManualClock, key: KeyPair, *,
                   events_per_bucket: int = 4, process_after_submit: bool = True) -> Tongxiu:
    """A ledger on the Cassandra adapters, deciding in this process (no Kafka hop)."""
    rules = load_rules(settings)
    log = CassandraEventLog(session, settings.keyspace, events_per_bucket=events_per_bucket)
    rejections = CassandraRejectionLog(session, settings.keyspace)
    store = CassandraProjectionStore(session, settings.keyspace)
    offsets = CassandraOffsetStore(session, settings.keyspace)
    ledger = Ledger(log, rejections, clock, rules, key)
    read_models = RebuildingReadModels(store, log, rules)
    app = Tongxiu(
        log=log,
        rejections=rejections,
        projections=store,
        offsets=offsets,
        clock=clock,
        rules=rules,
        ledger=ledger,
        transport=InProcessTransport(ledger, read_models) if process_after_submit else LedgerOnly(ledger),
        read_models=read_models,
        feed=LocalFeed(log, offsets),
        backend="distributed",
    )
    ledger.bootstrap()
    app.process()
    return app


def demo(app: Tongxiu, clock: ManualClock) -> Any:
    return run_demo(app, clock, transport=LocalTransport(app), inbox=LocalInbox(app), say=lambda s: None)


def test_demo_on_cassandra_matches_embedded(
    tmp_path: Path, cassandra_session: Any, fresh_keyspace: Callable[..., Settings]
) -> None:
    key = KeyPair.generate()
    emb_clock, cas_clock = ManualClock(START), ManualClock(START)
    embedded = open_embedded(Settings(data_dir=tmp_path / "ledger"), clock=emb_clock, key=key)
    settings = fresh_keyspace("tongxiu_test_ledger")
    cassandra = open_cassandra(cassandra_session, settings, cas_clock, key)
    try:
        emb_result = demo(embedded, emb_clock)
        cas_result = demo(cassandra, cas_clock)

        # receipts (seq, hashes, reasons) are the same
        # (``log``, the transparency log's part, is left out: this test runs the plain Cassandra
        # adapters; the logged ones are tested in tests/contract/test_transparency_log.py)
        assert all(r.log is not None for r in emb_result.receipts.values())
        assert {k: r.model_dump(exclude={"log"}) for k, r in cas_result.receipts.items()} == {
            k: r.model_dump(exclude={"log"}) for k, r in emb_result.receipts.items()
        }

        # identical hash chains, byte for byte
        assert cassandra.log.streams() == embedded.log.streams()
        for stream in embedded.log.streams():
            emb = embedded.log.read_stream(stream)
            cas = cassandra.log.read_stream(stream)
            assert [s.envelope.hash for s in cas] == [s.envelope.hash for s in emb], stream
            assert [s.raw for s in cas] == [s.raw for s in emb], stream
        outcome = verify_streams(cassandra.log)
        assert outcome.ok, outcome.problems
        assert outcome.events == verify_streams(embedded.log).events

        # identical read models
        code = emb_result.enterprise
        assert cassandra.credit(code).model_dump() == embedded.credit(code).model_dump()
        assert cassandra.rectification(code).model_dump() == embedded.rectification(code).model_dump()
        assert cassandra.sync(code).model_dump() == embedded.sync(code).model_dump()
        assert cassandra.registry().model_dump() == embedded.registry().model_dump()
        assert cassandra.enterprises() == embedded.enterprises()
        for dept in embedded.departments():
            assert cassandra.supervision(dept) == embedded.supervision(dept), dept
        assert cassandra.credit(code).standing == "good"

        # the same rejections, in the same order
        assert [r.receipt.model_dump() for r in cassandra.list_rejections()] == [
            r.receipt.model_dump() for r in embedded.list_rejections()
        ]
        # a resubmission is answered from the log, not appended twice
        assert cassandra.log.find_submission("samr-deqing", "serve-7")
        assert [e.seq for e in cas_result.receipts["serve"].events] == [
            s.envelope.seq for s in cassandra.log.find_submission("samr-deqing", "serve-7")
        ]
        assert cassandra.offsets.get("creditchina-feed") > 0
    finally:
        embedded.close()
        cassandra.close()
