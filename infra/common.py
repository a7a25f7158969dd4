"""What both backends' composition needs: the rules read from the settings' files, and the
ledger's own signing key (kept beside the data). Imported by ``infra.bootstrap`` and
``infra.distributed``, so neither imports the other's module for it."""

from __future__ import annotations

from pathlib import Path

from events.signing import KeyPair
from projections.fold import Rules
from projections.rules import PolicyBook
from projections.workdays import WorkCalendar
from services.config import Settings


def load_rules(settings: Settings) -> Rules:
    policies = PolicyBook.load(settings.policy_file) if settings.policy_file else PolicyBook()
    return Rules(policies=policies, calendar=WorkCalendar(settings.calendar_dir))


def ledger_key(data_dir: Path) -> KeyPair:
    """The ledger's own signing key, made once and kept beside the data."""
    path = data_dir / "ledger.key"
    if path.exists():
        return KeyPair.from_private(path.read_text().strip())
    data_dir.mkdir(parents=True, exist_ok=True)
    key = KeyPair.generate()
    path.write_text(key.private_key)
    path.chmod(0o600)
    return key
