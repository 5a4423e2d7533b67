"""Tokens are stored hashed; roles and assignments decide who may submit and register."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select

from pollwatch.auth import (
    Assignment,
    AuthRole,
    Principal,
    authenticate,
    create_submitter,
    device_key_id,
    hash_token,
    register_device,
    sign,
    verify_may_register,
    verify_may_revoke,
    verify_may_submit,
    verify_signature,
)
from pollwatch.auth.devices import public_key_of
from pollwatch.errors import AuthError, ConflictError, ForbiddenError, VerificationError
from pollwatch.storage import Database
from pollwatch.storage import intake_schema as ti
from pollwatch.storage import submitters as submitter_store


def test_token_is_stored_only_as_its_hash(db: Database) -> None:
    with db.begin() as conn:
        key_id, token = create_submitter(conn, role=AuthRole.AGENT, organisation="PartyA", name="A Person")
    with db.connect() as conn:
        stored = conn.execute(select(ti.tokens.c.token_sha256)).scalar_one()
        principal = authenticate(conn, f"Bearer {token}")
    assert stored == hash_token(token)
    assert token not in stored
    assert principal.key_id == key_id
    assert principal.key_id.startswith("sub-")
    assert "Person" not in principal.key_id


@pytest.mark.parametrize("header", [None, "", "Basic abc", "Bearer ", "Bearer pw_wrong"])
def test_bad_credentials_are_401(sqlite_db: Database, header: str | None) -> None:
    with sqlite_db.connect() as conn, pytest.raises(AuthError):
        authenticate(conn, header)


def test_revoked_token_stops_working(sqlite_db: Database) -> None:
    with sqlite_db.begin() as conn:
        key_id, token = create_submitter(conn, role=AuthRole.OBSERVER)
        row = submitter_store.get_submitter(conn, key_id=key_id)
        assert row is not None
        submitter_store.revoke_tokens(conn, row.id)
    with sqlite_db.connect() as conn, pytest.raises(AuthError, match="revoked"):
        authenticate(conn, f"Bearer {token}")


def test_phone_is_registered_once(sqlite_db: Database) -> None:
    with sqlite_db.begin() as conn:
        create_submitter(conn, role=AuthRole.AGENT, phone="+923001112223")
    with sqlite_db.begin() as conn, pytest.raises(ConflictError, match="phone"):
        create_submitter(conn, role=AuthRole.AGENT, phone="+923001112223")


def _principal(role: AuthRole, org: str = "PartyA", *assignments: Assignment) -> Principal:
    return Principal(1, "sub-x", role, org, assignments)


def test_agent_submits_only_where_assigned() -> None:
    agent = _principal(AuthRole.AGENT, "PartyA", Assignment("e", "NA-1", 3), Assignment("", "NA-2"))
    verify_may_submit(agent, election="e", constituency="NA-1", station_serial=3)
    verify_may_submit(agent, election="any", constituency="NA-2", station_serial=9)
    for election, code, serial in (("e", "NA-1", 4), ("f", "NA-1", 3), ("e", "NA-3", None)):
        with pytest.raises(ForbiddenError, match="not assigned"):
            verify_may_submit(agent, election=election, constituency=code, station_serial=serial)


@pytest.mark.parametrize("role", [AuthRole.PUBLIC, AuthRole.GATEWAY])
def test_read_only_roles_cannot_submit(role: AuthRole) -> None:
    with pytest.raises(ForbiddenError):
        verify_may_submit(_principal(role), election="e", constituency="NA-1", station_serial=1)


def test_registration_rules() -> None:
    verify_may_register(_principal(AuthRole.ADMIN, ""), role=AuthRole.COORDINATOR, organisation="X")
    coordinator = _principal(AuthRole.COORDINATOR, "PartyA")
    verify_may_register(coordinator, role=AuthRole.AGENT, organisation="PartyA")
    with pytest.raises(ForbiddenError, match="own organisation"):
        verify_may_register(coordinator, role=AuthRole.AGENT, organisation="PartyB")
    with pytest.raises(ForbiddenError, match="only agents and observers"):
        verify_may_register(coordinator, role=AuthRole.ADMIN, organisation="PartyA")
    with pytest.raises(ForbiddenError):
        verify_may_register(_principal(AuthRole.AGENT), role=AuthRole.AGENT, organisation="PartyA")


def test_device_signatures_verify_and_forgeries_fail(sqlite_db: Database) -> None:
    key = Ed25519PrivateKey.generate()
    public = public_key_of(key)
    signature = sign(key, b"message")
    verify_signature(public, b"message", signature)
    with pytest.raises(VerificationError, match="does not verify"):
        verify_signature(public, b"messagE", signature)
    with pytest.raises(VerificationError):
        verify_signature(public, b"message", "not base64!")
    with sqlite_db.begin() as conn:
        create_submitter(conn, role=AuthRole.AGENT)
        create_submitter(conn, role=AuthRole.AGENT)
        register_device(conn, submitter_id=1, public_key=device_key_id(public))
        assert register_device(conn, submitter_id=1, public_key=device_key_id(public)) == device_key_id(
            public
        )
        with pytest.raises(ConflictError, match="another submitter"):
            register_device(conn, submitter_id=2, public_key=device_key_id(public))


def test_coordinator_without_organisation_registers_nobody() -> None:
    lone = _principal(AuthRole.COORDINATOR, "")
    with pytest.raises(ForbiddenError, match="without an organisation"):
        verify_may_register(lone, role=AuthRole.AGENT, organisation="")
    with pytest.raises(ForbiddenError):
        verify_may_revoke(lone, role="agent", organisation="", owner_id=99)
