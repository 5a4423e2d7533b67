"""The synthetic night's submitters: party agents, an observer mission and the commission's uploader.

Each is registered like a real submitter (a pseudonymous key id, a token nobody is shown, an Ed25519
device key). The device keys are derived from the seed, the election and the submitter, so a second
load finds the same submitters and signs the same bytes; no private key is stored anywhere, and
anyone who knows the seed can re-derive them: they are demo keys, not secrets.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Connection

from pollwatch.auth import Assignment, AuthRole, Principal, create_submitter, register_device
from pollwatch.auth.devices import device_key_id, fingerprint, public_key_of
from pollwatch.auth.tokens import principal_for, principal_for_secret
from pollwatch.model import Role
from pollwatch.storage import devices as device_store

OFFICIAL_ORGANISATION = "Election commission"
_AUTH_ROLE = {
    Role.AGENT: AuthRole.AGENT, Role.OBSERVER: AuthRole.OBSERVER, Role.OFFICIAL: AuthRole.ADMIN,
    Role.COORDINATOR: AuthRole.COORDINATOR,
}  # fmt: skip
"""The commission's uploader submits official copies, which only an admin token may (see intake)."""


@dataclass(frozen=True)
class Identity:
    """A registered synthetic submitter and the device key it signs with."""

    principal: Principal
    device: Ed25519PrivateKey
    device_key: str
    """``ed25519:<base64>``: the pseudonymous submitter key its signed sheets carry."""


@dataclass(frozen=True)
class Wanted:
    """A submitter the night needs: its role, organisation and (for agents) constituencies."""

    role: Role
    organisation: str
    constituencies: tuple[str, ...] = ()
    tag: str = ""
    """Tells apart several submitters of one role and organisation (an observer mission's observers)."""


def device_private_key(
    *, seed: int, slug: str, role: Role, organisation: str, tag: str = ""
) -> Ed25519PrivateKey:
    """The submitter's device key, derived from the seed (the same on every load)."""
    material = f"pollwatch-synth-device/v1\n{seed}\n{slug}\n{role.value}\n{organisation}".encode()
    if tag:
        material += f"\n{tag}".encode()
    return Ed25519PrivateKey.from_private_bytes(hashlib.sha256(material).digest())


def register_submitters(
    conn: Connection, *, slug: str, seed: int, wanted: Iterable[Wanted]
) -> dict[tuple[Role, str], Identity]:
    """Register every wanted submitter with its device key, or find it registered by an earlier load."""
    out = {}
    for w in wanted:
        device = device_private_key(seed=seed, slug=slug, role=w.role, organisation=w.organisation, tag=w.tag)
        public = public_key_of(device)
        existing = device_store.get_device_key(conn, fingerprint(public))
        if existing is not None:
            principal = principal_for(conn, existing.owner)
        else:
            principal = _create(conn, slug, w)
            register_device(conn, submitter_id=principal.submitter_id, public_key=device_key_id(public))
        out[(w.role, w.organisation + (f"#{w.tag}" if w.tag else ""))] = Identity(
            principal, device, device_key_id(public)
        )
    return out


def _create(conn: Connection, slug: str, w: Wanted) -> Principal:
    assignments = [Assignment(slug, code) for code in w.constituencies]
    _key_id, secret = create_submitter(
        conn,
        role=_AUTH_ROLE[w.role],
        organisation=w.organisation,
        name=f"synthetic {w.role.value}{' ' + w.tag if w.tag else ''} of {w.organisation} ({slug})",
        assignments=assignments,
        label=f"synth {slug}",
    )
    # The token secret is dropped: synthetic submitters write through the core, never over HTTP.
    return principal_for_secret(conn, secret)
