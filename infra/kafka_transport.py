"""The SDK transport of the distributed backend: a signed submission goes to Kafka as one
message (so a 三书同达 bundle is all or none), and the receipt comes back on the receipts
topic, matched by (department, submission_id).

Receipts are keyed by department (docs/asyncapi.yaml). A transport made for given
``departments`` reads only the receipts partitions those keys map to; every transport keeps
only the receipts of its own submissions in flight (others are dropped as read), so memory
stays bounded by what it has in flight and no department's receipts are kept by another's
producer.

Nothing is lost silently (issue 14):

* every submission sent stays *in flight* (with its delivery future) until its receipt is
  read; :meth:`KafkaTransport.wait` returns the receipt or raises, naming the submission;
* a delivery that Kafka did not acknowledge (broker down longer than ``delivery_timeout_s``,
  or the idempotent producer wedged with ``ProducerId -1`` after such a timeout) makes the
  transport build a new producer and send the same submission again, until the caller's
  timeout; then :class:`SubmissionNotDelivered` is raised. Sending a submission twice is safe:
  the ledger answers a repeated submission id with the same receipt and records it once;
* every blocking call has a timeout (``max_block_ms``, ``request_timeout_ms``, flush and
  close), and reconnects back off at most ``reconnect_backoff_max_s`` (1 s), so an SDK client
  resumes about a second after the broker is back.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from tongxiu.events.envelope import Receipt, Submission
from tongxiu.infra.kafka_topics import client_config, topic_names
from tongxiu.services.config import Settings
from tongxiu.services.sdk import Transport
from tongxiu.streams.topics import submission_record

log = logging.getLogger("tongxiu.sdk.kafka")

Key = tuple[str, str]


class ReceiptTimeout(TimeoutError):
    """Kafka holds the submission but no receipt came within the timeout: the worker is down
    or behind. The submission will be decided when the worker runs; resending the same
    submission id is safe (the ledger answers a duplicate with the same receipt)."""


class SubmissionNotDelivered(ConnectionError):
    """Kafka did not acknowledge the submission within the timeout (broker unreachable): it
    may not be recorded. Send it again with the same submission id when Kafka is back."""

    def __init__(self, key: Key, message: str) -> None:
        super().__init__(message)
        self.department, self.submission_id = key


@dataclass
class _InFlight:
    submission: Submission
    future: Any | None  # kafka-python FutureRecordMetadata; None if producer.send raised
    generation: int
    error: BaseException | None = None
    sends: int = 1
    sent_at: float = field(default_factory=time.monotonic)

    def failure(self, stuck_after_s: float) -> BaseException | None:
        """Why the delivery failed; also when Kafka did not answer within the delivery
        timeout (a wedged producer can leave the future pending for good)."""
        if self.error is not None:
            return self.error
        if self.future is not None and self.future.is_done and self.future.failed():
            return self.future.exception  # type: ignore[no-any-return]
        if self.future is not None and not self.future.is_done and time.monotonic() - self.sent_at > stuck_after_s:
            return TimeoutError(f"no delivery report within {stuck_after_s:.0f}s")
        return None

    def acknowledged(self) -> bool:
        return self.future is not None and self.future.is_done and self.future.succeeded()


class KafkaTransport(Transport):
    def __init__(
        self,
        settings: Settings,
        *,
        timeout_s: float = 60.0,
        client_id: str = "tongxiu-sdk",
        delivery_timeout_s: float = 120.0,
        request_timeout_s: float = 10.0,
        reconnect_backoff_max_s: float = 1.0,
        departments: Sequence[str] | None = None,
    ) -> None:
        from kafka import KafkaConsumer, TopicPartition

        self.settings = settings
        self.topics = topic_names(settings)
        self.timeout_s = timeout_s
        cfg = client_config(settings)
        common = {
            "reconnect_backoff_ms": 50,
            "reconnect_backoff_max_ms": int(reconnect_backoff_max_s * 1000),
            "request_timeout_ms": int(request_timeout_s * 1000),
            **cfg,
        }
        # idempotent producer (acks=all); a send blocks at most max_block_ms (metadata/buffer)
        self._producer_cfg = {
            "client_id": client_id,
            "acks": "all",
            "enable_idempotence": True,
            "linger_ms": 0,
            "delivery_timeout_ms": int(delivery_timeout_s * 1000),
            "max_block_ms": int(min(timeout_s, 10.0) * 1000),
            **common,
        }
        # a delivery still unanswered this long after the send counts as failed
        self._stuck_after_s = delivery_timeout_s + request_timeout_s + 5.0
        self._lock = threading.RLock()
        self._generation = 0
        self.producer = self._new_producer()
        # a replacement producer must not need the broker to be built (kafka-python bootstraps
        # in the constructor unless api_version is given): reuse the version found now
        self._producer_cfg["api_version"] = self.producer.config["api_version"]
        self.recreated = 0
        """How many times the producer was replaced after a failed delivery."""
        # The receipt reader is positioned at the end of every receipts partition *before*
        # anything is sent, so no receipt can slip past it.
        self.consumer = KafkaConsumer(
            client_id=f"{client_id}-receipts",
            group_id=None,
            enable_auto_commit=False,
            isolation_level="read_committed",
            **common,
        )
        parts = None
        deadline = time.monotonic() + timeout_s
        while not parts:
            parts = self.consumer.partitions_for_topic(self.topics.receipts)
            if not parts:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"topic {self.topics.receipts} does not exist: run `tongxiu migrate`")
                time.sleep(0.2)
        self.departments = frozenset(departments) if departments is not None else None
        wanted = sorted(parts) if departments is None else sorted({receipt_partition(d, len(parts)) for d in departments})
        tps = [TopicPartition(self.topics.receipts, p) for p in wanted]
        self.consumer.assign(tps)
        self.consumer.seek_to_end(*tps)
        for tp in tps:
            self.consumer.position(tp, timeout_ms=int(timeout_s * 1000))
        self._received: dict[Key, Receipt] = {}
        self._inflight: dict[Key, _InFlight] = {}
        self.dropped = 0
        """Receipts read that were not for a submission of this transport in flight."""

    # ------------------------------------------------------------------ producer

    def _new_producer(self) -> Any:
        from kafka import KafkaProducer

        return KafkaProducer(**self._producer_cfg)

    def _recover(self, generation: int, cause: BaseException) -> None:
        """Replace the producer that failed a delivery (once per producer): after a delivery
        timeout kafka-python's idempotent producer can stay wedged (``ProducerId set to -1``)."""
        with self._lock:
            if generation != self._generation:
                return
            old = self.producer
            self._generation += 1
            self.recreated += 1
            log.warning("Kafka delivery failed (%s); replacing the producer", type(cause).__name__)
            with contextlib.suppress(Exception):
                old.close(timeout=0)
            try:
                self.producer = self._new_producer()
            except Exception as exc:  # the next send fails, and is retried, until this works
                log.warning("cannot build a Kafka producer yet (%s)", exc)

    def _produce(self, key: Key, submission: Submission, sends: int = 1) -> _InFlight:
        with self._lock:
            generation = self._generation
            producer = self.producer
            # in flight before it is sent, so its receipt is kept however fast it comes
            self._inflight.setdefault(key, _InFlight(submission, None, generation, sends=sends))
        record = submission_record(self.topics, submission.stream, submission.model_dump_json().encode())
        try:
            future = producer.send(record.topic, key=record.key, value=record.value, headers=record.headers)
            entry = _InFlight(submission, future, generation, sends=sends)
        except Exception as exc:  # KafkaTimeoutError (no metadata / buffer full), closed producer
            entry = _InFlight(submission, None, generation, error=exc, sends=sends)
        with self._lock:
            self._inflight[key] = entry
        return entry

    def _resend_failed(self) -> int:
        """Replace the producer(s) that failed and send again every in-flight submission
        whose delivery failed (all at once: after an outage they all failed together)."""
        with self._lock:
            entries = list(self._inflight.items())
        failed = [(k, e, f) for k, e in entries if (f := e.failure(self._stuck_after_s)) is not None]
        for generation in sorted({e.generation for _, e, _ in failed}):
            self._recover(generation, next(f for _, e, f in failed if e.generation == generation))
        for key, entry, _ in failed:
            if self._produce(key, entry.submission, entry.sends + 1).error is not None:
                break  # no broker yet (the send blocked max_block_ms): the rest wait for the next round
        return len(failed)

    # ------------------------------------------------------------------ sending

    def send(self, submission: Submission) -> Receipt:
        return self.send_many([submission])[0]

    def send_async(self, submission: Submission) -> Key:
        """Send without waiting; collect the receipt with :meth:`wait` (which also resends
        the submission if Kafka failed to take it)."""
        key = (submission.department, submission.submission_id)
        if self.departments is not None and submission.department not in self.departments:
            raise ValueError(f"this transport reads the receipts of {sorted(self.departments)}, "
                             f"not of {submission.department!r}")
        with self._lock:
            self._received.pop(key, None)
        self._produce(key, submission)
        return key

    def send_many(self, submissions: Sequence[Submission]) -> list[Receipt]:
        keys = [self.send_async(s) for s in submissions]
        self.flush(self.timeout_s)
        return [self.wait(k) for k in keys]

    def flush(self, timeout_s: float = 10.0) -> bool:
        """Push out what is buffered; False if that did not finish within ``timeout_s`` (the
        submissions stay in flight and :meth:`wait` resends them if they failed)."""
        from kafka.errors import KafkaTimeoutError

        try:
            self.producer.flush(timeout=timeout_s)
            return True
        except KafkaTimeoutError:
            return False

    def in_flight(self) -> list[Key]:
        """Submissions sent whose receipt has not been collected yet."""
        with self._lock:
            return list(self._inflight)

    def wait(self, key: Key, timeout_s: float | None = None) -> Receipt:
        """The receipt of a submission sent with :meth:`send_async`, or an error that names
        it: :class:`SubmissionNotDelivered` if Kafka never acknowledged it within the timeout
        (it was resent after each failure), :class:`ReceiptTimeout` if Kafka holds it but no
        receipt came (the worker is down or behind)."""
        timeout = self.timeout_s if timeout_s is None else timeout_s
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                found = self._received.pop(key, None)
                entry = self._inflight.get(key)
            if found is not None:
                with self._lock:
                    self._inflight.pop(key, None)
                return found
            failure = entry.failure(self._stuck_after_s) if entry is not None else None
            if entry is not None and failure is not None:
                self._recover(entry.generation, failure)
                if time.monotonic() > deadline:
                    with self._lock:
                        self._inflight.pop(key, None)
                    raise SubmissionNotDelivered(
                        key,
                        f"submission {key[1]!r} of {key[0]} was not accepted by Kafka within {timeout:.0f}s "
                        f"({entry.sends} attempt(s); last error: {type(failure).__name__}: {failure}); "
                        "it may not be recorded: send it again with the same submission id",
                    )
                time.sleep(0.2)
                self._resend_failed()
                continue
            if time.monotonic() > deadline:
                with self._lock:
                    self._inflight.pop(key, None)
                if entry is not None and not entry.acknowledged():
                    raise SubmissionNotDelivered(
                        key,
                        f"submission {key[1]!r} of {key[0]} was not acknowledged by Kafka within {timeout:.0f}s "
                        "(broker unreachable?); it may not be recorded: send it again with the same submission id",
                    )
                raise ReceiptTimeout(
                    f"no receipt for submission {key[1]!r} of {key[0]} within {timeout:.0f}s: Kafka holds it, "
                    "but the worker has not answered (is `tongxiu worker` running and are Kafka and Cassandra "
                    "up?); it will be decided when the worker runs; resending the same submission id is safe"
                )
            self.pump(0.2)

    def pump(self, timeout_s: float = 0.2) -> int:
        """Read whatever receipts have arrived; returns how many."""
        batches = self.consumer.poll(timeout_ms=int(timeout_s * 1000), max_records=5000)
        n = 0
        with self._lock:
            for records in batches.values():
                for rec in records:
                    if self.departments is not None and (rec.key or b"").decode() not in self.departments:
                        self.dropped += 1  # another department's receipt in a shared partition: not even parsed
                        continue
                    receipt = Receipt.model_validate_json(rec.value)
                    key = (receipt.department, receipt.submission_id)
                    if key in self._inflight:
                        self._received[key] = receipt
                        n += 1
                    else:
                        self.dropped += 1
        return n

    def close(self, timeout_s: float = 5.0) -> None:
        """Close both clients; never raises (a broker that is down cannot make close hang or
        fail). Submissions still in flight are reported in the log."""
        with self._lock:
            pending = len(self._inflight)
        if pending:
            log.warning("closing the Kafka transport with %d submission(s) whose receipt was not collected", pending)
        try:
            with contextlib.suppress(Exception):
                self.producer.close(timeout=timeout_s)
        finally:
            with contextlib.suppress(Exception):
                self.consumer.close(timeout_ms=int(timeout_s * 1000))


def receipt_partition(department: str, partitions: int) -> int:
    """The receipts partition a department's key maps to: Kafka's default partitioner
    (murmur2 of the key, as the Java client, kafka-python and aiokafka compute it)."""
    from kafka.partitioner.default import murmur2

    return int(murmur2(department.encode()) & 0x7FFFFFFF) % partitions
