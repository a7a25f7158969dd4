"""The composition root: the only place that picks adapters for the ports."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from events.signing import KeyPair
from projections.fold import Rules
from projections.rules import PolicyBook
from projections.workdays import WorkCalendar
from services.app import Tongxiu
from services.config import Settings
from services.ledger import Ledger
from services.ports import Clock, SystemClock
from streams.processor import ProjectionRunner


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


def open_app(
    settings: Settings, *, clock: Clock | None = None, key: KeyPair | None = None, read_only: bool = False
) -> Tongxiu:
    """``read_only``: for commands that only read (embedded: the file is opened ``mode=ro``,
    nothing is bootstrapped or processed, so the database file is left exactly as it was)."""
    if settings.backend == "distributed":
        from infra.distributed import open_distributed

        return open_distributed(settings, clock=clock, key=key)
    return open_embedded(settings, clock=clock, key=key, read_only=read_only)


def open_embedded(
    settings: Settings, *, clock: Clock | None = None, key: KeyPair | None = None, read_only: bool = False
) -> Tongxiu:
    from infra.sqlite import (
        Database,
        SqliteEventLog,
        SqliteOffsetStore,
        SqliteProjectionStore,
        SqliteRejectionLog,
    )

    data_dir = Path(settings.data_dir)
    path = data_dir / "ledger.sqlite3"
    # read-only on a folder without a ledger: an empty one in memory (nothing created on disk)
    db = Database(":memory:") if read_only and not path.exists() else Database(path, read_only=read_only)
    clock = clock or SystemClock()
    rules = load_rules(settings)
    log = SqliteEventLog(db)
    rejections = SqliteRejectionLog(db)
    store = SqliteProjectionStore(db)
    if key is None and read_only:  # never signs (but checkpoints); do not create a key file
        path = ledger_key_path(data_dir, settings.ledger_key_file)
        key = KeyPair.from_private(path.read_text().strip()) if path.exists() else KeyPair.generate()
    ledger = Ledger(log, rejections, clock, rules, key or ledger_key(data_dir, settings.ledger_key_file))
    from infra.sqlite_merkle import SqliteTransparencyLog  # issue 9
    from services.transparency import Transparency

    ledger.transparency = Transparency(SqliteTransparencyLog(db), ledger.key, clock.now)
    runner = ProjectionRunner(store, rules)
    app = Tongxiu(
        log=log,
        rejections=rejections,
        projections=store,
        offsets=SqliteOffsetStore(db),
        clock=clock,
        rules=rules,
        ledger=ledger,
        runner=runner,
        backend="embedded",
    )
    app.after_submit = app.process
    from infra.embedded import LocalFeed

    app.feed = LocalFeed(app)
    app.closers.append(db.close)
    if read_only:
        app.after_submit = None
        return app
    ledger.bootstrap()
    app.process()
    return app
