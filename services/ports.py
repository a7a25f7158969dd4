"""The ports the use cases need. Each backend (SQLite embedded, Kafka + Cassandra distributed)
implements them; ``tests/contract`` holds one suite per port that every adapter must pass.
"""

from __future__ import annotations

import abc
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from events.envelope import Envelope, Receipt


class ConcurrencyError(Exception):
    """Another writer appended to the stream first; re-read and decide again."""


@dataclass(frozen=True)
class StoredEvent:
    """An envelope plus the exact JSON it was stored as (hashes are checked on these bytes)."""

    envelope: Envelope
    raw: str
    position: int = 0
    """Global position: gap-free order of the whole log in the embedded backend; in the
    distributed backend the Kafka offset order per partition (0 where unknown)."""


class EventLog(abc.ABC):
    """Append-only, per-stream, gap-free sequences.

    Guarantees: ``append`` stores all given envelopes or none; it raises
    :class:`ConcurrencyError` unless the stream's last sequence equals ``expected_seq``
    (0 for a new stream), so two writers can never both write sequence n.
    """

    @abc.abstractmethod
    def append(self, stream: str, expected_seq: int, envelopes: Sequence[Envelope]) -> None: ...

    @abc.abstractmethod
    def read_stream(self, stream: str, *, from_seq: int = 1) -> list[StoredEvent]: ...

    @abc.abstractmethod
    def last_seq(self, stream: str) -> int: ...

    @abc.abstractmethod
    def streams(self) -> list[str]:
        """Every stream id, sorted."""

    @abc.abstractmethod
    def read_all(self, *, after: int = 0, limit: int = 1000) -> list[StoredEvent]:
        """Events in global order after position ``after`` (the feed the processors tail)."""

    @abc.abstractmethod
    def find_submission(self, department: str, submission_id: str) -> list[StoredEvent]:
        """The events an accepted submission produced (empty if none): the log itself is
        the record of accepted submissions, so a crash between append and receipt cannot
        make a resubmission append twice."""

    def tamper_for_test(self, stream: str, seq: int, raw: str) -> None:  # pragma: no cover
        """Overwrite one stored event: only tests that prove ``verify`` catches tampering."""
        raise NotImplementedError


@dataclass(frozen=True)
class RejectionRecord:
    receipt: Receipt
    submission: dict[str, Any] | str
    """The submission as received (parsed JSON, or the raw text when it did not parse)."""
    authenticated: bool
    """True when the department's signature verified. Only authenticated rejections answer
    a resubmission of the same id; an unsigned or forged one must not block the real
    department from using that id."""


class RejectionLog(abc.ABC):
    """Every rejected submission with its reasons: nothing is silently dropped."""

    @abc.abstractmethod
    def record(self, rejection: RejectionRecord) -> None: ...

    @abc.abstractmethod
    def get(self, department: str, submission_id: str) -> RejectionRecord | None:
        """The first authenticated rejection of this submission id, if any."""

    @abc.abstractmethod
    def list(
        self, *, department: str | None = None, stream: str | None = None, limit: int = 100, offset: int = 0
    ) -> list[RejectionRecord]: ...


class ProjectionStore(abc.ABC):
    """Read models by (projection, key), each saved together with the log position the
    projection has read, in one atomic write: a redelivered event is never applied twice."""

    @abc.abstractmethod
    def load(self, projection: str, key: str) -> dict[str, Any] | None: ...

    @abc.abstractmethod
    def save(self, projection: str, updates: dict[str, dict[str, Any]], position: int) -> None:
        """Write all ``updates`` (key -> state) and the new ``position`` atomically."""

    @abc.abstractmethod
    def position(self, projection: str) -> int: ...

    @abc.abstractmethod
    def keys(self, projection: str) -> list[str]: ...

    def load_many(self, projection: str, keys: Sequence[str]) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for key in keys:
            state = self.load(projection, key)
            if state is not None:
                out[key] = state
        return out

    @abc.abstractmethod
    def reset(self, projection: str) -> None:
        """Forget a projection (for rebuilds)."""


class OffsetStore(abc.ABC):
    """Where each feed consumer stopped, so it resumes there."""

    @abc.abstractmethod
    def get(self, consumer: str) -> int: ...

    @abc.abstractmethod
    def put(self, consumer: str, position: int) -> None: ...


class Clock(abc.ABC):
    @abc.abstractmethod
    def now(self) -> datetime: ...


class SystemClock(Clock):
    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock(Clock):
    """A clock tests and the demo move by hand."""

    def __init__(self, start: datetime) -> None:
        self._now = start

    def now(self) -> datetime:
        return self._now

    def set(self, value: datetime) -> None:
        self._now = value

    def advance(self, **delta: float) -> datetime:
        from datetime import timedelta

        self._now = self._now + timedelta(**delta)
        return self._now


def iter_all(log: EventLog, *, after: int = 0, batch: int = 1000) -> Iterator[StoredEvent]:
    while True:
        chunk = log.read_all(after=after, limit=batch)
        if not chunk:
            return
        yield from chunk
        after = chunk[-1].position
