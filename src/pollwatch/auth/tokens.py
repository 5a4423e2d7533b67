"""API tokens: a random secret shown once, stored only as its SHA-256."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence

from sqlalchemy import Connection

from pollwatch.auth.roles import Assignment, AuthRole, Principal
from pollwatch.errors import AuthError, ConflictError
from pollwatch.storage import assignments as assignment_store
from pollwatch.storage import submitters as submitter_store

TOKEN_PREFIX = "pw_"


def hash_token(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def new_key_id() -> str:
    """A pseudonymous submitter id: random, so it says nothing about the person."""
    return "sub-" + secrets.token_hex(8)


def create_submitter(
    conn: Connection,
    *,
    role: AuthRole,
    organisation: str = "",
    name: str = "",
    phone: str | None = None,
    address: str = "",
    assignments: Sequence[Assignment] = (),
    label: str = "",
) -> tuple[str, str]:
    """Register a submitter with one token; return (key id, token secret). The secret is not stored."""
    if phone is not None and submitter_store.phone_in_use(conn, phone):
        raise ConflictError(
            "that phone number is already registered", where="phone", remedy="register it once"
        )
    row = submitter_store.create_submitter(
        conn, key_id=new_key_id(), role=role.value, organisation=organisation, name=name, phone=phone,
        address=address,
    )  # fmt: skip
    for a in assignments:
        assignment_store.create_assignment(
            conn, submitter_id=row.id, election=a.election, constituency=a.constituency,
            station_serial=a.station_serial,
        )  # fmt: skip
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    submitter_store.create_token(conn, submitter_id=row.id, token_sha256=hash_token(secret), label=label)
    return row.key_id, secret


def require_header(authorization: str | None) -> str:
    """Return the Authorization header, or raise the AuthError a request without one gets."""
    if not authorization:
        raise AuthError(
            "this action needs an API token",
            where="Authorization",
            expected="Authorization: Bearer pw_...",
            found="no header",
            remedy="ask an admin or coordinator for a token (`pollwatch token create`)",
        )
    return authorization


def authenticate(conn: Connection, authorization: str | None) -> Principal:
    """Return the principal of a ``Bearer`` token, or raise AuthError."""
    authorization = require_header(authorization)
    scheme, _, secret = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise AuthError("malformed Authorization header", where="Authorization", expected="Bearer <token>")
    return principal_for_secret(conn, secret.strip())


def principal_for_secret(conn: Connection, secret: str) -> Principal:
    row = submitter_store.get_token_submitter(conn, hash_token(secret))
    if row is None:
        raise AuthError("unknown or revoked API token", where="Authorization", remedy="ask for a new token")
    return principal_for(conn, row)


def principal_for(conn: Connection, row: submitter_store.SubmitterRow) -> Principal:
    assignments = tuple(
        Assignment(a.election, a.constituency, a.station_serial)
        for a in assignment_store.list_assignments(conn, row.id)
    )
    return Principal(row.id, row.key_id, AuthRole(row.role), row.organisation, assignments)
