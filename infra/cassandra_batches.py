"""How the Cassandra projection store groups one save into batches (pure logic, no driver).

Why it matters
    A save writes several documents (an enterprise's state, the supervision tallies and the
    inboxes it guards, ...). Each document is one partition of ``projection_parts`` whose
    *head* part (``HEAD``, see ``tongxiu.projections.documents``) holds the guards: the
    enterprise's ``seq``, the cross-enterprise documents' seen-watermarks. If a head became
    durable while parts it guards did not (a writer killed between two batches), the
    redelivered events would be skipped by the head and the parts' changes lost for good
    (found by the 3-node fault test: a supervision read model with 46 penalties where a
    rebuild gives 60). So:

    * **a document is written in one batch whenever Cassandra allows it.** Documents are
      packed whole into logged multi-partition batches up to :data:`MAX_BATCH_BYTES`; a
      document too large for that goes alone in a *single-partition* batch, which Cassandra
      applies atomically and does not check against ``batch_size_fail_threshold`` (the check
      skips batches of one mutation; ``BatchStatement.verifyBatchSize``). Only a document above
      :data:`MAX_DOCUMENT_BYTES` (Cassandra refuses a mutation above half a commit-log
      segment, 16 MiB by default) spans batches: its other parts first, its head — with the
      whole-document deletion and the part deletions — last, so the old head stays the guard
      until everything else is durable;
    * **documents are written in the order given**, never a later document in a batch before
      an earlier one's: a caller lists the documents a guard protects before the guard (the
      worker's projector lists supervision and inboxes before the enterprise states);
    * the projection position goes in the last batch.

Sizes
    Cassandra checks a multi-partition batch against ``batch_size_fail_threshold`` (default
    and launch-kit value 50 KiB) using the mutations' ``dataSize``, which does not count the
    partition keys. Measured on Cassandra 5.0 (the size in the server's batch-size warning):
    a partition with one 100-byte row counts 170 (34 per partition, 36 per row plus its
    clustering bytes and value); a key-index row 24; a row deletion 21 plus its clustering.
    :func:`row_cost` counts the texts plus :data:`ROW_OVERHEAD` (40) per row and a document
    adds :data:`PARTITION_OVERHEAD` (40): an upper bound
    (``tests/integration/test_faults_projection_batches.py`` compares it with the server's).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

BATCH_SIZE_FAIL_THRESHOLD = 50 * 1024
"""Cassandra's default ``batch_size_fail_threshold`` (the launch kit sets the same value)."""
MAX_BATCH_BYTES = 40 * 1024
"""Budget of one multi-partition batch as counted by :func:`row_cost` (80 % of the threshold)."""
MAX_DOCUMENT_BYTES = 8 * 1024 * 1024
"""Above this a document spans several single-partition batches (head last); Cassandra's
default ``max_mutation_size`` is 16 MiB."""
ROW_OVERHEAD = 40
PARTITION_OVERHEAD = 40


def row_cost(*values: str) -> int:
    """An upper bound of what Cassandra counts for one row written with these key/value texts."""
    return ROW_OVERHEAD + sum(len(v.encode()) for v in values)


@dataclass
class Row:
    """One statement: the prepared statement, its values and its cost. ``head`` marks what
    must be written with (or after) the document's head: the head itself, the deletion of
    the whole document and of single parts."""

    statement: Any
    values: tuple[Any, ...]
    cost: int
    head: bool = False


@dataclass
class DocumentWrite:
    """The rows of one document's partition, and its row in the key index."""

    key: str
    rows: list[Row] = field(default_factory=list)
    index: Row | None = None

    @property
    def cost(self) -> int:
        return PARTITION_OVERHEAD + sum(r.cost for r in self.rows)


@dataclass
class Batch:
    """The rows of one batch and what :func:`row_cost` counts for them."""

    rows: list[Row] = field(default_factory=list)
    cost: int = 0


def plan(
    documents: Sequence[DocumentWrite], last: Row, *, max_batch_bytes: int = MAX_BATCH_BYTES,
    max_document_bytes: int = MAX_DOCUMENT_BYTES,
) -> list[Batch]:
    """The batches to execute, in order (see the module docstring). ``last`` (the position,
    a partition of its own) ends the last batch."""
    batches: list[Batch] = []
    current = Batch()

    def flush() -> None:
        nonlocal current
        if current.rows:
            batches.append(current)
        current = Batch()

    def add(rows: Sequence[Row], cost: int) -> None:
        if current.rows and current.cost + cost > max_batch_bytes:
            flush()
        current.rows.extend(rows)
        current.cost += cost

    for doc in documents:
        index = [doc.index] if doc.index is not None else []
        index_cost = sum(r.cost for r in index)
        if doc.cost + index_cost <= max_batch_bytes:
            add(doc.rows + index, doc.cost + index_cost)
            continue
        add(index, index_cost)  # the key first: a listed key without a document reads as absent
        flush()
        if doc.cost <= max_document_bytes:
            batches.append(Batch(list(doc.rows), doc.cost))  # one partition: atomic, not size-checked
            continue
        chunk = Batch()
        for row in [r for r in doc.rows if not r.head]:
            if chunk.rows and chunk.cost + row.cost > max_document_bytes:
                batches.append(chunk)
                chunk = Batch()
            chunk.rows.append(row)
            chunk.cost += row.cost
        if chunk.rows:
            batches.append(chunk)
        heads = [r for r in doc.rows if r.head]
        batches.append(Batch(heads, PARTITION_OVERHEAD + sum(r.cost for r in heads)))
    add([last], PARTITION_OVERHEAD + last.cost)
    flush()
    return batches
