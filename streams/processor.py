"""The embedded backend's feed of the one projector (``tongxiu.streams.projector``): the log's
global order, read in process after the ledger appended (read your writes), and the rebuild
that feeds it the whole log again (on either backend)."""

from __future__ import annotations

from collections.abc import Callable

from tongxiu.projections.keys import PROJECTION
from tongxiu.services.ports import EventLog, ReadSync
from tongxiu.streams.projector import Projector


def catch_up(projector: Projector, log: EventLog, *, batch: int = 500) -> int:
    """Feed ``projector`` what the log holds past its position, in the log's order.

    The position is the count of events applied, which on a gap-free log applied in order is
    also the log position read up to. Each chunk is read and applied under the store's lock
    (SQLite: one transaction), so processes sharing a file take turns. The cursor moves with
    what was read, so a count that stayed short (the seq guard skipping what a cut-off write
    had already applied) cannot make this loop forever."""
    total = 0
    after = 0
    while True:
        with projector.store.exclusive():
            after = max(after, projector.position())
            chunk = log.read_all(after=after, limit=batch)
            if not chunk:
                return total
            total += projector.apply(s.envelope for s in chunk)
        after = chunk[-1].position


REBUILD_BATCH = 10_000
"""Events a rebuild folds in memory before writing what they changed: each document is written
once per batch it appears in (not once per event), and stays cached (the projector's cache is
bounded by ``cache_mib``) so it is not reloaded for the next batch."""


def rebuild(
    projector: Projector, log: EventLog, progress: Callable[[int], None] | None = None, *, batch: int = REBUILD_BATCH
) -> int:
    """Forget the read models and fold the whole log again, ``batch`` events at a time."""
    projector.store.reset(PROJECTION)
    projector.forget()
    applied = 0
    after = 0
    while chunk := log.read_all(after=after, limit=batch):
        applied += projector.apply(s.envelope for s in chunk)
        after = chunk[-1].position
        if progress is not None:
            progress(len(chunk))
    return applied


class InProcessProjection(ReadSync):
    """The embedded backend's :class:`ReadSync`: the projector runs in this process, fed from
    the log (:func:`catch_up`) after every submission and whenever the app asks."""

    def __init__(self, projector: Projector) -> None:
        self.projector = projector

    def position(self) -> int:
        return self.projector.position()

    def catch_up(self) -> int:
        return catch_up(self.projector, self.projector.log)

    def rebuild(self, progress: Callable[[int], None] | None = None) -> int:
        return rebuild(self.projector, self.projector.log, progress)
