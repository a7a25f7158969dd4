"""The cyclic garbage collector's thresholds raised for the length of a job, shared by every
job that raises them (an audit, a projector's bulk), so that jobs which overlap or nest, in
one thread or several, leave the process's thresholds exactly as they found them.

Each :func:`thresholds_at_least` asks for a minimum per generation (``None``: no minimum).
While any is held, the thresholds in force are, generation by generation, the larger of what
was found when the first one started and every minimum still held; when the last one ends,
what was found is set back, also when a job fails. A young threshold found at 0 (automatic
collection off) stays 0. If someone else sets a generation's threshold while one is held
(``gc.set_threshold`` outside this module), that value is taken as the one found for that
generation: it is kept (raised only as the minimums held ask) and is what is left at the end,
rather than being undone.

Why: a job that keeps what it allocates alive for a while (an audit holds a group of decoded
envelopes before folding them) fills the young generation with live objects, and every
young collection (each 700 allocations by default) scans them to free nothing; a raised young
threshold makes those collections rarer. Raising it from two places with a save and a blind
restore each would, once the two overlap, leave it raised for good (the one that ended last
restores what the other had set)."""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Iterator

Thresholds = tuple[int, int, int]
Minimums = tuple[int | None, int | None, int | None]

_lock = threading.RLock()
"""Reentrant: a finaliser run by a collection while it is held (in this thread) may hold a job too."""
_held: list[tuple[object, Minimums]] = []
"""The minimums of every job under :func:`thresholds_at_least`, each with its own token."""
_found: list[int] = []
"""The thresholds found when the first of them started (empty when none is held)."""
_set: list[Thresholds] = []
"""The thresholds this module set last (empty when none is held)."""

AUDIT_YOUNG = 10_000
"""The young generation's threshold while an audit (:func:`tongxiu.services.audit.verify_and_replay`)
runs (Python's default: 700)."""


def _wanted() -> Thresholds:
    """Each generation: the larger of what was found and every minimum held (young left at 0
    when it was found at 0: collection off)."""
    out = list(_found)
    for _, minimums in _held:
        for i, low in enumerate(minimums):
            if low is not None and out[i] < low and not (i == 0 and _found[0] == 0):
                out[i] = low
    return out[0], out[1], out[2]


def _adopt_outside_changes() -> None:
    """A generation whose threshold is no longer what this module set was set by someone
    else: that value becomes the one found."""
    now = gc.get_threshold()
    if _set and now != _set[-1]:
        for i in range(3):
            if now[i] != _set[-1][i]:
                _found[i] = now[i]


def _apply(thresholds: Thresholds) -> None:
    if gc.get_threshold() != thresholds:
        gc.set_threshold(*thresholds)
    _set[:] = [thresholds]


@contextlib.contextmanager
def thresholds_at_least(young: int | None = None, middle: int | None = None,
                        old: int | None = None) -> Iterator[Thresholds]:
    """Hold the collector's thresholds at least at these (per generation; ``None``: as they
    are) until the block ends; yields the thresholds in force when it starts. Nesting- and
    thread-safe: see the module's docstring."""
    token = object()
    with _lock:
        if not _held:
            _found[:] = gc.get_threshold()
            _set.clear()
        else:
            _adopt_outside_changes()
        _held.append((token, (young, middle, old)))
        now = _wanted()
        _apply(now)
    try:
        yield now
    finally:
        with _lock:
            _adopt_outside_changes()
            _held[:] = [h for h in _held if h[0] is not token]
            _apply(_wanted())  # none held: what was found
            if not _held:
                _found.clear()
                _set.clear()
