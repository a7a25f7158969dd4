"""Durable receipts by default (issue 11): the embedded ledger syncs the WAL at every commit
(``PRAGMA synchronous=FULL``); ``sqlite_synchronous = "NORMAL"`` chooses the faster mode."""

from pathlib import Path

import pytest
from pydantic import ValidationError

from tongxiu.infra.bootstrap import open_embedded
from tongxiu.infra.sqlite import Database
from tongxiu.services.config import Settings

FULL, NORMAL = 2, 1  # PRAGMA synchronous values


def _mode(db: Database) -> int:
    return int(db.conn.execute("PRAGMA synchronous").fetchone()[0])


def test_the_default_is_full(tmp_path: Path) -> None:
    assert Settings().sqlite_synchronous == "FULL"
    assert _mode(Database(tmp_path / "a.sqlite3")) == FULL


def test_normal_only_when_chosen(tmp_path: Path) -> None:
    assert _mode(Database(tmp_path / "b.sqlite3", synchronous="NORMAL")) == NORMAL
    with pytest.raises(ValueError, match="sqlite_synchronous"):
        Database(tmp_path / "c.sqlite3", synchronous="OFF")
    with pytest.raises(ValidationError):
        Settings(sqlite_synchronous="OFF")  # type: ignore[arg-type]


def test_the_app_opens_its_ledger_with_the_setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str] = []
    real = Database.__init__

    def spy(self: Database, *args: object, **kwargs: object) -> None:
        seen.append(str(kwargs.get("synchronous", "FULL")))
        real(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Database, "__init__", spy)
    for mode in ("FULL", "NORMAL"):
        app = open_embedded(Settings(data_dir=str(tmp_path / mode), sqlite_synchronous=mode))  # type: ignore[arg-type]
        app.close()
    assert seen == ["FULL", "NORMAL"]
