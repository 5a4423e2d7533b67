"""Ledger fixtures: deterministic log and witness keys, a sheet-record factory."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from pollwatch.ledger.note import ALG_COSIGNATURE, Signer
from pollwatch.ledger.records import LeafRecord, sheet_record, signed_bytes
from pollwatch.ledger.settings import LogSettings

ORIGIN = "test.example/log"


@pytest.fixture
def log_signer() -> Signer:
    return Signer.from_seed(ORIGIN, hashlib.sha256(b"test-log").digest())


@pytest.fixture
def witness_signer() -> Signer:
    return Signer.from_seed("witness.test/w1", hashlib.sha256(b"test-witness").digest(), alg=ALG_COSIGNATURE)


@pytest.fixture
def settings(log_signer: Signer) -> LogSettings:
    return LogSettings(log_signer)


DEVICE = Ed25519PrivateKey.from_private_bytes(hashlib.sha256(b"test-device").digest())
DEVICE_KEY = (
    "ed25519:" + base64.b64encode(DEVICE.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)).decode()
)


def make_sheet(
    station: str,
    votes: dict[str, int],
    *,
    constituency: str = "NA-1",
    supersedes: int | None = None,
    photo: bytes | None = None,
    signed: bool = True,
    **extra: Any,
) -> LeafRecord:
    """A station sheet, signed by the test device unless ``signed`` is False."""
    fields: dict[str, Any] = {
        "election": "test-2026",
        "submission_id": f"sub-{constituency}-{station}-{supersedes}",
        "kind": "station_count",
        "form": "Form-45",
        "constituency": constituency,
        "station": station,
        "votes": votes,
        "totals": {"valid": sum(votes.values())},
        "submitter_key": DEVICE_KEY if signed else "k-anon",
        "role": "agent",
        "organisation": "Observer Group",
        "captured_at": "2026-02-08T18:00:00Z",
        "received_at": "2026-02-08T18:01:00Z",
        "photo_sha256": hashlib.sha256(photo).hexdigest() if photo is not None else None,
        "signature": None,
        "supersedes": supersedes,
        "checks": [],
    }
    fields.update(extra)
    record = sheet_record(**fields)
    if not signed:
        return record
    signature = base64.b64encode(DEVICE.sign(signed_bytes(record.body))).decode()
    return sheet_record(**{**fields, "signature": signature})
