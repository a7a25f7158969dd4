"""The composition root: the only place that picks adapters for the ports.

``open_app(settings)`` builds a whole :class:`tongxiu.services.app.Tongxiu` for the configured backend
in one expression; the entry points (CLI, HTTP, worker) call it and assign nothing afterwards.
The distributed backend's pieces are in ``tongxiu.infra.distributed``."""

from __future__ import annotations

from pathlib import Path

from tongxiu.events.signing import KeyPair
from tongxiu.infra.common import ledger_key, ledger_key_path, load_rules
from tongxiu.infra.embedded import InProcessTransport, LocalFeed
from tongxiu.services.app import Tongxiu
from tongxiu.services.config import Settings
from tongxiu.services.ledger import Ledger
from tongxiu.services.ports import Clock, SystemClock
from tongxiu.streams.processor import InProcessProjection, ProjectionRunner

__all__ = ["ledger_key", "ledger_key_path", "load_rules", "open_app", "open_embedded", "open_memory"]


def open_app(
    settings: Settings, *, clock: Clock | None = None, key: KeyPair | None = None, read_only: bool = False
) -> Tongxiu:
    """``read_only``: for commands that only read (embedded: the file is opened ``mode=ro``,
    nothing is bootstrapped or processed, so the database file is left exactly as it was)."""
    if settings.backend == "distributed":
        from tongxiu.infra.distributed import open_distributed

        return open_distributed(settings, clock=clock, key=key)
    return open_embedded(settings, clock=clock, key=key, read_only=read_only)


def open_embedded(
    settings: Settings, *, clock: Clock | None = None, key: KeyPair | None = None, read_only: bool = False
) -> Tongxiu:
    from tongxiu.infra.sqlite import (
        Database,
        SqliteEventLog,
        SqliteOffsetStore,
        SqliteProjectionStore,
        SqliteRejectionLog,
    )

    data_dir = Path(settings.data_dir)
    path = data_dir / "ledger.sqlite3"
    # read-only on a folder without a ledger: an empty one in memory (nothing created on disk)
    db = Database(":memory:") if read_only and not path.exists() else Database(
        path, read_only=read_only, synchronous=settings.sqlite_synchronous
    )
    clock = clock or SystemClock()
    rules = load_rules(settings)
    log = SqliteEventLog(db)
    rejections = SqliteRejectionLog(db)
    store = SqliteProjectionStore(db)
    if key is None and read_only:  # never signs (but checkpoints); do not create a key file
        path = ledger_key_path(data_dir, settings.ledger_key_file)
        key = KeyPair.from_private(path.read_text().strip()) if path.exists() else KeyPair.generate()
    ledger = Ledger(log, rejections, clock, rules, key or ledger_key(data_dir, settings.ledger_key_file))
    from tongxiu.infra.sqlite_merkle import SqliteTransparencyLog  # issue 9
    from tongxiu.services.transparency import Transparency

    ledger.transparency = Transparency(SqliteTransparencyLog(db), ledger.key, clock.now)
    offsets = SqliteOffsetStore(db)
    read_models = InProcessProjection(ProjectionRunner(store, rules), log)
    app = Tongxiu(
        log=log,
        rejections=rejections,
        projections=store,
        offsets=offsets,
        clock=clock,
        rules=rules,
        ledger=ledger,
        transport=InProcessTransport(ledger, read_models),
        read_models=read_models,
        feed=LocalFeed(log, offsets),
        backend="embedded",
        closers=[db.close],
    )
    if not read_only:
        ledger.bootstrap()
        app.process()
    return app


def open_memory(
    settings: Settings | None = None, *, clock: Clock | None = None, key: KeyPair | None = None
) -> Tongxiu:
    """The embedded wiring on the in-memory adapters (``tongxiu.infra.memory``): for tests of the
    decision logic without a database. Nothing is kept."""
    from tongxiu.infra.memory import (
        MemoryEventLog,
        MemoryOffsetStore,
        MemoryProjectionStore,
        MemoryRejectionLog,
        MemoryStorage,
    )

    storage = MemoryStorage()
    clock = clock or SystemClock()
    rules = load_rules(settings or Settings())
    log = MemoryEventLog(storage)
    rejections = MemoryRejectionLog(storage)
    store = MemoryProjectionStore(storage)
    offsets = MemoryOffsetStore(storage)
    ledger = Ledger(log, rejections, clock, rules, key or KeyPair.generate())
    read_models = InProcessProjection(ProjectionRunner(store, rules), log)
    app = Tongxiu(
        log=log,
        rejections=rejections,
        projections=store,
        offsets=offsets,
        clock=clock,
        rules=rules,
        ledger=ledger,
        transport=InProcessTransport(ledger, read_models),
        read_models=read_models,
        feed=LocalFeed(log, offsets),
        backend="memory",
    )
    ledger.bootstrap()
    app.process()
    return app
