"""Settings: one frozen object, read from a TOML file and ``TONGXIU_*`` variables by the CLI
only, then passed explicitly. Nothing else reads the environment."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    backend: Literal["embedded", "distributed"] = "embedded"
    data_dir: Path = Path(".tongxiu/embedded")
    policy_file: Path | None = Field(default=None, description="local policies (TOML/JSON), per jurisdiction")
    calendar_dir: Path | None = Field(default=None, description="extra working-day calendars, one JSON per year")
    # distributed backend
    kafka_bootstrap: str = "127.0.0.1:9092"
    kafka_security_protocol: str = "PLAINTEXT"
    kafka_sasl_mechanism: str | None = None
    kafka_sasl_username: str | None = None
    kafka_sasl_password: str | None = None
    topic_prefix: str = "tongxiu"
    partitions: int = 8
    kafka_replication: int = 1
    cassandra_contact_points: list[str] = Field(default_factory=lambda: ["127.0.0.1"])
    cassandra_port: int = 9042
    cassandra_username: str | None = None
    cassandra_password: str | None = None
    keyspace: str = "tongxiu"
    cassandra_replication: dict[str, Any] = Field(
        default_factory=lambda: {"class": "SimpleStrategy", "replication_factor": 1}
    )
    consistency: str = "LOCAL_QUORUM"
    serial_consistency: str = "LOCAL_SERIAL"
    # HTTP service
    http_host: str = "127.0.0.1"
    http_port: int = 8700
    tokens_file: Path | None = None

    @classmethod
    def load(cls, path: Path | None = None, env: dict[str, str] | None = None, **overrides: Any) -> Settings:
        """File (``tongxiu.toml`` if present), then ``TONGXIU_<FIELD>`` variables, then overrides."""
        values: dict[str, Any] = {}
        path = path or (Path("tongxiu.toml") if Path("tongxiu.toml").exists() else None)
        if path is not None:
            values.update(tomllib.loads(Path(path).read_text(encoding="utf-8")))
        environ = os.environ if env is None else env
        for name, fld in cls.model_fields.items():
            text = environ.get(f"TONGXIU_{name.upper()}")
            if text is None:
                continue
            if fld.annotation in (int,):
                values[name] = int(text)
            elif name == "cassandra_contact_points":
                values[name] = [p.strip() for p in text.split(",") if p.strip()]
            else:
                values[name] = text
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls.model_validate(values)
