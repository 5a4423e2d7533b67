"""Canonical leaf records: the exact bytes that enter the public log.

A leaf is RFC 8785 (JCS) canonical JSON of ``{"v": 1, "type": <type>, **body}``. The log is public and
permanent, so a leaf never carries personal data: submitters appear only as a pseudonymous key id, a
role and an organisation. :data:`PERSONAL_FIELDS` are refused at any depth, both when a record is made
canonical and when leaf bytes are parsed.

Device signatures. A registered device signs :func:`signed_bytes` of the sheet body without the fields
the server adds (``signature``, ``received_at``, ``checks``). For the signature to be checkable offline,
the ``submitter_key`` of a signed sheet is the device's public key, ``ed25519:<base64 of 32 bytes>``
(see :func:`device_public_key`).

References
----------
RFC 8785, JSON Canonicalization Scheme. C2SP tlog-tiles (entries are at most 65,535 bytes).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import rfc8785

from pollwatch.errors import InputError, Problem, TooLargeError, VerificationError
from pollwatch.ledger.ed25519 import verify_strong_key
from pollwatch.ledger.jcs import canonical_json

VERSION = 1
MAX_ENTRY_BYTES = 65_535
"""tlog-tiles entry bundles prefix each entry with a big-endian uint16 length."""

TYPES = frozenset({"sheet", "official", "incident", "correction", "photo"})
"""The built-in leaf types; a record kind registered later adds its own (:func:`register_type`)."""
_registered: set[str] = set()

PERSONAL_FIELDS = frozenset(
    {
        "name",
        "full_name",
        "first_name",
        "last_name",
        "submitter_name",
        "phone",
        "phone_number",
        "mobile",
        "msisdn",
        "email",
        "address",
        "home_address",
        "cnic",
        "national_id",
        "id_card",
        "passport",
        "date_of_birth",
        "dob",
        "ip",
        "ip_address",
    }
)
"""Keys that must never appear in a leaf, at any depth. Candidate names go in ``candidate``-keyed maps."""

SERVER_FIELDS = ("signature", "received_at", "checks")
"""Fields a submitting device does not sign: the server adds them."""

SIGNATURE_DOMAIN = b"pollwatch-sheet-signature/v1\n"
"""Prefix of the signed message, so a sheet signature can never be replayed as another kind of signature.
A record of another leaf type signs under ``pollwatch-<type>-signature/v1\\n``."""

_RESERVED = frozenset({"v", "type"})


@dataclass(frozen=True)
class LeafRecord:
    """One log entry before encoding: its type and its body (everything except ``v`` and ``type``)."""

    type: str
    body: Mapping[str, Any]


def canonical_bytes(record: LeafRecord) -> bytes:
    """Return the RFC 8785 bytes of a record, refusing bad types, personal data and oversize entries.

    Raises
    ------
    InputError
        Unknown type, reserved or personal keys, values JSON cannot represent.
    TooLargeError
        The encoding is above 65,535 bytes (C2SP tlog-tiles entry limit).
    """
    _check_record(record)
    try:
        data = canonical_json({"v": VERSION, "type": record.type, **record.body})
    except (rfc8785.CanonicalizationError, TypeError, ValueError) as exc:
        raise InputError(
            "the record cannot be encoded as canonical JSON",
            expected="strings, integers, booleans, null, lists and objects",
            found=str(exc),
        ) from exc
    if len(data) > MAX_ENTRY_BYTES:
        raise TooLargeError(
            "the log entry is too large",
            expected=f"at most {MAX_ENTRY_BYTES} bytes",
            found=f"{len(data)} bytes",
            remedy="log photos by their SHA-256 only; keep text fields short",
        )
    return data


def parse_leaf(data: bytes) -> LeafRecord:
    """Decode leaf bytes, checking they are exactly the canonical encoding of a valid record.

    Raises
    ------
    VerificationError
        The bytes are not JSON, not canonical, of an unknown version or type, or carry personal data.
    """
    try:
        value = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise VerificationError("the log entry is not UTF-8 JSON", found=str(exc)) from exc
    if not isinstance(value, dict):
        raise VerificationError("the log entry is not a JSON object", found=type(value).__name__)
    if value.get("v") != VERSION:
        raise VerificationError(
            "unknown log entry version", expected=str(VERSION), found=repr(value.get("v"))
        )
    kind = value.get("type")
    body = {k: v for k, v in value.items() if k not in _RESERVED}
    record = LeafRecord(type=str(kind), body=body)
    try:
        again = canonical_bytes(record)
    except (InputError, TooLargeError) as exc:
        raise VerificationError(exc.message, problems=exc.problems) from exc
    if again != data:
        raise VerificationError(
            "the log entry is not in RFC 8785 canonical form",
            expected=again[:80].decode("utf-8", "replace"),
            found=data[:80].decode("utf-8", "replace"),
        )
    return record


def sheet_record(
    *,
    election: str,
    submission_id: str,
    kind: str,
    form: str,
    constituency: str,
    station: str | None,
    votes: Mapping[str, int],
    totals: Mapping[str, int | None],
    submitter_key: str,
    role: str,
    organisation: str,
    captured_at: str,
    received_at: str,
    photo_sha256: str | None,
    signature: str | None,
    supersedes: int | None,
    checks: Sequence[str],
) -> LeafRecord:
    """Build the leaf record of one result sheet.

    ``votes`` is keyed by ballot position as a string (``"1"``, ``"2"``...); ``totals`` holds valid,
    rejected, polled, ... (``None`` when the sheet leaves a box empty); ``checks`` names the arithmetic
    checks the sheet failed (accepted and flagged); ``supersedes`` is the leaf index this sheet corrects.
    """
    body: dict[str, Any] = {
        "election": election,
        "submission_id": submission_id,
        "kind": kind,
        "form": form,
        "constituency": constituency,
        "station": station,
        "votes": {str(k): int(v) for k, v in votes.items()},
        "totals": {str(k): (None if v is None else int(v)) for k, v in totals.items()},
        "submitter_key": submitter_key,
        "role": role,
        "organisation": organisation,
        "captured_at": captured_at,
        "received_at": received_at,
        "photo_sha256": photo_sha256,
        "signature": signature,
        "supersedes": supersedes,
        "checks": sorted(checks),
    }
    if signature is not None:
        device_public_key(submitter_key)
    return LeafRecord(type="sheet", body=body)


def signed_bytes(body: Mapping[str, Any], record_type: str = "sheet") -> bytes:
    """Return the bytes a submitting device signs with Ed25519 for a record body.

    The message is ``pollwatch-<type>-signature/v1\\n`` (``pollwatch-sheet-signature/v1\\n`` for a
    sheet) followed by the RFC 8785 encoding of the body without ``signature``, ``received_at`` and
    ``checks`` (dropped here if present).
    """
    unsigned = {k: v for k, v in body.items() if k not in SERVER_FIELDS and k not in _RESERVED}
    _check_keys(unsigned, "body")
    domain = (
        SIGNATURE_DOMAIN if record_type == "sheet" else f"pollwatch-{record_type}-signature/v1\n".encode()
    )
    return domain + canonical_json(unsigned)


def register_type(record_type: str) -> None:
    """Make a leaf type loggable (a record kind registered outside the built-in ones)."""
    if not record_type.isidentifier() or record_type in _RESERVED:
        raise InputError("a leaf type is a lowercase identifier", found=repr(record_type))
    _registered.add(record_type)


def official_record(
    *,
    election: str,
    submission_id: str,
    kind: str,
    form: str,
    label: str,
    constituency: str,
    station: str | None,
    votes: Mapping[str, int],
    totals: Mapping[str, int | None],
    submitter_key: str,
    role: str,
    organisation: str,
    source: Mapping[str, Any],
    received_at: str,
    checks: Sequence[str],
    captured_at: str | None = None,
    photo_sha256: str | None = None,
    signature: str | None = None,
) -> LeafRecord:
    """Build the leaf record of one official result sheet (Form-47/48/49, an official Form-45 upload).

    The keys are those of :func:`sheet_record` where they apply, plus ``label`` (the snapshot or
    version) and ``source``: ``{"file": <dataset-relative path>, "sha256": <file SHA-256>, "row":
    <1-based row>}`` for an imported file, ``{"url": ..., "sha256": ...}`` for a download. ``role`` is
    ``import`` (loaded by an operator) or ``official`` (uploaded by the authority's token).
    """
    body: dict[str, Any] = {
        "election": election,
        "submission_id": submission_id,
        "kind": kind,
        "form": form,
        "label": label,
        "constituency": constituency,
        "station": station,
        "votes": {str(k): int(v) for k, v in votes.items()},
        "totals": {str(k): (None if v is None else int(v)) for k, v in totals.items()},
        "submitter_key": submitter_key,
        "role": role,
        "organisation": organisation,
        "source": dict(source),
        "captured_at": captured_at,
        "received_at": received_at,
        "photo_sha256": photo_sha256,
        "signature": signature,
        "checks": sorted(checks),
    }
    if signature is not None:
        device_public_key(submitter_key)
    return LeafRecord(type="official", body=body)


def device_public_key(submitter_key: str) -> bytes:
    """Return the raw Ed25519 public key of a signing device from its ``ed25519:<base64>`` key id."""
    prefix, _, encoded = submitter_key.partition(":")
    try:
        raw = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if prefix != "ed25519" or len(raw) != 32:
        raise InputError(
            "a signed sheet must name its device public key as submitter_key",
            where="submitter_key",
            expected="ed25519:<base64 of the 32-byte public key>",
            found=submitter_key[:80],
        )
    verify_strong_key(raw, where="submitter_key")
    return raw


def _check_record(record: LeafRecord) -> None:
    if record.type not in TYPES and record.type not in _registered:
        known = ", ".join(sorted(TYPES | _registered))
        raise InputError("unknown log entry type", expected=known, found=repr(record.type))
    reserved = _RESERVED & set(record.body)
    if reserved:
        raise InputError(
            "a record body may not set reserved keys",
            expected="no 'v' or 'type'",
            found=str(sorted(reserved)),
        )
    _check_keys(record.body, "body")


def _check_keys(value: Any, where: str) -> None:
    if not _has_personal(value):  # the common case, without building a path for every node
        return
    problems = [
        Problem("personal data may not enter the public log", where=w, found=k)
        for w, k in _walk(value, where)
    ]
    raise InputError(
        "personal data may not enter the public log",
        problems=problems,
        remedy="submitters appear only by pseudonymous key id, role and organisation",
    )


def _has_personal(value: Any) -> bool:
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return False
    if kind is dict or isinstance(value, Mapping):
        return any(str(key).lower() in PERSONAL_FIELDS for key in value) or any(
            map(_has_personal, value.values())
        )
    if kind is list or kind is tuple or isinstance(value, list | tuple):
        return any(map(_has_personal, value))
    return False


def _walk(value: Any, where: str) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    if isinstance(value, Mapping):
        for key, item in value.items():
            path = f"{where}.{key}"
            if str(key).lower() in PERSONAL_FIELDS:
                found.append((path, str(key)))
            found.extend(_walk(item, path))
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            found.extend(_walk(item, f"{where}[{i}]"))
    return found
