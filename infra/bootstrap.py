"""The composition root: the only place that picks adapters for the ports.

``open_app(settings)`` builds a whole :class:`tongxiu.services.app.Tongxiu` for the configured backend
in one expression; the entry points (CLI, HTTP, worker) call it and assign nothing afterwards.
The distributed backend's pieces are in ``tongxiu.infra.distributed``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tongxiu.events.signing import KeyPair
from tongxiu.infra.common import ledger_key, ledger_key_path, load_rules
from tongxiu.infra.embedded import InProcessTransport, LocalFeed
from tongxiu.services.app import Tongxiu
from tongxiu.services.config import Settings
from tongxiu.services.ledger import Ledger
from tongxiu.services.ports import Clock, OffsetStore, ProjectionStore, SystemClock
from tongxiu.services.sized_cache import MIB
from tongxiu.streams.processor import InProcessProjection, ensure_format
from tongxiu.streams.projector import Projector

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
    key = key or ledger_key(data_dir, settings.ledger_key_file)
    from tongxiu.infra.sqlite_merkle import SqliteTransparencyLog  # issue 9
    from tongxiu.services.transparency import Transparency

    transparency = Transparency(SqliteTransparencyLog(db), key, clock.now)
    cache_bytes = settings.cache_mib * MIB
    ledger = Ledger(log, rejections, clock, rules, key, transparency=transparency, cache_bytes=cache_bytes)
    return _in_process(
        ledger, store, SqliteOffsetStore(db), backend="embedded", closers=[db.close], start=not read_only,
        cache_bytes=cache_bytes, group_max=settings.embedded_group_max,
    )


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
    log = MemoryEventLog(storage)
    ledger = Ledger(log, MemoryRejectionLog(storage), clock, load_rules(settings or Settings()), key or KeyPair.generate())
    return _in_process(ledger, MemoryProjectionStore(storage), MemoryOffsetStore(storage), backend="memory")


def _in_process(
    ledger: Ledger,
    store: ProjectionStore,
    offsets: OffsetStore,
    *,
    backend: str,
    closers: list[Callable[[], None]] | None = None,
    start: bool = True,
    cache_bytes: int = 128 * MIB,
    group_max: int = 1,
) -> Tongxiu:
    """The in-process wiring shared by the embedded and the memory backends: the ledger's own
    ports, the one projector fed from the log in this process, the local feed. ``start``:
    bootstrap the registry and bring the read models up to the log."""
    # the projector's documents stay in memory as long as the ledger's write model does
    # (issue 11: no reload and re-validation of an enterprise's views per submission)
    read_models = InProcessProjection(Projector(store, ledger.log, ledger.rules, cache_bytes=cache_bytes), ledger)
    app = Tongxiu(
        log=ledger.log,
        rejections=ledger.rejections,
        projections=store,
        offsets=offsets,
        clock=ledger.clock,
        rules=ledger.rules,
        ledger=ledger,
        transport=InProcessTransport(ledger, read_models, group_max=group_max),
        read_models=read_models,
        feed=LocalFeed(ledger.log, offsets),
        backend=backend,
        closers=closers or [],
    )
    if start:
        ledger.bootstrap()
        # read models stored in an older format (an upgrade changed what they hold) are
        # rebuilt from the log; otherwise they are brought up to the log
        if not ensure_format(read_models.projector, ledger.log):
            app.process()
    return app
