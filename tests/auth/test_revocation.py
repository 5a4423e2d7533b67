"""Revocation in storage and auth: tokens and device keys are marked revoked, never deleted."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Table, func, select

from pollwatch.auth import (
    AuthRole,
    Principal,
    authenticate,
    create_submitter,
    device_key_id,
    register_device,
    revoke_device,
    revoke_submitter,
    verify_may_revoke,
)
from pollwatch.auth.devices import fingerprint, public_key_of
from pollwatch.auth.revocation import device_fingerprint
from pollwatch.errors import AuthError, ConflictError, ForbiddenError, InputError, NotFoundError
from pollwatch.storage import Database
from pollwatch.storage import devices as device_store
from pollwatch.storage import intake_schema as ti
from pollwatch.storage import submitters as submitter_store


def _agent_with_device(db: Database, organisation: str = "PartyA") -> tuple[str, str, str, int]:
    """(key id, token, device fingerprint, submitter id) of a fresh agent with one device key."""
    public = device_key_id(public_key_of(Ed25519PrivateKey.generate()))
    with db.begin() as conn:
        key_id, token = create_submitter(conn, role=AuthRole.AGENT, organisation=organisation, name="A B")
        row = submitter_store.get_submitter(conn, key_id=key_id)
        assert row is not None
        register_device(conn, submitter_id=row.id, public_key=public)
    return key_id, token, device_fingerprint(public), row.id


def _count(db: Database, table: Table) -> int:
    with db.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def test_revoke_submitter_shuts_out_every_token_and_keeps_the_rows(db: Database) -> None:
    key_id, token, _, submitter_id = _agent_with_device(db)
    before = (_count(db, ti.submitters), _count(db, ti.tokens))
    with db.begin() as conn:
        done = revoke_submitter(conn, key_id, by=None)
    assert (done.key_id, done.role, done.organisation, done.tokens_revoked) == (key_id, "agent", "PartyA", 1)
    assert (_count(db, ti.submitters), _count(db, ti.tokens)) == before
    with db.connect() as conn:
        assert submitter_store.count_active_tokens(conn, submitter_id) == 0
        with pytest.raises(AuthError, match="revoked"):
            authenticate(conn, f"Bearer {token}")


def test_revoke_submitter_twice_reports_nothing_left_to_revoke(db: Database) -> None:
    key_id, _, _, _ = _agent_with_device(db)
    with db.begin() as conn:
        revoke_submitter(conn, key_id, by=None)
    with db.begin() as conn:
        assert revoke_submitter(conn, key_id, by=None).tokens_revoked == 0


def test_revoke_unknown_submitter_is_not_found(db: Database) -> None:
    with db.begin() as conn, pytest.raises(NotFoundError, match="no submitter has this key id"):
        revoke_submitter(conn, "sub-0000000000000000", by=None)


def test_revoke_device_marks_only_that_key(db: Database) -> None:
    _, _, first, submitter_id = _agent_with_device(db)
    second = device_key_id(public_key_of(Ed25519PrivateKey.generate()))
    with db.begin() as conn:
        register_device(conn, submitter_id=submitter_id, public_key=second)
        done = revoke_device(conn, first, by=None)
    assert done.already_revoked is False
    with db.connect() as conn:
        devices = {d.fingerprint: d.revoked for d in device_store.list_submitter_devices(conn, submitter_id)}
        owners = device_store.list_device_owners(conn, {first, device_fingerprint(second)})
    assert devices == {first: True, device_fingerprint(second): False}
    assert owners == {device_fingerprint(second): submitter_id}  # what signed-sheet checks consult


def test_revoke_device_again_says_already_revoked(db: Database) -> None:
    _, _, fp, _ = _agent_with_device(db)
    with db.begin() as conn:
        revoke_device(conn, fp, by=None)
    with db.begin() as conn:
        assert revoke_device(conn, fp, by=None).already_revoked is True
    assert _count(db, ti.device_keys) == 1


def test_revoked_device_key_cannot_be_registered_again(db: Database) -> None:
    key = Ed25519PrivateKey.generate()
    public = device_key_id(public_key_of(key))
    _, _, _, submitter_id = _agent_with_device(db)
    with db.begin() as conn:
        register_device(conn, submitter_id=submitter_id, public_key=public)
        revoke_device(conn, fingerprint(public_key_of(key)), by=None)
    with db.begin() as conn, pytest.raises(ConflictError, match="revoked"):
        register_device(conn, submitter_id=submitter_id, public_key=public)


def test_revoke_unknown_device_is_not_found(db: Database) -> None:
    with db.begin() as conn, pytest.raises(NotFoundError, match="no device key"):
        revoke_device(conn, "ab" * 32, by=None)


def test_device_fingerprint_accepts_the_key_or_its_hex() -> None:
    key = public_key_of(Ed25519PrivateKey.generate())
    assert device_fingerprint(device_key_id(key)) == fingerprint(key)
    assert device_fingerprint(fingerprint(key).upper()) == fingerprint(key)
    with pytest.raises(InputError, match="not a device key fingerprint"):
        device_fingerprint("00ff")


def _principal(role: AuthRole, organisation: str = "PartyA", submitter_id: int = 99) -> Principal:
    return Principal(submitter_id, f"sub-{submitter_id}", role, organisation)


@pytest.mark.parametrize(
    ("who", "role", "organisation", "allowed"),
    [
        (_principal(AuthRole.ADMIN, ""), "coordinator", "PartyB", True),
        (_principal(AuthRole.COORDINATOR), "agent", "PartyA", True),
        (_principal(AuthRole.COORDINATOR), "observer", "PartyA", True),
        (_principal(AuthRole.COORDINATOR), "agent", "PartyB", False),
        (_principal(AuthRole.COORDINATOR), "admin", "PartyA", False),
        (_principal(AuthRole.COORDINATOR, ""), "agent", "", False),  # no organisation matches nobody
        (_principal(AuthRole.AGENT), "agent", "PartyA", False),
        (_principal(AuthRole.OBSERVER), "observer", "PartyA", False),
        (_principal(AuthRole.GATEWAY, ""), "agent", "", False),
    ],
)
def test_who_may_revoke_others(who: Principal, role: str, organisation: str, allowed: bool) -> None:
    if allowed:
        verify_may_revoke(who, role=role, organisation=organisation, owner_id=1)
    else:
        with pytest.raises(ForbiddenError):
            verify_may_revoke(who, role=role, organisation=organisation, owner_id=1)


@pytest.mark.parametrize("role", [AuthRole.AGENT, AuthRole.OBSERVER, AuthRole.COORDINATOR])
def test_anyone_may_revoke_their_own(role: AuthRole) -> None:
    verify_may_revoke(_principal(role, submitter_id=7), role=role.value, organisation="X", owner_id=7)


def test_revoke_as_principal_checks_permission_before_writing(db: Database) -> None:
    key_id, token, fp, submitter_id = _agent_with_device(db, organisation="PartyB")
    outsider = _principal(AuthRole.COORDINATOR, "PartyA")
    with db.begin() as conn, pytest.raises(ForbiddenError, match="own organisation"):
        revoke_submitter(conn, key_id, by=outsider)
    with db.begin() as conn, pytest.raises(ForbiddenError, match="own organisation"):
        revoke_device(conn, fp, by=outsider)
    with db.connect() as conn:
        assert submitter_store.count_active_tokens(conn, submitter_id) == 1
        assert authenticate(conn, f"Bearer {token}").key_id == key_id
        assert device_store.list_device_owners(conn, {fp}) == {fp: submitter_id}
