"""Canonical leaf records: RFC 8785 bytes, size limit, personal-data refusal, device signatures."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from pollwatch.errors import InputError, TooLargeError, VerificationError
from pollwatch.ledger.records import (
    LeafRecord,
    canonical_bytes,
    device_public_key,
    parse_leaf,
    sheet_record,
    signed_bytes,
)


def _sheet(**overrides: Any) -> LeafRecord:
    fields: dict[str, Any] = {
        "election": "pk-2024",
        "submission_id": "sub-1",
        "kind": "station_count",
        "form": "Form-45",
        "constituency": "NA-1",
        "station": "12",
        "votes": {"1": 120, "2": 80},
        "totals": {"valid": 200, "rejected": 3, "polled": 203, "tendered": None},
        "submitter_key": "k-7f3a",
        "role": "agent",
        "organisation": "Party A",
        "captured_at": "2024-02-08T18:00:00Z",
        "received_at": "2024-02-08T18:05:00Z",
        "photo_sha256": "ab" * 32,
        "signature": None,
        "supersedes": None,
        "checks": ["votes_sum"],
    }
    fields.update(overrides)
    return sheet_record(**fields)


def test_canonical_bytes_are_rfc8785_with_version_and_type() -> None:
    data = canonical_bytes(LeafRecord("incident", {"b": 1, "a": "x"}))
    # RFC 8785 section 3.2.3: members sorted by UTF-16 code units, no whitespace.
    assert data == b'{"a":"x","b":1,"type":"incident","v":1}'


def test_parse_leaf_round_trips_a_sheet() -> None:
    record = _sheet()
    assert parse_leaf(canonical_bytes(record)) == record


def test_parse_leaf_refuses_non_canonical_bytes() -> None:
    with pytest.raises(VerificationError, match="canonical"):
        parse_leaf(b'{"v":1, "type":"incident"}')


def test_parse_leaf_refuses_garbage_and_unknown_version() -> None:
    with pytest.raises(VerificationError, match="JSON"):
        parse_leaf(b"\xff\x00")
    with pytest.raises(VerificationError, match="version"):
        parse_leaf(b'{"type":"incident","v":2}')


def test_canonical_bytes_refuses_personal_fields_at_any_depth() -> None:
    with pytest.raises(InputError, match="personal data") as info:
        canonical_bytes(LeafRecord("incident", {"detail": {"witnesses": [{"Phone": "0300"}]}}))
    assert info.value.problems[0].where == "body.detail.witnesses[0].Phone"


def test_parse_leaf_refuses_personal_fields() -> None:
    with pytest.raises(VerificationError, match="personal data"):
        parse_leaf(b'{"name":"A","type":"incident","v":1}')


def test_canonical_bytes_refuses_unknown_type_and_reserved_keys() -> None:
    with pytest.raises(InputError, match="unknown log entry type"):
        canonical_bytes(LeafRecord("vote", {}))
    with pytest.raises(InputError, match="reserved"):
        canonical_bytes(LeafRecord("incident", {"v": 2}))


def test_canonical_bytes_refuses_entries_over_65535_bytes() -> None:
    canonical_bytes(LeafRecord("incident", {"note": "x" * 65_000}))
    with pytest.raises(TooLargeError, match="too large"):
        canonical_bytes(LeafRecord("incident", {"note": "x" * 65_536}))


def test_signed_bytes_ignore_server_fields_and_verify() -> None:
    key = Ed25519PrivateKey.generate()
    raw = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    submitter = "ed25519:" + base64.b64encode(raw).decode()
    unsigned = dict(_sheet(submitter_key=submitter).body)
    message = signed_bytes(unsigned)
    signature = base64.b64encode(key.sign(message)).decode()
    record = _sheet(submitter_key=submitter, signature=signature, checks=["other"], received_at="later")
    assert signed_bytes(record.body) == message
    key.public_key().verify(base64.b64decode(signature), signed_bytes(record.body))
    assert device_public_key(submitter) == raw


def test_sheet_record_with_signature_needs_a_device_key() -> None:
    with pytest.raises(InputError, match="device public key"):
        _sheet(signature="AAAA", submitter_key="k-7f3a")
