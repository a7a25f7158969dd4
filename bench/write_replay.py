"""Write path and replay-with-verification, each against a bare baseline in the same run.

    python -m bench.write_replay [--events N] [--profile] [--skip-full]

(a) write: N events as pre-signed submissions through ``app.submit`` on a fresh embedded
    backend (in-process processors after every submit, as in production), then the same
    submissions through ``app.ledger.submit`` only (no processors; one ``app.process()`` at
    the end), against a bare baseline: Ed25519 check (PyNaCl) + SHA-256 of the canonical bytes
    + plain SQLite insert of the JSON into a table with a (stream, seq) unique index, one
    transaction per event.
(b) replay: ``tongxiu.services.audit.verify_streams`` over all streams + ``tongxiu.services.audit.replay`` of
    every enterprise, against a bare baseline: plain SELECT of every row + JSON decode
    (+ signature check + hash).

Events are spread over N/20 enterprises of 20 events each, submitted round-robin across the
enterprises. One enterprise's 20 events (14 submissions; enterprises interleaved step by step):

    2 x [ penalty_decided + compliance_advice_issued (2 items) + credit_repair_notice_issued  (one bundle)
          penalty_fulfilled, 2 x rectification_evidence_submitted, 2 x rectification_verified ]
    1 x [ penalty_decided + advice + notice bundle, penalty_fulfilled ]

Every receipt is asserted ACCEPTED. Machines are noisy: read the ratios, not the seconds.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import hashlib
import io
import json
import platform
import pstats
import resource
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from tongxiu.events.codes import check_uscc
from tongxiu.events.envelope import Submission
from tongxiu.events.models import (
    ComplianceAdviceIssued,
    Event,
    PenaltyDecided,
    PenaltyFulfilled,
    RectificationEvidenceSubmitted,
    RectificationVerified,
)
from tongxiu.events.signing import verify
from tongxiu.infra.bootstrap import open_embedded
from tongxiu.services.app import Tongxiu
from tongxiu.services.audit import replay, verify_streams
from tongxiu.services.config import Settings
from tongxiu.services.demo import (
    DEPARTMENTS,
    START,
    demo_decision_and_advice,
    demo_key,
    make_uscc,
    register_only,
)
from tongxiu.services.ledger import sign_submission
from tongxiu.services.ports import ManualClock
from tongxiu.services.sdk import Producer, Transport

EVENTS_PER_ENTERPRISE = 20
SAMR = "samr-deqing"
ECO = "eco-huzhou"
PLATFORM = "creditchina"


# ---------------------------------------------------------------------------- workload


class _NoTransport(Transport):
    def send(self, submission: Submission) -> Any:  # pragma: no cover - never called
        raise RuntimeError("the bench submits through app.submit")


def enterprise_codes(n: int) -> list[str]:
    codes = []
    for i in range(n):
        code = make_uscc("91", "330521", f"{10_000_000 + i:08d}")
        assert check_uscc(code).valid, code
        codes.append(code)
    return codes


def _decision(code_no: int, cycle: int) -> PenaltyDecided:
    decision, _ = demo_decision_and_advice()
    return decision.model_copy(
        update={"decision_no": f"德市监处罚〔2026〕{code_no}-{cycle}号", "party_name": f"德清县某某{code_no}号有限公司"}
    )


def _advice(decision: PenaltyDecided) -> ComplianceAdviceIssued:
    _, advice = demo_decision_and_advice()
    return advice.model_copy(
        update={"advice_no": decision.decision_no.replace("处罚", "合规"), "decision_no": decision.decision_no}
    )


def enterprise_steps(producer: Producer, code: str, idx: int) -> list[tuple[str, list[Event]]]:
    """(department, events) per submission, in order, for one enterprise: 20 events."""
    steps: list[tuple[str, list[Event]]] = []
    for cycle in range(3):
        decision = _decision(idx, cycle)
        advice = _advice(decision)
        notice = producer.notice_for(code, decision, f"{decision.decision_no}-告知")
        steps.append((SAMR, [decision, advice, notice]))
        steps.append(
            (
                SAMR,
                [
                    PenaltyFulfilled(
                        decision_no=decision.decision_no,
                        amount_paid_yuan=Decimal("62000"),
                        fulfilled_on=date(2026, 1, 15),
                    )
                ],
            )
        )
        if cycle == 2:
            break
        for item in ("1", "2"):
            steps.append(
                (
                    PLATFORM,
                    [
                        RectificationEvidenceSubmitted(
                            advice_no=advice.advice_no, item_id=item, evidence=f"整改材料 {item}"
                        )
                    ],
                )
            )
        for item in ("1", "2"):
            steps.append(
                (SAMR, [RectificationVerified(advice_no=advice.advice_no, item_id=item, note="现场核查通过")])
            )
    assert sum(len(e) for _, e in steps) == EVENTS_PER_ENTERPRISE
    return steps


@dataclass
class Workload:
    codes: list[str]
    submissions: list[Submission]
    events: int


def build_workload(n_events: int) -> Workload:
    n_ent = max(1, n_events // EVENTS_PER_ENTERPRISE)
    codes = enterprise_codes(n_ent)
    keys = {d[0]: demo_key(d[0]) for d in DEPARTMENTS}
    producer = Producer(_NoTransport(), SAMR, keys[SAMR])
    per_ent = [enterprise_steps(producer, code, i) for i, code in enumerate(codes)]
    occurred = (START + timedelta(days=20)).astimezone(UTC)
    subs: list[Submission] = []
    for step in range(len(per_ent[0])):  # round-robin: step k of every enterprise, then step k+1
        for code, steps in zip(codes, per_ent, strict=False):
            dept, events = steps[step]
            subs.append(
                sign_submission(
                    keys[dept],
                    department=dept,
                    stream=code,
                    submission_id=f"{code}/{step}",
                    occurred_at=occurred,
                    events=events,
                )
            )
    return Workload(codes=codes, submissions=subs, events=n_ent * EVENTS_PER_ENTERPRISE)


def open_fresh(tmp: Path, name: str) -> tuple[Tongxiu, ManualClock]:
    clock = ManualClock((START + timedelta(days=20, hours=1)).astimezone(UTC))
    app = open_embedded(Settings(data_dir=tmp / name), clock=clock)
    register_only(app)
    app.process()
    return app, clock


# ---------------------------------------------------------------------------- measurements


CPU: dict[float, float] = {}
"""wall seconds -> CPU seconds of this process for the same measurement (see ``timed``)."""


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    """Wall seconds (and, in ``CPU``, this process's CPU seconds: more robust than wall time
    when other work shares the machine; SQLite I/O waits only show in wall time)."""
    gc.collect()
    c0 = time.process_time()
    t0 = time.perf_counter()
    out = fn()
    wall = time.perf_counter() - t0
    CPU[wall] = time.process_time() - c0
    return wall, out


def submit_all(app: Tongxiu, subs: list[Submission], *, progress: bool = False, ledger_only: bool = False) -> int:
    """``ledger_only``: call ``Ledger.submit`` directly (the read models are left behind)."""
    submit = app.ledger.submit if ledger_only else app.submit
    accepted = 0
    step = max(1, len(subs) // 10)
    t0 = time.perf_counter()
    for i, sub in enumerate(subs):
        receipt = submit(sub)
        assert receipt.accepted and not receipt.duplicate, (sub.submission_id, receipt.reasons)
        accepted += len(receipt.events)
        if progress and (i + 1) % step == 0:
            print(f"    … {i + 1}/{len(subs)} submissions, {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    return accepted


@dataclass
class BareRow:
    stream: str
    seq: int
    message: bytes  # the canonical bytes that were signed
    signature: bytes
    public_key: str


def bare_rows(work: Workload) -> list[BareRow]:
    """What the baseline needs, prepared outside the timing: the canonical bytes of each event
    as its department signed them."""
    pubs = {d[0]: demo_key(d[0]).public_key for d in DEPARTMENTS}
    seqs: dict[str, int] = {}
    rows = []
    for sub in work.submissions:
        for i, signed in enumerate(sub.events):
            seq = seqs[sub.stream] = seqs.get(sub.stream, 0) + 1
            message = sub.signed_bytes(i)
            rows.append(
                BareRow(sub.stream, seq, message, bytes.fromhex(signed.signature), pubs[sub.department])
            )
    return rows


def bare_connect(path: Path, synchronous: str = "FULL") -> sqlite3.Connection:
    conn = sqlite3.connect(str(path), isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")  # same durability settings as infra.sqlite.Database
    conn.execute(f"PRAGMA synchronous={synchronous}")  # its default: FULL (setting sqlite_synchronous)
    conn.execute(
        "CREATE TABLE IF NOT EXISTS events (position INTEGER PRIMARY KEY, stream TEXT NOT NULL,"
        " seq INTEGER NOT NULL, raw TEXT NOT NULL, signature TEXT NOT NULL, hash TEXT NOT NULL,"
        " UNIQUE (stream, seq))"
    )
    return conn


def bare_write(conn: sqlite3.Connection, rows: list[BareRow]) -> int:
    from nacl.signing import VerifyKey

    keys: dict[str, VerifyKey] = {}
    for r in rows:
        key = keys.get(r.public_key) or keys.setdefault(r.public_key, VerifyKey(bytes.fromhex(r.public_key)))
        key.verify(r.message, r.signature)  # raises on a bad signature
        digest = hashlib.sha256(r.message).hexdigest()
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(
            "INSERT INTO events (stream, seq, raw, signature, hash) VALUES (?,?,?,?,?)",
            (r.stream, r.seq, r.message.decode("utf-8"), r.signature.hex(), digest),
        )
        conn.execute("COMMIT")
    return len(rows)


def bare_select_decode(conn: sqlite3.Connection) -> int:
    n = 0
    for _stream, _seq, raw in conn.execute("SELECT stream, seq, raw FROM events ORDER BY stream, seq"):
        json.loads(raw)
        n += 1
    return n


def bare_select_verify(conn: sqlite3.Connection, pubs: dict[str, str]) -> int:
    n = 0
    for raw, sig, digest in conn.execute("SELECT raw, signature, hash FROM events ORDER BY stream, seq"):
        body = json.loads(raw)
        data = raw.encode("utf-8")
        if not verify(pubs[body["department"]], data, sig):
            raise AssertionError("baseline: signature does not verify")
        if hashlib.sha256(data).hexdigest() != digest:
            raise AssertionError("baseline: hash mismatch")
        n += 1
    return n


def replay_all(app: Tongxiu, codes: list[str]) -> int:
    n = 0
    for code in codes:
        n += len(replay(app.log, app.rules, code).events)
    return n


def maxrss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


# ---------------------------------------------------------------------------- report


@dataclass
class Row:
    op: str
    seconds: float
    events: int
    baseline: str | None = None

    @property
    def cpu(self) -> float:
        return CPU.get(self.seconds, float("nan"))


def print_table(title: str, rows: list[Row], base: dict[str, Row]) -> None:
    print(f"\n{title}")
    print(
        f"  {'operation':<58} {'seconds':>9} {'events/s':>10} {'x baseline':>11} {'CPU s':>8} {'x (CPU)':>8}"
    )
    for r in rows:
        if r.baseline:
            b = base[r.baseline]
            ratio, cratio = f"{r.seconds / b.seconds:.1f}x", f"{r.cpu / b.cpu:.1f}x"
        else:
            ratio, cratio = "(baseline)", "(base)"
        print(
            f"  {r.op:<58} {r.seconds:>9.2f} {r.events / r.seconds:>10,.0f} {ratio:>11} {r.cpu:>8.2f} {cratio:>8}"
        )


def profile_write(work: Workload, tmp: Path, limit: int, top: int = 15) -> str:
    app, _ = open_fresh(tmp, "profile")
    subs = work.submissions[:limit]
    prof = cProfile.Profile()
    prof.enable()
    submit_all(app, subs)
    prof.disable()
    app.close()
    out = io.StringIO()
    pstats.Stats(prof, stream=out).sort_stats("cumulative").print_stats(top)
    return out.getvalue()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=100_000, help="events to write (default 100000)")
    ap.add_argument(
        "--profile",
        action="store_true",
        help="also profile the full write path once (cProfile, top 15 by cumulative)",
    )
    ap.add_argument(
        "--profile-submissions", type=int, default=6000, help="submissions the profile covers (default 6000)"
    )
    ap.add_argument(
        "--skip-full",
        action="store_true",
        help="skip the full write path (processors after every submit); ledger-only + baseline",
    )
    args = ap.parse_args(argv)

    print(
        f"Tongxiu write/replay bench — {time.strftime('%Y-%m-%d %H:%M:%S %Z')}, "
        f"Python {platform.python_version()}, {platform.machine()}, SQLite {sqlite3.sqlite_version}"
    )
    rss0 = maxrss_mib()
    t_prep, work = timed(lambda: build_workload(args.events))
    rows_bare = bare_rows(work)
    rss_prep = maxrss_mib()
    print(
        f"workload: {work.events} events in {len(work.submissions)} submissions over {len(work.codes)} "
        f"enterprises, pre-signed in {t_prep:.1f} s (not timed below); peak RSS {rss0:.0f} -> "
        f"{rss_prep:.0f} MiB"
    )

    with tempfile.TemporaryDirectory(prefix="tongxiu-bench-") as d:
        tmp = Path(d)
        base: dict[str, Row] = {}
        write_rows: list[Row] = []

        conn = bare_connect(tmp / "bare.sqlite3")
        secs, n = timed(lambda: bare_write(conn, rows_bare))
        base["write"] = Row("bare: Ed25519 verify + SHA-256 + INSERT, 1 tx/event", secs, n)
        write_rows.append(base["write"])

        full_app = None
        if not args.skip_full:
            rss = maxrss_mib()
            full_app, _ = open_fresh(tmp, "full")
            secs, n = timed(lambda: submit_all(full_app, work.submissions, progress=True))
            assert n == work.events, (n, work.events)
            write_rows.append(Row("app.submit, processors after each submit", secs, n, "write"))
            print(f"  full write path: peak RSS {rss:.0f} -> {maxrss_mib():.0f} MiB", file=sys.stderr)

        rss = maxrss_mib()
        app, _ = open_fresh(tmp, "ledger-only")
        secs_l, n = timed(lambda: submit_all(app, work.submissions, progress=True, ledger_only=True))
        assert n == work.events
        write_rows.append(Row("Ledger.submit only (no processors)", secs_l, n, "write"))
        secs_p, n_p = timed(app.process)
        assert n_p == work.events, (n_p, work.events)
        write_rows.append(Row("  + one app.process() at the end", secs_p, n_p, "write"))
        CPU[secs_l + secs_p] = CPU[secs_l] + CPU[secs_p]
        write_rows.append(Row("  = ledger only + one process()", secs_l + secs_p, n, "write"))
        print(f"  ledger-only write path: peak RSS {rss:.0f} -> {maxrss_mib():.0f} MiB", file=sys.stderr)
        rss_after_write = maxrss_mib()

        # (b) replay with verification (on the ledger-only database: same events)
        pubs = {d_[0]: demo_key(d_[0]).public_key for d_ in DEPARTMENTS}
        secs, n = timed(lambda: bare_select_decode(conn))
        base["select"] = Row("bare: SELECT all + json decode", secs, n)
        secs, n = timed(lambda: bare_select_verify(conn, pubs))
        base["select_verify"] = Row("bare: SELECT all + json decode + Ed25519 + SHA-256", secs, n)
        replay_rows = [base["select"], base["select_verify"]]
        secs_v, result = timed(lambda: verify_streams(app.log))
        assert result.ok, result.first_bad
        replay_rows.append(
            Row(f"verify_streams (all {result.streams} streams)", secs_v, result.events, "select_verify")
        )
        secs_r, n_r = timed(lambda: replay_all(app, work.codes))
        assert n_r == work.events
        replay_rows.append(Row(f"replay of every enterprise ({len(work.codes)})", secs_r, n_r, "select"))
        CPU[secs_v + secs_r] = CPU[secs_v] + CPU[secs_r]
        replay_rows.append(Row("verify_streams + replay", secs_v + secs_r, n_r, "select_verify"))

        print_table(
            f"(a) write path, {work.events} events, {len(work.submissions)} submissions", write_rows, base
        )
        print(
            "  submissions/s: "
            + "; ".join(
                f"{r.op.strip()}: {len(work.submissions) / r.seconds:,.0f}"
                for r in write_rows
                if r.op.startswith("app.")
            )
        )
        print_table(f"(b) replay with verification, {work.events} events", replay_rows, base)
        print(
            f"\npeak RSS (ru_maxrss): start {rss0:.0f} MiB, after workload+signing "
            f"{rss_prep:.0f} MiB, after writes {rss_after_write:.0f} MiB, end {maxrss_mib():.0f} MiB"
        )
        if full_app is not None:
            full_app.close()
        app.close()
        conn.close()

        if args.profile:
            limit = min(args.profile_submissions, len(work.submissions))
            print(
                f"\ncProfile of the full write path ({limit} submissions on a fresh ledger), top 15 by cumulative:"
            )
            print(profile_write(work, tmp, limit))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
