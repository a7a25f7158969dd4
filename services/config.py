"""Settings: one frozen object, read from a TOML file and ``TONGXIU_*`` variables by the CLI
only, then passed explicitly. Nothing else reads the environment."""

from __future__ import annotations

import json
import os
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PositiveInt


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    backend: Literal["embedded", "distributed"] = "embedded"
    data_dir: Path = Path(".tongxiu/embedded")
    policy_file: Path | None = Field(default=None, description="local policies (TOML/JSON), per jurisdiction")
    calendar_dir: Path | None = Field(default=None, description="extra working-day calendars, one JSON per year")
    sqlite_synchronous: Literal["FULL", "NORMAL"] = Field(
        default="FULL",
        description="embedded backend: FULL syncs at every commit (an accepted receipt is on disk); "
        "NORMAL is faster but may lose the last receipts on power failure",
    )
    embedded_group_max: PositiveInt = Field(
        default=64,
        description="embedded backend: most submissions committed together (group commit) when they arrive "
        "while a commit is running (one transaction, one sync, one signed checkpoint for the group); a lone "
        "submission is committed alone at once; 1 commits each submission alone",
    )
    cache_mib: PositiveInt = Field(
        default=128,
        description="memory budget of each cache of folded documents, in MiB of their JSON: the ledger's "
        "write model (split among the worker's ledger shards) and the projector's read models",
    )
    # distributed backend
    kafka_bootstrap: str = "127.0.0.1:9092"
    kafka_security_protocol: str = "PLAINTEXT"
    kafka_sasl_mechanism: str | None = None
    kafka_sasl_username: str | None = None
    kafka_sasl_password: str | None = None
    topic_prefix: str = "tongxiu"
    partitions: PositiveInt = 8
    kafka_replication: PositiveInt = 1
    cassandra_contact_points: list[str] = Field(default_factory=lambda: ["127.0.0.1"])
    cassandra_port: int = 9042
    cassandra_username: str | None = None
    cassandra_password: str | None = None
    keyspace: str = "tongxiu"
    cassandra_replication: dict[str, Any] = Field(
        default_factory=lambda: {"class": "SimpleStrategy", "replication_factor": 1}
    )
    cassandra_protocol_version: Annotated[int, Field(ge=4, le=5)] = Field(
        default=4,
        description="CQL native protocol version the driver speaks: 4 (default) or 5. The Python driver frames "
        "v5 in Python (a CRC24 and a CRC32 per segment, both ways): ~17 % more client CPU per statement, "
        "measured (issue 11, session 11); v4 leaves integrity on the wire to TCP (and TLS where used)",
    )
    consistency: Literal["ONE", "TWO", "THREE", "QUORUM", "ALL", "LOCAL_QUORUM", "EACH_QUORUM", "LOCAL_ONE"] = (
        "LOCAL_QUORUM"
    )
    serial_consistency: Literal["SERIAL", "LOCAL_SERIAL"] = "LOCAL_SERIAL"
    ledger_concurrency: PositiveInt = Field(
        default=8,
        description="distributed worker: submissions of different enterprises the ledger agent handles at once "
        "(each enterprise stays strictly in order)",
    )
    registry_refresh_ms: Annotated[int, Field(ge=0)] = Field(
        default=200,
        description="distributed worker: how old the registry a ledger agent decides with may be (a plain read of "
        "the registry head at most this often; a submission the registry would reject is re-checked "
        "against the latest registry first)",
    )
    worker_gc_young: Annotated[int, Field(ge=0)] = Field(
        default=50_000,
        description="distributed worker: allocations between two young garbage collections (Python's "
        "generation-0 threshold; its default is 700). Objects of a batch in flight survive a young collection "
        "less often, so fewer reach the oldest generation and full collections (every thread waits) come "
        "less often; 0 leaves Python's thresholds as they are",
    )
    cql_counts_file: Path | None = Field(
        default=None, description="benchmarks: write the Cassandra statements this process sends (counts) here"
    )
    # HTTP service
    http_host: str = "127.0.0.1"
    http_port: Annotated[int, Field(ge=1, le=65535)] = 8700
    tokens_file: Path | None = None
    ledger_key_file: Path | None = Field(
        default=None,
        description="the ledger's signing key; default: outside the data directory, see infra.bootstrap.ledger_key_path",
    )

    @classmethod
    def load(cls, path: Path | None = None, env: dict[str, str] | None = None, **overrides: Any) -> Settings:
        """File (``tongxiu.toml`` if present), then ``TONGXIU_<FIELD>`` variables, then overrides."""
        values: dict[str, Any] = {}
        path = path or (Path("tongxiu.toml") if Path("tongxiu.toml").exists() else None)
        if path is not None:
            values.update(tomllib.loads(Path(path).read_text(encoding="utf-8")))
        environ = os.environ if env is None else env
        for name in cls.model_fields:
            text = environ.get(f"TONGXIU_{name.upper()}")
            if text is None:
                continue
            if name == "cassandra_contact_points":
                values[name] = [p.strip() for p in text.split(",") if p.strip()]
            elif name == "cassandra_replication":
                try:
                    values[name] = json.loads(text)
                except ValueError as exc:
                    raise ValueError(f"TONGXIU_CASSANDRA_REPLICATION: expected JSON, {exc}") from exc
            else:
                values[name] = text  # pydantic converts and checks (e.g. "8" -> 8)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls.model_validate(values)
