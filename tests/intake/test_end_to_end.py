"""Runbook: sheets through every channel -> receipts -> export a bundle -> verify it offline."""

from __future__ import annotations

import io
import json
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient
from PIL import Image

from pollwatch.auth.devices import device_key_id, public_key_of
from pollwatch.evidence import FilesystemStore
from pollwatch.intake.settings import load
from pollwatch.intake.testing import bearer, sheet_payload, sign_payload
from pollwatch.ledger.bundle import export_bundle
from pollwatch.ledger.proof import verify_receipt
from pollwatch.ledger.settings import load_settings
from pollwatch.ledger.verify import TrustAnchor, verify_bundle
from pollwatch.storage import Database
from pollwatch.storage import log as logstore


def test_every_channel_to_a_verified_bundle(
    client: TestClient, tokens: dict[str, str], tiny_db: Database, tmp_path: Path
) -> None:
    admin, agent = bearer(tokens["admin"]), bearer(tokens["agent"])
    key = Ed25519PrivateKey.generate()
    client.post("/api/v1/devices", json={"public_key": device_key_id(public_key_of(key))}, headers=agent)
    receipts: list[dict[str, object]] = []
    # 1. API JSON, signed by the agent's device
    signed = sign_payload(sheet_payload("e2e-json-01"), key, organisation="PartyA")
    receipts.append(client.post("/api/v1/sheets", json=signed, headers=agent).json())
    # 2. API multipart with the photo
    buffer = io.BytesIO()
    Image.new("RGB", (30, 20), (9, 9, 9)).save(buffer, "JPEG")
    receipts.append(
        client.post(
            "/api/v1/sheets",
            data={"submission": json.dumps(sheet_payload("e2e-multi-1", role="admin", constituency="NA-2"))},
            files={"photo": ("f45.jpg", buffer.getvalue(), "image/jpeg")},
            headers=admin,
        ).json()
    )
    # 3. web form (no JavaScript)
    page = client.post(
        "/submit",
        data={
            "token": tokens["admin"],
            "election": "tiny-2026",
            "constituency": "NA-2",
            "station": "2",
            "votes": "7,8,9",
            "valid": "24",
        },
    )
    assert page.status_code == 201
    assert "c2sp.org/tlog-proof@v1" in page.text
    # 4. CSV
    csv_text = "submission_id,election,constituency,station,c1,c2,c3\ne2e-csv-001,tiny-2026,NA-1,3,4,5,6\n"
    csv = client.post("/api/v1/sheets/csv", content=csv_text, headers={**admin, "content-type": "text/csv"})
    assert csv.status_code == 201
    # 5. SMS webhook, from the agent's registered number
    sms = client.post(
        "/api/v1/sms/inbound?election=tiny-2026",
        headers=bearer(tokens["gateway"]),
        json={"sender": "+92 300 1234567", "text": "PW NA-1 1 45 100,50,25 R5 P180"},
    )
    assert sms.json()["accepted"] is True, sms.json()
    # a final official result (constituency level) by the admin
    final = sheet_payload("e2e-final-1", role="official", station=None, kind="final", votes=(900, 800, 700))
    receipts.append(client.post("/api/v1/sheets", json=final, headers=admin).json())

    log_key = load_settings().signer.verifier()
    with tiny_db.connect() as conn:
        assert logstore.count_entries(conn) == 6
        for r in receipts:
            assert isinstance(r["receipt"], str), r
            index = int(str(r["leaf_index"]))
            entry = logstore.read_entries(conn, index, index + 1)[0]
            verify_receipt(r["receipt"], entry=entry, log_key=log_key)

    client.put("/api/v1/photo-policy/tiny-2026", json={"publish_photos": True}, headers=admin)
    bundle = tmp_path / "bundle"
    summary = export_bundle(tiny_db, bundle, photos=FilesystemStore(load().evidence_dir))
    assert summary.size == 6
    assert summary.photos == 1
    report = verify_bundle(bundle, TrustAnchor(log_key=log_key))  # the key the verifier holds
    assert report.ok, report.failed()
    assert any(c.name.startswith("device") or "signature" in c.name for c in report.checks)
