"""The write path: every submission is checked before anything is stored; accepted events get
the next sequence numbers of their stream under optimistic concurrency and are hash-chained;
rejections are recorded with their reasons.

The same :class:`Ledger` runs inside the embedded backend and inside the Kafka worker; only the
ports differ.
"""

from __future__ import annotations

import contextlib
import json
import random
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tongxiu.events.envelope import (
    Encoded,
    Envelope,
    Reason,
    Receipt,
    Submission,
)
from tongxiu.events.models import (
    LEDGER_DEPARTMENT,
    PROPAGATED_TYPES,
    REGISTRY_STREAM,
    DepartmentRegistered,
    Event,
)
from tongxiu.events.signing import KeyPair
from tongxiu.events.wire import Unreadable, clean_text, parse_submission, record_of
from tongxiu.projections.fold import Rules, Tally, fold_enterprise, fold_registry
from tongxiu.projections.views import EnterpriseState, RegistryState
from tongxiu.services.authenticate import authenticate
from tongxiu.services.decide import check_event
from tongxiu.services.idempotency import conflict_reason, same_as_recorded, same_as_rejected
from tongxiu.services.ports import (
    Clock,
    ConcurrencyError,
    EventLog,
    RejectionLog,
    RejectionRecord,
    StoredEvent,
)
from tongxiu.services.propagation import propagation
from tongxiu.services.sized_cache import MIB, SizedCache
from tongxiu.services.submission import EVENT_NAMESPACE, event_id_for, receipt_for, sign_submission
from tongxiu.services.transparency import Transparency

__all__ = ["EVENT_NAMESPACE", "MAX_RETRIES", "Folded", "Ledger", "LogLater", "event_id_for", "receipt_for", "sign_submission"]

MAX_RETRIES = 8


@dataclass(frozen=True)
class Folded:
    """What the ledger folded while deciding a submission of an enterprise stream: the state
    (its write model, after the submission's events) and the supervision tallies each event's
    fold returned, in order."""

    state: EnterpriseState
    tallies: list[list[Tally]]


@dataclass(frozen=True)
class LogLater:
    """A receipt from :meth:`Ledger.submit_log_later`: ``log``: it is to get a transparency log
    part (``submission_json``: what a rejection's part digests)."""

    receipt: Receipt
    log: bool
    submission_json: str | None


AppendHook = Callable[[Sequence[Envelope], "Folded | None"], "EnterpriseState | None"]


class Ledger:
    """Use case: submit. Holds a cache of folded stream states (the write model)."""

    def __init__(
        self,
        log: EventLog,
        rejections: RejectionLog,
        clock: Clock,
        rules: Rules,
        ledger_key: KeyPair,
        *,
        cache_size: int = 10_000,
        cache_bytes: int = 128 * MIB,
        transparency: Transparency | None = None,
    ) -> None:
        self.log = log
        self.rejections = rejections
        self.clock = clock
        self.rules = rules
        self.key = ledger_key
        self._cache: SizedCache[str, EnterpriseState] = SizedCache(max_entries=cache_size, max_bytes=cache_bytes)
        """The write model: folded states by stream, bounded by entries and by their JSON size."""
        self._registry: RegistryState | None = None
        self._at_edge: dict[int, Submission] = {}
        """Submissions parsed by :meth:`at_edge` and on their way to :meth:`submit` (by id,
        holding the object, so an id is never reused while it is here)."""
        self.registry_latest: Callable[[], None] | None = None
        """Where the log answers the registry's head from a cache (the distributed worker):
        called before a submission the cached registry rejects is checked once more, so a
        department registered a moment ago elsewhere is not refused."""
        self.transparency = transparency
        """Issue 9: where the backend keeps a transparency log; receipts then carry their
        leaves and a signed checkpoint including them."""
        self.on_append: AppendHook | None = None
        """Called with what was just appended and what it folded (None for the registry), right
        after the append: the embedded backend feeds its projector there, inside the
        submission's transaction (issue 11). It may return the state object the read models
        now hold for the stream (equal to the write model's), which the ledger then keeps, so
        both fold the next submission's events once, into one object."""
        self.on_forget: Callable[[str], None] | None = None
        """Called when the cached state of a stream is dropped (it was folded ahead of the log)."""
        self._later = threading.local()
        """Per thread: where :meth:`submit_log_later` collects the receipt's log part to add."""

    def _logged(self, receipt: Receipt, submission_json: str | None = None) -> Receipt:
        if self.transparency is None:
            return receipt
        later: list[tuple[Receipt, str | None]] | None = getattr(self._later, "parts", None)
        if later is not None:  # a group commit adds it, with the group's one checkpoint
            later.append((receipt, submission_json))
            return receipt
        return self.transparency.receipt_log(receipt, submission_json=submission_json)

    def submit_log_later(self, raw: Submission | Unreadable | dict[str, Any] | str | bytes) -> LogLater:
        """:meth:`submit`, but the receipt comes without its transparency log part:
        :meth:`add_log_parts` adds it afterwards, for a whole group with one signed checkpoint
        that includes every leaf of the group (an embedded group commit, inside its transaction)."""
        parts: list[tuple[Receipt, str | None]] = []
        self._later.parts = parts
        try:
            receipt = self.submit(raw)
        finally:
            self._later.parts = None
        for logged, submission_json in parts:
            if logged is receipt:
                return LogLater(receipt, True, submission_json)
        return LogLater(receipt, False, None)

    def add_log_parts(self, pending: Sequence[LogLater]) -> list[Receipt]:
        """The receipts of :meth:`submit_log_later` with their log parts, under one checkpoint."""
        if self.transparency is None:
            return [p.receipt for p in pending]
        logged = iter(self.transparency.receipt_logs([(p.receipt, p.submission_json) for p in pending if p.log]))
        return [next(logged) if p.log else p.receipt for p in pending]

    # ------------------------------------------------------------------ state

    def registry(self, *, fresh: bool = False) -> RegistryState:
        """The registry, caught up with the log (another process may have registered a
        department since we last looked)."""
        if self._registry is None or fresh:
            self._registry = RegistryState()
        state = self._registry
        if self.log.last_seq(REGISTRY_STREAM) > state.seq:
            for stored in self.log.read_stream(REGISTRY_STREAM, from_seq=state.seq + 1):
                fold_registry(state, stored.envelope)
        return state

    def enterprise(self, stream: str, *, fresh: bool = False) -> EnterpriseState:
        """The stream's folded state (cached), caught up with the log: another process may have
        appended to the stream since it was cached (checked where the log answers ``last_seq``
        from memory while no other connection wrote: ``EventLog.cheap_heads``)."""
        state = None if fresh else self._cache.get(stream)
        if state is not None and self.log.cheap_heads and state.seq != self.log.last_seq(stream):
            state = None  # folded afresh: a new object (the cached one may be the projector's)
        if state is None:
            state = EnterpriseState.empty(stream)
            for stored in self.log.read_stream(stream):
                fold_enterprise(state, stored.envelope, self.rules)
            self._remember(stream, state)
        return state

    def _remember(self, stream: str, state: EnterpriseState) -> None:
        self._cache.put(stream, state)
        self._cache.trim()

    def forget(self, stream: str) -> None:
        """Drop the cached state of ``stream`` (a transaction around a submission rolled back)."""
        self._forget(stream)

    def _forget(self, stream: str) -> None:
        self._cache.pop(stream)
        if stream == REGISTRY_STREAM:
            self._registry = None
        if self.on_forget is not None:
            self.on_forget(stream)

    # ------------------------------------------------------------------ bootstrap

    def bootstrap(self) -> None:
        """Register the ledger's own key as the first registry event (once)."""
        if self.log.last_seq(REGISTRY_STREAM) > 0:
            return
        receipt = self.emit(
            REGISTRY_STREAM,
            [
                DepartmentRegistered(
                    department_id=LEDGER_DEPARTMENT,
                    name="同修 ledger",
                    kind="department",
                    domain="ledger",
                    jurisdiction="00",
                    public_key=self.key.public_key,
                )
            ],
            submission_id="bootstrap",
        )
        if not receipt.accepted:
            raise RuntimeError(f"bootstrap failed: {receipt.reasons}")

    def emit(self, stream: str, events: Sequence[Event], *, submission_id: str) -> Receipt:
        """Submit facts as the ledger itself (registrations, time-driven facts)."""
        return self.submit(
            sign_submission(
                self.key,
                department=LEDGER_DEPARTMENT,
                stream=stream,
                submission_id=submission_id,
                occurred_at=self.clock.now(),
                events=events,
            )
        )

    # ------------------------------------------------------------------ submit

    def submit(self, raw: Submission | Unreadable | dict[str, Any] | str | bytes) -> Receipt:
        """Check, then record: a receipt with sequence numbers and hashes, or the rejection.

        What arrives is parsed once: a submission :meth:`at_edge` has just parsed (the same
        object, handed on through the transport in this process) is taken as it is; anything
        else (the worker's bytes from the submissions topic, an object built by a caller) is
        parsed here. The signatures are checked here, over the whole submission as parsed."""
        now = self.clock.now()
        edge = self._at_edge.get(id(raw)) if isinstance(raw, Submission) else None
        submission = edge if edge is raw and edge is not None else self.parse(raw, now)
        if isinstance(submission, Receipt):
            return submission

        # The idempotency rule (docs/signing.md §7): the same id and body get the first receipt;
        # an accepted id with another body is a conflict; a rejected id may be corrected.
        encoded = submission.encoded()  # each event dumped once, for the digest, signatures and envelopes
        previous = self.log.find_submission(submission.department, submission.submission_id,
                                            stream=submission.stream)
        if previous and same_as_recorded(submission, previous, encoded.digest):
            return self._logged(receipt_for(previous, duplicate=True))
        earlier = None if previous else self.rejections.get(submission.department, submission.submission_id)
        if earlier is not None and same_as_rejected(submission, earlier):
            return earlier.receipt.model_copy(update={"duplicate": True})

        reasons = authenticate(submission, self.registry(), encoded)
        if reasons and self.registry_latest is not None:
            self.registry_latest()
            reasons = authenticate(submission, self.registry(), encoded)
        if reasons:
            return self._reject(submission, reasons, now, authenticated=False)
        if previous:
            return self._reject(submission, [conflict_reason(previous)], now, authenticated=False)

        for attempt in range(MAX_RETRIES):
            try:
                return self._decide_and_append(submission, now, encoded)
            except ConcurrencyError:
                self._forget(submission.stream)
                # jittered back-off, so two writers racing on one stream do not stay in step
                time.sleep(random.uniform(0, 0.002 * 2**attempt))
                previous = self.log.find_submission(submission.department, submission.submission_id,
                                                    stream=submission.stream)
                if previous:  # another writer recorded this id meanwhile
                    if not same_as_recorded(submission, previous, encoded.digest):
                        return self._reject(submission, [conflict_reason(previous)], now, authenticated=False)
                    return self._logged(receipt_for(previous, duplicate=True))
        raise ConcurrencyError(f"stream {submission.stream} kept changing; gave up after {MAX_RETRIES} tries")

    @contextlib.contextmanager
    def at_edge(self, raw: Submission | Unreadable | dict[str, Any] | str | bytes) -> Iterator[Submission | Receipt]:
        """Parse at the edge (``Tongxiu.submit``): yields the submission (or the recorded
        rejection of what could not be read), and while the block runs, :meth:`submit` in this
        process takes that very object without parsing it again. A transport that serialises
        (Kafka) hands the worker bytes, which its ledger parses, once."""
        parsed = self.parse(raw, self.clock.now())
        if isinstance(parsed, Receipt):
            yield parsed
            return
        self._at_edge[id(parsed)] = parsed
        try:
            yield parsed
        finally:
            self._at_edge.pop(id(parsed), None)

    def parse(
        self, raw: Submission | Unreadable | dict[str, Any] | str | bytes, now: datetime
    ) -> Submission | Receipt:
        """The submission, or the recorded rejection of what could not be read as one. The
        strict wire format is read once (:func:`tongxiu.events.wire.parse_submission`); an edge that
        already parsed (the HTTP gateway) hands over the parsed object or its ``Unreadable``."""
        parsed = raw if isinstance(raw, Unreadable) else parse_submission(raw)
        if isinstance(parsed, Unreadable):
            return self._reject(parsed, parsed.reasons, now, authenticated=False)
        return parsed

    def _decide_and_append(self, submission: Submission, now: datetime, encoded: Encoded) -> Receipt:
        stream = submission.stream
        is_registry = stream == REGISTRY_STREAM
        # caught up by _authenticate for this submission; not re-read (a serial read in Cassandra)
        registry = self._registry if self._registry is not None else self.registry()
        if is_registry:
            work_registry = registry.model_copy(deep=True)
            seq, last_hash = work_registry.seq, work_registry.last_hash
            work: EnterpriseState | None = None
        else:
            # folded in place: a rejection after a partial fold, or a failed append, drops it
            work = self.enterprise(stream)
            seq, last_hash = work.seq, work.last_hash
        envelopes: list[Envelope] = []
        tallies: list[list[Tally]] = []
        reasons: list[Reason] = []
        for i, signed in enumerate(submission.events):
            # built from the parsed submission, not validated again; sealed, its canonical
            # bytes computed once (the hash, and what the log stores)
            env = Envelope.recorded(
                event_id=event_id_for(submission.department, submission.submission_id, i),
                stream=stream,
                seq=seq + 1,
                department=submission.department,
                submission_id=submission.submission_id,
                index=i,
                occurred_at=submission.occurred_at,
                recorded_at=now,
                legacy_code=submission.legacy_code,
                event=signed.event,
                encoded_event=encoded.events[i],
                event_text=encoded.texts[i],
                signature=signed.signature,
                submission_digest=encoded.digest,
                submission_size=len(submission.events),
                prev_hash=last_hash,
            )
            problems = check_event(env, i, work, work_registry if is_registry else registry, self.rules)
            if problems:
                reasons.extend(problems)
                break
            chain = [env]
            if not is_registry and signed.event.type in PROPAGATED_TYPES:
                assert work is not None
                tallies.append(fold_enterprise(work, chain[0], self.rules))
                chain.append(propagation(chain[0], registry, work, now, self.rules, self.key))
                tallies.append(fold_enterprise(work, chain[1], self.rules))
            elif is_registry:
                fold_registry(work_registry, chain[0])
            else:
                assert work is not None
                tallies.append(fold_enterprise(work, chain[0], self.rules))
            envelopes.extend(chain)
            seq, last_hash = chain[-1].seq, chain[-1].hash
        if reasons:
            if envelopes:
                self._forget(stream)
            return self._reject(submission, reasons, now, authenticated=True)
        try:
            self.log.append(stream, envelopes[0].seq - 1, envelopes)
        except BaseException:
            self._forget(stream)  # the cached state was folded ahead of the log
            raise
        if is_registry:
            self._registry = work_registry
        else:
            assert work is not None
            self._remember(stream, work)
        if self.on_append is not None:
            held = self.on_append(envelopes, None if work is None else Folded(work, tallies))
            if held is not None and not is_registry:
                self._remember(stream, held)
        return self._logged(receipt_for([StoredEvent(envelope=e, raw="") for e in envelopes], duplicate=False))

    def _reject(
        self, submission: Submission | Unreadable, reasons: list[Reason], now: datetime, *, authenticated: bool
    ) -> Receipt:
        """Record the rejection: a readable submission whole (by digest and a bounded excerpt
        when large), an unreadable one as :mod:`tongxiu.events.wire` recorded it."""
        if isinstance(submission, Submission):
            body: dict[str, Any] | str = record_of(submission.model_dump(mode="json"))
            ident = (submission.submission_id, submission.department, submission.stream)
        else:
            body = submission.record
            d = submission.ident
            ident = (d.get("submission_id", ""), d.get("department", ""), d.get("stream", ""))
            reasons = [r.model_copy(update={"message": clean_text(r.message)}) for r in reasons]
        receipt = Receipt(
            submission_id=ident[0],
            department=ident[1],
            stream=ident[2],
            accepted=False,
            recorded_at=now,
            reasons=reasons,
        )
        self.rejections.record(RejectionRecord(receipt=receipt, submission=body, authenticated=authenticated))
        return self._logged(receipt, json.dumps(body, ensure_ascii=False))

