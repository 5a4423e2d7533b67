"""HTTP routes of the evidence log: C2SP tiles and checkpoint under /log/, proofs and receipts."""

from __future__ import annotations

import base64
import gzip
import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Path, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from pollwatch.api.deps import ReadConn, get_db
from pollwatch.errors import InputError, NotFoundError
from pollwatch.ledger import service
from pollwatch.ledger.leader import publisher_enabled
from pollwatch.ledger.publisher import Publisher
from pollwatch.ledger.settings import LogKeys, LogSettings, load_public_settings, load_settings
from pollwatch.ledger.status import get_status
from pollwatch.ledger.tiles import ENTRIES, TileStore, get_tile, open_tile_store, parse_tile_path
from pollwatch.storage import Database
from pollwatch.storage import log as store
from pollwatch.storage.log import WitnessFailure

router = APIRouter()
_log = logging.getLogger(__name__)
_TEXT = "text/plain; charset=utf-8"
_IMMUTABLE = {"Cache-Control": "public, max-age=31536000, immutable"}
_FRESH = {"Cache-Control": "no-cache"}  # the checkpoint: it changes as the log grows


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Run the checkpoint publisher while the app serves (skipped, with a warning, if keys are unusable;
    not at all with POLLWATCH_PUBLISHER=off, where a `pollwatch publish` elsewhere signs)."""
    publisher = None
    if not publisher_enabled():
        yield
        return
    try:
        # Settings (and the log key) load lazily: an app that never logs anything creates no key.
        publisher = Publisher(app.state.db, getattr(app.state, "ledger_settings", None))
        publisher.start()
    except Exception as exc:  # the API must still serve reads when the log key cannot be loaded
        _log.warning("checkpoint publisher not started: %s", exc)
    try:
        yield
    finally:
        if publisher is not None:
            publisher.stop()


def get_settings_for(app: FastAPI) -> LogKeys:
    """The log's public settings (origin, verifier key, witnesses): all that reads and receipts need.

    A node with ``POLLWATCH_PUBLISHER=off`` never reads the private log key (``POLLWATCH_LOG_VKEY``)."""
    signing: LogSettings | None = getattr(app.state, "ledger_settings", None)
    if signing is not None:
        return signing.public
    keys: LogKeys | None = getattr(app.state, "ledger_keys", None)
    if keys is None:
        keys = load_public_settings()
        app.state.ledger_keys = keys
    return keys


def get_settings(request: Request) -> LogKeys:
    return get_settings_for(request.app)


def get_signing(request: Request) -> LogSettings | None:
    """The signer's settings where this process may sign a late checkpoint itself (``app`` mode: it
    runs a publisher); None on a node that never signs, so its private key is never loaded."""
    if not publisher_enabled():
        return None
    settings: LogSettings | None = getattr(request.app.state, "ledger_settings", None)
    if settings is None:
        settings = load_settings()
        request.app.state.ledger_settings = settings
    return settings


def get_tile_cache(request: Request) -> TileStore:
    """Where full tiles are kept (``POLLWATCH_LOG_TILES``, or the S3 bucket), opened on the first tile
    request."""
    cache: TileStore | None = getattr(request.app.state, "tile_cache", None)
    if cache is None:
        cache = open_tile_store()
        request.app.state.tile_cache = cache
    return cache


Settings = Annotated[LogKeys, Depends(get_settings)]
Signing = Annotated[LogSettings | None, Depends(get_signing)]
Db = Annotated[Database, Depends(get_db)]


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@router.get("/log/checkpoint", tags=["log"], response_class=Response)
def get_checkpoint(db: Db, signing: Signing) -> Response:
    """The latest signed checkpoint (C2SP tlog-checkpoint) with the witnesses' cosignatures."""
    note = service.latest_checkpoint(db, signing)
    return Response(note, media_type=_TEXT, headers=_FRESH)


@router.get("/log/tile/{path:path}", tags=["log"], response_class=Response)
def get_log_tile(
    path: Annotated[str, Path(max_length=64)],
    request: Request,
    conn: ReadConn,
    cache: Annotated[TileStore, Depends(get_tile_cache)],
) -> Response:
    """A hash tile or entry bundle (C2SP tlog-tiles), by its one canonical path.

    Every tile is immutable, partial ones too (their width is in the path), so all are cached for a
    year. Entry bundles are gzip-compressed for clients that accept it.
    """
    ref = parse_tile_path("tile/" + path)
    data = get_tile(conn, ref, cache=cache)
    headers = dict(_IMMUTABLE)
    if ref.level == ENTRIES:
        headers["Vary"] = "Accept-Encoding"
        if _accepts_gzip(request.headers.get("accept-encoding", "")):
            data = gzip.compress(data, compresslevel=6, mtime=0)
            headers["Content-Encoding"] = "gzip"
    return Response(data, media_type="application/octet-stream", headers=headers)


def _accepts_gzip(header: str) -> bool:
    for item in header.lower().split(","):
        name, _, params = item.strip().partition(";")
        if name.strip() in ("gzip", "*"):
            return params.replace(" ", "") not in ("q=0", "q=0.0", "q=0.00", "q=0.000")
    return False


@router.get("/api/v1/log", tags=["log"])
def get_log(conn: ReadConn, settings: Settings) -> dict[str, Any]:
    """The log's origin, verifier key, size and the size of its latest checkpoint."""
    state = store.get_state(conn)
    return {
        "origin": settings.origin,
        "vkey": settings.key.vkey,
        "size": state.size,
        "checkpoint_size": state.checkpoint_size,
        "witnesses": [{"url": w.url, "vkey": w.key.vkey} for w in settings.witnesses],
    }


@router.get("/api/v1/log/witnesses", tags=["log"])
def get_witnesses(conn: ReadConn, settings: Settings) -> dict[str, Any]:
    """Each configured witness: key fingerprint, whether it cosigned the latest checkpoint, the last size
    it cosigned, and its recent failures (checkpoint size, reason, attempts); then all recent failures."""
    status = get_status(conn, settings)
    return {
        "origin": status.origin,
        "checkpoint_size": status.checkpoint_size,
        "witnesses": [
            {
                "name": w.name,
                "url": w.url,
                "vkey": w.vkey,
                "fingerprint": w.fingerprint,
                "cosigned_latest": w.cosigned_latest,
                "last_cosigned_size": w.last_cosigned_size,
                "last_cosigned_at": w.last_cosigned_at,
                "failures": [_failure(f) for f in w.failures],
            }
            for w in status.witnesses
        ],
        "recent_failures": [_failure(f) for f in status.recent_failures],
    }


def _failure(f: WitnessFailure) -> dict[str, Any]:
    return {
        "witness": f.witness,
        "size": f.size,
        "url": f.url,
        "reason": f.reason,
        "attempts": f.attempts,
        "first_at": f.first_at,
        "last_at": f.last_at,
    }


# Indices and sizes beyond what a database integer holds are refused with the envelope (422), not
# passed to SQLite, which cannot bind them (schemathesis found that 5xx).
_MAX = 2**62
_CANONICAL = re.compile(r"0|[1-9][0-9]{0,18}")


def canonical_numbers(request: Request) -> None:
    """Refuse numbers in other than their one decimal form (``007``, ``+7``): C2SP gives each one spelling."""
    values = {**request.path_params, **dict(request.query_params)}
    for name in ("index", "size", "first", "second"):
        value = values.get(name)
        if isinstance(value, str) and value.lstrip("+-").isdigit() and not _CANONICAL.fullmatch(value):
            raise InputError(
                f"{name} is not a canonical decimal number",
                where=name,
                expected="decimal digits without sign or leading zeros",
                found=value[:40],
            )


Canonical = Depends(canonical_numbers)
LeafIndex = Annotated[
    int, Path(ge=0, le=_MAX, description="Leaf index, below the log size; no leading zeros.")
]
TreeSize = Annotated[
    int, Query(ge=1, le=_MAX, description="A tree size, at most the log size; no leading zeros.")
]


@router.get("/api/v1/log/entries/{index}", tags=["log"], response_class=Response, dependencies=[Canonical])
def get_entry(index: LeafIndex, conn: ReadConn) -> Response:
    """One log entry: its exact canonical JSON bytes (hash them to get the leaf)."""
    entries = store.read_entries(conn, index, index + 1) if index >= 0 else []
    if not entries:
        raise NotFoundError("no log entry with that index", found=str(index))
    return Response(entries[0], media_type="application/json")


@router.get("/api/v1/log/proof/inclusion", tags=["log"], dependencies=[Canonical])
def get_inclusion_proof(
    conn: ReadConn,
    index: Annotated[int, Query(ge=0, le=_MAX, description="Leaf index; must be below size.")],
    size: TreeSize,
) -> dict[str, Any]:
    """RFC 9162 inclusion proof of leaf ``index`` in the tree of ``size`` leaves (hashes in base64).

    Requires ``index < size <= the log size`` (422 when ``index >= size``)."""
    if index >= size:
        raise InputError("index must be below size", where="index", expected=f"< {size}", found=str(index))
    proof = service.get_inclusion_proof(conn, index, size)
    return {
        "index": index,
        "size": size,
        "root": _b64(service.get_root(conn, size)),
        "proof": [_b64(h) for h in proof],
    }


@router.get("/api/v1/log/proof/consistency", tags=["log"], dependencies=[Canonical])
def get_consistency_proof(conn: ReadConn, first: TreeSize, second: TreeSize) -> dict[str, Any]:
    """RFC 9162 consistency proof between the trees of ``first`` and ``second`` leaves.

    Requires ``1 <= first <= second <= the log size`` (422 when ``first > second``)."""
    if first > second:
        raise InputError(
            "first must not exceed second", where="first", expected=f"<= {second}", found=str(first)
        )
    proof = service.get_consistency_proof(conn, first, second)
    return {
        "first": first,
        "second": second,
        "first_root": _b64(service.get_root(conn, first)),
        "second_root": _b64(service.get_root(conn, second)),
        "proof": [_b64(h) for h in proof],
    }


@router.get("/api/v1/receipts/{index}", tags=["log"], response_class=Response, dependencies=[Canonical])
async def get_receipt(index: LeafIndex, db: Db, signing: Signing) -> Response:
    """A c2sp.org/tlog-proof@v1 receipt for leaf ``index`` (waits up to 2 s for a covering checkpoint)."""
    text = await run_in_threadpool(service.get_receipt, db, index, wait_seconds=2.0, settings=signing)
    return Response(text, media_type=_TEXT)
