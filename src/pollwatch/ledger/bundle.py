"""Offline bundles: export everything needed to check the log with no server, and verify it.

Layout of a bundle directory::

    manifest.json            format, origin, size, election, photo policy
    checkpoint               latest checkpoint note with the witnesses' cosignatures
    checkpoints/<size>       every signed checkpoint up to it, with cosignatures
    tile/<L>/<N>[.p/<W>]     hash tiles (C2SP tlog-tiles), with the partial tiles of every checkpoint
    tile/entries/<N>[.p/<W>] entry bundles (all entries)
    keys/log.vkey            the log's verifier key
    keys/witnesses.vkeys     witness verifier keys, one a line
    photos/<sha256>          photos, when the photo policy publishes them
    tallies.json             per constituency and candidate, recomputed from the entries

References
----------
C2SP tlog-tiles, tlog-checkpoint, tlog-cosignature @5ba5ee8; RFC 9162 §2.1.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from sqlalchemy import Connection

from pollwatch.errors import InputError
from pollwatch.ledger import service
from pollwatch.ledger.checkpoint import add_signatures, parse_checkpoint
from pollwatch.ledger.note import parse_note
from pollwatch.ledger.records import parse_leaf
from pollwatch.ledger.settings import LogSettings, load_settings
from pollwatch.ledger.tallies import compute_tallies
from pollwatch.ledger.tiles import ENTRIES, TILE_WIDTH, encode_entries, hash_tile, list_tiles
from pollwatch.storage import Database
from pollwatch.storage import log as store

FORMAT = "pollwatch-bundle/v1"


class PhotoSource(Protocol):
    """Where photo bytes come from (the evidence store satisfies this)."""

    def has(self, sha256: str) -> bool: ...

    def get(self, sha256: str) -> bytes: ...


@dataclass(frozen=True)
class ExportSummary:
    """What an export wrote."""

    path: Path
    size: int
    checkpoints: int
    photos: int
    photo_hashes: int


def export_bundle(
    db: Database,
    out: Path,
    *,
    election: str | None = None,
    photos: PhotoSource | None = None,
    settings: LogSettings | None = None,
) -> ExportSummary:
    """Write a self-contained bundle of the log up to its latest checkpoint.

    Photos are copied only when ``photos`` is given (the election publishes them); otherwise the bundle
    carries their hashes only (inside the entries). Entries carry no personal data (records.py).
    """
    settings = settings or load_settings()
    if out.exists() and any(out.iterdir()):
        raise InputError(f"{out} is not empty", remedy="export into a new or empty directory")
    latest = service.latest_checkpoint(db, settings)
    size = parse_checkpoint(parse_note(latest).text).size
    out.mkdir(parents=True, exist_ok=True)
    with db.connect() as conn:
        history = [c for c in store.list_checkpoints(conn) if c.size <= size]
        _write_tiles(conn, out, [c.size for c in history if c.size < size] + [size])
        entries = [(i, parse_leaf(d)) for i, d in store.iter_entries(conn) if i < size]
    for checkpoint in history:
        note = _with_cosignatures(checkpoint.note, checkpoint.cosignatures)
        _write(out / "checkpoints" / str(checkpoint.size), note.encode())
    for checkpoint in history:
        if checkpoint.size == size:
            latest = _with_cosignatures(latest, checkpoint.cosignatures)
    _write(out / "checkpoint", latest.encode())
    _write(out / "keys" / "log.vkey", (settings.signer.verifier().vkey + "\n").encode())
    witness_keys = "".join(w.key.vkey + "\n" for w in settings.witnesses)
    _write(out / "keys" / "witnesses.vkeys", witness_keys.encode())
    hashes = sorted(
        {
            str(r.body["photo_sha256"])
            for _, r in entries
            if r.body.get("photo_sha256") and election in (None, r.body.get("election"))
        }
    )
    copied: list[str] = []
    if photos is not None:
        for sha in hashes:
            if photos.has(sha):
                _write(out / "photos" / sha, photos.get(sha))
                copied.append(sha)
    tallies = compute_tallies(entries, election=election)
    _write(out / "tallies.json", (json.dumps(tallies, indent=1, sort_keys=True) + "\n").encode())
    manifest = {
        "format": FORMAT,
        "origin": settings.origin,
        "size": size,
        "election": election,
        "photo_policy": "published" if photos is not None else "hashes-only",
        "photos": copied,
        "checkpoints": [c.size for c in history],
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    _write(out / "manifest.json", (json.dumps(manifest, indent=1) + "\n").encode())
    return ExportSummary(out, size, len(history), len(copied), len(hashes))


def _write_tiles(conn: Connection, out: Path, sizes: list[int]) -> None:
    """Write the tiles of the latest size and the partial tiles of each older checkpoint's size.

    With those, a client that reads tiles only (C2SP tlog-tiles) can rebuild every checkpoint's tree.
    """
    reader = service.DbHashes(conn)
    refs = {ref for s in sizes for ref in list_tiles(s) if s == sizes[-1] or ref.width < TILE_WIDTH}
    for ref in sorted(refs, key=lambda r: (r.level, r.index, r.width)):
        if ref.level == ENTRIES:
            start = ref.index * TILE_WIDTH
            data = encode_entries(store.read_entries(conn, start, start + ref.width))
        else:
            data = hash_tile(ref, reader)
            reader.cache.clear()
        _write(out / ref.path, data)


def _with_cosignatures(note: str, lines: tuple[str, ...]) -> str:
    if not lines:
        return note
    extra = parse_note(note.rstrip("\n") + "\n" + "".join(lines)).signatures
    return add_signatures(note, list(extra))


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def iter_bundle_entries(root: Path, size: int) -> Iterator[bytes]:
    """Yield the entries of a bundle in order, from its entry bundles (as many as are present)."""
    from pollwatch.ledger.tiles import decode_entries

    for ref in list_tiles(size):
        if ref.level != ENTRIES:
            continue
        path = root / ref.path
        if path.exists():
            yield from decode_entries(path.read_bytes())
