"""Kafka topics of the distributed backend, created explicitly (idempotent) before any worker
starts: Faust agents consume nothing from a topic that appears later until restarted.

The topics, their keys, headers, retention, ordering and duplicates are specified in
``tongxiu.streams.topics`` (``topic_specs``) and written out in docs/asyncapi.yaml. Each topic
is created with its configuration, and ``migrate_topics`` applies it again to topics that
already exist (so an events topic created before retention was set stops expiring records).
"""

from __future__ import annotations

from tongxiu.services.config import Settings
from tongxiu.streams.topics import Topics, client_config, topic_names, topic_specs

__all__ = ["Topics", "client_config", "drop_topics", "migrate_topics", "topic_configs", "topic_names"]


def topic_configs(settings: Settings) -> dict[str, dict[str, str]]:
    """Topic name -> the configuration it is created with (and re-applied by migrate)."""
    names = topic_names(settings)
    return {
        getattr(names, spec.name): {"min.insync.replicas": str(min(2, settings.kafka_replication)), **spec.config}
        for spec in topic_specs()
    }


def migrate_topics(settings: Settings, *, timeout_s: float = 30.0) -> list[str]:
    """Create the missing topics (partitions and replication from ``settings``); returns the
    names created. Existing topics are left as they are (a partition count is never changed:
    keys would move between partitions and break per-stream order)."""
    import time

    from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient, NewTopic
    from kafka.errors import TopicAlreadyExistsError

    admin = KafkaAdminClient(client_id="tongxiu-migrate", request_timeout_ms=int(timeout_s * 1000),
                             **client_config(settings))
    try:
        existing = set(admin.list_topics())
        configs = topic_configs(settings)
        wanted = [t for t in topic_names(settings).all() if t not in existing]
        created: list[str] = []
        for name in wanted:
            try:
                admin.create_topics(
                    [NewTopic(name=name, num_partitions=settings.partitions,
                              replication_factor=settings.kafka_replication, topic_configs=configs[name])],
                    timeout_ms=int(timeout_s * 1000),
                )
                created.append(name)
            except TopicAlreadyExistsError:
                pass
        # topics made before their configuration was specified get it now (the whole set:
        # AlterConfigs replaces a topic's overrides)
        older = [t for t in topic_names(settings).all() if t in existing]
        if older:
            admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, t, configs=configs[t]) for t in older])
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
