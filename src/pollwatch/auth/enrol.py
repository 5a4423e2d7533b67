"""Enrolling a phone: a coordinator hands an agent or observer a one-time code (shown as a QR code); the
field app generates its own Ed25519 key pair, sends the public key with the code, and receives the API
token it will submit with. The private key never leaves the phone; the code works once, for a limited time.

The QR code carries what the app needs and nothing personal: the server's address, the election, the
code, and the log's public key (so the app checks its receipts against a key it got at enrolment, not one
shipped with a receipt).

>>> # code, payload = create_enrolment(conn, submitter="sub_...", election="pk-2024", server=..., log_key=...)
>>> # result = enrol(conn, code=code, public_key="ed25519:...")   # the app's request, once
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from pollwatch.auth.devices import register_device
from pollwatch.auth.roles import AuthRole, Principal
from pollwatch.auth.tokens import TOKEN_PREFIX, hash_token, principal_for
from pollwatch.errors import AuthError, ConflictError, ForbiddenError, InputError, NotFoundError
from pollwatch.storage import enrolments, structure
from pollwatch.storage import submitters as submitter_store

CODE_PREFIX = "pe_"
DEFAULT_VALIDITY = dt.timedelta(hours=72)
ENROLLING = frozenset({AuthRole.AGENT, AuthRole.OBSERVER, AuthRole.COORDINATOR})
"""Who enrols a phone: those who capture at stations; admins and gateways never carry a phone token."""


@dataclass(frozen=True)
class Enrolled:
    """What the app receives, once: its token (shown nowhere else) and what it may submit where."""

    token: str
    device_key: str
    submitter: str
    role: str
    organisation: str
    election: str
    assignments: list[dict[str, Any]]

    def as_dict(self) -> dict[str, Any]:
        return dict(vars(self))


def create_enrolment(
    conn: Connection,
    *,
    submitter: str,
    election: str,
    server: str,
    log_key: str,
    now: dt.datetime,
    valid_for: dt.timedelta = DEFAULT_VALIDITY,
) -> tuple[str, dict[str, Any]]:
    """A one-time code for the submitter with key id ``submitter`` and the QR payload that carries it."""
    row = submitter_store.get_submitter(conn, key_id=submitter)
    if row is None:
        raise NotFoundError("no such submitter", where="--submitter", found=submitter[:40])
    if AuthRole(row.role) not in ENROLLING:
        raise InputError("only agents, observers and coordinators enrol a phone", where="--submitter",
                         expected=", ".join(sorted(r.value for r in ENROLLING)), found=row.role)  # fmt: skip
    structure.get_election(conn, election)  # NotFoundError for an unknown election
    if not server.startswith(("https://", "http://")):
        raise InputError(
            "the server's address is a URL", where="--server", expected="https://...", found=server
        )
    code = CODE_PREFIX + secrets.token_urlsafe(18)
    enrolments.create_enrolment(conn, code_sha256=_sha(code), submitter_id=row.id, election=election, now=now,
                                expires_at=now + valid_for)  # fmt: skip
    payload = {"v": 1, "server": server.rstrip("/"), "election": election, "code": code, "log_key": log_key,
               "expires_at": (now + valid_for).isoformat()}  # fmt: skip
    return code, payload


def enrol(conn: Connection, *, code: str, public_key: str, now: dt.datetime) -> Enrolled:
    """Register the app's device key under the code's submitter and issue its token; the code is spent."""
    found = enrolments.get_enrolment(conn, _sha(code.strip()))
    if found is None:
        raise AuthError(
            "unknown enrolment code", where="code", remedy="ask your coordinator for a new QR code"
        )
    if found.used_at is not None:
        raise ConflictError(
            "this enrolment code was already used", where="code",
            remedy="each code enrols one phone; ask your coordinator for a new one",
        )  # fmt: skip
    if now > found.expires_at:
        raise AuthError("this enrolment code has expired", where="code",
                        found=found.expires_at.isoformat(),
                        remedy="ask your coordinator for a new QR code")  # fmt: skip
    row = submitter_store.get_submitter_by_id(conn, found.submitter_id)
    if row is None:
        raise AuthError("the code's submitter no longer exists", where="code")
    device = register_device(conn, submitter_id=row.id, public_key=public_key)
    if not enrolments.mark_used(conn, found.id, now=now):
        raise ConflictError("this enrolment code was already used", where="code")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    submitter_store.create_token(conn, submitter_id=row.id, token_sha256=hash_token(token), label="enrolment")
    principal = principal_for(conn, row)
    return Enrolled(
        token=token, device_key=device, submitter=row.key_id, role=row.role, organisation=row.organisation,
        election=found.election,
        assignments=[vars(a) for a in principal.assignments if a.election in ("", found.election)],
    )  # fmt: skip


def verify_may_enrol(conn: Connection, principal: Principal, *, submitter: str) -> None:
    """Admins enrol anyone's phone; a coordinator only the agents and observers of their organisation."""
    if principal.role is AuthRole.ADMIN:
        return
    row = submitter_store.get_submitter(conn, key_id=submitter)
    if principal.role is not AuthRole.COORDINATOR:
        raise ForbiddenError("only coordinators and admins make enrolment codes", where="token",
                             expected="a coordinator's token", found=principal.role.value)  # fmt: skip
    if (
        row is None
        or row.role not in (AuthRole.AGENT.value, AuthRole.OBSERVER.value)
        or (not principal.organisation or row.organisation != principal.organisation)
    ):
        raise ForbiddenError(
            "a coordinator enrols only agents and observers of their own organisation",
            where="submitter", expected=f"an agent or observer of {principal.organisation or '(none)'}",
            found=submitter[:40],
        )  # fmt: skip


def app_url(payload: dict[str, Any]) -> str:
    """The address a phone's camera opens: the field app with the payload in its fragment (never sent to
    any server: a fragment stays in the browser)."""
    encoded = base64.urlsafe_b64encode(payload_text(payload).encode()).decode().rstrip("=")
    return f"{payload['server']}/app#enrol={encoded}"


def payload_text(payload: dict[str, Any]) -> str:
    """The QR code's text: compact JSON."""
    return json.dumps(payload, separators=(",", ":"), sort_keys=True)


def qr_svg(payload: dict[str, Any]) -> str:
    """The app's address with the payload (:func:`app_url`) as an SVG QR code (medium error correction),
    to print or show on a screen: a phone's camera opens the field app already holding the payload."""
    import segno

    svg: str = segno.make(app_url(payload), error="m").svg_inline(scale=4)
    return svg


def _sha(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()
