"""Producer SDK (departments publish) and consumer SDK (subscribers read their inbox and
acknowledge; credit platforms read the repair feed).

Both are written against small ports — :class:`Transport`, :class:`InboxPort`,
:class:`FeedPort` — which the embedded backend implements here in-process and the
distributed backend implements on Kafka and Cassandra.
"""

from __future__ import annotations

import abc
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from tongxiu.events.envelope import Envelope, Receipt, Submission, canonical
from tongxiu.events.models import (
    PROPAGATED_TYPES,
    ComplianceAdviceIssued,
    CreditRepairNoticeIssued,
    DeliveryAcknowledged,
    Event,
    PenaltyDecided,
    UtcDatetime,
)
from tongxiu.events.signing import KeyPair, verify
from tongxiu.projections.fold import Rules, periods_for
from tongxiu.services.ledger import sign_submission
from tongxiu.services.receipt_store import ReceiptStore


class Transport(abc.ABC):
    """Carries a signed submission to the ledger and brings back its receipt."""

    @abc.abstractmethod
    def send(self, submission: Submission) -> Receipt: ...


class InboxPort(abc.ABC):
    @abc.abstractmethod
    def pending(self, subscriber: str) -> list[dict[str, Any]]:
        """Every delivery to ``subscriber`` not yet acknowledged (delivered again until it is)."""


class FeedPort(abc.ABC):
    """The repair feed's storage side (``LocalFeed``, ``KafkaFeed``): repairs, revocations,
    withdrawals and expiries in log order, resumed from where a consumer committed. Its items
    are not signed; what a credit platform is handed — signed by the ledger, marked
    ``acknowledge`` — comes from ``tongxiu.services.platform_feed`` over it
    (``GET /feed``, ``LocalPlatformFeed``)."""

    @abc.abstractmethod
    def poll(self, consumer: str, *, max_items: int = 100) -> list[FeedItem]: ...

    @abc.abstractmethod
    def commit(self, consumer: str, item: FeedItem) -> None: ...


class RepairRecord(BaseModel):
    """A record of the public repair topic (``{prefix}.repairs``), and every item of the HTTP
    repair feed (``GET /feed``, with ``position`` and ``acknowledge`` beside it): no party
    name, address or representative; the fact's time, place and hash; signed by the ledger."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    stream: str = Field(description="the enterprise's unified social credit code")
    type: str = Field(description="repair_granted, repair_revoked, decision_withdrawn or publicity_expired")
    decision_no: str
    event_id: str = Field(description="unique per fact: drop a record whose event_id was seen (redelivery)")
    department: str = Field(description="who decided it (the ledger for publicity_expired)")
    occurred_at: UtcDatetime
    recorded_at: UtcDatetime
    seq: int = Field(ge=1, description="the fact's place in the enterprise's stream")
    hash: str = Field(description="SHA-256 of the stored envelope (docs/signing.md §6), to check it against the ledger")
    ledger_key: str = Field(default="", description="the ledger's public key that signed this record (hex)")
    ledger_signature: str = Field(
        default="",
        description="Ed25519 by the ledger over the RFC 8785 canonical JSON of this record without "
        "ledger_signature (docs/signing.md §5); check ledger_key against the registry's `ledger` key",
    )

    def signed_bytes(self) -> bytes:
        return canonical(self.model_dump(mode="json", exclude={"ledger_signature"}))

    def verify(self, ledger_public_key: str) -> bool:
        """True when the ledger with this public key signed this record as it is."""
        return self.ledger_key == ledger_public_key and verify(ledger_public_key, self.signed_bytes(),
                                                                self.ledger_signature)


def repair_record(env: Envelope, key: KeyPair | None = None) -> RepairRecord:
    """The public copy of a repair fact — no party name, address or representative — signed
    by the ledger's ``key`` when given (the repair topic's record and the feed item's)."""
    record = RepairRecord(
        stream=env.stream, type=env.type, decision_no=str(getattr(env.event, "decision_no", "")),
        event_id=env.event_id, department=env.department, occurred_at=env.occurred_at,
        recorded_at=env.recorded_at, seq=env.seq, hash=env.hash, ledger_key=key.public_key if key else "",
    )
    if key is None:
        return record
    return record.model_copy(update={"ledger_signature": key.sign(record.signed_bytes())})


class FeedItem(RepairRecord):
    """An item of the repair feed (``GET /feed``, :class:`FeedPort`): the record of the public
    repair topic, member for member and signed the same way, plus where the feed handed it.

    ``position`` and ``acknowledge`` are the feed's, not the fact's: they are not signed.
    Without them the item is the repair topic's record (:meth:`record`), and verifies with
    the ledger's key exactly as a Kafka record does (docs/signing.md §9)."""

    position: int = Field(ge=0, description="where the feed handed the item (embedded: the log position; "
                                            "distributed: the offset in its partition)")
    acknowledge: bool = Field(
        default=False,
        description="true when the repair was delivered to the reading platform's department (一处修复、处处同步) "
        "and it has not acknowledged it yet: the commit that covers this item must carry the "
        "platform's signed delivery_acknowledged (docs/http.md, repair feed)",
    )

    def record(self) -> RepairRecord:
        """The repair topic's record this item carries."""
        return RepairRecord.model_validate(self.model_dump(exclude={"position", "acknowledge"}))

    def signed_bytes(self) -> bytes:
        return self.record().signed_bytes()


def feed_item(env: Envelope, position: int, key: KeyPair | None = None) -> FeedItem:
    """The feed's item for ``env``: its public repair record (no party name, address or
    representative), signed by the ledger's ``key`` when given, at ``position``."""
    return FeedItem(position=position, **repair_record(env, key).model_dump())


def is_feed_event(env: Envelope) -> bool:
    return env.type in PROPAGATED_TYPES


def notice_for(rules: Rules, enterprise: str, decision: PenaltyDecided, notice_no: str) -> CreditRepairNoticeIssued:
    """The credit-repair notice (信用修复告知书) the rules give for ``decision``: its class,
    publicity end and earliest repair date — what the ledger will check the notice against."""
    periods = periods_for(rules, enterprise, decision)  # local policy and sector standard, as the ledger
    return CreditRepairNoticeIssued(
        notice_no=notice_no,
        decision_no=decision.decision_no,
        publicity_class=str(periods.publicity_class),  # type: ignore[arg-type]
        publicity_until=periods.max_end,
        earliest_repair_date=periods.repair_from,
    )


class Producer:
    """A department's handle on the ledger: typed facts in, receipt out."""

    def __init__(
        self,
        transport: Transport,
        department: str,
        key: KeyPair,
        *,
        rules: Rules | None = None,
        store: ReceiptStore | None | Literal["default"] = "default",
    ) -> None:
        self.transport = transport
        self.department = department
        self.key = key
        self.rules = rules or Rules()
        self.store: ReceiptStore | None = ReceiptStore.for_department(department) if isinstance(store, str) else store
        """Issue 9: every receipt is kept here (``store=None``: nothing kept)."""

    def publish(
        self,
        enterprise: str,
        events: Sequence[Event],
        *,
        submission_id: str | None = None,
        occurred_at: datetime | None = None,
        legacy_code: bool = False,
    ) -> Receipt:
        """Sign and send; several events are recorded all or none."""
        submission = self.sign(enterprise, events, submission_id=submission_id, occurred_at=occurred_at,
                               legacy_code=legacy_code)
        return self.keep(self.transport.send(submission))

    def sign(
        self,
        enterprise: str,
        events: Sequence[Event],
        *,
        submission_id: str | None = None,
        occurred_at: datetime | None = None,
        legacy_code: bool = False,
    ) -> Submission:
        """The signed submission :meth:`publish` would send (for a caller that sends it another
        way, e.g. with a feed commit)."""
        return sign_submission(
            self.key,
            department=self.department,
            stream=enterprise,
            submission_id=submission_id or str(uuid.uuid4()),
            occurred_at=occurred_at or datetime.now(UTC),
            events=events,
            legacy_code=legacy_code,
        )

    def keep(self, receipt: Receipt) -> Receipt:
        """Keep ``receipt`` in the receipt store (if any); returns it."""
        if self.store is not None:
            self.store.add(receipt)
        return receipt

    def notice_for(self, enterprise: str, decision: PenaltyDecided, notice_no: str) -> CreditRepairNoticeIssued:
        """The credit-repair notice the rules give for ``decision``."""
        return notice_for(self.rules, enterprise, decision, notice_no)

    def serve(
        self,
        enterprise: str,
        decision: PenaltyDecided,
        advice: ComplianceAdviceIssued | None = None,
        *,
        notice_no: str | None = None,
        submission_id: str | None = None,
        occurred_at: datetime | None = None,
        legacy_code: bool = False,
    ) -> Receipt:
        """三书同达: the decision, its advice and its notice, recorded together or not at all."""
        notice = self.notice_for(enterprise, decision, notice_no or f"{decision.decision_no}-告知")
        events: list[Event] = [decision]
        if advice is not None:
            events.append(advice)
        events.append(notice)
        return self.publish(
            enterprise, events, submission_id=submission_id, occurred_at=occurred_at, legacy_code=legacy_code
        )


class Consumer:
    """A subscriber's handle: read the inbox, apply, acknowledge."""

    def __init__(self, inbox: InboxPort, producer: Producer) -> None:
        self.inbox_port = inbox
        self.producer = producer

    def inbox(self) -> list[dict[str, Any]]:
        return self.inbox_port.pending(self.producer.department)

    def acknowledge(self, delivery: dict[str, Any], *, occurred_at: datetime | None = None, note: str = "") -> Receipt:
        return self.producer.publish(
            delivery["stream"],
            [DeliveryAcknowledged(source_event_id=delivery["source_event_id"], note=note)],
            submission_id=ack_submission_id(delivery["source_event_id"]),
            occurred_at=occurred_at,
        )


def ack_submission_id(source_event_id: str) -> str:
    """The one submission id of a subscriber's acknowledgement of a delivery, whichever path
    sends it (the inbox's ``Consumer.acknowledge`` / ``tongxiu ack``, or a feed commit)."""
    return f"ack:{source_event_id}"

