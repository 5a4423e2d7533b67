"""Ed25519 device keys: a registered phone signs the canonical bytes of what it submits."""

from __future__ import annotations

import base64
import binascii
import hashlib

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy import Connection

from pollwatch.errors import ConflictError, InputError, VerificationError
from pollwatch.ledger.ed25519 import verify_strong_key, weakness
from pollwatch.storage import devices as device_store


def device_key_id(public_key: bytes) -> str:
    """The pseudonymous id a signed sheet carries: ``ed25519:<base64 of the raw public key>``."""
    return "ed25519:" + base64.b64encode(public_key).decode("ascii")


def fingerprint(public_key: bytes) -> str:
    return hashlib.sha256(public_key).hexdigest()


def parse_public_key(text: str) -> bytes:
    """Accept ``ed25519:<base64>`` or bare base64 of 32 bytes."""
    encoded = text.removeprefix("ed25519:")
    try:
        raw = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 32:
        raise InputError(
            "not an Ed25519 public key",
            where="public_key",
            expected="ed25519:<base64 of 32 bytes>",
            found=text[:80],
        )
    return raw


def public_key_of(private_key: Ed25519PrivateKey) -> bytes:
    return private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def sign(private_key: Ed25519PrivateKey, message: bytes) -> str:
    """Base64 Ed25519 signature of ``message`` (what a device sends as ``signature``)."""
    return base64.b64encode(private_key.sign(message)).decode("ascii")


def verify_signature(public_key: bytes, message: bytes, signature: str) -> None:
    """Raise VerificationError unless ``signature`` is a valid Ed25519 signature of ``message``.

    A key of small order or with a non-canonical encoding never verifies anything: a "signature" by
    such a key needs no private key.
    """
    why = weakness(public_key)
    if why is not None:
        raise VerificationError(
            f"the device key is refused: {why}",
            where="submitter_key",
            remedy="register a freshly generated Ed25519 key and sign with it",
        )
    try:
        raw = base64.b64decode(signature, validate=True)
        Ed25519PublicKey.from_public_bytes(public_key).verify(raw, message)
    except (binascii.Error, ValueError, InvalidSignature) as exc:
        raise VerificationError(
            "the device signature does not verify",
            where="signature",
            expected="an Ed25519 signature by the named device key over the canonical sheet bytes",
            found=signature[:100],
            remedy="sign pollwatch.ledger.records.signed_bytes(body) exactly; see docs/intake.md",
        ) from exc


def register_device(conn: Connection, *, submitter_id: int, public_key: str) -> str:
    """Register a device key for a submitter; return its key id (what signed sheets carry)."""
    raw = parse_public_key(public_key)
    verify_strong_key(raw, where="public_key")
    fp = fingerprint(raw)
    existing = device_store.get_device_key(conn, fp)
    if existing is not None and existing.revoked:
        raise ConflictError(
            "that device key was revoked; a revoked key is never registered again",
            where="public_key",
            found=device_key_id(raw),
            remedy="generate a new key pair on the device and register its public key",
        )
    if existing is not None:
        if existing.owner.id == submitter_id:
            return device_key_id(raw)
        raise ConflictError("that device key is registered to another submitter", where="public_key")
    device_store.create_device_key(
        conn, submitter_id=submitter_id, fingerprint=fp, public_key=device_key_id(raw)
    )
    return device_key_id(raw)


def device_owner(conn: Connection, key_id: str) -> int | None:
    """The submitter id a device key belongs to (None if unknown or revoked)."""
    return device_store.get_device_owner(conn, fingerprint(parse_public_key(key_id)))
