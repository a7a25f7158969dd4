"""The due-date index of the time-driven facts (``tongxiu tick``).

``tick`` used to fold every enterprise stream of the log to find what had become due: 33–56 h
for a national ledger (``shared/reviews/scale-model.md`` §6). Instead the projector keeps, for
each enterprise, :func:`next_due`: the first China day on which
``tongxiu.services.scheduler.due_facts`` has something for it, and lists the stream in that
day's index document; ``tick`` reads only the days up to today and decides each listed stream
with ``due_facts`` as before, from the log.

Documents (in the projection store, projection ``ledger``):

* ``due:<YYYY-MM-DD>`` — the streams first due that day, one row each (``streams/<stream>``);
  each stream has one writer (its shard), so several projection workers share these;
* ``due-days`` — the days that ever had a stream listed (one row each: ``days/<day>``), and
  whether the index covers every stream (``complete``: the projection that wrote it started
  from an empty store; a store projected before the index existed needs a rebuild, until which
  ``tick`` scans every stream as before);
* the enterprise document's head keeps its day as ``_due`` (so the projector knows which day
  to take it off when it changes).

The index is a hint that can only be early or stale, never late: ``tick`` emits what
``due_facts`` says for the listed streams on the day it runs, so an entry left behind (a writer
killed between batches) emits nothing, and every fact :func:`next_due` leads to is emitted on
its day or the first tick after.
"""

from __future__ import annotations

from datetime import date, timedelta

from tongxiu.projections.fold import obligations_performed
from tongxiu.projections.views import EnterpriseState

DUE_PREFIX = "due:"
DUE_DAYS = "due-days"
DUE_FIELD = "_due"
"""The key of an enterprise document's head holding its day in the index."""

_DAY = timedelta(days=1)


def due_key(day: date | str) -> str:
    return f"{DUE_PREFIX}{day if isinstance(day, str) else day.isoformat()}"


def next_due(state: EnterpriseState) -> date | None:
    """The first day on which ``due_facts(state, day)`` is not empty (None: nothing will become
    due without another event on the stream). Mirrors the conditions of ``due_facts``:
    ``tests/unit/test_due_index.py`` checks the two agree on every state of the demo.

    Asked after every event the projector applies: the earliest day is kept as it goes, and
    the deadlines (due the day after) are compared as they are, one day added at the end."""
    on: date | None = None  # the earliest day due as it is
    after: date | None = None  # the earliest deadline, due the day after it
    for record in state.credit.records.values():
        if record.status != "publicized":
            continue
        day = record.repair_from
        if day is not None and not record.eligibility_reached and not record.early_end_forbidden:
            if on is None or day < on:
                on = day
        day = record.max_end
        if day is not None and (after is None or day < after) and (
            not record.ends_by_itself_requires_performance or obligations_performed(state, record)
        ):
            after = day
    for item in state.rectification.items.values():
        if item.status != "closed" and not item.overdue_marked and (after is None or item.deadline < after):
            after = item.deadline
    view = state.oversight
    if view is not None:
        for f in view.findings.values():
            if f.status != "closed" and not f.overdue_marked and (after is None or f.deadline < after):
                after = f.deadline
        for c in view.complaints.values():
            if c.status != "resolved" and not c.overdue_marked and (after is None or c.deadline < after):
                after = c.deadline
    for delivery in state.sync.deliveries.values():
        if delivery.status == "pending" and not delivery.overdue_marked and (
            after is None or delivery.deadline < after
        ):
            after = delivery.deadline
    if after is None:
        return on
    after += _DAY
    return after if on is None or after < on else on
