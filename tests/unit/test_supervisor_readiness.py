"""Which consistency levels the worker's readiness probe reads at (``probe_levels``)."""

from __future__ import annotations

import pytest

from tongxiu.entrypoints.supervisor import probe_levels
from tongxiu.services.config import Settings


@pytest.mark.parametrize(("consistency", "serial", "levels"), [
    ("LOCAL_QUORUM", "LOCAL_SERIAL", ["LOCAL_QUORUM"]),  # the defaults: one read does
    ("QUORUM", "LOCAL_SERIAL", ["QUORUM"]),
    ("QUORUM", "SERIAL", ["QUORUM"]),
    ("ALL", "SERIAL", ["ALL"]),
    ("ONE", "LOCAL_SERIAL", ["ONE", "LOCAL_QUORUM"]),  # the LWTs still need a quorum
    ("ONE", "SERIAL", ["ONE", "QUORUM"]),
    ("LOCAL_QUORUM", "SERIAL", ["LOCAL_QUORUM", "QUORUM"]),
    ("EACH_QUORUM", "SERIAL", ["QUORUM"]),  # write-only in Cassandra: probed as QUORUM
])
def test_probe_levels(consistency: str, serial: str, levels: list[str]) -> None:
    settings = Settings(backend="distributed", consistency=consistency, serial_consistency=serial)
    assert probe_levels(settings) == levels
