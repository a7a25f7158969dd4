"""The contract suites on the embedded SQLite adapters (a fresh database file per test)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.contract.base import (
    EventLogContract,
    OffsetStoreContract,
    ProjectionStoreContract,
    RejectionLogContract,
)
from tongxiu.infra.sqlite import (
    Database,
    SqliteEventLog,
    SqliteOffsetStore,
    SqliteProjectionStore,
    SqliteRejectionLog,
)
from tongxiu.services.ports import EventLog, OffsetStore, ProjectionStore, RejectionLog


class SqliteFactory:
    @pytest.fixture(autouse=True)
    def _db(self, tmp_path: Path) -> None:
        self.db_path = tmp_path / "ledger.sqlite3"
        self.dbs: list[Database] = []

    def db(self) -> Database:
        db = Database(self.db_path)
        self.dbs.append(db)
        return db


class TestSqliteEventLog(SqliteFactory, EventLogContract):
    def make_log(self, *, bucket: int | None = None) -> EventLog:
        return SqliteEventLog(self.db())


class TestSqliteRejectionLog(SqliteFactory, RejectionLogContract):
    def make_rejections(self) -> RejectionLog:
        return SqliteRejectionLog(self.db())


class TestSqliteProjectionStore(SqliteFactory, ProjectionStoreContract):
    def make_store(self) -> ProjectionStore:
        return SqliteProjectionStore(self.db())


class TestSqliteOffsetStore(SqliteFactory, OffsetStoreContract):
    def make_offsets(self) -> OffsetStore:
        return SqliteOffsetStore(self.db())
