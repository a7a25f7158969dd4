"""What both backends' composition needs: the rules read from the settings' files, and the
ledger's own signing key (not beside the data: see ``ledger_key_path``). Imported by ``tongxiu.infra.bootstrap`` and
``tongxiu.infra.distributed``, so neither imports the other's module for it."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from tongxiu.events.signing import KeyPair
from tongxiu.projections.fold import Rules
from tongxiu.projections.rules import PolicyBook
from tongxiu.projections.workdays import WorkCalendar
from tongxiu.services.config import Settings


def load_rules(settings: Settings) -> Rules:
    policies = PolicyBook.load(settings.policy_file) if settings.policy_file else PolicyBook()
    return Rules(policies=policies, calendar=WorkCalendar(settings.calendar_dir))


def ledger_key_path(data_dir: Path, key_file: Path | None = None) -> Path:
    """Where the ledger's signing key is (issue 9: not beside the data, so that write access
    to the data directory is not the power to sign as the ledger):

    1. ``key_file`` (setting ``ledger_key_file`` / ``TONGXIU_LEDGER_KEY_FILE``) when given;
    2. ``<data_dir>/ledger.key`` when it exists (ledgers made before; move it and set 1.);
    3. otherwise ``$TONGXIU_KEY_DIR/<16 hex of SHA-256 of the data directory's absolute
       path>/ledger.key`` (``TONGXIU_KEY_DIR`` defaults to ``~/.config/tongxiu/keys``), in an
       owner-only (0700) folder, the file 0600.
    """
    if key_file is not None:
        return Path(key_file)
    beside = data_dir / "ledger.key"
    if beside.exists():
        return beside
    base = Path(os.environ.get("TONGXIU_KEY_DIR") or Path.home() / ".config" / "tongxiu" / "keys")
    digest = hashlib.sha256(str(data_dir.resolve()).encode()).hexdigest()[:16]
    return base / digest / "ledger.key"


def ledger_key(data_dir: Path, key_file: Path | None = None) -> KeyPair:
    """The ledger's own signing key, made once (see :func:`ledger_key_path`)."""
    path = ledger_key_path(data_dir, key_file)
    if path.exists():
        return KeyPair.from_private(path.read_text().strip())
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = KeyPair.generate()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(key.private_key)
    return key
