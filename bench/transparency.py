"""The transparency log (issue 9): what the Merkle leaf costs on the write path, how large
checkpoints and proofs are, and what proving and auditing cost — each against a baseline in
the same run.

    python -m bench.transparency [--events N]

(a) write: the workload of ``bench.write_replay`` (N events, round-robin over enterprises)
    through ``Ledger.submit`` on two fresh embedded ledgers, in alternating chunks of 200
    submissions: with the leaf appended in the
    event's transaction and a signed checkpoint in every receipt, vs a baseline ledger whose
    event log appends exactly as before issue 9 (no leaf, no receipt log part).
(b) sizes: a checkpoint as a file, an inclusion proof and a consistency proof at N leaves
    (bytes of JSON and number of hashes).
(c) proving: an inclusion proof and a consistency proof at N leaves (the O(log n) stored
    complete-subtree nodes they need, read from SQLite), vs reading one event (baseline);
    and the earlier way (every leaf hash read, O(n)).
(d) audit: ``audit_store`` over every receipt the samr-deqing producer kept (inclusion proof
    per event, consistency per checkpoint) vs ``verify --all`` (chains and signatures) of the
    same ledger.

Read the ratios, not the seconds (shared machines).
"""

from __future__ import annotations

import argparse
import json
import tempfile
from collections.abc import Sequence
from pathlib import Path

from bench.write_replay import SAMR, build_workload, open_fresh, timed
from tongxiu.events.envelope import Envelope
from tongxiu.events.tlog import Checkpoint
from tongxiu.infra.audit_log import LocalLedgerView, audit_store
from tongxiu.infra.sqlite import SqliteEventLog
from tongxiu.services.audit import verify_streams
from tongxiu.services.ports import ConcurrencyError


class PreIssue9EventLog(SqliteEventLog):
    """The baseline: the SQLite append as it was before the transparency log (no leaf)."""

    def append(self, stream: str, expected_seq: int, envelopes: Sequence[Envelope]) -> None:
        rows = [
            (e.stream, e.seq, e.event_id, e.type, e.department, e.submission_id, e.occurred_at.isoformat(),
             e.recorded_at.isoformat(), e.to_json())
            for e in envelopes
        ]
        with self.db.transaction() as conn:
            (last,) = conn.execute("SELECT COALESCE(MAX(seq), 0) FROM events WHERE stream = ?", (stream,)).fetchone()
            if last != expected_seq:
                raise ConcurrencyError(f"{stream}: expected seq {expected_seq}, found {last}")
            conn.executemany(
                "INSERT INTO events (stream, seq, event_id, type, department, submission_id,"
                " occurred_at, recorded_at, raw) VALUES (?,?,?,?,?,?,?,?,?)",
                rows,
            )


def row(label: str, measured: float, baseline: float, unit: str = "s", note: str = "") -> None:
    ratio = measured / baseline if baseline else float("inf")
    print(f"  {label:<58} {measured:>10.4f} {unit:<3} {baseline:>10.4f} {unit:<3} {ratio:>7.2f}x  {note}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=4000)
    args = parser.parse_args()
    work = build_workload(args.events)
    print(f"transparency log: {work.events} events, {len(work.submissions)} submissions, {len(work.codes)} enterprises")
    with tempfile.TemporaryDirectory() as tmp:
        with_log, _ = open_fresh(Path(tmp), "with")
        base, _ = open_fresh(Path(tmp), "base")
        base.ledger.transparency = None
        base.log = base.ledger.log = PreIssue9EventLog(base.log.db)  # type: ignore[attr-defined]
        kept = []

        def submit(app: object, subs: Sequence[object], keep: bool) -> int:
            n = 0
            for sub in subs:
                r = app.ledger.submit(sub)  # type: ignore[attr-defined]
                assert r.accepted, r.reasons
                n += len(r.events)
                if keep and sub.department == SAMR:  # type: ignore[attr-defined]
                    kept.append(r)
            return n

        # alternating chunks of 200 submissions: both ledgers see the same load on a shared machine
        t_base = t_with = 0.0
        n_base = n_with = 0
        for i in range(0, len(work.submissions), 200):
            chunk = work.submissions[i:i + 200]
            t, n = timed(lambda: submit(base, chunk, False))  # noqa: B023 - called at once
            t_base, n_base = t_base + t, n_base + n
            t, n = timed(lambda: submit(with_log, chunk, True))  # noqa: B023
            t_with, n_with = t_with + t, n_with + n
        assert n_base == n_with
        print("\n(a) write path (Ledger.submit, no processors)    with leaf + checkpoint   baseline   ratio")
        row("per event", t_with / n_with * 1e3, t_base / n_base * 1e3, "ms")

        t = with_log.ledger.transparency
        assert t is not None
        size = t.checkpoint().size
        view = LocalLedgerView(with_log)
        cp = t.checkpoint()
        inc = view.inclusion(size // 2, size)
        con = view.consistency(size // 2, size)
        print(f"\n(b) sizes at {size:,} leaves")
        print(f"  checkpoint file: {len(cp.to_file().encode())} bytes; in a receipt (JSON): "
              f"{len(json.dumps(kept[-1].model_dump(mode='json')['log']).encode())} bytes")
        print(f"  inclusion proof: {len(inc)} hashes, {len(json.dumps(inc).encode())} bytes of JSON")
        print(f"  consistency proof {size // 2}->{size}: {len(con)} hashes, {len(json.dumps(con).encode())} bytes of JSON")

        code = work.codes[0]

        def one_event() -> object:
            return with_log.log.read_stream(code, from_seq=1, limit=1)

        def fresh_inclusion() -> object:
            return LocalLedgerView(with_log).inclusion(size // 2, size)

        def fresh_consistency() -> object:
            return LocalLedgerView(with_log).consistency(size // 2, size)

        t_read = min(timed(one_event)[0] for _ in range(5))
        print(f"\n(c) proving at {size:,} leaves (best of 5)                measured   baseline: read one event")
        row("inclusion proof", min(timed(fresh_inclusion)[0] for _ in range(5)), t_read)
        row("consistency proof", min(timed(fresh_consistency)[0] for _ in range(5)), t_read)
        tree = t.tree(size)
        tree.inclusion_proof(size // 2, size)
        print(f"  (an inclusion proof read {tree.reads} stored nodes)")

        def from_every_leaf() -> object:
            from tongxiu.events import merkle

            return merkle.Tree(t.tlog.leaf_hashes(size)).inclusion_proof(size // 2, size)

        row("inclusion proof from every leaf hash (before: O(n))", min(timed(from_every_leaf)[0] for _ in range(5)),
            t_read)

        cps: list[Checkpoint] = sorted({(r.log.checkpoint.size, r.log.checkpoint.root): r.log.checkpoint
                                        for r in kept if r.log}.values(), key=lambda c: c.size)[:: max(1, len(kept) // 50)]
        t_audit, result = timed(lambda: audit_store(LocalLedgerView(with_log), kept, cps))
        assert result.ok, result.problems[:3]
        t_verify, verified = timed(lambda: verify_streams(with_log.log))
        assert verified.ok
        print(f"\n(d) audit of {len(kept)} receipts ({result.events} events) and {len(cps)} checkpoints vs verify --all "
              f"({verified.events} events)")
        row("audit_store vs verify --all", t_audit, t_verify)
        row("audit per receipted event vs verify per event", t_audit / result.events * 1e3,
            t_verify / verified.events * 1e3, "ms")
        with_log.close()
        base.close()


if __name__ == "__main__":
    main()
