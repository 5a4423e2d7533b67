"""C2SP tlog-tiles: tile paths, hash tiles read from stored hashes, entry bundles.

A level-``L`` tile ``N`` holds up to 256 hashes; hash ``i`` is MTH of leaves
``[(N·256+i)·256^L, (N·256+i+1)·256^L)``, i.e. the stored hash at tree level ``8L``, index ``N·256+i``.
Entry bundles hold each entry as a big-endian uint16 length and the bytes.

>>> tile_path(0, 1234067)
'tile/0/x001/x234/067'
>>> parse_tile_path('tile/entries/x001/x234/067.p/8')
TileRef(level=-1, index=1234067, width=8)

References
----------
C2SP tlog-tiles (https://c2sp.org/tlog-tiles) @5ba5ee8; R. Cox, "Transparent Logs for Skeptical
Clients", "Tiling a log".
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from pollwatch.errors import NotFoundError, VerificationError
from pollwatch.ledger.merkle import HashReader, stored_hash_index

TILE_HEIGHT = 8
TILE_WIDTH = 1 << TILE_HEIGHT
ENTRIES = -1
"""The ``level`` of an entry bundle in a :class:`TileRef`."""

_PATH = re.compile(r"tile/(entries|[0-9]|[1-5][0-9]|6[0-3])/((?:x[0-9]{3}/)*[0-9]{3})(?:\.p/([0-9]{1,3}))?")


@dataclass(frozen=True)
class TileRef:
    """A tile: level (``ENTRIES`` for an entry bundle), index and width (256 when full)."""

    level: int
    index: int
    width: int = TILE_WIDTH

    @property
    def path(self) -> str:
        return (
            entries_path(self.index, self.width)
            if self.level == ENTRIES
            else tile_path(self.level, self.index, self.width)
        )


def encode_index(n: int) -> str:
    """Return N in 3-digit groups, every group but the last prefixed with ``x``."""
    digits = str(n)
    digits = "0" * (-len(digits) % 3) + digits
    groups = [digits[i : i + 3] for i in range(0, len(digits), 3)]
    return "/".join([f"x{g}" for g in groups[:-1]] + groups[-1:])


def tile_path(level: int, n: int, width: int = TILE_WIDTH) -> str:
    suffix = "" if width == TILE_WIDTH else f".p/{width}"
    return f"tile/{level}/{encode_index(n)}{suffix}"


def entries_path(n: int, width: int = TILE_WIDTH) -> str:
    suffix = "" if width == TILE_WIDTH else f".p/{width}"
    return f"tile/entries/{encode_index(n)}{suffix}"


def parse_tile_path(path: str) -> TileRef:
    """Parse ``tile/<L>/<N>[.p/<W>]`` or ``tile/entries/<N>[.p/<W>]``."""
    match = _PATH.fullmatch(path.strip("/"))
    width = int(match.group(3)) if match and match.group(3) else TILE_WIDTH
    if match is None or not 0 < width <= TILE_WIDTH or (match.group(3) and width == TILE_WIDTH):
        raise NotFoundError(
            "not a tile path", expected="tile/<L>/<N>[.p/<W>] or tile/entries/<N>[.p/<W>]", found=path[:100]
        )
    index = int(match.group(2).replace("x", "").replace("/", ""))
    level = ENTRIES if match.group(1) == "entries" else int(match.group(1))
    return TileRef(level, index, width)


def available_width(ref: TileRef, size: int) -> int:
    """Return how many hashes (or entries) of the tile exist in a tree of ``size`` leaves."""
    level = 0 if ref.level == ENTRIES else ref.level
    count = size >> (TILE_HEIGHT * level)
    return max(0, min(TILE_WIDTH, count - ref.index * TILE_WIDTH))


def check_available(ref: TileRef, size: int) -> None:
    """Raise NotFoundError unless the tile, at its width, is covered by a tree of ``size`` leaves."""
    if available_width(ref, size) < ref.width:
        raise NotFoundError(
            "that tile does not exist yet", found=ref.path, expected=f"a tile within size {size}"
        )


def hash_tile(ref: TileRef, reader: HashReader) -> bytes:
    """Return the concatenated hashes of a hash tile."""
    level = TILE_HEIGHT * ref.level
    base = ref.index * TILE_WIDTH
    return b"".join(reader.read_hashes([stored_hash_index(level, base + i) for i in range(ref.width)]))


def list_tiles(size: int) -> Iterator[TileRef]:
    """Yield every tile (full ones, then the partial right edge) of each level, and the entry bundles."""
    level = 0
    while size >> (TILE_HEIGHT * level) > 0:
        count = size >> (TILE_HEIGHT * level)
        for n in range(count // TILE_WIDTH):
            yield TileRef(level, n)
        if count % TILE_WIDTH:
            yield TileRef(level, count // TILE_WIDTH, count % TILE_WIDTH)
        level += 1
    for n in range(size // TILE_WIDTH):
        yield TileRef(ENTRIES, n)
    if size % TILE_WIDTH:
        yield TileRef(ENTRIES, size // TILE_WIDTH, size % TILE_WIDTH)


def encode_entries(entries: Sequence[bytes]) -> bytes:
    """Return an entry bundle: each entry prefixed by its big-endian uint16 length."""
    out = bytearray()
    for entry in entries:
        if len(entry) > 0xFFFF:
            raise VerificationError("an entry is too large for a bundle", expected="<= 65535 bytes")
        out += len(entry).to_bytes(2, "big") + entry
    return bytes(out)


def decode_entries(data: bytes) -> list[bytes]:
    """Split an entry bundle into its entries."""
    entries: list[bytes] = []
    at = 0
    while at < len(data):
        if at + 2 > len(data):
            raise VerificationError("truncated entry bundle", found=f"{len(data) - at} stray bytes")
        length = int.from_bytes(data[at : at + 2], "big")
        if at + 2 + length > len(data):
            raise VerificationError(
                "truncated entry bundle", expected=f"{length} bytes", found=f"{len(data) - at - 2}"
            )
        entries.append(data[at + 2 : at + 2 + length])
        at += 2 + length
    return entries
