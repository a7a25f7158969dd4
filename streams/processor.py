"""The embedded backend's feed of the one projector (``tongxiu.streams.projector``): what the
ledger just appended and folded, handed over in process inside the submission's transaction
(read your writes, one commit), the log's global order when the read models are behind it,
and the rebuild that feeds it the whole log again (on either backend)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence

from tongxiu.events.envelope import Envelope
from tongxiu.projections.keys import PROJECTION
from tongxiu.projections.views import EnterpriseState
from tongxiu.services.ledger import Folded, Ledger
from tongxiu.services.ports import EventLog, ReadSync
from tongxiu.streams.projector import Projector, bulk


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


READ_MODEL_FORMAT = 2
"""The format of the stored read models. Raised when what the projector writes changes for the
same history (2: the rule explanations are structured and in Chinese, ``basis`` / ``basis_en``);
a store written in an older format is rebuilt from the log when the embedded backend opens it
(:func:`ensure_format`), and a distributed deployment by ``tongxiu rebuild``, which records the
format it wrote."""

FORMAT_KEY = "read_model_format"
"""The pseudo-projection whose saved position is the format of the stored read models."""


def stored_format(projector: Projector) -> int:
    """The format the stored read models were written in (0: before formats were recorded)."""
    return projector.store.position(FORMAT_KEY)


def ensure_format(projector: Projector, log: EventLog) -> bool:
    """Rebuild the read models if they were written in another format; True if it did."""
    if stored_format(projector) == READ_MODEL_FORMAT:
        return False
    rebuild(projector, log)
    return True


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
    with bulk():  # the process's other objects left out of the collector's scans meanwhile
        while chunk := log.read_all(after=after, limit=batch):
            applied += projector.apply(s.envelope for s in chunk)
            after = chunk[-1].position
            if progress is not None:
                progress(len(chunk))
    projector.store.save(FORMAT_KEY, {}, READ_MODEL_FORMAT)
    return applied


class InProcessProjection(ReadSync):
    """The embedded backend's :class:`ReadSync`: the projector runs in this process. It is fed
    what the ledger appends as the ledger appends it (:meth:`appended`, installed as
    ``Ledger.on_append``), and from the log (:func:`catch_up`) when it is behind the log or the
    app asks. :meth:`submitting` makes a submission — its append, its read models, its
    rejection record and its receipt's checkpoint — one transaction of the store (SQLite: one
    commit, one sync at ``synchronous=FULL``), committed before the receipt is returned."""

    def __init__(self, projector: Projector, ledger: Ledger | None = None) -> None:
        self.projector = projector
        if ledger is not None:
            ledger.on_append = self.appended
            ledger.on_forget = projector.drop

    def appended(self, envelopes: Sequence[Envelope], folded: Folded | None = None) -> EnterpriseState | None:
        """The envelopes the ledger has just appended (sealed and folded: nothing is read back
        or parsed again), applied when the read models were up to the log just before them;
        the ledger's fold is reused (:meth:`Projector.apply`). Otherwise (another process wrote
        meanwhile, a log without a global order) the cached documents are dropped — one may
        be the ledger's state, already ahead — and the log is read from the read models'
        position, which includes these. Returns the state the projector now holds for the
        stream, for the ledger to keep (one object, folded once per event)."""
        p = self.projector
        with p.store.exclusive():
            last = p.log.last_position()
            if last is not None and p.position() == last - len(envelopes):
                p.apply(envelopes, folded=folded)
            else:
                p.forget()
                catch_up(p, p.log)
        return p.cached_state(envelopes[0].stream) if envelopes and folded is not None else None

    @contextlib.contextmanager
    def submitting(self) -> Iterator[None]:
        """One store transaction around a submission (see the class). Before it commits, the
        read models are brought up to the log if the submission appended nothing (a rejection,
        a duplicate) while another process wrote. Whatever fails rolls it all back, and the
        projector's cached documents are dropped (they may be ahead of the store)."""
        p = self.projector
        try:
            with p.store.exclusive():
                yield
                last = p.log.last_position()
                if last is None or p.position() < last:
                    catch_up(p, p.log)
        except BaseException:
            p.forget()
            raise

    def position(self) -> int:
        return self.projector.position()

    def catch_up(self) -> int:
        return catch_up(self.projector, self.projector.log)

    def rebuild(self, progress: Callable[[int], None] | None = None) -> int:
        return rebuild(self.projector, self.projector.log, progress)
