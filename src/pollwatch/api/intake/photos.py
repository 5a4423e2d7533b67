"""HTTP routes for photos of sheets: upload by hash, download when published, and their storage."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel
from sqlalchemy import Connection
from starlette.concurrency import run_in_threadpool

from pollwatch.api.intake.state import IntakeState, caller, read_body, state
from pollwatch.auth import AuthRole, require_role
from pollwatch.auth.roles import SUBMITTING
from pollwatch.errors import NotFoundError, VerificationError
from pollwatch.evidence import add_evidence, check_sha256, sniff_type
from pollwatch.evidence import thumbnail as make_thumbnail
from pollwatch.storage import Database
from pollwatch.storage import photos as photo_store

router = APIRouter(tags=["intake"])


def store_photo(st: IntakeState, data: bytes, expected: str | None) -> str:
    full = expected if expected is not None and len(expected) == 64 else None
    digest, info = add_evidence(
        st.evidence, data, expected_sha256=full, max_bytes=st.settings.max_photo_bytes,
        max_pixels=st.settings.max_photo_pixels,
    )  # fmt: skip
    if expected is not None and not digest.startswith(expected):
        raise VerificationError(
            "the photo does not match the sheet's photo hash", expected=expected, found=digest
        )
    with st.db.begin() as conn:
        if photo_store.get_photo(conn, digest) is None:
            link_prefixed_sheets(conn, digest)
        photo_store.record_photo(
            conn, sha256=digest, media_type=info.media_type, size=len(data), width=info.width,
            height=info.height,
        )  # fmt: skip
    return digest


def link_prefixed_sheets(conn: Connection, digest: str) -> None:
    """Log a ``photo`` leaf giving the full hash of a photo that sheets named only by prefix (SMS)."""
    from pollwatch.ledger import service as ledger
    from pollwatch.ledger.records import LeafRecord

    by_election: dict[str, list[int]] = {}
    for slug, index in photo_store.list_prefix_references(conn, digest):
        by_election.setdefault(slug, []).append(index)
    records = [
        LeafRecord("photo", {"election": slug, "photo_sha256": digest, "sheets": indices})
        for slug, indices in sorted(by_election.items())
    ]
    if records:
        ledger.append(conn, records)


class PhotoStored(BaseModel):
    sha256: str
    media_type: str
    size: int
    referenced: bool


@router.put(
    "/api/v1/photos/{sha256}",
    response_model=PhotoStored,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
        }
    },
    summary="Upload the photo of a sheet already submitted by its hash",
)
async def put_photo(request: Request, sha256: str) -> PhotoStored:
    """Store the bytes whose SHA-256 is ``sha256`` (the hash was sent with the sheet, maybe by SMS)."""
    st = state(request)
    principal = await caller(request)
    require_role(principal, SUBMITTING, "upload photos")
    check_sha256(sha256)
    data = await read_body(request, st.settings.max_photo_bytes)
    with_hash = await run_in_threadpool(_referenced, st.db, sha256)
    if not with_hash:
        raise NotFoundError(
            "no submitted sheet names this photo hash",
            where="sha256",
            expected="the SHA-256 (or its first 16 hex digits) sent with a sheet",
            found=sha256,
            remedy="submit the sheet first, then its photo",
        )
    digest = await run_in_threadpool(store_photo, st, data, sha256)
    info = sniff_type(data)
    return PhotoStored(sha256=digest, media_type=info, size=len(data), referenced=True)


router.add_api_route(
    "/api/v1/photos/{sha256}", put_photo, methods=["POST"], response_model=PhotoStored,
    openapi_extra=put_photo.__dict__.get("openapi_extra"), include_in_schema=False,
)  # fmt: skip


def _referenced(db: Database, sha256: str) -> bool:
    with db.connect() as conn:
        return bool(photo_store.photo_referenced(conn, sha256))


@router.get(
    "/api/v1/photos/{sha256}",
    response_class=Response,
    responses={
        200: {"content": {"image/jpeg": {}, "image/png": {}, "image/webp": {}, "application/pdf": {}}}
    },
    summary="A stored photo, when its election publishes photos (or to a submitting role)",
)
async def get_photo(request: Request, sha256: str, thumbnail: bool = False) -> Response:
    st = state(request)
    check_sha256(sha256)
    meta, published = await run_in_threadpool(_photo_meta, st.db, sha256)
    if not published:
        principal = await caller(request)
        require_role(
            principal, (AuthRole.ADMIN, AuthRole.COORDINATOR, AuthRole.OBSERVER), "see unpublished photos"
        )
    data = await run_in_threadpool(st.evidence.get, sha256)
    if thumbnail and meta["media_type"].startswith("image/"):
        return Response(await run_in_threadpool(make_thumbnail, data), media_type="image/jpeg")
    return Response(data, media_type=meta["media_type"])


def _photo_meta(db: Database, sha256: str) -> tuple[dict[str, Any], bool]:
    with db.connect() as conn:
        meta = photo_store.get_photo(conn, sha256)
        if meta is None:
            raise NotFoundError("no such photo", where="sha256", found=sha256)
        elections = photo_store.photo_referenced(conn, sha256)
        return meta, any(photo_store.get_publish_photos(conn, e) for e in elections)
