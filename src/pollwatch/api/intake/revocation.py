"""HTTP routes that revoke: all tokens of a submitter, or one device key. Nothing is deleted or logged."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from pollwatch.api.intake.state import caller, state
from pollwatch.auth import DeviceRevoked, Principal, SubmitterRevoked, revoke_device, revoke_submitter
from pollwatch.storage import Database

router = APIRouter(tags=["intake"])

KeyIdPath = Annotated[str, Path(pattern=r"^[A-Za-z0-9._-]{1,64}$", description="the submitter's key id")]
FingerprintPath = Annotated[
    str, Path(pattern=r"^[0-9a-f]{64}$", description="SHA-256 (hex) of the raw 32-byte Ed25519 public key")
]


class TokensRevoked(BaseModel):
    """A submitter shut out: their tokens no longer authenticate (within 10 s in every worker)."""

    key_id: str
    role: str
    organisation: str
    tokens_revoked: int


class DeviceKeyRevoked(BaseModel):
    """A device key shut out: sheets it signs are refused from now on."""

    fingerprint: str
    public_key: str
    submitter_key: str
    already_revoked: bool


@router.post(
    "/api/v1/submitters/{key_id}/revoke",
    response_model=TokensRevoked,
    summary="Revoke every token of a submitter (admin; coordinator for own organisation)",
)
async def post_revoke_submitter(request: Request, key_id: KeyIdPath) -> TokensRevoked:
    """Revoke the submitter's tokens; this process forgets them at once, other workers within 10 s."""
    principal = await caller(request)
    st = state(request)
    done = await run_in_threadpool(_revoke_submitter, st.db, key_id, principal)
    st.forget(done.submitter_id)
    return TokensRevoked(
        key_id=done.key_id, role=done.role, organisation=done.organisation, tokens_revoked=done.tokens_revoked
    )


def _revoke_submitter(db: Database, key_id: str, principal: Principal) -> SubmitterRevoked:
    with db.begin() as conn:
        return revoke_submitter(conn, key_id, by=principal)


@router.post(
    "/api/v1/devices/{fingerprint}/revoke",
    response_model=DeviceKeyRevoked,
    summary="Revoke one device key (admin, coordinator of its organisation, or its own submitter)",
)
async def post_revoke_device(request: Request, fingerprint: FingerprintPath) -> DeviceKeyRevoked:
    """Revoke the device key: later sheets signed by it are refused with 403 in every worker."""
    principal = await caller(request)
    done = await run_in_threadpool(_revoke_device, state(request).db, fingerprint, principal)
    return DeviceKeyRevoked(
        fingerprint=done.fingerprint,
        public_key=done.public_key,
        submitter_key=done.owner_key_id,
        already_revoked=done.already_revoked,
    )


def _revoke_device(db: Database, fingerprint: str, principal: Principal) -> DeviceRevoked:
    with db.begin() as conn:
        return revoke_device(conn, fingerprint, by=principal)
