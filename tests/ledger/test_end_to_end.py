"""Runbook: sheets submitted over HTTP (signed, unsigned, with a photo), receipts verified, a bundle
exported with the election's photo policy and verified offline; then one tampering is caught."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient
from PIL import Image
from typer.testing import CliRunner

from pollwatch.api.app import create_app
from pollwatch.auth import Assignment, AuthRole, create_submitter
from pollwatch.auth.devices import device_key_id, public_key_of
from pollwatch.cli.main import app as cli
from pollwatch.intake.testing import SLUG, bearer, create_tiny_election, sheet_payload, sign_payload
from pollwatch.ledger.proof import verify_receipt
from pollwatch.ledger.settings import load_settings
from pollwatch.storage import Database, structure
from pollwatch.storage import log as logstore
from pollwatch.storage import photos as photo_store


@pytest.fixture
def client(sqlite_db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    monkeypatch.setenv("POLLWATCH_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("POLLWATCH_LOG_ORIGIN", "e2e.example/log")
    monkeypatch.delenv("POLLWATCH_WITNESSES", raising=False)
    monkeypatch.delenv("POLLWATCH_LOG_KEY", raising=False)
    create_tiny_election(sqlite_db)
    with TestClient(create_app(sqlite_db)) as test_client:
        yield test_client


def _token(db: Database) -> str:
    with db.begin() as conn:
        _, token = create_submitter(
            conn,
            role=AuthRole.AGENT,
            organisation="PartyA",
            assignments=(Assignment(SLUG, "NA-1", None),),
            phone=None,
            name="Secret Agent",
        )
    return token


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (20, 10), (0, 90, 200)).save(buffer, "PNG")
    return buffer.getvalue()


def test_submit_receipt_bundle_verify(client: TestClient, sqlite_db: Database, tmp_path: Path) -> None:
    token = _token(sqlite_db)
    key = Ed25519PrivateKey.generate()
    device = {"public_key": device_key_id(public_key_of(key))}
    assert client.post("/api/v1/devices", json=device, headers=bearer(token)).status_code == 201
    signed = sign_payload(sheet_payload("e2e-sheet-0001", station="1"), key, organisation="PartyA")
    responses = [client.post("/api/v1/sheets", json=signed, headers=bearer(token))]
    responses.append(
        client.post(
            "/api/v1/sheets",
            data={"submission": json.dumps(sheet_payload("e2e-sheet-0002", station="2", votes=(10, 20, 30)))},
            files={"photo": ("sheet.png", _png(), "image/png")},
            headers=bearer(token),
        )
    )
    assert [r.status_code for r in responses] == [201, 201], [r.text for r in responses]
    log_key = load_settings().signer.verifier()
    for response in responses:
        body = response.json()
        receipt = body["receipt"] or client.get(body["receipt_url"]).text
        with sqlite_db.connect() as conn:
            entry = logstore.read_entries(conn, body["leaf_index"], body["leaf_index"] + 1)[0]
        assert verify_receipt(receipt, entry=entry, log_key=log_key).index == body["leaf_index"]
        assert b"Secret Agent" not in entry

    with sqlite_db.begin() as conn:
        election_id, _ = structure.get_election(conn, SLUG)
        photo_store.set_publish_photos(conn, election_id, True)
    out = tmp_path / "bundle"
    result = CliRunner().invoke(
        cli, ["bundle", "export", str(out), "--election", SLUG, "--db", sqlite_db.url]
    )
    assert result.exit_code == 0, result.output
    assert "1 photos of 1 hashes" in result.output
    assert b"Secret Agent" not in b"".join(p.read_bytes() for p in out.rglob("*") if p.is_file())
    anchor = ["--log-key", load_settings().signer.verifier().vkey]
    result = CliRunner().invoke(cli, ["verify", str(out), *anchor, "--format", "json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert {c["check"]: c["found"] for c in report["checks"]}["device signatures"] == "1 checked"
    tallies = json.loads((out / "tallies.json").read_text())["constituencies"]["NA-1"]
    assert tallies["votes"] == {"1": 310, "2": 220, "3": 130}  # (300, 200, 100) + (10, 20, 30)

    photo = next((out / "photos").iterdir())
    photo.write_bytes(photo.read_bytes() + b"\x00")
    result = CliRunner().invoke(cli, ["verify", str(out), *anchor, "--format", "csv"])
    assert result.exit_code == 1
    assert "photos match hashes,FAILED" in result.output
