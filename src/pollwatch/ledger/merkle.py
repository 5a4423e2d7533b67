"""RFC 9162 Merkle tree hashing, proof generation from stored hashes, and proof verification.

Pure code: no SQL, no I/O. Stored hashes use the post-order layout of the Go checksum database
(``golang.org/x/mod/sumdb/tlog``), so a proof or a root reads at most about ``2·log2(n)`` hashes
through a :class:`HashReader`.

>>> leaves = [leaf_hash(bytes([i])) for i in range(5)]
>>> root = root_from_leaves(leaves)
>>> proof = inclusion_proof(3, 5, MemoryHashes.from_leaves(leaves))
>>> verify_inclusion(leaves[3], 3, 5, proof, root)

References
----------
RFC 9162 §2.1 (Merkle Tree Hash, §2.1.3 inclusion, §2.1.4 consistency);
R. Cox, "Transparent Logs for Skeptical Clients" (2019), https://research.swtch.com/tlog;
S. Crosby and D. Wallach, "Efficient Data Structures for Tamper-Evident Logging" (2009), §3.3;
transparency-dev/merkle ``proof/verify.go`` @417fb0c for the edge-case policy.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from typing import Protocol

from pollwatch.errors import VerificationError

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()
"""MTH({}) = SHA-256() (RFC 9162 §2.1.1)."""

_sha256 = hashlib.sha256
# Copying a hash state that has already absorbed the one-byte domain prefix is about 1.5x faster than
# hashing ``prefix + data``: it skips concatenating the data into a new bytes object.
_LEAF_STATE = hashlib.sha256(b"\x00")
_NODE_STATE = hashlib.sha256(b"\x01")


class HashReader(Protocol):
    """Anything that returns stored hashes by their post-order index."""

    def read_hashes(self, indexes: Sequence[int]) -> list[bytes]: ...


def leaf_hash(data: bytes) -> bytes:
    """Return SHA-256(0x00 || data), the hash of one log entry (RFC 9162 §2.1.1)."""
    h = _LEAF_STATE.copy()
    h.update(data)
    return h.digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Return SHA-256(0x01 || left || right), an interior node (RFC 9162 §2.1.1)."""
    h = _NODE_STATE.copy()
    h.update(left)
    h.update(right)
    return h.digest()


def root_from_leaves(leaf_hashes: Sequence[bytes]) -> bytes:
    """Return MTH over leaf hashes by the RFC's recursive definition (for tests and re-derivation)."""
    n = len(leaf_hashes)
    if n == 0:
        return EMPTY_ROOT
    if n == 1:
        return leaf_hashes[0]
    k = _split(n)
    return node_hash(root_from_leaves(leaf_hashes[:k]), root_from_leaves(leaf_hashes[k:]))


def stored_hash_index(level: int, n: int) -> int:
    """Return the post-order storage index of the n-th hash at a level (Go ``StoredHashIndex``).

    Go walks down to level 0 (``n = 2n+1`` per level) and sums ``n + n/2 + n/4 + ...``; that sum is
    ``2n - popcount(n)``, computed here in constant time.
    """
    m = ((n + 1) << level) - 1
    return 2 * m - m.bit_count() + level


def stored_hash_count(size: int) -> int:
    """Return how many hashes a tree of ``size`` leaves stores (Go ``StoredHashCount``)."""
    if size == 0:
        return 0
    count = stored_hash_index(0, size - 1) + 1
    i = size - 1
    while i & 1:
        count += 1
        i >>= 1
    return count


def new_stored_hashes(index: int, leaf: bytes, reader: HashReader) -> list[bytes]:
    """Return the hashes to store after leaf ``index``: its leaf hash plus every subtree it completes.

    They belong at consecutive storage indexes starting at ``stored_hash_index(0, index)``.
    """
    m = ((index + 1) & -(index + 1)).bit_length() - 1  # trailing zeros of index+1
    siblings = reader.read_hashes([stored_hash_index(i, (index >> i) - 1) for i in range(m)])
    out = [leaf]
    h = leaf
    for sibling in siblings:
        h = node_hash(sibling, h)
        out.append(h)
    return out


def tree_root(size: int, reader: HashReader) -> bytes:
    """Return MTH of the first ``size`` leaves from at most ~log2(size) stored hashes."""
    if size == 0:
        return EMPTY_ROOT
    return _range_hashes([(0, size)], reader)[0]


def inclusion_proof(index: int, size: int, reader: HashReader) -> list[bytes]:
    """Return PATH(index, D[0:size]) of RFC 9162 §2.1.3.1, leaf to root."""
    if not 0 <= index < size:
        raise VerificationError(
            "no inclusion proof for that index", expected=f"0 <= index < {size}", found=str(index)
        )
    ranges: list[tuple[int, int]] = []
    lo, hi = 0, size
    while hi - lo > 1:
        mid = lo + (1 << ((hi - lo - 1).bit_length() - 1))  # lo + k, k = largest power of 2 < n
        if index < mid:
            ranges.append((mid, hi))
            hi = mid
        else:
            ranges.append((lo, mid))
            lo = mid
    return _range_hashes(ranges[::-1], reader)


def consistency_proof(first: int, second: int, reader: HashReader) -> list[bytes]:
    """Return PROOF(first, D[0:second]) of RFC 9162 §2.1.4.1, deepest hash first."""
    if not 0 < first <= second:
        raise VerificationError(
            "no consistency proof between those sizes",
            expected="0 < first <= second",
            found=f"first={first}, second={second}",
        )
    ranges: list[tuple[int, int]] = []
    m, lo, hi, complete = first, 0, second, True
    while True:
        if m == hi - lo:
            if not complete:
                ranges.append((lo, hi))
            break
        k = _split(hi - lo)
        if m <= k:
            ranges.append((lo + k, hi))
            hi = lo + k
        else:
            ranges.append((lo, lo + k))
            m, lo, complete = m - k, lo + k, False
    return _range_hashes(ranges[::-1], reader)


def verify_inclusion(leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes) -> None:
    """Check an inclusion proof literally as RFC 9162 §2.1.3.2; raise VerificationError if it fails."""
    _check_hash(leaf, "leaf hash")
    _check_hash(root, "root hash")
    if not 0 <= index < size:  # step 1
        raise VerificationError(
            "the leaf index is outside the tree", expected=f"index < {size}", found=str(index)
        )
    _check_proof_shape(proof, _inclusion_length(index, size))
    fn, sn, r = index, size - 1, leaf  # steps 2-3
    for p in proof:  # step 4
        if sn == 0:  # 4a
            raise VerificationError("the inclusion proof is too long", found=f"{len(proof)} hashes")
        if fn & 1 or fn == sn:  # 4b
            r = _sha256(b"\x01" + p + r).digest()  # 4b.i
            if not fn & 1:  # 4b.ii
                while not fn & 1 and fn != 0:
                    fn, sn = fn >> 1, sn >> 1
        else:
            r = _sha256(b"\x01" + r + p).digest()
        fn, sn = fn >> 1, sn >> 1  # 4c
    if sn != 0 or r != root:  # step 5
        raise VerificationError(
            "the inclusion proof does not lead to the root",
            expected=root.hex(),
            found=r.hex() if sn == 0 else f"a path ending at level {sn}",
        )


def verify_consistency(
    first: int, second: int, proof: Sequence[bytes], first_root: bytes, second_root: bytes
) -> None:
    """Check a consistency proof literally as RFC 9162 §2.1.4.2 with the transparency-dev edge policy."""
    if first == 0 or second < first:
        raise VerificationError(
            "a consistency proof needs 0 < first <= second",
            expected="0 < first <= second",
            found=f"first={first}, second={second}",
        )
    if first == second:
        _check_proof_shape(proof, 0)
        if first_root != second_root:
            raise VerificationError(
                "two trees of the same size have different roots",
                expected=first_root.hex(),
                found=second_root.hex(),
            )
        return
    _check_hash(first_root, "first root")
    _check_hash(second_root, "second root")
    path = list(proof)
    shift = (first & -first).bit_length() - 1
    if first == 1 << shift:  # step 2: first is an exact power of two
        path.insert(0, first_root)
        _check_proof_shape(proof, _inclusion_length(first - 1, second) - shift)
    else:
        _check_proof_shape(proof, 1 + _inclusion_length(first - 1, second) - shift)
    fn, sn = first - 1, second - 1  # step 3
    while fn & 1:  # step 4
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]  # step 5
    for c in path[1:]:  # step 6
        if sn == 0:  # 6a
            raise VerificationError("the consistency proof is too long", found=f"{len(proof)} hashes")
        if fn & 1 or fn == sn:  # 6b
            fr, sr = node_hash(c, fr), node_hash(c, sr)  # 6b.i
            if not fn & 1:  # 6b.ii
                while not fn & 1 and fn != 0:
                    fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1  # 6c
    if sn != 0 or fr != first_root or sr != second_root:  # step 7
        raise VerificationError(
            "the consistency proof does not connect the two roots",
            expected=f"{first_root.hex()} -> {second_root.hex()}",
            found=f"{fr.hex()} -> {sr.hex()}",
        )


class MemoryHashes:
    """Stored hashes in a list: the reference HashReader for tests, benchmarks and bundle checks.

    Appends keep the right edge of the tree (the roots of its perfect subtrees) on a stack, so a leaf
    costs one leaf hash plus one node hash per subtree it completes, and no index arithmetic.
    """

    def __init__(self) -> None:
        self.hashes: list[bytes] = []
        self.size = 0
        self._edge: list[bytes] = []

    @classmethod
    def from_leaves(cls, leaf_hashes: Iterable[bytes]) -> MemoryHashes:
        tree = cls()
        for leaf in leaf_hashes:
            tree.append(leaf)
        return tree

    def append(self, leaf: bytes) -> int:
        """Add one leaf hash; return its index."""
        index = self.size
        self.hashes.extend(append_to_edge(self._edge, index, leaf))
        self.size = index + 1
        return index

    def extend_entries(self, entries: Sequence[bytes]) -> range:
        """Add entries (not hashes) in bulk; return their indices."""
        first = self.size
        self.hashes.extend(append_entries(self._edge, first, entries))
        self.size = first + len(entries)
        return range(first, self.size)

    def read_hashes(self, indexes: Sequence[int]) -> list[bytes]:
        hashes = self.hashes
        return [hashes[i] for i in indexes]

    def root(self) -> bytes:
        return tree_root(self.size, self)


def append_to_edge(edge: list[bytes], index: int, leaf: bytes) -> list[bytes]:
    """Add leaf ``index`` to a right-edge stack; return the hashes to store (leaf, then completed nodes).

    ``edge`` holds the roots of the perfect subtrees of the tree of ``index`` leaves, largest first
    (see :func:`edge_indexes`); it is updated in place.
    """
    out = [leaf]
    h = leaf
    n = index
    while n & 1:
        h = node_hash(edge.pop(), h)
        out.append(h)
        n >>= 1
    edge.append(h)
    return out


def append_entries(edge: list[bytes], first: int, entries: Iterable[bytes]) -> list[bytes]:
    """Hash entries as leaves ``first, first+1, ...`` onto a right-edge stack; return the hashes to store.

    The same as :func:`append_to_edge` over each entry's leaf hash, in one tight loop (bulk appends).
    """
    out: list[bytes] = []
    push = out.append
    pop = edge.pop
    leaf_state = _LEAF_STATE.copy
    node_state = _NODE_STATE.copy
    index = first
    for entry in entries:
        h = leaf_state()
        h.update(entry)
        d = h.digest()
        push(d)
        n = index
        while n & 1:
            h = node_state()
            h.update(pop())
            h.update(d)
            d = h.digest()
            push(d)
            n >>= 1
        edge.append(d)
        index += 1
    return out


def edge_indexes(size: int) -> list[int]:
    """Return the storage indexes of the roots of the perfect subtrees of a tree of ``size`` leaves."""
    return [stored_hash_index(level, n) for level, n in _perfect_pieces(0, size)]


def _split(n: int) -> int:
    """Return k, the largest power of two smaller than n (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def _perfect_pieces(lo: int, hi: int) -> list[tuple[int, int]]:
    """Split [lo, hi) into aligned perfect subtrees as (level, n), largest first (Go ``subTreeIndex``)."""
    pieces = []
    while lo < hi:
        level = (hi - lo).bit_length() - 1
        while lo & ((1 << level) - 1):
            level -= 1
        pieces.append((level, lo >> level))
        lo += 1 << level
    return pieces


def _range_hashes(ranges: Sequence[tuple[int, int]], reader: HashReader) -> list[bytes]:
    """Return MTH(D[lo:hi]) for each range, reading every needed stored hash in one call."""
    flat: list[int] = []
    counts: list[int] = []
    for lo, hi in ranges:
        width = hi - lo
        if width & (width - 1) == 0 and lo % width == 0:  # a perfect subtree: one stored hash
            level = width.bit_length() - 1
            m = (((lo >> level) + 1) << level) - 1
            flat.append(2 * m - m.bit_count() + level)
            counts.append(1)
        else:  # the ragged right edge: fold its perfect pieces
            pieces = _perfect_pieces(lo, hi)
            flat.extend(stored_hash_index(level, n) for level, n in pieces)
            counts.append(len(pieces))
    hashes = reader.read_hashes(flat)
    if len(hashes) == len(ranges):
        return hashes
    out: list[bytes] = []
    at = 0
    for count in counts:
        part = hashes[at : at + count]
        at += count
        h = part[-1]
        for left in reversed(part[:-1]):
            h = node_hash(left, h)
        out.append(h)
    return out


def _inclusion_length(index: int, size: int) -> int:
    """Return inner + border, the exact length of an inclusion proof (transparency-dev decompInclProof)."""
    inner = (index ^ (size - 1)).bit_length()
    border = bin(index >> inner).count("1")
    return inner + border


def _check_proof_shape(proof: Sequence[bytes], expected: int) -> None:
    if len(proof) != expected:
        raise VerificationError(
            "the proof has the wrong number of hashes", expected=str(expected), found=str(len(proof))
        )
    if any(len(p) != HASH_SIZE for p in proof):
        for i, p in enumerate(proof):
            _check_hash(p, f"proof hash {i}")


def _check_hash(value: bytes, what: str) -> None:
    if len(value) != HASH_SIZE:
        raise VerificationError(
            f"the {what} is not a SHA-256 hash", expected="32 bytes", found=f"{len(value)} bytes"
        )
