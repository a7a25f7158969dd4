"""How one projection save is cut into Cassandra batches (``infra/cassandra_batches.py``):
documents whole and in order, an oversized one alone, a giant one with its head last."""

from __future__ import annotations

from tongxiu.infra.cassandra_batches import PARTITION_OVERHEAD, DocumentWrite, Row, plan


def doc(key: str, parts: dict[str, int]) -> DocumentWrite:
    """A document whose part ``name`` costs ``parts[name]`` ("" is the head)."""
    return DocumentWrite(key, [Row("put", (key, p), c, head=p == "") for p, c in parts.items()],
                         index=Row("key", (key,), 10))


def layout(batches: list) -> list[list[tuple[object, ...]]]:
    return [[r.values for r in b.rows] for b in batches]


def test_documents_are_packed_whole_in_the_order_given() -> None:
    docs = [doc(f"d{i}", {"": 100, "a": 200, "b": 200}) for i in range(5)]
    position = Row("pos", (5,), 10)
    batches = plan(docs, position, max_batch_bytes=1_200)
    seen: list[str] = []
    for b in batches:
        keys = [r.values[0] for r in b.rows if r.statement in ("put", "key")]
        assert b.cost <= 1_200
        for key in dict.fromkeys(keys):  # every row of a document in this one batch
            assert keys.count(key) == 4
            seen.append(key)
        assert b.cost == sum(r.cost for r in b.rows) + PARTITION_OVERHEAD * len(set(keys)) + (
            PARTITION_OVERHEAD if position in b.rows else 0)
    assert seen == [f"d{i}" for i in range(5)]
    assert len(batches) == 3 and batches[-1].rows[-1] is position


def test_a_document_over_the_budget_goes_alone_in_its_own_batch() -> None:
    small, big, after = doc("s", {"": 50}), doc("big", {"": 3_000, "x": 900}), doc("t", {"": 50})
    batches = plan([small, big, after], Row("pos", (3,), 10), max_batch_bytes=1_000)
    assert layout(batches) == [
        [("s", ""), ("s",), ("big",)],  # the big document's key before it
        [("big", ""), ("big", "x")],  # one partition: atomic, not size-checked by Cassandra
        [("t", ""), ("t",), (3,)],
    ]


def test_a_document_above_the_mutation_limit_writes_its_head_last() -> None:
    giant = doc("g", {"": 300, "a": 600, "b": 600, "c": 600})
    giant.rows.insert(0, Row("drop_all", ("g",), 10, head=True))
    batches = plan([giant], Row("pos", (1,), 10), max_batch_bytes=500, max_document_bytes=1_300)
    assert layout(batches) == [
        [("g",)],
        [("g", "a"), ("g", "b")],
        [("g", "c")],
        [("g",), ("g", "")],  # the whole-document deletion and the head, the guard, last
        [(1,)],
    ]
    assert [r.statement for r in batches[3].rows] == ["drop_all", "put"]
