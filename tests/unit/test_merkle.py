"""RFC 9162 Merkle tree: the RFC 6962 reference vectors, and every proof of trees up to 40
leaves verifying while mangled ones do not."""

from __future__ import annotations

import pytest

from tongxiu.events import merkle

DATA = [bytes.fromhex(h) for h in (
    "", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f",
)]
ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
LEAVES = [merkle.leaf_hash(d) for d in DATA]


def test_reference_roots_and_frontier() -> None:
    frontier: list[bytes] = []
    for n in range(9):
        assert merkle.root(LEAVES[:n]).hex() == ROOTS[n]
        assert merkle.frontier_root(frontier).hex() == ROOTS[n]
        if n < 8:
            frontier = merkle.frontier_append(frontier, n, LEAVES[n])


def test_reference_inclusion_proofs() -> None:
    assert [p.hex() for p in merkle.inclusion_proof(LEAVES, 0, 8)] == [
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ]
    assert [p.hex() for p in merkle.inclusion_proof(LEAVES, 5, 8)] == [
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ]


BIG = [merkle.leaf_hash(f"leaf {i}".encode()) for i in range(40)]
BIG_ROOTS = [merkle.root(BIG[:n]) for n in range(41)]


def test_every_inclusion_proof_verifies_and_mangled_ones_do_not() -> None:
    checked = 0
    for n in range(1, 41):
        for i in range(n):
            proof = merkle.inclusion_proof(BIG, i, n)
            assert merkle.verify_inclusion(BIG[i], i, n, proof, BIG_ROOTS[n])
            assert not merkle.verify_inclusion(BIG[(i + 1) % 40], i, n, proof, BIG_ROOTS[n])
            if proof:
                assert not merkle.verify_inclusion(BIG[i], i, n, proof[:-1], BIG_ROOTS[n])
                assert not merkle.verify_inclusion(BIG[i], i, n, [*proof, BIG[0]], BIG_ROOTS[n])
                flipped = [bytes([proof[0][0] ^ 1]) + proof[0][1:], *proof[1:]]
                assert not merkle.verify_inclusion(BIG[i], i, n, flipped, BIG_ROOTS[n])
            if n > 1:
                assert not merkle.verify_inclusion(BIG[i], (i + 1) % n, n, proof, BIG_ROOTS[n])
            checked += 1
    assert checked == 820


def test_every_consistency_proof_verifies_and_forks_do_not() -> None:
    forked = [*BIG[:5], merkle.leaf_hash(b"forged"), *BIG[6:]]
    for n in range(0, 41):
        for m in range(0, n + 1):
            proof = merkle.consistency_proof(BIG, m, n)
            assert merkle.verify_consistency(m, n, BIG_ROOTS[m], BIG_ROOTS[n], proof), (m, n)
            if 0 < m < n:
                assert not merkle.verify_consistency(m, n, BIG_ROOTS[m], BIG_ROOTS[n], proof[:-1])
                assert not merkle.verify_consistency(m, n, BIG_ROOTS[m], BIG_ROOTS[n - 1], proof)
                if m > 5:  # history before m rewritten: no proof from the real m-root
                    fork_proof = merkle.consistency_proof(forked, m, n)
                    assert not merkle.verify_consistency(m, n, BIG_ROOTS[m], merkle.root(forked[:n]), fork_proof)


def test_truncated_log_is_not_an_extension() -> None:
    # a checkpoint at 30 and a log cut to 20 leaves: no proof can go backwards
    assert not merkle.verify_consistency(30, 20, BIG_ROOTS[30], BIG_ROOTS[20], [])
    with pytest.raises(ValueError):
        merkle.consistency_proof(BIG[:20], 30)


def test_cached_tree_gives_the_same_roots_and_proofs_as_the_rfc_recursion() -> None:
    tree = merkle.Tree(BIG)
    for n in range(0, 41):
        assert tree.root(n) == BIG_ROOTS[n]
        for i in range(n):
            assert tree.inclusion_proof(i, n) == merkle.inclusion_proof(BIG, i, n)
        for m in range(n + 1):
            assert tree.consistency_proof(m, n) == merkle.consistency_proof(BIG, m, n), (m, n)
    assert [p.hex() for p in merkle.Tree(LEAVES).inclusion_proof(5, 8)][0].startswith("bc1a0643")


def _stored_nodes(leaves: list[bytes]) -> dict[tuple[int, int], bytes]:
    """What an append-only store keeps: every leaf and every node the frontier closed."""
    nodes: dict[tuple[int, int], bytes] = {}
    frontier: list[bytes] = []
    for n, leaf in enumerate(leaves):
        nodes[(0, n)] = leaf
        frontier, made = merkle.frontier_append_nodes(frontier, n, leaf)
        nodes.update({(lv, i): h for lv, i, h in made})
    assert frontier == _frontier(leaves)  # the same frontier as the plain append
    return nodes


def _frontier(leaves: list[bytes]) -> list[bytes]:
    f: list[bytes] = []
    for n, leaf in enumerate(leaves):
        f = merkle.frontier_append(f, n, leaf)
    return f


def test_stored_nodes_are_the_complete_subtrees() -> None:
    nodes = _stored_nodes(BIG)
    for (level, index), h in nodes.items():
        assert h == merkle.root(BIG[index << level:(index + 1) << level])
    # every complete aligned subtree of 40 leaves is there, and nothing else
    expected = {(lv, i) for lv in range(6) for i in range(len(BIG) >> lv)}
    assert set(nodes) == expected


def test_proofs_from_stored_nodes_equal_the_rfc_and_read_log_n_nodes() -> None:
    nodes = _stored_nodes(BIG)
    reads: list[int] = []

    def fetch(keys: object) -> dict[tuple[int, int], bytes]:
        keys = list(keys)  # type: ignore[call-overload]
        reads.append(len(keys))
        return {k: nodes[k] for k in keys}

    for n in range(1, 41):
        bound = 2 * (n - 1).bit_length() + 2
        assert merkle.StoredTree(n, fetch).root() == BIG_ROOTS[n]
        for i in range(n):
            tree = merkle.StoredTree(n, fetch)
            assert tree.inclusion_proof(i, n) == merkle.inclusion_proof(BIG, i, n)
            assert tree.reads <= bound, (i, n, tree.reads)
        for m in range(n + 1):
            tree = merkle.StoredTree(n, fetch)
            assert tree.consistency_proof(m, n) == merkle.consistency_proof(BIG, m, n), (m, n)
            assert tree.reads <= bound, (m, n, tree.reads)
    assert max(reads) <= 2 * 6 + 2


def test_a_missing_stored_node_is_an_error_not_a_wrong_proof() -> None:
    nodes = _stored_nodes(BIG[:16])
    del nodes[(3, 1)]
    with pytest.raises(ValueError, match="lacks node"):
        merkle.StoredTree(16, lambda keys: {k: nodes[k] for k in keys if k in nodes}).inclusion_proof(0, 16)
