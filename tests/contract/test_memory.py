"""The contract suites on the in-memory adapters (infra/memory.py): one shared in-memory
"database" per test, several adapter objects over it standing for several connections."""

from __future__ import annotations

import pytest

from tests.contract.base import (
    EventLogContract,
    OffsetStoreContract,
    ProjectionStoreContract,
    RejectionLogContract,
)
from tongxiu.infra.memory import (
    MemoryEventLog,
    MemoryOffsetStore,
    MemoryProjectionStore,
    MemoryRejectionLog,
    MemoryStorage,
)
from tongxiu.services.ports import EventLog, OffsetStore, ProjectionStore, RejectionLog


class MemoryFactory:
    @pytest.fixture(autouse=True)
    def _storage(self) -> None:
        self.storage = MemoryStorage()


class TestMemoryEventLog(MemoryFactory, EventLogContract):
    def make_log(self, *, bucket: int | None = None) -> EventLog:
        return MemoryEventLog(self.storage)


class TestMemoryRejectionLog(MemoryFactory, RejectionLogContract):
    def make_rejections(self) -> RejectionLog:
        return MemoryRejectionLog(self.storage)


class TestMemoryProjectionStore(MemoryFactory, ProjectionStoreContract):
    def make_store(self) -> ProjectionStore:
        return MemoryProjectionStore(self.storage)


class TestMemoryOffsetStore(MemoryFactory, OffsetStoreContract):
    def make_offsets(self) -> OffsetStore:
        return MemoryOffsetStore(self.storage)
