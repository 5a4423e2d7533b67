"""What a pack says about each record's origin: who sent it (by key and role), when, and its signature."""

from __future__ import annotations

import hashlib
from typing import Any

from pollwatch.ledger.records import LeafRecord
from pollwatch.ledger.verify import device_signature_valid


def device_signature(record: LeafRecord) -> str:
    """``valid``, ``invalid`` or ``none`` (sent without a device signature, e.g. an imported file)."""
    valid = device_signature_valid(record)
    return "none" if valid is None else ("valid" if valid else "invalid")


def record_details(leaf: int, record: LeafRecord, entry: bytes) -> dict[str, Any]:
    """One copy as a station file lists it: its log record, fingerprint, submitter and times."""
    body = record.body
    return {
        "leaf": leaf,
        "sha256": hashlib.sha256(entry).hexdigest(),
        "type": record.type,
        "form": body.get("form"),
        "kind": body.get("kind"),
        "label": body.get("label"),
        "submitter_key": body.get("submitter_key"),
        "role": body.get("role"),
        "organisation": body.get("organisation"),
        "captured_at": body.get("captured_at"),
        "received_at": body.get("received_at"),
        "device_signature": device_signature(record),
        "photo_sha256": body.get("photo_sha256"),
        "supersedes": body.get("supersedes"),
    }
