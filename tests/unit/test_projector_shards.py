"""Projection split by shard (``Projector.apply(shard=...)``): several projectors, each with its
own cache, write one store at once, each owning some shards (on the distributed backend a
shard is a partition of the events topic). The shared documents (supervision figures, inboxes)
must end as one projector would leave them: no increment lost because two writers folded the
same counters from stale copies. Also: the registry and an enterprise's growing collections
are rows, and documents written before they were rows are rewritten whole."""

from __future__ import annotations

import random
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.integration.pipeline import decision_no, enterprise_codes, register
from tests.unit.test_projector import by_stream, demo  # noqa: F401 - the demo fixture
from tongxiu.events.envelope import Envelope
from tongxiu.events.models import REGISTRY_STREAM
from tongxiu.infra.bootstrap import open_embedded
from tongxiu.infra.embedded import LocalTransport
from tongxiu.infra.memory import MemoryProjectionStore, MemoryStorage
from tongxiu.projections.documents import HEAD, assemble, split
from tongxiu.projections.keys import PROJECTION, REGISTRY_KEY, enterprise_key, supervision_key
from tongxiu.projections.views import SupervisionState
from tongxiu.services.app import Tongxiu
from tongxiu.services.config import Settings
from tongxiu.services.demo import demo_key
from tongxiu.services.ports import ManualClock, PartChanges
from tongxiu.services.sdk import Producer
from tongxiu.streams.projector import Projector


@pytest.fixture(scope="module")
def many(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tongxiu]:
    """Penalties by one department on 8 enterprises: every shard tallies its months."""
    app = open_embedded(Settings(data_dir=tmp_path_factory.mktemp("many")), clock=ManualClock(datetime.now(UTC)))
    transport = LocalTransport(app)
    register(app, transport)
    samr = Producer(transport, "samr-deqing", demo_key("samr-deqing"), rules=app.rules)
    codes = enterprise_codes(8, tag="MH")
    for i in range(32):
        d = decision_no(i)
        r = samr.publish(codes[i % 8], [d, samr.notice_for(codes[i % 8], d, f"{d.decision_no}-告知")],
                         submission_id=f"sh-{i}")
        assert r.accepted, r
    app.process()
    yield app
    app.close()


def shard_of(stream: str, shards: int) -> str:
    return str(zlib.crc32(stream.encode()) % shards)


def normalised(store: Any) -> dict[str, Any]:
    """Every document, the supervision tallies added up over shards, inbox positions (a count
    per shard) left out."""
    out: dict[str, Any] = {}
    for key in store.keys(PROJECTION):
        doc = store.load(PROJECTION, key)
        if key.startswith(supervision_key("")):
            state = SupervisionState.model_validate(doc)
            doc = {"department": state.department, "seen": state.seen,
                   "months": {m: c.model_dump() for m, c in state.by_month().items()}}
        for entry in doc.get("pending", {}).values():
            entry.pop("position")
        out[key] = doc
    return out


def feeds(app: Tongxiu, shards: int, seed: int) -> dict[str, list[Envelope]]:
    """Each shard's events, streams interleaved at random, each stream in order."""
    streams = by_stream(app)
    rng = random.Random(seed)
    out: dict[str, list[Envelope]] = {str(i): [] for i in range(shards)}
    cursors = {s: 0 for s in streams}
    while any(cursors[s] < len(streams[s]) for s in streams):
        s = rng.choice([s for s in streams if cursors[s] < len(streams[s])])
        if s != REGISTRY_STREAM and cursors[REGISTRY_STREAM] < len(streams[REGISTRY_STREAM]):
            s = REGISTRY_STREAM  # a registration precedes its use
        out[shard_of(s, shards)].append(streams[s][cursors[s]])
        cursors[s] += 1
    return out


@pytest.mark.parametrize("shards,workers", [(2, 2), (4, 2), (5, 3)])
@pytest.mark.parametrize("which", ["demo", "many"])
def test_projectors_sharing_the_shards_equal_one_projector(
    request: pytest.FixtureRequest, which: str, shards: int, workers: int
) -> None:
    """Each worker has its own cache and applies small batches of its shards in turn with the
    others: every shared document is loaded by each, then written by each from its copy."""
    demo = request.getfixturevalue(which)  # noqa: F811
    storage = MemoryStorage()
    projectors = [Projector(MemoryProjectionStore(storage), demo.log, demo.rules) for _ in range(workers)]
    per_shard = feeds(demo, shards, seed=shards * 10 + workers)
    owner = {shard: projectors[int(shard) % workers] for shard in per_shard}
    cursors = {shard: 0 for shard in per_shard}
    rng = random.Random(3)
    applied = 0
    while any(cursors[s] < len(per_shard[s]) for s in per_shard):
        shard = rng.choice([s for s in per_shard if cursors[s] < len(per_shard[s])])
        n = rng.choice([1, 2, 5])
        applied += owner[shard].apply(per_shard[shard][cursors[shard]:cursors[shard] + n], shard=shard)
        cursors[shard] += n
    store = MemoryProjectionStore(storage)
    assert applied == demo.read_models.position()
    assert store.position(PROJECTION) == demo.read_models.position()
    assert normalised(store) == normalised(demo.projections)
    # the shared figures really were written by several shards, each in its own rows
    sup = [store.load(PROJECTION, k) for k in store.keys(PROJECTION) if k.startswith(supervision_key(""))]
    if which == "many":
        assert any(len({m.split("@")[1] for m in doc["months"]}) > 1 for doc in sup if doc)


def test_redelivery_to_a_new_owner_after_a_rebalance_counts_once(many: Tongxiu) -> None:
    """A shard moves to another worker mid-way; the new owner gets the last batch again."""
    storage = MemoryStorage()
    first, second = (Projector(MemoryProjectionStore(storage), many.log, many.rules) for _ in range(2))
    per_shard = feeds(many, 2, seed=1)
    for shard, envs in per_shard.items():
        half = len(envs) // 2
        first.apply(envs[:half], shard=shard)
        second.apply(envs[half - 3:], shard=shard)  # moved, with three redelivered
        first.apply(envs[-2:], shard=shard)  # the old owner's late batch (a zombie): skipped
    assert normalised(MemoryProjectionStore(storage)) == normalised(many.projections)


def test_registry_and_growing_enterprise_collections_are_rows(demo: Tongxiu) -> None:  # noqa: F811
    registry = demo.projections.load(PROJECTION, REGISTRY_KEY)
    assert registry is not None
    parts = split(REGISTRY_KEY, registry)
    assert parts[HEAD]["departments"] == {} and sum(p.startswith("departments/") for p in parts) == len(
        registry["departments"]) > 3
    doc = {"enterprise": "dept:samr-deqing", "seq": 3, "inspections": {"I1": {"inspection_id": "I1"}},
           "oversight": {"department": "samr-deqing", "reviews": {"R1": {"review_id": "R1"}},
                         "findings": {"F1": {"item_id": "F1"}}, "complaints": {"C1": {"complaint_id": "C1"}}}}
    parts = split(enterprise_key("dept:samr-deqing"), doc)
    assert parts[HEAD] == {"enterprise": "dept:samr-deqing", "seq": 3, "inspections": {},
                           "oversight": {"department": "samr-deqing", "reviews": {}, "findings": {}, "complaints": {}}}
    assert {"inspections/I1", "oversight.reviews/R1", "oversight.findings/F1", "oversight.complaints/C1"} <= set(parts)
    assert assemble(enterprise_key("dept:samr-deqing"), parts) == doc


def test_documents_with_collections_still_in_the_head_are_rewritten_whole(demo: Tongxiu) -> None:  # noqa: F811
    """A registry written before its departments became rows (all in the head): the next
    write rewrites it whole, so the departments it does not touch are not lost."""
    storage = MemoryStorage()
    store = MemoryProjectionStore(storage)
    streams = by_stream(demo)
    registry_events = streams[REGISTRY_STREAM]
    projector = Projector(store, demo.log, demo.rules)
    projector.apply(registry_events[:-1])
    old = store.load(PROJECTION, REGISTRY_KEY)
    assert old is not None and len(old["departments"]) > 2
    store.write(PROJECTION, {REGISTRY_KEY: PartChanges({HEAD: old}, whole=True)}, store.position(PROJECTION))
    assert store.load_head(PROJECTION, REGISTRY_KEY)["departments"]  # type: ignore[index]
    again = Projector(store, demo.log, demo.rules)
    again.apply(registry_events[-1:])
    assert store.load(PROJECTION, REGISTRY_KEY) == demo.projections.load(PROJECTION, REGISTRY_KEY)
    assert store.load_head(PROJECTION, REGISTRY_KEY)["departments"] == {}  # type: ignore[index]


def test_inbox_positions_are_unique_across_shards(demo: Tongxiu) -> None:  # noqa: F811
    """``tongxiu ack SUBSCRIBER POSITION`` picks a delivery by its position: two shards (and a
    rebuild part) must never give two deliveries the same one; unsharded it stays the count."""
    projector = Projector(MemoryProjectionStore(MemoryStorage()), demo.log, demo.rules)
    seen: set[int] = set()
    for label in [str(p) for p in range(16)] + ["r0of2", "r1of2", "r3of4"]:
        projector._shard = label
        positions = {projector._delivery_position(n) for n in range(1, 3000)}
        assert len(positions) == 2999 and not positions & seen, label
        seen |= positions
    projector._shard = None
    assert [projector._delivery_position(n) for n in (1, 2, 3)] == [1, 2, 3]
