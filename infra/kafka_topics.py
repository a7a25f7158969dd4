"""Kafka topics of the distributed backend, created explicitly (idempotent) before any worker
starts: Faust agents consume nothing from a topic that appears later until restarted.

``{prefix}.submissions`` keyed by stream (enterprise code or ``registry``): one signed
submission = one message, so a 三书同达 bundle travels all or none.
``{prefix}.events``      keyed by stream: the accepted envelopes, in stream order per key.
``{prefix}.receipts``    keyed by stream: the receipt for each submission.
"""

from __future__ import annotations

from tongxiu.services.config import Settings
from tongxiu.streams.topics import Topics, client_config, topic_names

__all__ = ["Topics", "client_config", "drop_topics", "migrate_topics", "topic_names"]


def migrate_topics(settings: Settings, *, timeout_s: float = 30.0) -> list[str]:
    """Create the missing topics (partitions and replication from ``settings``); returns the
    names created. Existing topics are left as they are (a partition count is never changed:
    keys would move between partitions and break per-stream order)."""
    import time

    from kafka.admin import KafkaAdminClient, NewTopic
    from kafka.errors import TopicAlreadyExistsError

    admin = KafkaAdminClient(client_id="tongxiu-migrate", request_timeout_ms=int(timeout_s * 1000),
                             **client_config(settings))
    try:
        existing = set(admin.list_topics())
        wanted = [t for t in topic_names(settings).all() if t not in existing]
        created: list[str] = []
        for name in wanted:
            try:
                admin.create_topics(
                    [NewTopic(name=name, num_partitions=settings.partitions,
                              replication_factor=settings.kafka_replication,
                              topic_configs={"min.insync.replicas": str(min(2, settings.kafka_replication))})],
                    timeout_ms=int(timeout_s * 1000),
                )
                created.append(name)
            except TopicAlreadyExistsError:
                pass
        # wait until the broker's metadata lists every topic with all its partitions
        deadline = time.monotonic() + timeout_s
        names = topic_names(settings).all()
        while True:
            described = admin.describe_topics(names)
            ok = all(not d.get("error_code") and len(d.get("partitions") or []) >= 1 for d in described)
            if ok and all(
                all(p.get("leader_id", -1) >= 0 for p in d["partitions"]) for d in described
            ):
                return created
            if time.monotonic() > deadline:
                raise TimeoutError(f"topics not ready: {described}")
            time.sleep(0.2)
    finally:
        admin.close()


def drop_topics(settings: Settings, extra: list[str] | None = None) -> None:
    """Delete this prefix's topics (tests and benchmarks clean up after themselves)."""
    from kafka.admin import KafkaAdminClient

    admin = KafkaAdminClient(client_id="tongxiu-drop", **client_config(settings))
    try:
        existing = set(admin.list_topics())
        names = [t for t in topic_names(settings).all() + list(extra or []) if t in existing]
        if names:
            admin.delete_topics(names)
    finally:
        admin.close()
