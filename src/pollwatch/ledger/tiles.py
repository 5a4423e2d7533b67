"""C2SP tlog-tiles: tile paths, hash tiles read from stored hashes, entry bundles.

A level-``L`` tile ``N`` holds up to 256 hashes; hash ``i`` is MTH of leaves
``[(N·256+i)·256^L, (N·256+i+1)·256^L)``, i.e. the stored hash at tree level ``8L``, index ``N·256+i``.
Entry bundles hold each entry as a big-endian uint16 length and the bytes.

A full tile (256 hashes or entries) never changes, so :func:`get_tile` keeps it in a :class:`TileCache`
on disk (``POLLWATCH_LOG_TILES``, default ``$POLLWATCH_HOME/log-tiles``) and serves it from there
afterwards. A cached tile is served only after its subtree root, recomputed from the file (255 node
hashes, plus 256 leaf hashes for an entry bundle), equals the one hash the database stores for that
subtree: a truncated, corrupted or foreign file is recomputed and rewritten instead. Partial tiles are
always computed fresh.

>>> tile_path(0, 1234067)
'tile/0/x001/x234/067'
>>> parse_tile_path('tile/entries/x001/x234/067.p/8')
TileRef(level=-1, index=1234067, width=8)

:class:`TileHashes` reads the tree's stored hashes back out of tiles fetched from a mirror or a URL,
so the proof functions of :mod:`pollwatch.ledger.merkle` run over any copy of the log:

>>> split_stored_hash_index(stored_hash_index(3, 5))
(3, 5)

References
----------
C2SP tlog-tiles (https://c2sp.org/tlog-tiles) @5ba5ee8; R. Cox, "Transparent Logs for Skeptical
Clients", "Tiling a log".
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import tempfile
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from sqlalchemy import Connection

from pollwatch import config
from pollwatch.errors import Error, NotFoundError, VerificationError
from pollwatch.ledger.merkle import HASH_SIZE, HashReader, leaf_hash, root_from_leaves, stored_hash_index
from pollwatch.ledger.service import DbHashes
from pollwatch.storage import log as store

if TYPE_CHECKING:
    from pollwatch.objects import ObjectStore

TILE_HEIGHT = 8
TILE_WIDTH = 1 << TILE_HEIGHT
ENTRIES = -1
"""The ``level`` of an entry bundle in a :class:`TileRef`."""

Fetch = Callable[[str], bytes]
"""Return the file at a path of the tree (``checkpoint``, ``tile/...``); NotFoundError when absent."""

_log = logging.getLogger(__name__)
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


_MAX_PATH = 64
"""Longer than any canonical tile path of a tree below 2**63 leaves (7 index groups)."""


def parse_tile_path(path: str) -> TileRef:
    """Parse ``tile/<L>/<N>[.p/<W>]`` or ``tile/entries/<N>[.p/<W>]`` in its one canonical form.

    tlog-tiles gives every tile exactly one path: no leading ``x000/`` groups, no leading zeros in the
    width, no width 256 and no extra slashes. Any other spelling (and anything too long to be a tile of
    a real tree) is refused, so caches and mirrors never hold two copies under two names.
    """
    match = _PATH.fullmatch(path) if len(path) <= _MAX_PATH else None
    width = int(match.group(3)) if match and match.group(3) else TILE_WIDTH
    if match is None or not 0 < width <= TILE_WIDTH or (match.group(3) and width == TILE_WIDTH):
        raise NotFoundError(
            "not a tile path", expected="tile/<L>/<N>[.p/<W>] or tile/entries/<N>[.p/<W>]", found=path[:100]
        )
    index = int(match.group(2).replace("x", "").replace("/", ""))
    level = ENTRIES if match.group(1) == "entries" else int(match.group(1))
    ref = TileRef(level, index, width)
    if ref.path != path:
        raise NotFoundError(
            "not the canonical tile path (C2SP tlog-tiles)", expected=ref.path, found=path[:100]
        )
    return ref


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


def tile_root(ref: TileRef, data: bytes) -> bytes:
    """Return the root of the subtree a full tile covers, recomputed from its bytes.

    That root is the stored hash at level ``8·(L+1)`` (level 8 for an entry bundle), index ``N``.
    Raises VerificationError when the bytes are not a full tile (wrong length, truncated bundle).
    """
    if ref.level == ENTRIES:
        entries = decode_entries(data)
        if len(entries) != TILE_WIDTH:
            raise VerificationError(
                "not a full entry bundle", expected=str(TILE_WIDTH), found=str(len(entries))
            )
        return root_from_leaves([leaf_hash(e) for e in entries])
    if len(data) != HASH_SIZE * TILE_WIDTH:
        raise VerificationError(
            "not a full hash tile", expected=f"{HASH_SIZE * TILE_WIDTH} bytes", found=f"{len(data)} bytes"
        )
    return root_from_leaves([data[i : i + HASH_SIZE] for i in range(0, len(data), HASH_SIZE)])


def tile_root_index(ref: TileRef) -> int:
    """Return the storage index of the hash :func:`tile_root` must equal for a full tile."""
    return stored_hash_index(TILE_HEIGHT * (max(ref.level, 0) + 1), ref.index)


def write_atomic(path: Path, data: bytes, *, mode: int = 0o644) -> None:
    """Write a file so readers see the old one or all of the new one: temp file, fsync, rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fchmod(f.fileno(), mode)  # mkstemp makes 0600; a static web server must read tiles
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def fsync_dir(path: Path) -> None:
    """Make the names (renames) in a directory durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def tile_cache_dir() -> Path:
    """Return ``POLLWATCH_LOG_TILES``, else ``$POLLWATCH_HOME/log-tiles``."""
    explicit = os.environ.get("POLLWATCH_LOG_TILES", "").strip()
    return Path(explicit) if explicit else config.home() / "log-tiles"


class TileStore(Protocol):
    """Where full tiles are kept once computed: :class:`TileCache` (a folder) or :class:`ObjectTiles`."""

    def get(self, ref: TileRef) -> bytes | None: ...

    def put(self, ref: TileRef, data: bytes) -> None: ...


class ObjectTiles:
    """Full tiles and entry bundles in the object store (S3 in a cluster), under ``log/<tlog path>``.

    A full tile never changes, so its tlog-tiles path names its content: every write is write-once
    (``If-None-Match: *``), the first node to compute a tile stores it for every other node, and a bucket
    is a mirror anyone can read. What is read back is still checked against the stored hashes
    (:func:`get_tile`); a bad object is never overwritten (a write-once key), only bypassed and logged.
    """

    PREFIX = "log/"

    def __init__(self, objects: ObjectStore) -> None:
        self.objects = objects

    def get(self, ref: TileRef) -> bytes | None:
        try:
            return self.objects.get(self.PREFIX + ref.path)
        except NotFoundError:
            return None
        except Error as exc:  # an unreachable store must not stop the log from serving
            _log.warning("tile %s not read from the object store: %s", ref.path, exc.message)
            return None

    def put(self, ref: TileRef, data: bytes) -> None:
        if ref.width != TILE_WIDTH:
            raise ValueError(f"only full tiles are stored, not {ref.path}")
        try:
            written = self.objects.put_once(self.PREFIX + ref.path, data)
        except Error as exc:
            _log.warning("tile %s not written to the object store: %s", ref.path, exc.message)
            return
        if not written and self.objects.get(self.PREFIX + ref.path) != data:
            _log.error("the object store holds a bad copy of %s (write-once: not replaced)", ref.path)


def open_tile_store() -> TileStore:
    """Full tiles in the object store when it is S3 (``POLLWATCH_OBJECT_STORE=s3``: every node shares
    them), else in ``POLLWATCH_LOG_TILES`` on this node's disk."""
    from pollwatch.objects.settings import backend, open_object_store

    if backend() == "s3":
        return ObjectTiles(open_object_store(tile_cache_dir()))
    return TileCache(tile_cache_dir())


class TileCache:
    """Full tiles and entry bundles on disk, at their tlog-tiles paths under ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def get(self, ref: TileRef) -> bytes | None:
        """Return the cached bytes (not yet verified), or None."""
        try:
            return (self.root / ref.path).read_bytes()
        except OSError:
            return None

    def put(self, ref: TileRef, data: bytes) -> None:
        if ref.width != TILE_WIDTH:
            raise ValueError(f"only full tiles are cached, not {ref.path}")
        write_atomic(self.root / ref.path, data)


def get_tile(conn: Connection, ref: TileRef, *, cache: TileStore | None = None) -> bytes:
    """Return a tile or entry bundle covered by the latest checkpoint (NotFoundError otherwise).

    A full one comes from ``cache`` when its recomputed root matches the stored hash; otherwise it is
    computed from the database and (re)written to the cache. Partial ones are always computed.
    """
    check_available(ref, store.get_state(conn).checkpoint_size)
    reader = DbHashes(conn)
    if cache is None or ref.width != TILE_WIDTH:
        return _compute_tile(conn, ref, reader)
    cached = cache.get(ref)
    if cached is not None and _verified(ref, cached, reader):
        return cached
    data = _compute_tile(conn, ref, reader)
    try:
        cache.put(ref, data)
    except OSError as exc:  # a read-only or full disk must not stop the log from serving
        _log.warning("tile cache not written: %s", exc)
    return data


def _verified(ref: TileRef, data: bytes, reader: HashReader) -> bool:
    try:
        root = tile_root(ref, data)
    except VerificationError:
        root = b""
    if root == reader.read_hashes([tile_root_index(ref)])[0]:
        return True
    _log.warning("cached %s does not match the stored hashes; recomputing it", ref.path)
    return False


def _compute_tile(conn: Connection, ref: TileRef, reader: HashReader) -> bytes:
    if ref.level == ENTRIES:
        start = ref.index * TILE_WIDTH
        return encode_entries(store.read_entries(conn, start, start + ref.width))
    return hash_tile(ref, reader)


def split_stored_hash_index(index: int) -> tuple[int, int]:
    """Return ``(level, n)`` of a post-order storage index: the inverse of ``stored_hash_index``."""
    # Leaf n's hashes start at stored_hash_index(0, n) = 2n - popcount(n) <= 2n, so the leaf that
    # stored ``index`` is at least index // 2: walk to the last leaf whose hashes start at or before it.
    n = index // 2
    while stored_hash_index(0, n + 1) <= index:
        n += 1
    level = index - stored_hash_index(0, n)  # leaf n stores its leaf hash, then one hash per level
    return level, n >> level


class TileHashes:
    """HashReader over the hash tiles of the tree of ``size`` leaves, fetched on demand.

    The stored hash at level ``l``, index ``n`` is MTH over hashes ``[n·2^h, (n+1)·2^h)`` of a
    level-``l // 8`` tile, ``h = l mod 8``. The most recently read ``keep`` tiles stay in memory.
    """

    def __init__(self, fetch: Fetch, size: int, *, keep: int = 4096) -> None:
        self.fetch = fetch
        self.size = size
        self.keep = keep
        self._tiles: OrderedDict[tuple[int, int], bytes] = OrderedDict()

    def tile(self, level: int, index: int) -> bytes:
        """Return the hashes that tile exists with in the tree of ``size`` leaves."""
        key = (level, index)
        if key in self._tiles:
            self._tiles.move_to_end(key)
            return self._tiles[key]
        width = available_width(TileRef(level, index), self.size)
        if width == 0:
            raise NotFoundError("that tile is beyond the tree", expected=f"size {self.size}", found=str(key))
        data = self._fetch(TileRef(level, index, width))
        self._tiles[key] = data
        if len(self._tiles) > self.keep:
            self._tiles.popitem(last=False)
        return data

    def _fetch(self, ref: TileRef) -> bytes:
        try:
            data, width = self.fetch(ref.path), ref.width
        except NotFoundError:
            if ref.width == TILE_WIDTH:
                raise
            # tlog-tiles: a partial tile may be gone once the full one exists; its prefix is the same.
            data, width = self.fetch(TileRef(ref.level, ref.index).path), TILE_WIDTH
        if len(data) != HASH_SIZE * width:
            raise VerificationError(
                f"{ref.path} has the wrong length",
                expected=f"{HASH_SIZE * width} bytes",
                found=f"{len(data)}",
            )
        return data[: HASH_SIZE * ref.width]

    def read_hashes(self, indexes: Sequence[int]) -> list[bytes]:
        out = []
        for index in indexes:
            level, n = split_stored_hash_index(index)
            tile_level, height = divmod(level, TILE_HEIGHT)
            first = n << height
            data = self.tile(tile_level, first // TILE_WIDTH)
            at = (first % TILE_WIDTH) * HASH_SIZE
            part = data[at : at + (HASH_SIZE << height)]
            if len(part) != HASH_SIZE << height:
                raise NotFoundError(
                    "that hash is not in the tree", expected=f"size {self.size}", found=f"level {level}, {n}"
                )
            out.append(root_from_leaves([part[i : i + HASH_SIZE] for i in range(0, len(part), HASH_SIZE)]))
        return out


def check_tile(ref: TileRef, data: bytes, tree: TileHashes) -> None:
    """Raise VerificationError unless ``data`` is tile ``ref`` of ``tree`` (whose root is checked).

    An entry bundle's leaf hashes must be its level-0 tile; a full hash tile's root must be its hash in
    the tile above; a partial hash tile must be the one the root was computed from.
    """
    if ref.level == ENTRIES:
        entries = decode_entries(data)
        if len(entries) != ref.width or b"".join(map(leaf_hash, entries)) != tree.tile(0, ref.index):
            raise VerificationError(f"{ref.path} does not match tile/0", expected="the entries of the tree")
    elif ref.width == TILE_WIDTH:
        if tile_root(ref, data) != tree.read_hashes([tile_root_index(ref)])[0]:
            raise VerificationError(f"{ref.path} does not match the tile above it")
    elif data != tree.tile(ref.level, ref.index):
        raise VerificationError(f"{ref.path} is not the tile the root was computed from")
