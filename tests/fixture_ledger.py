"""A small, deterministic ledger: the demo (three documents, payment, evidence, verification,
refused and forged submissions, the scheduler, a repair granted and propagated to four
subscribers who acknowledge it) plus the bench's workload for 5 enterprises (100 events).

Everything in it is deterministic: the clock is a ``ManualClock``, the departments' keys are the
demo's, the ledger key is fixed here, event ids are uuid5 of the submission, and Ed25519
signatures are deterministic. So the same code writes the same bytes, and
``tests/fixtures/ledger-2026-12-01/ledger.sqlite3`` (written by this module with the code of
``main`` at d276c67, before the write path was optimised for issue 11) is what the current code
must still read, verify and reproduce hash for hash (``tests/unit/test_ledger_fixture.py``).

Regenerate (only on purpose: the fixture pins what an older ledger looks like):
``python -m tests.fixture_ledger tests/fixtures/ledger-2026-12-01``."""

from __future__ import annotations

import sqlite3
import sys
from datetime import UTC, timedelta
from pathlib import Path

from tongxiu.events.envelope import Receipt
from tongxiu.events.signing import KeyPair
from tongxiu.infra.bootstrap import open_embedded
from tongxiu.infra.embedded import LocalInbox, LocalTransport
from tongxiu.services.app import Tongxiu
from tongxiu.services.config import Settings
from tongxiu.services.demo import START, run_demo
from tongxiu.services.ports import ManualClock

LEDGER_KEY = KeyPair.from_private("1d" * 32)
WORKLOAD_EVENTS = 100


def write_fixture_ledger(data_dir: Path) -> Tongxiu:
    """Write the fixture's ledger into ``data_dir`` (which must not hold one) and return the
    app, still open."""
    from bench.write_replay import build_workload

    clock = ManualClock(START.astimezone(UTC))
    app = open_embedded(Settings(data_dir=data_dir), clock=clock, key=LEDGER_KEY)
    # the demo's own platform feed (the platform acknowledges by committing it: the same facts
    # and submission ids as the inbox acknowledgement the old demo used)
    run_demo(app, clock, transport=LocalTransport(app), inbox=LocalInbox(app), say=lambda _s: None)
    clock.set((START + timedelta(days=120)).astimezone(UTC))
    work = build_workload(WORKLOAD_EVENTS)
    for sub in work.submissions:
        app.submit(sub)
    app.submit(work.submissions[3])  # a duplicate: the first receipt again, nothing stored
    app.process()
    return app


def main(argv: list[str]) -> int:
    out = Path(argv[0])
    app = write_fixture_ledger(out)
    db = app.log.db  # type: ignore[attr-defined]
    db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    app.close()
    conn = sqlite3.connect(out / "ledger.sqlite3")
    conn.execute("PRAGMA journal_mode=DELETE")  # one self-contained file to commit
    conn.execute("VACUUM")
    conn.close()
    (out / "ledger.key").unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))


def codes_of_workload() -> list[str]:
    from bench.write_replay import EVENTS_PER_ENTERPRISE, enterprise_codes

    return enterprise_codes(WORKLOAD_EVENTS // EVENTS_PER_ENTERPRISE)


def continue_ledger(app: Tongxiu) -> Receipt:
    """One more submission on the first workload enterprise (a fourth decision, with its advice
    and notice: three events), as the code under test writes it."""
    from bench.write_replay import SAMR, _advice, _decision
    from tongxiu.services.demo import demo_key
    from tongxiu.services.sdk import Producer

    code = codes_of_workload()[0]
    producer = Producer(LocalTransport(app), SAMR, demo_key(SAMR), rules=app.rules)
    decision = _decision(0, 9)
    return producer.serve(code, decision, _advice(decision), submission_id=f"{code}/continued",
                          occurred_at=app.clock.now())
