"""The projector writes the head of a document that holds no guard (the due-date index, a
department's tallies, an inbox) only when it changed since this cache last wrote it; an
enterprise's head (its ``seq`` decides whether an event is applied) is written with every
change. The stored read models stay what a rebuild writes."""

from __future__ import annotations

from datetime import UTC, timedelta
from pathlib import Path
from typing import Any

from bench.long_history import cycles_for, submit_cycle
from bench.write_replay import enterprise_codes
from tongxiu.infra.bootstrap import open_embedded
from tongxiu.infra.sqlite import Database, SqliteProjectionStore
from tongxiu.projections.documents import HEAD
from tongxiu.projections.due import DUE_DAYS
from tongxiu.projections.keys import PROJECTION
from tongxiu.services.app import Tongxiu
from tongxiu.services.config import Settings
from tongxiu.services.demo import START, register_only
from tongxiu.services.ports import ManualClock, PartChanges
from tongxiu.streams.projector import Projector

CLOCK_AT = (START + timedelta(days=20, hours=1)).astimezone(UTC)


def fresh(path: Path) -> Tongxiu:
    app = open_embedded(Settings(data_dir=path), clock=ManualClock(CLOCK_AT))
    register_only(app)
    app.process()
    return app


def snapshot(app: Tongxiu) -> dict[str, Any]:
    return {k: app.projections.load(PROJECTION, k) for k in app.projections.keys(PROJECTION)}


def record_writes(app: Tongxiu) -> list[tuple[str, str]]:
    """(key, part) of every part the store is asked to write from now on."""
    written: list[tuple[str, str]] = []
    store = app.projections
    inner = store.write

    def write(projection: str, changes: dict[str, PartChanges], position: int, **kw: Any) -> None:
        written.extend((key, part) for key, change in changes.items() for part in change.parts)
        inner(projection, changes, position, **kw)

    store.write = write  # type: ignore[method-assign]
    return written


def test_an_unchanged_head_is_not_rewritten_and_the_store_equals_a_rebuild(tmp_path: Path) -> None:
    app = fresh(tmp_path / "l")
    try:
        codes = enterprise_codes(3)
        work = {code: cycles_for(code, 4) for code in codes}
        for code in codes:  # every document exists (and its head was written once) by now
            submit_cycle(app, work[code][0])
        written = record_writes(app)
        for i in range(1, 4):
            for code in codes:
                submit_cycle(app, work[code][i])
        heads = [key for key, part in written if part == HEAD]
        assert sum(1 for k in heads if k.startswith("enterprise:")) > 20  # every submission's
        parts_of = {key for key, _ in written}
        watermarked = [k for k in parts_of if k.startswith(("supervision:", "due:"))]
        assert watermarked, parts_of  # these documents changed (their rows) ...
        assert not [k for k in heads if k.startswith(("supervision:", "due:"))]  # ... their heads did not
        incremental = snapshot(app)
        app.rebuild()
        assert snapshot(app) == incremental
    finally:
        app.close()


def test_a_changed_head_is_written(tmp_path: Path) -> None:
    """The due-date days' head says whether the index is complete: set by the first batch,
    then changed here; the second write must carry it (and a third, unchanged, must not)."""
    app = fresh(tmp_path / "l")
    try:
        store = SqliteProjectionStore(Database(tmp_path / "p.sqlite3"))
        projector = Projector(store, app.log, app.rules)
        envelopes = [s.envelope for s in app.log.read_all(limit=10_000)]
        assert projector.apply(envelopes[:1]) == 1
        assert store.load(PROJECTION, DUE_DAYS) is not None
        days = projector._doc(DUE_DAYS)
        days.obj["complete"] = not days.obj["complete"]
        changes = projector._changes({DUE_DAYS: days})
        assert HEAD in changes[DUE_DAYS].parts
        store.write(PROJECTION, changes, projector.position())
        days.stored_head = projector._heads.pop(DUE_DAYS)
        assert DUE_DAYS not in projector._changes({DUE_DAYS: days})  # nothing changed since
        assert store.load(PROJECTION, DUE_DAYS)["complete"] is days.obj["complete"]
    finally:
        app.close()
