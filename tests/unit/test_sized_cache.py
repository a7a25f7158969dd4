"""The caches of folded documents are bounded by a byte budget (``cache_mib``), not only by a
number of entries (issue 11: worker memory bounded by configuration)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.unit.test_projector import demo, docs  # noqa: F401 - the demo fixture
from tongxiu.infra.sqlite import Database, SqliteProjectionStore
from tongxiu.projections.keys import PROJECTION
from tongxiu.projections.views import EnterpriseState
from tongxiu.services.config import Settings
from tongxiu.services.sized_cache import REMEASURE_AFTER, REMEASURE_EVERY, SizedCache, json_size
from tongxiu.streams.processor import rebuild
from tongxiu.streams.projector import Projector

_ = demo


def test_json_size_is_the_length_of_the_json() -> None:
    state = EnterpriseState.empty("91330521MA2B3C4D5E")
    assert json_size(state) == len(state.model_dump_json().encode("utf-8"))
    assert json_size({"name": "同修"}) == len('{"name":"同修"}'.encode())


def test_evicts_the_least_recently_used_by_size() -> None:
    cache: SizedCache[str, dict[str, str]] = SizedCache(max_entries=100, max_bytes=250)
    for name in ("a", "b", "c"):
        cache.put(name, {"text": name * 90})  # ~101 bytes of JSON each
        cache.trim()
    assert list(cache) == ["b", "c"]  # three would be ~303 bytes: "a" (least recent) went
    assert cache.bytes == sum(json_size({"text": n * 90}) for n in "bc") <= 250
    cache.get("b")  # now the most recent
    cache.put("d", {"text": "d" * 90})
    cache.trim()
    assert list(cache) == ["b", "d"]


def test_one_entry_over_the_budget_stays_alone_and_max_entries_zero_keeps_nothing() -> None:
    cache: SizedCache[str, str] = SizedCache(max_entries=10, max_bytes=5)
    cache.put("big", "x" * 100)
    cache.trim()
    assert list(cache) == ["big"]
    cache.put("next", "y" * 100)
    cache.trim()
    assert list(cache) == ["next"]
    none: SizedCache[str, str] = SizedCache(max_entries=0, max_bytes=10**9)
    none.put("a", "a")
    none.trim()
    assert len(none) == 0 and none.bytes == 0


def test_an_entry_that_grows_in_place_is_measured_again() -> None:
    doc: dict[str, Any] = {"items": []}
    cache: SizedCache[str, dict[str, Any]] = SizedCache(max_entries=10, max_bytes=10**9)
    cache.put("k", doc)
    before = cache.bytes
    doc["items"].extend(["x" * 50] * 20)  # folded in place
    for _ in range(REMEASURE_AFTER):  # small: measured again after a few reads
        cache.get("k")
    assert cache.bytes == json_size(doc) > before + 1000
    doc["items"].extend(["y" * 1000] * 200)  # now ~200 KB: measured at most every REMEASURE_EVERY reads
    for _ in range(REMEASURE_EVERY):
        cache.get("k")
    assert cache.bytes == json_size(doc) > 200_000


def test_settings_carry_the_budget() -> None:
    assert Settings().cache_mib == 128
    assert Settings.load(env={"TONGXIU_CACHE_MIB": "16"}).cache_mib == 16


def test_a_projector_under_a_tiny_budget_evicts_and_still_equals_the_live_read_models(demo: Any, tmp_path: Path) -> None:  # noqa: F811
    store = SqliteProjectionStore(Database(tmp_path / "p.sqlite3"))
    projector = Projector(store, demo.log, demo.rules, cache_bytes=4096)
    evicted: list[str] = []
    own = projector._docs.on_evict
    assert own is not None

    def on_evict(key: str, tracker: Any) -> None:
        evicted.append(key)
        own(key, tracker)

    projector._docs.on_evict = on_evict
    rebuild(projector, demo.log, batch=7)
    assert evicted, "a 4 KiB budget must evict documents"
    assert projector._docs.bytes <= 4096 or len(projector._docs) == 1
    assert docs(store) == docs(demo.projections)
    assert store.position(PROJECTION) == demo.projections.position(PROJECTION)


def test_putting_the_held_object_again_is_not_a_new_measure() -> None:
    """The write path gets a state, folds it in place and puts it back after every submission:
    the put only makes it the most recent; it is measured again on the reads' schedule, so a
    put does not serialise the state every time."""
    doc: dict[str, Any] = {"items": []}
    cache: SizedCache[str, dict[str, Any]] = SizedCache(max_entries=10, max_bytes=10**9)
    cache.put("k", doc)
    cache.put("j", {"items": []})
    first = cache.bytes
    for _ in range(REMEASURE_AFTER - 1):
        assert cache.get("k") is doc
        doc["items"].append("x" * 50)
        cache.put("k", doc)  # the same object: not measured now
    assert cache.bytes == first
    assert next(iter(cache)) == "j"  # but it is the most recently used
    cache.get("k")
    assert cache.bytes == json_size(doc) + json_size({"items": []}) > first
    other = {"items": ["z" * 500]}
    cache.put("k", other)  # another object: measured at once
    assert cache.bytes == json_size(other) + json_size({"items": []})


def test_reads_between_measures_double_up_to_the_cap() -> None:
    """Issue 11: a long-lived entry is measured every REMEASURE_EVERY reads, not every
    REMEASURE_AFTER (a small document used on every submission was serialised every 4th)."""
    measured: list[int] = []

    def size_of(value: dict[str, Any]) -> int:
        measured.append(len(measured))
        return json_size(value)

    cache: SizedCache[str, dict[str, Any]] = SizedCache(max_entries=10, max_bytes=10**9, size_of=size_of)
    cache.put("k", {"items": []})
    at: list[int] = []
    for read in range(1, 200):
        before = len(measured)
        cache.get("k")
        if len(measured) > before:
            at.append(read)
    gaps = [b - a for a, b in zip([0, *at], at, strict=False)]
    assert gaps[:4] == [REMEASURE_AFTER, 2 * REMEASURE_AFTER, 4 * REMEASURE_AFTER, REMEASURE_EVERY]
    assert set(gaps[3:]) == {REMEASURE_EVERY}
    cache.put("k", {"items": ["new object"]})  # another object: measured now, and soon again
    before = len(measured)
    for _ in range(REMEASURE_AFTER):
        cache.get("k")
    assert len(measured) == before + 1
