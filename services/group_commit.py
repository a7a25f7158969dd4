"""Group commit by leader and followers, with no timer (issue 11: durability by default, its cost
shared by submissions that arrive together).

A caller hands its item to :class:`GroupCommit` and waits. If no commit is running, it becomes the
leader at once and commits what is queued — only its own item when it is alone, so a lone caller is
neither delayed nor treated differently. Items that arrive while a commit runs are queued; when that
commit ends, one of their callers becomes the next leader and commits up to ``max_group`` of them
(in the order they arrived) with one call of ``commit``; every caller of the group then gets its own
outcome (a result, or the exception ``commit`` gave it). This is how databases share one log sync
among concurrent transactions (e.g. PostgreSQL's WAL flush, InnoDB's binlog group commit); the
caller's thread does the work when it leads, so nothing else runs in the background.

When callers of the group just answered are still inside (woken, not yet returned: they need
the interpreter's lock to go on), a new leader first yields the interpreter once
(``time.sleep(0)``) before it takes the queue, so they can queue their next items rather than
the new leader taking only its own (measured with 4 closed-loop submitters: mean group 2.1 ->
3.4-3.9; ``os.sched_yield`` 2.3-3.0; ``bench.group_commit``, docs/benchmarks.md). A lone caller
never yields: nobody else is inside.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar


def _give_way() -> None:
    """Give the interpreter to other runnable threads (it releases the interpreter's lock)."""
    time.sleep(0)


T = TypeVar("T")
R = TypeVar("R")


class _Slot(Generic[T, R]):
    __slots__ = ("done", "error", "item", "value")

    def __init__(self, item: T) -> None:
        self.item = item
        self.done = False
        self.value: R | None = None
        self.error: BaseException | None = None


@dataclass
class GroupStats:
    """What a :class:`GroupCommit` did since it was made (for benchmarks and tests)."""

    groups: int = 0
    """Calls of ``commit``: one store transaction each (plus the retries alone a failed group makes)."""
    items: int = 0
    largest: int = 0

    @property
    def mean(self) -> float:
        return self.items / self.groups if self.groups else 0.0


class GroupCommit(Generic[T, R]):
    """``commit(items)`` returns one outcome per item, in order: its result, or the exception that
    item's caller is to see (an exception ``commit`` itself raises is given to every caller of the
    group). ``max_group`` bounds how many queued items one commit takes."""

    def __init__(self, commit: Callable[[list[T]], Sequence[R | BaseException]], *, max_group: int = 64) -> None:
        if max_group < 1:
            raise ValueError(f"max_group must be at least 1, got {max_group}")
        self.commit = commit
        self.max_group = max_group
        self.stats = GroupStats()
        self._cond = threading.Condition(threading.Lock())
        self._queue: deque[_Slot[T, R]] = deque()
        self._leading = False
        self._inside = 0
        """Callers inside :meth:`__call__` (queued, leading, or answered and not yet returned)."""

    def __call__(self, item: T) -> R:
        slot: _Slot[T, R] = _Slot(item)
        cond = self._cond
        with cond:
            self._queue.append(slot)
            self._inside += 1
        try:
            while True:
                with cond:
                    while self._leading and not slot.done:
                        cond.wait()
                    if slot.done:
                        break
                    self._leading = True  # no commit running: this caller leads the next one
                    others = self._inside > len(self._queue)  # callers of a group just answered, not yet gone
                if others:  # let them run (and queue their next item) before the group is taken
                    _give_way()
                with cond:
                    take = min(len(self._queue), self.max_group)
                    group = [self._queue.popleft() for _ in range(take)]
                self._lead(group)  # its own item is in it unless more than max_group were queued before it
        finally:
            with cond:
                self._inside -= 1
        if slot.error is not None:
            raise slot.error
        return slot.value  # type: ignore[return-value]

    def queued(self) -> int:
        """Items waiting for a commit (not counting those of the commit running)."""
        with self._cond:
            return len(self._queue)

    def leading(self) -> bool:
        """Whether a caller leads (its commit is running or about to)."""
        with self._cond:
            return self._leading

    def _lead(self, group: list[_Slot[T, R]]) -> None:
        outcomes: Sequence[R | BaseException]
        try:
            outcomes = self.commit([s.item for s in group])
            if len(outcomes) != len(group):
                raise RuntimeError(f"group commit: {len(outcomes)} outcomes for {len(group)} items")
        except BaseException as exc:  # noqa: BLE001 - handed to every caller of the group
            outcomes = [exc] * len(group)
        with self._cond:
            for s, outcome in zip(group, outcomes, strict=True):
                if isinstance(outcome, BaseException):
                    s.error = outcome
                else:
                    s.value = outcome
                s.done = True
            self.stats.groups += 1
            self.stats.items += len(group)
            self.stats.largest = max(self.stats.largest, len(group))
            self._leading = False
            self._cond.notify_all()
