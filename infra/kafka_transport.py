"""The SDK transport of the distributed backend: a signed submission goes to Kafka as one
message (so a 三书同达 bundle is all or none), and the receipt comes back on the receipts
topic, matched by (department, submission_id)."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

from events.envelope import Receipt, Submission
from infra.kafka_topics import client_config, topic_names
from services.config import Settings
from services.sdk import Transport


class ReceiptTimeout(TimeoutError):
    """No receipt within the timeout: the submission may still be recorded later; resending
    the same submission id is safe (the ledger answers a duplicate with the same receipt)."""


class KafkaTransport(Transport):
    def __init__(self, settings: Settings, *, timeout_s: float = 60.0, client_id: str = "tongxiu-sdk") -> None:
        from kafka import KafkaConsumer, KafkaProducer, TopicPartition

        self.settings = settings
        self.topics = topic_names(settings)
        self.timeout_s = timeout_s
        cfg = client_config(settings)
        # idempotent producer (kafka-python 3 enables it by default with acks=all)
        self.producer = KafkaProducer(
            client_id=client_id, acks="all", enable_idempotence=True, linger_ms=0, **cfg
        )
        # The receipt reader is positioned at the end of every receipts partition *before*
        # anything is sent, so no receipt can slip past it.
        self.consumer = KafkaConsumer(
            client_id=f"{client_id}-receipts",
            group_id=None,
            enable_auto_commit=False,
            isolation_level="read_committed",
            **cfg,
        )
        parts = None
        deadline = time.monotonic() + timeout_s
        while not parts:
            parts = self.consumer.partitions_for_topic(self.topics.receipts)
            if not parts:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"topic {self.topics.receipts} does not exist: run `tongxiu migrate`")
                time.sleep(0.2)
        tps = [TopicPartition(self.topics.receipts, p) for p in sorted(parts)]
        self.consumer.assign(tps)
        self.consumer.seek_to_end(*tps)
        for tp in tps:
            self.consumer.position(tp)
        self._received: dict[tuple[str, str], Receipt] = {}
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ sending

    def send(self, submission: Submission) -> Receipt:
        return self.send_many([submission])[0]

    def send_async(self, submission: Submission) -> tuple[str, str]:
        """Send without waiting; collect the receipt with :meth:`wait`."""
        key = (submission.department, submission.submission_id)
        with self._lock:
            self._received.pop(key, None)
        self.producer.send(
            self.topics.submissions,
            key=submission.stream.encode(),
            value=submission.model_dump_json().encode(),
        )
        return key

    def send_many(self, submissions: Sequence[Submission]) -> list[Receipt]:
        keys = [self.send_async(s) for s in submissions]
        self.producer.flush()
        return [self.wait(k) for k in keys]

    def wait(self, key: tuple[str, str], timeout_s: float | None = None) -> Receipt:
        deadline = time.monotonic() + (self.timeout_s if timeout_s is None else timeout_s)
        while True:
            with self._lock:
                found = self._received.pop(key, None)
            if found is not None:
                return found
            if time.monotonic() > deadline:
                raise ReceiptTimeout(f"no receipt for {key} within {self.timeout_s}s")
            self.pump(0.2)

    def pump(self, timeout_s: float = 0.2) -> int:
        """Read whatever receipts have arrived; returns how many."""
        self.producer.flush()
        batches = self.consumer.poll(timeout_ms=int(timeout_s * 1000), max_records=5000)
        n = 0
        with self._lock:
            for records in batches.values():
                for rec in records:
                    receipt = Receipt.model_validate_json(rec.value)
                    self._received[(receipt.department, receipt.submission_id)] = receipt
                    n += 1
        return n

    def close(self) -> None:
        try:
            self.producer.close(timeout=5)
        finally:
            self.consumer.close()
