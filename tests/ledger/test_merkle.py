"""The Merkle core against the transparency-dev/merkle vectors and the RFC 6962 reference tree."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pollwatch.errors import VerificationError
from pollwatch.ledger.merkle import (
    EMPTY_ROOT,
    MemoryHashes,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    root_from_leaves,
    stored_hash_count,
    tree_root,
    verify_consistency,
    verify_inclusion,
)
from tests.conftest import require_shared_data

# RFC 6962 reference leaves and roots: transparency-dev/merkle testonly/constants.go @417fb0c
# (also listed in /work/shared/data/merkle-test-vectors/README.md).
RFC6962_LEAVES = [
    bytes.fromhex(h)
    for h in [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ]
]
RFC6962_ROOT_8 = "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"
RFC6962_LEAF_0 = "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"


def _vectors(kind: str) -> list[Path]:
    root = require_shared_data("merkle-test-vectors", "testdata", kind)
    return sorted(root.rglob("*.json"))


def _b64(value: str) -> bytes:
    return base64.b64decode(value)


def test_rfc6962_reference_tree_root_matches() -> None:
    leaves = [leaf_hash(d) for d in RFC6962_LEAVES]
    assert leaves[0].hex() == RFC6962_LEAF_0
    assert root_from_leaves(leaves).hex() == RFC6962_ROOT_8
    assert MemoryHashes.from_leaves(leaves).root().hex() == RFC6962_ROOT_8
    assert tree_root(0, MemoryHashes()) == EMPTY_ROOT


def test_inclusion_vectors_all_agree() -> None:
    paths = _vectors("inclusion")
    assert len(paths) > 50
    for path in paths:
        case = json.loads(path.read_text())
        proof = [_b64(p) for p in case["proof"] or []]
        args = (_b64(case["leafHash"]), case["leafIdx"], case["treeSize"], proof, _b64(case["root"]))
        if case["wantErr"]:
            with pytest.raises(VerificationError):
                verify_inclusion(*args)
        else:
            verify_inclusion(*args)


def test_consistency_vectors_all_agree() -> None:
    paths = _vectors("consistency")
    assert len(paths) > 50
    for path in paths:
        case = json.loads(path.read_text())
        proof = [_b64(p) for p in case["proof"] or []]
        args = (case["size1"], case["size2"], proof, _b64(case["root1"]), _b64(case["root2"]))
        if case["wantErr"]:
            with pytest.raises(VerificationError):
                verify_consistency(*args)
        else:
            verify_consistency(*args)


def test_generated_proofs_equal_the_vectors() -> None:
    tree = MemoryHashes.from_leaves(leaf_hash(d) for d in RFC6962_LEAVES)
    checked = 0
    for path in _vectors("inclusion"):
        case = json.loads(path.read_text())
        if case["wantErr"] or case["root"] != base64.b64encode(_root(case["treeSize"])).decode():
            continue
        want = [_b64(p) for p in case["proof"] or []]
        assert inclusion_proof(case["leafIdx"], case["treeSize"], tree) == want, path
        checked += 1
    assert checked >= 5


def _root(size: int) -> bytes:
    return root_from_leaves([leaf_hash(d) for d in RFC6962_LEAVES[:size]])


def test_stored_hash_count_is_about_two_per_leaf() -> None:
    tree = MemoryHashes.from_leaves(leaf_hash(i.to_bytes(2, "big")) for i in range(1000))
    assert len(tree.hashes) == stored_hash_count(1000)
    assert stored_hash_count(1) == 1
    assert stored_hash_count(2) == 3


def test_inclusion_proof_refuses_index_outside_tree() -> None:
    with pytest.raises(VerificationError, match="index"):
        inclusion_proof(5, 5, MemoryHashes())


def test_consistency_from_empty_tree_is_refused() -> None:
    with pytest.raises(VerificationError, match="first <= second"):
        verify_consistency(0, 3, [], EMPTY_ROOT, EMPTY_ROOT)


_TREE = MemoryHashes.from_leaves(leaf_hash(i.to_bytes(4, "big")) for i in range(300))
_LEAVES = [leaf_hash(i.to_bytes(4, "big")) for i in range(300)]


@given(st.integers(1, 300).flatmap(lambda n: st.tuples(st.just(n), st.integers(0, n - 1))))
def test_inclusion_proofs_verify_for_random_sizes(case: tuple[int, int]) -> None:
    size, index = case
    root = root_from_leaves(_LEAVES[:size])
    assert tree_root(size, _TREE) == root
    verify_inclusion(_LEAVES[index], index, size, inclusion_proof(index, size, _TREE), root)


@given(
    st.integers(1, 300).flatmap(lambda n: st.tuples(st.just(n), st.integers(0, n - 1))),
    st.integers(0, 255),
)
def test_inclusion_proofs_with_a_flipped_bit_fail(case: tuple[int, int], bit: int) -> None:
    size, index = case
    proof = inclusion_proof(index, size, _TREE)
    root = tree_root(size, _TREE)
    leaf = _LEAVES[index]
    if proof:
        i = bit % len(proof)
        flipped = bytearray(proof[i])
        flipped[(bit // 8) % 32] ^= 1 << (bit % 8)
        proof[i] = bytes(flipped)
    else:
        flipped = bytearray(leaf)
        flipped[(bit // 8) % 32] ^= 1 << (bit % 8)
        leaf = bytes(flipped)
    with pytest.raises(VerificationError):
        verify_inclusion(leaf, index, size, proof, root)


@given(st.integers(1, 300).flatmap(lambda n: st.tuples(st.integers(1, n), st.just(n))), st.integers(0, 255))
def test_consistency_proofs_verify_and_flipped_bits_fail(case: tuple[int, int], bit: int) -> None:
    first, second = case
    proof = consistency_proof(first, second, _TREE)
    r1, r2 = tree_root(first, _TREE), tree_root(second, _TREE)
    verify_consistency(first, second, proof, r1, r2)
    flipped = bytearray(r2)
    flipped[bit // 8] ^= 1 << (bit % 8)
    with pytest.raises(VerificationError):
        verify_consistency(first, second, proof, r1, bytes(flipped))
    if proof:
        proof[bit % len(proof)] = bytes(32)
        with pytest.raises(VerificationError):
            verify_consistency(first, second, proof, r1, r2)


def test_bulk_entry_appends_store_the_same_hashes_as_single_appends() -> None:
    entries = [i.to_bytes(4, "big") for i in range(777)]
    single = MemoryHashes.from_leaves(leaf_hash(e) for e in entries)
    bulk = MemoryHashes()
    bulk.extend_entries(entries[:100])
    bulk.extend_entries(entries[100:])
    assert bulk.hashes == single.hashes
    assert bulk.root() == root_from_leaves([leaf_hash(e) for e in entries])
