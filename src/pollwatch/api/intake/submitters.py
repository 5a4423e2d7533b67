"""HTTP routes for submitters, their device keys and the photo policy of an election."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from starlette.concurrency import run_in_threadpool

from pollwatch.api.deps import ReadConn
from pollwatch.api.intake.state import caller, json_body, read_model, state
from pollwatch.auth import (
    Assignment,
    AuthRole,
    create_submitter,
    register_device,
    require_role,
    verify_may_register,
)
from pollwatch.auth.devices import fingerprint, parse_public_key
from pollwatch.auth.phones import election_country, parse_phone
from pollwatch.auth.roles import SUBMITTING
from pollwatch.intake.format import NoNul, Visible
from pollwatch.storage import Database, structure
from pollwatch.storage import devices as device_store
from pollwatch.storage import photos as photo_store

router = APIRouter(tags=["intake"])


class SubmitterIn(BaseModel):
    """Register a submitter. Personal fields stay in an access-controlled table, never in the log."""

    model_config = ConfigDict(extra="forbid")

    role: AuthRole
    organisation: Annotated[str, StringConstraints(max_length=200), Visible] = ""
    name: Annotated[str, StringConstraints(max_length=200), NoNul] = ""
    phone: Annotated[str, StringConstraints(max_length=32), Visible] | None = None
    election: Annotated[str, StringConstraints(max_length=64), Visible] = ""
    constituencies: list[Annotated[str, StringConstraints(max_length=32), Visible]] = []
    stations: list[Annotated[str, StringConstraints(pattern=r"^[^:]{1,32}:[0-9]{1,6}$"), Visible]] = Field(
        [], description="CONSTITUENCY:SERIAL stations an agent may report on"
    )


class SubmitterCreated(BaseModel):
    key_id: str
    role: str
    organisation: str
    token: str


@router.post(
    "/api/v1/submitters",
    response_model=SubmitterCreated,
    status_code=201,
    summary="Register a submitter and issue a token (admin; coordinator for own organisation)",
    openapi_extra=json_body(SubmitterIn),
)
async def post_submitter(request: Request) -> SubmitterCreated:
    principal = await caller(request)
    require_role(principal, (AuthRole.ADMIN, AuthRole.COORDINATOR), "register submitters")
    item = await read_model(request, SubmitterIn)
    verify_may_register(principal, role=item.role, organisation=item.organisation)
    st = state(request)
    key_id, token = await run_in_threadpool(_create_submitter, st.db, item)
    return SubmitterCreated(key_id=key_id, role=item.role.value, organisation=item.organisation, token=token)


def _create_submitter(db: Database, item: SubmitterIn) -> tuple[str, str]:
    assignments = [Assignment(item.election, c) for c in item.constituencies]
    for spec in item.stations:
        code, _, serial = spec.rpartition(":")
        assignments.append(Assignment(item.election, code, int(serial)))
    with db.begin() as conn:
        country = election_country(conn, item.election) if item.phone else None
        phone = parse_phone(item.phone, country=country) if item.phone else None
        return create_submitter(conn, role=item.role, organisation=item.organisation, name=item.name,
                                phone=phone, assignments=assignments)  # fmt: skip


class DeviceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    public_key: Annotated[str, StringConstraints(max_length=64)] = Field(
        description="ed25519:<base64 of the 32-byte public key>"
    )


class DeviceRegistered(BaseModel):
    device_key: str
    fingerprint: str = Field(description="SHA-256 (hex) of the raw public key: what revocation takes")


@router.post("/api/v1/devices", response_model=DeviceRegistered, status_code=201,
             summary="Register the caller's Ed25519 device key",
             openapi_extra=json_body(DeviceIn))  # fmt: skip
async def post_device(request: Request) -> DeviceRegistered:
    principal = await caller(request)
    require_role(principal, SUBMITTING, "register device keys")
    item = await read_model(request, DeviceIn)
    st = state(request)

    def _register() -> str:
        with st.db.begin() as conn:
            return register_device(conn, submitter_id=principal.submitter_id, public_key=item.public_key)

    device_key = await run_in_threadpool(_register)
    return DeviceRegistered(device_key=device_key, fingerprint=fingerprint(parse_public_key(device_key)))


class DeviceKey(BaseModel):
    public_key: str
    role: str
    organisation: str
    revoked: bool


@router.get("/api/v1/device-keys", response_model=list[DeviceKey], summary="Registered device keys (public)")
def get_device_keys(conn: ReadConn) -> list[DeviceKey]:
    """Public keys with role and organisation only, so anyone can check signed sheets."""
    return [
        DeviceKey(**{k: v for k, v in d.items() if k != "fingerprint"})
        for d in device_store.list_device_keys(conn)
    ]


class PhotoPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid")

    publish_photos: bool


@router.put(
    "/api/v1/photo-policy/{election}",
    response_model=PhotoPolicy,
    summary="Publish photos or only hashes (admin)",
)
async def put_photo_policy(request: Request, election: str, policy: PhotoPolicy) -> PhotoPolicy:
    principal = await caller(request)
    require_role(principal, (AuthRole.ADMIN,), "set the photo policy")
    st = state(request)

    def _set() -> None:
        with st.db.begin() as conn:
            election_id, _ = structure.get_election(conn, election)
            photo_store.set_publish_photos(conn, election_id, policy.publish_photos)

    await run_in_threadpool(_set)
    return policy


@router.get(
    "/api/v1/photo-policy/{election}", response_model=PhotoPolicy, summary="Whether photos are published"
)
def get_photo_policy(conn: ReadConn, election: str) -> PhotoPolicy:
    election_id, _ = structure.get_election(conn, election)
    return PhotoPolicy(publish_photos=photo_store.get_publish_photos(conn, election_id))
