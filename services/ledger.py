"""The write path: every submission is checked before anything is stored; accepted events get
the next sequence numbers of their stream under optimistic concurrency and are hash-chained;
rejections are recorded with their reasons.

The same :class:`Ledger` runs inside the embedded backend and inside the Kafka worker; only the
ports differ.
"""

from __future__ import annotations

import json
import random
import time
import uuid
from collections import OrderedDict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from tongxiu.events.codes import check_uscc
from tongxiu.events.envelope import (
    Envelope,
    Reason,
    Receipt,
    RecordedEvent,
    SignedEvent,
    Submission,
    events_digest,
    signing_bytes,
)
from tongxiu.events.models import (
    LEDGER_DEPARTMENT,
    PROPAGATED_TYPES,
    REGISTRY_STREAM,
    DepartmentRegistered,
    Event,
    PropagationScheduled,
    is_department_stream,
)
from tongxiu.events.signing import KeyPair, verify
from tongxiu.events.wire import Unreadable, clean_text, parse_submission, record_of
from tongxiu.projections.fold import Rules, china_day, fold_enterprise, fold_registry
from tongxiu.projections.views import EnterpriseState, RegistryState
from tongxiu.services.decide import check_event, reason
from tongxiu.services.key_lifecycle import revoked_key_reason
from tongxiu.services.ports import (
    Clock,
    ConcurrencyError,
    EventLog,
    RejectionLog,
    RejectionRecord,
    StoredEvent,
)
from tongxiu.services.transparency import Transparency

EVENT_NAMESPACE = uuid.UUID("6f1d2c3e-9a0b-4c5d-8e7f-0a1b2c3d4e5f")
MAX_RETRIES = 8


def event_id_for(department: str, submission_id: str, index: int) -> str:
    """Deterministic ids: the same submission always yields the same event ids, so two
    backends fed the same submissions build identical hash chains."""
    return str(uuid.uuid5(EVENT_NAMESPACE, f"{department}/{submission_id}/{index}"))


def sign_submission(
    key: KeyPair,
    *,
    department: str,
    stream: str,
    submission_id: str,
    occurred_at: datetime,
    events: Sequence[Event],
    legacy_code: bool = False,
) -> Submission:
    """Build and sign a submission (what the producer SDK and ``tongxiu sign`` do): every
    event's signature covers the whole submission (signature format 2)."""
    digest = events_digest(events)
    signed = [
        SignedEvent(
            event=ev,
            signature=key.sign(
                signing_bytes(
                    stream=stream,
                    department=department,
                    submission_id=submission_id,
                    occurred_at=occurred_at,
                    index=i,
                    legacy_code=legacy_code,
                    event=ev,
                    submission_digest=digest,
                    submission_size=len(events),
                )
            ),
        )
        for i, ev in enumerate(events)
    ]
    return Submission(
        submission_id=submission_id,
        department=department,
        stream=stream,
        occurred_at=occurred_at,
        legacy_code=legacy_code,
        events=signed,
    )


def receipt_for(stored: Sequence[StoredEvent], *, duplicate: bool) -> Receipt:
    first = stored[0].envelope
    return Receipt(
        submission_id=first.submission_id,
        department=first.department,
        stream=first.stream,
        accepted=True,
        recorded_at=first.recorded_at,
        duplicate=duplicate,
        events=[
            RecordedEvent(event_id=s.envelope.event_id, type=s.envelope.type, seq=s.envelope.seq, hash=s.envelope.hash)
            for s in stored
            if s.envelope.submission_id == first.submission_id and s.envelope.department == first.department
        ],
    )


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
        transparency: Transparency | None = None,
    ) -> None:
        self.log = log
        self.rejections = rejections
        self.clock = clock
        self.rules = rules
        self.key = ledger_key
        self._cache: OrderedDict[str, EnterpriseState] = OrderedDict()
        self._cache_size = cache_size
        self._registry: RegistryState | None = None
        self.transparency = transparency
        """Issue 9: where the backend keeps a transparency log; receipts then carry their
        leaves and a signed checkpoint including them."""

    def _logged(self, receipt: Receipt, submission_json: str | None = None) -> Receipt:
        if self.transparency is None:
            return receipt
        return self.transparency.receipt_log(receipt, submission_json=submission_json)

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
        state = None if fresh else self._cache.get(stream)
        if state is None:
            state = EnterpriseState.empty(stream)
            for stored in self.log.read_stream(stream):
                fold_enterprise(state, stored.envelope, self.rules)
            self._remember(stream, state)
        else:
            self._cache.move_to_end(stream)
        return state

    def _remember(self, stream: str, state: EnterpriseState) -> None:
        self._cache[stream] = state
        self._cache.move_to_end(stream)
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)

    def _forget(self, stream: str) -> None:
        self._cache.pop(stream, None)
        if stream == REGISTRY_STREAM:
            self._registry = None

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
        """Check, then record: a receipt with sequence numbers and hashes, or the rejection."""
        now = self.clock.now()
        submission = self.parse(raw, now)
        if isinstance(submission, Receipt):
            return submission

        previous = self.log.find_submission(submission.department, submission.submission_id)
        if previous:
            return self._logged(receipt_for(previous, duplicate=True))
        earlier = self.rejections.get(submission.department, submission.submission_id)
        if earlier is not None:
            return earlier.receipt.model_copy(update={"duplicate": True})

        reasons = self._authenticate(submission)
        if reasons:
            return self._reject(submission, reasons, now, authenticated=False)

        for attempt in range(MAX_RETRIES):
            try:
                return self._decide_and_append(submission, now)
            except ConcurrencyError:
                self._forget(submission.stream)
                # jittered back-off, so two writers racing on one stream do not stay in step
                time.sleep(random.uniform(0, 0.002 * 2**attempt))
                previous = self.log.find_submission(submission.department, submission.submission_id)
                if previous:
                    return self._logged(receipt_for(previous, duplicate=True))
        raise ConcurrencyError(f"stream {submission.stream} kept changing; gave up after {MAX_RETRIES} tries")

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

    def _authenticate(self, submission: Submission) -> list[Reason]:
        if submission.stream != REGISTRY_STREAM and not is_department_stream(submission.stream):
            check = check_uscc(submission.stream)
            if not check.valid and not submission.legacy_code:
                return [
                    reason(
                        "credit_code_invalid",
                        "stream",
                        f"{submission.stream!r} 不是有效的统一社会信用代码（GB 32100-2015）：{check.reason}；"
                        "旧代码须以 legacy_code=true 提交",
                    )
                ]
        registry = self.registry()
        info = registry.departments.get(submission.department)
        digest = submission.digest()
        if info is None:
            first = submission.events[0].event
            bootstrapping = (
                not registry.departments
                and isinstance(first, DepartmentRegistered)
                and first.department_id == submission.department == LEDGER_DEPARTMENT
            )
            if not bootstrapping:
                out = [reason("unknown_department", "department", f"部门 {submission.department!r} 未在登记簿中登记")]
                return out + self._impersonation(submission, registry, digest, only_first=True)
            assert isinstance(first, DepartmentRegistered)  # bootstrapping says so
            public_key = first.public_key
        else:
            public_key = info.public_key
        out = []
        for i, signed in enumerate(submission.events):
            if not verify(public_key, submission.signed_bytes(i, digest), signed.signature):
                revoked = revoked_key_reason(submission, registry, i, digest)  # issue 9
                other = None if revoked else self._signer(submission, registry, digest, i)
                if revoked is not None:
                    out.append(revoked)
                elif other is not None:
                    out.append(self._other_department(submission, i, other))
                else:
                    out.append(
                        reason(
                            "signature_invalid",
                            f"events[{i}].signature",
                            f"签名无法用部门 {submission.department} 登记的公钥验证（签名须覆盖整个提交："
                            "编号、部门、企业、时间和全部事实及其顺序，签名格式 2）",
                        )
                    )
        return out

    @staticmethod
    def _signer(submission: Submission, registry: RegistryState, digest: str, index: int) -> str | None:
        """The registered department (other than the claimed one) whose key this signature
        verifies with: an impersonation attempt, made visible."""
        signed = submission.events[index]
        message = submission.signed_bytes(index, digest)
        for dept, info in sorted(registry.departments.items()):
            if dept != submission.department and verify(info.public_key, message, signed.signature):
                return dept
        return None

    def _impersonation(
        self, submission: Submission, registry: RegistryState, digest: str, *, only_first: bool = False
    ) -> list[Reason]:
        out = []
        for i in range(1 if only_first else len(submission.events)):
            other = self._signer(submission, registry, digest, i)
            if other is not None:
                out.append(self._other_department(submission, i, other))
        return out

    @staticmethod
    def _other_department(submission: Submission, index: int, other: str) -> Reason:
        return reason(
            "signature_of_other_department",
            f"events[{index}].signature",
            f"以部门 {submission.department} 的名义提交，签名却是部门 {other} 的密钥所签：冒用他人名义，已记录",
            signed_by=other,
            claimed=submission.department,
        )

    def _decide_and_append(self, submission: Submission, now: datetime) -> Receipt:
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
        reasons: list[Reason] = []
        digest = submission.digest()
        for i, signed in enumerate(submission.events):
            env = Envelope(
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
                signature=signed.signature,
                signature_format=2,
                submission_digest=digest,
                submission_size=len(submission.events),
                prev_hash=last_hash,
            )
            problems = check_event(env, i, work, work_registry if is_registry else registry, self.rules)
            if problems:
                reasons.extend(problems)
                break
            chain = [env.sealed()]
            if not is_registry and signed.event.type in PROPAGATED_TYPES:
                assert work is not None
                fold_enterprise(work, chain[0], self.rules)
                chain.append(self._propagation(chain[0], registry, work, now))
                fold_enterprise(work, chain[1], self.rules)
            elif is_registry:
                fold_registry(work_registry, chain[0])
            else:
                assert work is not None
                fold_enterprise(work, chain[0], self.rules)
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
        return self._logged(receipt_for([StoredEvent(envelope=e, raw="") for e in envelopes], duplicate=False))

    def _propagation(self, source: Envelope, registry: RegistryState, work: EnterpriseState, now: datetime) -> Envelope:
        """The ledger's own fact, appended with the one it propagates: who must apply it, by
        when. Subscribers are read from the registry at this moment and written down, so a
        rebuild never depends on when it runs."""
        decision_no = str(getattr(source.event, "decision_no"))  # noqa: B009 - every propagated type has one
        record = work.credit.records.get(decision_no)
        decider = record.department if record is not None else source.department
        policy = self.rules.policies.for_jurisdiction(source.stream[2:8])
        days = (
            policy.withdrawal_deadline_working_days
            if source.type == "decision_withdrawn"
            else policy.sync_deadline_working_days
        )
        deadline = self.rules.calendar.add_working_days(china_day(now), days)
        fact = PropagationScheduled(
            source_event_id=source.event_id,
            source_type=source.type,
            decision_no=decision_no,
            subscribers=registry.subscribers_for(source.stream, decider),
            deadline=deadline.date,
            deadline_estimated=deadline.estimated,
        )
        submission_id = f"propagate:{source.event_id}"
        env = Envelope(
            event_id=event_id_for(LEDGER_DEPARTMENT, submission_id, 0),
            stream=source.stream,
            seq=source.seq + 1,
            department=LEDGER_DEPARTMENT,
            submission_id=submission_id,
            index=0,
            occurred_at=source.occurred_at,
            recorded_at=now,
            event=fact,
            signature="",
            signature_format=2,
            submission_digest=events_digest([fact]),
            submission_size=1,
            prev_hash=source.hash,
        )
        return env.model_copy(update={"signature": self.key.sign(env.signed_bytes())}).sealed()

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

