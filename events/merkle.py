"""The Merkle tree of the transparency log: RFC 9162 (Certificate Transparency 2.0) §2.1.

Pure functions over leaf hashes (32-byte ``bytes``), no storage:

- leaf hash ``SHA-256(0x00 || data)``, interior node ``SHA-256(0x01 || left || right)``, the
  empty tree's root ``SHA-256()``; a tree of n > 1 leaves splits at the largest power of two
  smaller than n (§2.1.1);
- inclusion proofs (§2.1.3) and consistency proofs (§2.1.4), with the verification
  algorithms of §2.1.3.2 and §2.1.4.2;
- a *frontier* (the roots of the perfect subtrees the tree of n leaves decomposes into, left to
  right): appending a leaf and computing the root from the frontier cost O(log n), so the
  write path never reads the whole tree.

Checked against the RFC 6962 reference vectors (tests/unit/test_merkle.py).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than n (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def root(leaves: Sequence[bytes]) -> bytes:
    """MTH(D[n]) over leaf hashes."""
    n = len(leaves)
    if n == 0:
        return EMPTY_ROOT
    if n == 1:
        return leaves[0]
    k = _split(n)
    return node_hash(root(leaves[:k]), root(leaves[k:]))


def inclusion_proof(leaves: Sequence[bytes], index: int, size: int | None = None) -> list[bytes]:
    """PATH(m, D[n]): the audit path of leaf ``index`` in the tree of the first ``size`` leaves."""
    n = len(leaves) if size is None else size
    if not 0 <= index < n <= len(leaves):
        raise ValueError(f"no leaf {index} in a tree of {n}")
    return _path(index, leaves[:n])


def _path(m: int, d: Sequence[bytes]) -> list[bytes]:
    n = len(d)
    if n == 1:
        return []
    k = _split(n)
    if m < k:
        return _path(m, d[:k]) + [root(d[k:])]
    return _path(m - k, d[k:]) + [root(d[:k])]


def consistency_proof(leaves: Sequence[bytes], first: int, second: int | None = None) -> list[bytes]:
    """PROOF(m, D[n]): that the tree of ``first`` leaves is a prefix of the tree of ``second``."""
    n = len(leaves) if second is None else second
    if not 0 <= first <= n <= len(leaves):
        raise ValueError(f"no consistency proof from {first} to {n}")
    if first == 0 or first == n:
        return []
    return _subproof(first, leaves[:n], True)


def _subproof(m: int, d: Sequence[bytes], complete: bool) -> list[bytes]:
    n = len(d)
    if m == n:
        return [] if complete else [root(d)]
    k = _split(n)
    if m <= k:
        return _subproof(m, d[:k], complete) + [root(d[k:])]
    return _subproof(m - k, d[k:], False) + [root(d[:k])]


def verify_inclusion(leaf: bytes, index: int, size: int, proof: Sequence[bytes], root_hash: bytes) -> bool:
    """RFC 9162 §2.1.3.2."""
    if not 0 <= index < size or any(len(p) != 32 for p in proof):
        return False
    fn, sn = index, size - 1
    r = leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root_hash


def verify_consistency(first: int, second: int, first_root: bytes, second_root: bytes, proof: Sequence[bytes]) -> bool:
    """RFC 9162 §2.1.4.2 (with its two trivial cases: an empty first tree, equal sizes)."""
    if not 0 <= first <= second or any(len(p) != 32 for p in proof):
        return False
    if first == 0:
        return first_root == EMPTY_ROOT and not proof
    if first == second:
        return first_root == second_root and not proof
    if not proof:
        return False
    path = list(proof)
    if first & (first - 1) == 0:  # an exact power of two
        path.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == first_root and sr == second_root and sn == 0


# ---------------------------------------------------------------------- frontier


def frontier_append(frontier: list[bytes], size: int, leaf: bytes) -> list[bytes]:
    """The frontier of the tree of ``size + 1`` leaves, from that of ``size`` leaves.

    The frontier lists the roots of the perfect subtrees of the tree, largest (leftmost)
    first: one per set bit of ``size``."""
    out = list(frontier)
    node = leaf
    n = size
    while n & 1:
        node = node_hash(out.pop(), node)
        n >>= 1
    out.append(node)
    return out


def frontier_root(frontier: Sequence[bytes]) -> bytes:
    """MTH of the tree whose frontier this is (the right-most subtrees fold first)."""
    if not frontier:
        return EMPTY_ROOT
    r = frontier[-1]
    for node in reversed(frontier[:-1]):
        r = node_hash(node, r)
    return r


def frontier_append_nodes(
    frontier: list[bytes], size: int, leaf: bytes
) -> tuple[list[bytes], list[tuple[int, int, bytes]]]:
    """:func:`frontier_append` plus the complete subtrees the new leaf closes, as
    ``(level, index, hash)``: the node of level ``l`` and index ``i`` is the root of leaves
    ``i·2^l .. (i+1)·2^l - 1``. Stored at append time, they make every proof O(log n) reads."""
    out = list(frontier)
    node = leaf
    n, index, level = size, size, 0
    made: list[tuple[int, int, bytes]] = []
    while n & 1:
        node = node_hash(out.pop(), node)
        n >>= 1
        index >>= 1
        level += 1
        made.append((level, index, node))
    out.append(node)
    return out, made


class _Ranges:
    """RFC 9162 root / inclusion / consistency over perfect aligned subtrees given by
    :meth:`_perfect` (level, index) — the storage decides where those come from."""

    size: int

    def _perfect(self, level: int, index: int) -> bytes:
        raise NotImplementedError

    def _range(self, lo: int, hi: int) -> bytes:
        n = hi - lo
        if n == 0:
            return EMPTY_ROOT
        level = n.bit_length() - 1
        if n == 1 << level and lo % n == 0:
            return self._perfect(level, lo >> level)
        k = _split(n)
        return node_hash(self._range(lo, lo + k), self._range(lo + k, hi))

    def root(self, size: int | None = None) -> bytes:
        return self._range(0, self.size if size is None else size)

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        n = self.size if size is None else size
        if not 0 <= index < n <= self.size:
            raise ValueError(f"no leaf {index} in a tree of {n}")
        out: list[bytes] = []
        lo, hi, m = 0, n, index
        while hi - lo > 1:
            k = _split(hi - lo)
            if m < k:
                out.append(self._range(lo + k, hi))
                hi = lo + k
            else:
                out.append(self._range(lo, lo + k))
                lo, m = lo + k, m - k
        return out[::-1]

    def consistency_proof(self, first: int, second: int | None = None) -> list[bytes]:
        n = self.size if second is None else second
        if not 0 <= first <= n <= self.size:
            raise ValueError(f"no consistency proof from {first} to {n}")
        if first == 0 or first == n:
            return []
        out: list[bytes] = []
        lo, hi, m, complete = 0, n, first, True
        while True:
            if m == hi - lo:
                if not complete:
                    out.append(self._range(lo, hi))
                break
            k = _split(hi - lo)
            if m <= k:
                out.append(self._range(lo + k, hi))
                hi = lo + k
            else:
                out.append(self._range(lo, lo + k))
                lo, m, complete = lo + k, m - k, False
        return out[::-1]


class Tree(_Ranges):
    """The leaves with every complete aligned subtree's root cached (levels), so a root, an
    inclusion proof or a consistency proof of any size costs O(log² n) hashes after one O(n)
    build (the plain functions above recompute subtrees: O(n) per proof)."""

    def __init__(self, leaves: Sequence[bytes]) -> None:
        self.levels: list[list[bytes]] = [list(leaves)]
        while len(self.levels[-1]) > 1:
            below = self.levels[-1]
            self.levels.append([node_hash(below[i], below[i + 1]) for i in range(0, len(below) - 1, 2)])
        self.size = len(self.levels[0])

    def _perfect(self, level: int, index: int) -> bytes:
        return self.levels[level][index]


NodeFetch = Callable[[Sequence[tuple[int, int]]], dict[tuple[int, int], bytes]]
"""Reads stored complete subtrees: (level, index) -> hash (level 0: the leaf hashes)."""


class StoredTree(_Ranges):
    """Proofs from stored complete-subtree nodes (written at append time,
    :func:`frontier_append_nodes`): a proof needs O(log n) of them — the perfect subtrees its
    ranges decompose into — read in one :data:`NodeFetch` call, never the leaves."""

    def __init__(self, size: int, fetch: NodeFetch) -> None:
        self.size = size
        self.fetch = fetch
        self._known: dict[tuple[int, int], bytes] = {}
        self._wanted: set[tuple[int, int]] | None = None
        self.reads = 0
        """How many nodes were read from storage (for tests and the benchmark)."""

    def _perfect(self, level: int, index: int) -> bytes:
        key = (level, index)
        if key in self._known:
            return self._known[key]
        if self._wanted is None:
            raise LookupError(key)
        self._wanted.add(key)
        return EMPTY_ROOT  # a placeholder: the first pass only plans the reads

    def _planned(self, compute: Callable[[], list[bytes]]) -> list[bytes]:
        self._wanted = set()
        try:
            compute()
            wanted = sorted(self._wanted)
        finally:
            self._wanted = None
        if wanted:
            got = self.fetch(wanted)
            self.reads += len(wanted)
            missing = [k for k in wanted if k not in got]
            if missing:
                raise ValueError(f"the stored tree lacks node(s) {missing[:3]} (level, index)")
            self._known.update(got)
        return compute()

    def root(self, size: int | None = None) -> bytes:
        return self._planned(lambda: [_Ranges.root(self, size)])[0]

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        return self._planned(lambda: _Ranges.inclusion_proof(self, index, size))

    def consistency_proof(self, first: int, second: int | None = None) -> list[bytes]:
        return self._planned(lambda: _Ranges.consistency_proof(self, first, second))
