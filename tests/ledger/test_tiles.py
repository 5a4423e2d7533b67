"""C2SP tlog-tiles paths, tile contents and entry bundles."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pollwatch.errors import NotFoundError, VerificationError
from pollwatch.ledger.merkle import MemoryHashes, leaf_hash, root_from_leaves
from pollwatch.ledger.tiles import (
    ENTRIES,
    TileCache,
    TileRef,
    available_width,
    decode_entries,
    encode_entries,
    hash_tile,
    list_tiles,
    parse_tile_path,
    tile_path,
    tile_root,
    tile_root_index,
    write_atomic,
)


def test_tile_paths_follow_the_spec_examples() -> None:
    # tlog-tiles: "the tile index 1234067 is encoded as x001/x234/067".
    assert tile_path(0, 1234067) == "tile/0/x001/x234/067"
    assert tile_path(1, 5, 17) == "tile/1/005.p/17"
    assert parse_tile_path("tile/entries/x001/000") == TileRef(ENTRIES, 1000)


@given(st.integers(0, 10**12), st.integers(0, 5), st.integers(1, 256))
def test_tile_paths_round_trip(index: int, level: int, width: int) -> None:
    assert parse_tile_path(tile_path(level, index, width)) == TileRef(level, index, width)


@pytest.mark.parametrize(
    "path", ["tile/0/1", "tile/0/001.p/256", "tile/0/001.p/0", "tile/x/000", "tile/0/x1/000"]
)
def test_bad_tile_paths_are_refused(path: str) -> None:
    with pytest.raises(NotFoundError, match="not a tile path"):
        parse_tile_path(path)


def test_level_one_tile_hashes_are_roots_of_256_leaf_subtrees() -> None:
    leaves = [leaf_hash(i.to_bytes(3, "big")) for i in range(256 * 3 + 10)]
    tree = MemoryHashes.from_leaves(leaves)
    tile = hash_tile(TileRef(1, 0, 3), tree)
    # Independent: each hash is the RFC recursive MTH of one 256-leaf block.
    assert tile == b"".join(root_from_leaves(leaves[i * 256 : (i + 1) * 256]) for i in range(3))
    assert available_width(TileRef(1, 0), len(leaves)) == 3
    refs = list(list_tiles(len(leaves)))
    assert TileRef(0, 3, 10) in refs
    assert TileRef(1, 0, 3) in refs
    assert TileRef(ENTRIES, 3, 10) in refs


def test_entry_bundles_round_trip_and_refuse_truncation() -> None:
    entries = [b"", b"a", b"x" * 300]
    data = encode_entries(entries)
    assert data[:2] == b"\x00\x00"
    assert decode_entries(data) == entries
    with pytest.raises(VerificationError, match="truncated"):
        decode_entries(data[:-1])


def test_tile_root_is_the_stored_hash_of_the_subtree_above() -> None:
    entries = [i.to_bytes(2, "big") for i in range(600)]
    tree = MemoryHashes()
    tree.extend_entries(entries)
    for ref in (TileRef(0, 1), TileRef(ENTRIES, 1)):
        data = encode_entries(entries[256:512]) if ref.level == ENTRIES else hash_tile(ref, tree)
        assert tile_root(ref, data) == root_from_leaves([leaf_hash(e) for e in entries[256:512]])
        assert tile_root(ref, data) == tree.read_hashes([tile_root_index(ref)])[0]
    with pytest.raises(VerificationError, match="not a full hash tile"):
        tile_root(TileRef(0, 0), hash_tile(TileRef(0, 0), tree)[:-1])
    with pytest.raises(VerificationError, match="not a full entry bundle"):
        tile_root(TileRef(ENTRIES, 0), encode_entries(entries[:255]))


def test_write_atomic_replaces_whole_files_readable_by_a_web_server(tmp_path: Path) -> None:
    target = tmp_path / "tile" / "0" / "000"
    write_atomic(target, b"old")
    write_atomic(target, b"new")
    assert target.read_bytes() == b"new"
    assert target.stat().st_mode & 0o777 == 0o644
    assert [p.name for p in target.parent.iterdir()] == ["000"]  # no temp file left


def test_tile_cache_keeps_only_full_tiles(tmp_path: Path) -> None:
    cache = TileCache(tmp_path)
    cache.put(TileRef(ENTRIES, 3), b"bundle")
    assert cache.get(TileRef(ENTRIES, 3)) == b"bundle"
    assert (tmp_path / "tile/entries/003").read_bytes() == b"bundle"
    assert cache.get(TileRef(0, 3)) is None
    with pytest.raises(ValueError, match="only full tiles"):
        cache.put(TileRef(0, 3, 7), b"partial")
