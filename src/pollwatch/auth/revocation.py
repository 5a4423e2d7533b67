"""Revocation: shut out a submitter's tokens or one device key. Nothing is deleted; the log is untouched.

A revoked token no longer authenticates; a revoked device key no longer signs sheets that are accepted.
Sheets already accepted stay in the log and keep verifying: revocation is about the future only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import Connection

from pollwatch.auth.devices import fingerprint as fingerprint_of
from pollwatch.auth.devices import parse_public_key
from pollwatch.auth.roles import Principal, verify_may_revoke
from pollwatch.errors import InputError, NotFoundError
from pollwatch.storage import devices as device_store
from pollwatch.storage import submitters as submitter_store

FINGERPRINT = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class SubmitterRevoked:
    """What revoking a submitter did: how many of their tokens were still active and now are not."""

    submitter_id: int
    key_id: str
    role: str
    organisation: str
    tokens_revoked: int


@dataclass(frozen=True)
class DeviceRevoked:
    """What revoking a device key did (``already_revoked``: it was revoked before, nothing changed)."""

    fingerprint: str
    public_key: str
    owner_key_id: str
    already_revoked: bool


def revoke_submitter(conn: Connection, key_id: str, *, by: Principal | None) -> SubmitterRevoked:
    """Revoke every token of the submitter ``key_id``; ``by`` None is the operator at the console."""
    row = submitter_store.get_submitter(conn, key_id=key_id)
    if row is None:
        raise NotFoundError(
            "no submitter has this key id; nothing was revoked",
            where="key_id",
            expected="a key id printed by `pollwatch token create` or `submitter add` (sub-...)",
            found=key_id[:80],
        )
    if by is not None:
        verify_may_revoke(by, role=row.role, organisation=row.organisation, owner_id=row.id)
    active = submitter_store.count_active_tokens(conn, row.id)
    submitter_store.revoke_tokens(conn, row.id)
    return SubmitterRevoked(row.id, row.key_id, row.role, row.organisation, active)


def device_fingerprint(text: str) -> str:
    """Accept a fingerprint (64 hex digits) or the device key itself (``ed25519:<base64>``)."""
    candidate = text.strip().lower()
    if FINGERPRINT.fullmatch(candidate):
        return candidate
    if text.strip().startswith("ed25519:"):
        return fingerprint_of(parse_public_key(text.strip()))
    raise InputError(
        "not a device key fingerprint",
        where="fingerprint",
        expected="64 hex digits (SHA-256 of the raw public key) or ed25519:<base64 public key>",
        found=text[:80],
    )


def revoke_device(conn: Connection, fingerprint: str, *, by: Principal | None) -> DeviceRevoked:
    """Revoke one device key; ``by`` None is the operator at the console."""
    fp = device_fingerprint(fingerprint)
    device = device_store.get_device_key(conn, fp)
    if device is None:
        raise NotFoundError(
            "no device key has this fingerprint; nothing was revoked",
            where="fingerprint",
            expected="the fingerprint of a registered device key (`pollwatch device list KEY_ID`)",
            found=fingerprint[:80],
        )
    owner = device.owner
    if by is not None:
        verify_may_revoke(by, role=owner.role, organisation=owner.organisation, owner_id=owner.id)
    changed = device_store.revoke_device_key(conn, fp)
    return DeviceRevoked(fp, device.public_key, owner.key_id, already_revoked=not changed)
