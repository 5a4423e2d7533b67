"""HTTP routes for photos of sheets: upload by hash, download when published, and their storage."""

from __future__ import annotations

import datetime as dt
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
from pollwatch.evidence import add_evidence, check_sha256, claim_upload, sniff_type
from pollwatch.evidence import thumbnail as make_thumbnail
from pollwatch.objects.settings import upload_seconds
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


def record_claimed(st: IntakeState, sha256: str) -> PhotoStored:
    """Check a photo a phone uploaded straight to the object store, then record it like an upload."""
    size, info = claim_upload(
        st.evidence, sha256, max_bytes=st.settings.max_photo_bytes, max_pixels=st.settings.max_photo_pixels
    )
    with st.db.begin() as conn:
        if photo_store.get_photo(conn, sha256) is None:
            link_prefixed_sheets(conn, sha256)
        photo_store.record_photo(
            conn, sha256=sha256, media_type=info.media_type, size=size, width=info.width,
            height=info.height,
        )  # fmt: skip
    return PhotoStored(sha256=sha256, media_type=info.media_type, size=size, referenced=True)


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
    await _require_referenced(st, sha256)
    digest = await run_in_threadpool(store_photo, st, data, sha256)
    info = sniff_type(data)
    return PhotoStored(sha256=digest, media_type=info, size=len(data), referenced=True)


class UploadOffer(BaseModel):
    """How to upload a photo: straight to the object store (``direct``) or to this API."""

    sha256: str
    direct: bool
    method: str
    url: str
    headers: dict[str, str]
    expires_at: dt.datetime | None
    confirm_url: str | None


@router.post(
    "/api/v1/photos/{sha256}/upload",
    response_model=UploadOffer,
    summary="Where to upload the photo of a sheet already submitted: a presigned URL of the object store",
)
async def offer_upload(request: Request, sha256: str) -> UploadOffer:
    """With an S3 store, a PUT URL valid for ``POLLWATCH_S3_UPLOAD_SECONDS`` that accepts exactly these
    bytes, once (send ``headers`` as given; a 412 answer means the photo is already there). Then POST
    ``confirm_url``: the photo counts only once the API has checked the stored bytes. Without an S3
    store, the answer names this API's own PUT route."""
    st = state(request)
    principal = await caller(request)
    require_role(principal, SUBMITTING, "upload photos")
    check_sha256(sha256)
    await _require_referenced(st, sha256)
    grant = await run_in_threadpool(st.evidence.upload_grant, sha256, seconds=upload_seconds())
    own = f"/api/v1/photos/{sha256}"
    if grant is None:
        return UploadOffer(
            sha256=sha256, direct=False, method="PUT", url=own, headers={}, expires_at=None, confirm_url=None
        )
    return UploadOffer(
        sha256=sha256, direct=True, method=grant.method, url=grant.url, headers=grant.headers,
        expires_at=grant.expires_at, confirm_url=own + "/uploaded",
    )  # fmt: skip


@router.post(
    "/api/v1/photos/{sha256}/uploaded",
    response_model=PhotoStored,
    summary="Confirm a photo uploaded straight to the object store: the API checks its bytes",
)
async def confirm_upload(request: Request, sha256: str) -> PhotoStored:
    """Reads the object, checks its SHA-256 and that it is an accepted photo or scan (else deletes it
    and refuses), records it and logs the ``photo`` leaf of sheets that named it by prefix."""
    st = state(request)
    principal = await caller(request)
    require_role(principal, SUBMITTING, "upload photos")
    check_sha256(sha256)
    await _require_referenced(st, sha256)
    return await run_in_threadpool(record_claimed, st, sha256)


async def _require_referenced(st: IntakeState, sha256: str) -> None:
    if not await run_in_threadpool(_referenced, st.db, sha256):
        raise NotFoundError(
            "no submitted sheet names this photo hash",
            where="sha256",
            expected="the SHA-256 (or its first 16 hex digits) sent with a sheet",
            found=sha256,
            remedy="submit the sheet first, then its photo",
        )


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
