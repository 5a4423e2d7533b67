"""Security: the role matrix, forged and replayed signatures, hostile strings, bad photos, fuzzing."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import struct
import zlib
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import func, select

from pollwatch.api.app import create_app
from pollwatch.auth.devices import device_key_id, public_key_of
from pollwatch.intake.testing import bearer, sheet_payload, sign_payload
from pollwatch.ledger.records import device_public_key, parse_leaf, signed_bytes
from pollwatch.storage import Database
from pollwatch.storage import log as logstore
from pollwatch.storage import schema as t

ROLE_PAYLOAD = {"admin": "admin", "coordinator": "coordinator", "agent": "agent", "observer": "observer"}


def _leaves(db: Database) -> int:
    with db.connect() as conn:
        return logstore.count_entries(conn)


def _png(width: int = 20, height: int = 20) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (1, 2, 3)).save(buffer, "PNG")
    return buffer.getvalue()


def _bomb_png(width: int = 200_000, height: int = 200_000) -> bytes:
    """A tiny PNG whose header claims 40 gigapixels (the IDAT is one compressed row)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * 100))
        + chunk(b"IEND", b"")
    )


def _call(client: TestClient, endpoint: str, token: str | None, role: str, target: str = "") -> int:
    return int(_status(client, endpoint, token, role, target))


def _status(client: TestClient, endpoint: str, token: str | None, role: str, target: str) -> Any:
    """The HTTP status of one call of ``endpoint`` (TestClient's answers are untyped here)."""
    headers = bearer(token) if token else {}
    payload_role = ROLE_PAYLOAD.get(role, "agent")
    if endpoint == "sheets":
        body = sheet_payload(f"m-{role}-sheet", role=payload_role)
        return client.post("/api/v1/sheets?receipt=false", json=body, headers=headers).status_code
    if endpoint == "batch":
        batch = [sheet_payload(f"m-{role}-batch", role=payload_role)]
        return client.post("/api/v1/sheets/batch", json=batch, headers=headers).status_code
    if endpoint == "csv":
        text = f"submission_id,election,constituency,station,c1,c2,c3\nm-{role}-csv1,tiny-2026,NA-1,1,1,2,3\n"
        headers = {**headers, "content-type": "text/csv"}
        return client.post("/api/v1/sheets/csv", content=text, headers=headers).status_code
    if endpoint == "photo":
        photo = _png()
        return client.put(f"/api/v1/photos/{hashlib.sha256(photo).hexdigest()}", content=photo,
                          headers=headers).status_code  # fmt: skip
    if endpoint in ("photo-upload", "photo-uploaded"):
        step = endpoint.removeprefix("photo-")
        return client.post(f"/api/v1/photos/{hashlib.sha256(_png()).hexdigest()}/{step}",
                           headers=headers).status_code  # fmt: skip
    if endpoint == "sms":
        body = {"sender": "+92 300 1234567", "text": f"PW NA-1 1 45 1,2,3 I{role}-sms-1"}
        return client.post("/api/v1/sms/inbound?election=tiny-2026", json=body, headers=headers).status_code
    if endpoint == "submitters":
        body = {"role": "agent", "organisation": "PartyA", "name": "N", "constituencies": ["NA-1"]}
        return client.post("/api/v1/submitters", json=body, headers=headers).status_code
    if endpoint == "devices":
        key = device_key_id(public_key_of(Ed25519PrivateKey.generate()))
        return client.post("/api/v1/devices", json={"public_key": key}, headers=headers).status_code
    if endpoint == "policy":
        body = {"publish_photos": True}
        return client.put("/api/v1/photo-policy/tiny-2026", json=body, headers=headers).status_code
    if endpoint == "revoke-submitter":
        return client.post(f"/api/v1/submitters/{target}/revoke", headers=headers).status_code
    if endpoint == "revoke-device":
        return client.post(f"/api/v1/devices/{target}/revoke", headers=headers).status_code
    raise AssertionError(endpoint)


def _revocation_target(client: TestClient, admin: str, endpoint: str) -> str:
    """A fresh PartyA agent (its key id) or its device (the fingerprint), owned by none of the callers."""
    body = {"role": "agent", "organisation": "PartyA", "constituencies": ["NA-1"]}
    agent = client.post("/api/v1/submitters", json=body, headers=bearer(admin)).json()
    if endpoint == "revoke-submitter":
        return str(agent["key_id"])
    key = device_key_id(public_key_of(Ed25519PrivateKey.generate()))
    device = client.post("/api/v1/devices", json={"public_key": key}, headers=bearer(agent["token"]))
    return str(device.json()["fingerprint"])


# Expected status for each (endpoint, role); "none" is no token, "bad" an unknown token.
MATRIX = {
    "sheets": {"admin": 201, "coordinator": 201, "agent": 201, "observer": 201, "gateway": 403},
    "batch": {"admin": 200, "coordinator": 200, "agent": 200, "observer": 200, "gateway": 403},
    "csv": {"admin": 201, "coordinator": 201, "agent": 201, "observer": 201, "gateway": 403},
    "photo": {"admin": 200, "coordinator": 200, "agent": 200, "observer": 200, "gateway": 403},
    # With the filesystem store: the API's own PUT route is offered; nothing was uploaded to confirm.
    "photo-upload": {"admin": 200, "coordinator": 200, "agent": 200, "observer": 200, "gateway": 403},
    "photo-uploaded": {"admin": 404, "coordinator": 404, "agent": 404, "observer": 404, "gateway": 403},
    "sms": {"admin": 200, "coordinator": 403, "agent": 403, "observer": 403, "gateway": 200},
    "submitters": {"admin": 201, "coordinator": 201, "agent": 403, "observer": 403, "gateway": 403},
    "devices": {"admin": 201, "coordinator": 201, "agent": 201, "observer": 201, "gateway": 403},
    "policy": {"admin": 200, "coordinator": 403, "agent": 403, "observer": 403, "gateway": 403},
    "revoke-submitter": {"admin": 200, "coordinator": 200, "agent": 403, "observer": 403, "gateway": 403},
    "revoke-device": {"admin": 200, "coordinator": 200, "agent": 403, "observer": 403, "gateway": 403},
}


@pytest.mark.parametrize("endpoint", sorted(MATRIX))
@pytest.mark.parametrize("role", ["admin", "coordinator", "agent", "observer", "gateway", "none", "bad"])
def test_role_matrix(client: TestClient, tokens: dict[str, str], endpoint: str, role: str) -> None:
    if endpoint.startswith("photo"):  # the photo must be named by a sheet first
        photo_hash = hashlib.sha256(_png()).hexdigest()
        body = sheet_payload("m-photo-owner", role="admin", photo_sha256=photo_hash)
        assert (
            client.post(
                "/api/v1/sheets?receipt=false", json=body, headers=bearer(tokens["admin"])
            ).status_code
            == 201
        )
    target = _revocation_target(client, tokens["admin"], endpoint) if endpoint.startswith("revoke") else ""
    token = {"none": None, "bad": "pw_not-a-real-token"}.get(role, tokens.get(role))
    expected = MATRIX[endpoint].get(role, 401)
    assert _call(client, endpoint, token, role, target) == expected


def test_agent_outside_assignment_is_forbidden(client: TestClient, tokens: dict[str, str]) -> None:
    body = sheet_payload("m-agent-away", station="2")
    response = client.post("/api/v1/sheets", json=body, headers=bearer(tokens["agent"]))
    assert response.status_code == 403
    assert response.json()["error"]["problems"][0]["found"] == "NA-1 station 2"


def test_role_claim_must_match_token(client: TestClient, tokens: dict[str, str]) -> None:
    body = sheet_payload("m-claims-obs", role="official")
    response = client.post("/api/v1/sheets", json=body, headers=bearer(tokens["agent"]))
    assert response.status_code == 403


def test_coordinator_cannot_register_other_organisation(client: TestClient, tokens: dict[str, str]) -> None:
    body = {"role": "agent", "organisation": "PartyB"}
    response = client.post("/api/v1/submitters", json=body, headers=bearer(tokens["coordinator"]))
    assert response.status_code == 403
    body = {"role": "admin", "organisation": "PartyA"}
    response = client.post("/api/v1/submitters", json=body, headers=bearer(tokens["coordinator"]))
    assert response.status_code == 403


def _device(client: TestClient, token: str) -> Ed25519PrivateKey:
    key = Ed25519PrivateKey.generate()
    public = device_key_id(public_key_of(key))
    assert (
        client.post("/api/v1/devices", json={"public_key": public}, headers=bearer(token)).status_code == 201
    )
    return key


def test_signed_sheet_verifies_offline_from_the_leaf(
    client: TestClient, tokens: dict[str, str], tiny_db: Database
) -> None:
    key = _device(client, tokens["agent"])
    body = sign_payload(sheet_payload("sig-good-001"), key, organisation="PartyA")
    response = client.post("/api/v1/sheets", json=body, headers=bearer(tokens["agent"]))
    assert response.status_code == 201, response.text
    with tiny_db.connect() as conn:
        leaf = parse_leaf(logstore.read_entries(conn, 0, 1)[0]).body
    public = device_public_key(leaf["submitter_key"])
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    Ed25519PublicKey.from_public_bytes(public).verify(base64.b64decode(leaf["signature"]), signed_bytes(leaf))


def test_forged_signature_is_refused(client: TestClient, tokens: dict[str, str], tiny_db: Database) -> None:
    key = _device(client, tokens["agent"])
    body = sign_payload(sheet_payload("sig-forged-1"), key, organisation="PartyA")
    body["votes"] = {"1": 999, "2": 200, "3": 100}  # altered after signing
    response = client.post("/api/v1/sheets", json=body, headers=bearer(tokens["agent"]))
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "verification_failed"
    assert _leaves(tiny_db) == 0


def test_signature_by_unregistered_key_is_refused(
    client: TestClient, tokens: dict[str, str], tiny_db: Database
) -> None:
    body = sign_payload(sheet_payload("sig-unreg-01"), Ed25519PrivateKey.generate(), organisation="PartyA")
    response = client.post("/api/v1/sheets", json=body, headers=bearer(tokens["agent"]))
    assert response.status_code == 403
    assert _leaves(tiny_db) == 0


def test_replayed_signature_is_refused_or_idempotent(
    client: TestClient, tokens: dict[str, str], tiny_db: Database
) -> None:
    key = _device(client, tokens["agent"])
    body = sign_payload(sheet_payload("sig-replay-1"), key, organisation="PartyA")
    first = client.post("/api/v1/sheets", json=body, headers=bearer(tokens["agent"]))
    assert first.status_code == 201
    # the same signed request again: the original receipt, no new leaf
    again = client.post("/api/v1/sheets", json=body, headers=bearer(tokens["agent"]))
    assert again.json()["duplicate"] is True
    # replayed by another account (the device is not theirs): refused as a replay
    stolen = client.post("/api/v1/sheets", json={**body, "role": "admin"}, headers=bearer(tokens["admin"]))
    assert stolen.status_code == 409
    assert stolen.json()["error"]["code"] == "replayed_signature"
    # the signature moved onto another submission id: it no longer verifies
    moved = client.post(
        "/api/v1/sheets", json={**body, "submission_id": "sig-replay-2"}, headers=bearer(tokens["agent"])
    )
    assert moved.status_code == 422
    assert _leaves(tiny_db) == 1


@pytest.mark.parametrize(
    ("data", "status", "code"),
    [
        (b"GIF89a" + b"\0" * 100, 422, "invalid_input"),  # a GIF: not an accepted type
        (b"", 422, "invalid_input"),
        (b"\x89PNG\r\n\x1a\n" + b"\0" * 40, 422, "invalid_input"),  # truncated PNG
        (_bomb_png(), 413, "too_large"),
        (b"%PDF-1.4\n1 0 obj\n", 422, "invalid_input"),  # PDF without %%EOF
    ],
)
def test_malformed_photos_are_refused(
    client: TestClient, tokens: dict[str, str], data: bytes, status: int, code: str
) -> None:
    response = client.post(
        "/api/v1/sheets",
        data={"submission": json.dumps(sheet_payload("bad-photo-01"))},
        files={"photo": ("x.png", data, "image/png")},
        headers=bearer(tokens["agent"]),
    )
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code


def test_oversized_photo_is_413(
    tiny_db: Database, tokens: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POLLWATCH_HOME", str(tmp_path / "home2"))
    monkeypatch.setenv("POLLWATCH_MAX_PHOTO_BYTES", "1000")
    with TestClient(create_app(tiny_db)) as small:
        response = small.post(
            "/api/v1/sheets",
            data={"submission": json.dumps(sheet_payload("big-photo-01"))},
            files={"photo": ("x.png", _png(400, 400) + b"\0" * 5000, "image/png")},
            headers=bearer(tokens["agent"]),
        )
    assert response.status_code == 413


HOSTILE = [
    "'; DROP TABLE sheets; --",
    "<script>alert(1)</script>",
    "\u202eNA-1\u200b\u200d",
    "x" * 10_000,
    "NA-1\x00",
    "../../etc/passwd",
]
TEXT_FIELDS = ["election", "submission_id", "constituency", "station", "form", "organisation", "kind",
               "role", "photo_sha256", "device_key", "signature", "captured_at"]  # fmt: skip


@pytest.mark.parametrize("field", TEXT_FIELDS)
def test_hostile_strings_in_every_json_field_never_crash(
    client: TestClient, tokens: dict[str, str], tiny_db: Database, field: str
) -> None:
    for n, value in enumerate(HOSTILE):
        body = {**sheet_payload(f"hostile-{field[:8]}-{n}", role="admin"), field: value}
        response = client.post("/api/v1/sheets?receipt=false", json=body, headers=bearer(tokens["admin"]))
        assert response.status_code < 500, response.text
        assert response.headers["content-type"].startswith("application/json")
    with tiny_db.connect() as conn:  # the table is still there
        conn.execute(select(func.count()).select_from(t.sheets)).scalar_one()


def test_hostile_strings_in_csv_sms_and_web_form_never_crash(
    client: TestClient, tokens: dict[str, str]
) -> None:
    for n, value in enumerate(HOSTILE):
        csv_text = (
            f"submission_id,election,constituency,station,c1\nhostile-csv-{n},{value},{value},1,{value}\n"
        )
        response = client.post("/api/v1/sheets/csv", content=csv_text.encode(),
                               headers={**bearer(tokens["admin"]), "content-type": "text/csv"})  # fmt: skip
        assert response.status_code < 500
        sms = client.post("/api/v1/sms/inbound?election=tiny-2026",
                          json={"sender": "+923001234567", "text": f"PW {value} 1 45 1,2"},
                          headers=bearer(tokens["gateway"]))  # fmt: skip
        assert sms.status_code == 200
        assert sms.json()["accepted"] is False
        page = client.post(
            "/submit",
            data={"token": tokens["admin"], "election": "tiny-2026", "constituency": value, "votes": value},
        )
        assert page.status_code < 500
        assert "<script>alert(1)</script>" not in page.text


def test_rate_limit_per_token_answers_429_with_envelope(
    tiny_db: Database, tokens: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POLLWATCH_HOME", str(tmp_path / "home3"))
    monkeypatch.setenv("POLLWATCH_RATE_TOKEN", "0.001,3")
    with TestClient(create_app(tiny_db)) as limited:
        statuses = [
            limited.post(
                "/api/v1/sheets?receipt=false",
                json=sheet_payload(f"rate-lim-{n:03d}"),
                headers=bearer(tokens["agent"]),
            ).status_code  # fmt: skip
            for n in range(5)
        ]
        last = limited.post(
            "/api/v1/sheets", json=sheet_payload("rate-lim-999"), headers=bearer(tokens["agent"])
        )
    assert statuses == [201, 201, 201, 429, 429]
    assert last.json()["error"]["code"] == "rate_limited"
    assert last.headers["retry-after"] == "1"


def test_rate_limit_per_address(
    tiny_db: Database, tokens: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POLLWATCH_HOME", str(tmp_path / "home4"))
    monkeypatch.setenv("POLLWATCH_RATE_ADDRESS", "0.001,2")
    with TestClient(create_app(tiny_db)) as limited:
        statuses = [
            limited.post(
                "/api/v1/sheets?receipt=false",
                json=sheet_payload(f"addr-lim-{n:03d}"),
                headers=bearer(tokens[role]),
            ).status_code  # fmt: skip
            for n, role in enumerate(["agent", "admin", "observer"])
        ]
    assert statuses[2] == 429
