"""A rebuild in parts (``tongxiu.streams.rebuild_parts``), on the in-memory store (pure logic;
``tests/integration/test_rebuild_parts_cassandra.py`` runs it on Cassandra): the parts together
equal a full rebuild, and a part killed part-way resumes from its checkpoint."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.test_projector import demo  # noqa: F401 - the demo fixture
from tests.unit.test_projector_shards import many, normalised  # noqa: F401 - the fixture
from tongxiu.infra.memory import MemoryProjectionStore, MemoryStorage
from tongxiu.projections.keys import PROJECTION
from tongxiu.services.app import Tongxiu
from tongxiu.services.ports import PartChanges
from tongxiu.streams.projector import Projector
from tongxiu.streams.rebuild_parts import checkpoint, parse_part, part_of, rebuild_part, reset


class Killed(Exception):
    pass


class DyingStore(MemoryProjectionStore):
    """Fails every write of the read models after ``allowed`` of them."""

    def __init__(self, storage: MemoryStorage, allowed: int) -> None:
        super().__init__(storage)
        self.allowed = allowed

    def write_shard(self, projection: str, shard: str, changes: dict[str, PartChanges], position: int, *,
                    expected: int | None = None) -> None:
        if self.allowed <= 0:
            raise Killed(shard)
        self.allowed -= 1
        super().write_shard(projection, shard, changes, position, expected=expected)


class CountingLog:
    """The app's log, counting the streams read."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.read: list[str] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def read_stream(self, stream: str, **kw: Any) -> Any:
        self.read.append(stream)
        return self.inner.read_stream(stream, **kw)


@pytest.mark.parametrize("parts", [1, 2, 3])
@pytest.mark.parametrize("which", ["demo", "many"])
def test_the_parts_together_equal_a_full_rebuild(request: pytest.FixtureRequest, which: str, parts: int) -> None:
    app: Tongxiu = request.getfixturevalue(which)
    store = MemoryProjectionStore(MemoryStorage())
    reset(store)
    totals = [rebuild_part(Projector(MemoryProjectionStore(store.s), app.log, app.rules), app.log, i, parts, page=7)
              for i in range(parts)]
    assert sum(totals) == app.read_models.position() == store.position(PROJECTION)
    assert normalised(store) == normalised(app.projections)


def test_a_killed_part_resumes_from_its_checkpoint(many: Tongxiu) -> None:  # noqa: F811
    storage = MemoryStorage()
    store = DyingStore(storage, allowed=3)
    reset(store)
    log = CountingLog(many.log)
    with pytest.raises(Killed):
        rebuild_part(Projector(store, log, many.rules), log, 0, 2, page=5)
    done = checkpoint(store, 0, 2)
    mine = sorted(s for s in many.log.streams() if part_of(s, 2) == 0)
    assert done["after"] in mine[:-1]
    first_run = list(log.read)
    log.read.clear()
    store.allowed = 10_000
    total = rebuild_part(Projector(store, log, many.rules), log, 0, 2, page=5)
    assert set(log.read) == {s for s in mine if s > done["after"]}  # the streams done are not read again
    assert set(first_run) | set(log.read) == set(mine)
    assert rebuild_part(Projector(store, log, many.rules), log, 0, 2) == total  # done: nothing more
    assert rebuild_part(Projector(store, log, many.rules), log, 1, 2) + total == many.read_models.position()
    assert normalised(MemoryProjectionStore(storage)) == normalised(many.projections)


@pytest.mark.parametrize("text", ["2/2", "1", "a/b", "-1/3", "1/0"])
def test_a_part_is_i_of_n(text: str) -> None:
    with pytest.raises(ValueError, match="i/n"):
        parse_part(text)
    assert parse_part("1/3") == (1, 3)
