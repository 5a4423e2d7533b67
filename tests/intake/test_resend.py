"""A resend without captured_at is idempotent on every channel; official results over HTTP."""

from __future__ import annotations

import time
from typing import Any

from fastapi.testclient import TestClient

from pollwatch.auth import AuthRole, create_submitter
from pollwatch.intake.testing import SLUG, bearer, sheet_payload
from pollwatch.ledger.records import parse_leaf
from pollwatch.storage import Database
from pollwatch.storage import log as logstore
from pollwatch.storage.sheets import list_sheets


def _leaves(db: Database) -> list[dict[str, Any]]:
    with db.connect() as conn:
        raw = logstore.read_entries(conn, 0, logstore.count_entries(conn))
    return [{"type": r.type, **r.body} for r in map(parse_leaf, raw)]


def test_json_resend_without_captured_at_is_a_duplicate(
    client: TestClient, tokens: dict[str, str], tiny_db: Database
) -> None:
    payload = sheet_payload("resend-json-1", role="observer")
    del payload["captured_at"]
    first = client.post("/api/v1/sheets?receipt=false", json=payload, headers=bearer(tokens["observer"]))
    time.sleep(0.01)  # the resend arrives later: a different arrival time
    again = client.post("/api/v1/sheets?receipt=false", json=payload, headers=bearer(tokens["observer"]))
    assert first.status_code == 201
    assert again.status_code == 201, again.json()
    assert (again.json()["duplicate"], again.json()["leaf_index"]) == (True, first.json()["leaf_index"])
    changed = client.post(
        "/api/v1/sheets?receipt=false",
        json={**payload, "votes": {"1": 1}},
        headers=bearer(tokens["observer"]),
    )
    assert changed.status_code == 409
    # the leaf carries the arrival time as captured_at, as before
    assert _leaves(tiny_db)[0]["captured_at"] == first.json()["received_at"]


def test_web_form_resend_is_a_duplicate(
    client: TestClient, tokens: dict[str, str], tiny_db: Database
) -> None:
    form = {"token": tokens["admin"], "election": SLUG, "constituency": "NA-1", "station": "2",
            "votes": "7,8,9", "valid": "24", "submission_id": "web-resend-0001"}  # fmt: skip
    first = client.post("/submit", data=form)
    time.sleep(0.01)
    again = client.post("/submit", data=form)
    assert (first.status_code, again.status_code) == (201, 201)
    assert "already used for a different sheet" not in again.text
    assert len(_leaves(tiny_db)) == 1


def test_sms_resend_without_time_is_a_duplicate(
    client: TestClient, tokens: dict[str, str], tiny_db: Database
) -> None:
    message = {"sender": "+92 300 1234567", "text": "PW NA-1 1 45 100,50,25 R5 P180"}
    url = f"/api/v1/sms/inbound?election={SLUG}"
    first = client.post(url, headers=bearer(tokens["gateway"]), json=message).json()
    time.sleep(0.01)
    again = client.post(url, headers=bearer(tokens["gateway"]), json=message).json()
    assert first["accepted"] is True, first
    assert again["accepted"] is True, again
    assert "already received" in again["reply"]
    assert again["leaf_index"] == first["leaf_index"]
    assert len(_leaves(tiny_db)) == 1


def _official(submission_id: str, **kw: Any) -> dict[str, Any]:
    return {
        "election": SLUG, "submission_id": submission_id, "kind": "final", "constituency": "NA-1",
        "votes": {"1": 900, "2": 800, "3": 700}, "totals": {"valid": 2400, "rejected": 30},
        "label": "ECP upload 2026-02-10", "role": "official",
        "source": {"url": "https://ecp.example/na-1/form-49.pdf", "sha256": "ab" * 32}, **kw,
    }  # fmt: skip


def test_official_result_over_http_is_a_sheet_row_and_an_official_leaf(
    client: TestClient, tokens: dict[str, str], tiny_db: Database
) -> None:
    with tiny_db.begin() as conn:
        _, official = create_submitter(conn, role=AuthRole.OFFICIAL, organisation="ECP")
    answer = client.post("/api/v1/records/official", json=_official("ecp-na1-f49"), headers=bearer(official))
    assert answer.status_code == 201, answer.json()
    assert answer.json()["kind"] == "official"
    leaf = _leaves(tiny_db)[0]
    assert leaf["type"] == "official"
    assert {k: leaf[k] for k in ("kind", "form", "label", "station", "role", "organisation", "source")} == {
        "kind": "final", "form": "Form-49", "label": "ECP upload 2026-02-10", "station": None,
        "role": "official", "organisation": "ECP",
        "source": {"url": "https://ecp.example/na-1/form-49.pdf", "sha256": "ab" * 32},
    }  # fmt: skip
    assert leaf["votes"] == {"1": 900, "2": 800, "3": 700}
    with tiny_db.connect() as conn:
        sheets = list_sheets(conn, 1)
    assert [(s.kind.value, s.provenance.role.value) for s in sheets] == [("final", "official")]
    assert sheets[0].extra["source"]["sha256"] == "ab" * 32
    # a re-upload is a new record (new id, new label); an observer may not submit official results
    reupload = _official("ecp-na1-f49-2", label="ECP re-upload 2026-02-11", votes={"1": 700, "2": 900})
    assert client.post("/api/v1/records/official", json=reupload, headers=bearer(official)).status_code == 201
    refused = client.post(
        "/api/v1/records/official", json=_official("obs-f49-0001"), headers=bearer(tokens["observer"])
    )
    assert refused.status_code == 403
    assert len(_leaves(tiny_db)) == 2


def test_photo_record_commits_to_a_hash_of_ones_own_sheet_and_lets_the_bytes_follow(
    client: TestClient, tokens: dict[str, str], tiny_db: Database
) -> None:
    import hashlib
    import io

    from PIL import Image

    sheet = client.post(
        "/api/v1/sheets?receipt=false", json=sheet_payload("photo-sheet-1"), headers=bearer(tokens["agent"])
    )
    leaf = sheet.json()["leaf_index"]
    buffer = io.BytesIO()
    Image.new("RGB", (30, 20), (9, 9, 9)).save(buffer, "JPEG")
    digest = hashlib.sha256(buffer.getvalue()).hexdigest()
    photo = {"election": SLUG, "submission_id": "photo-rec-001", "role": "agent", "photo_sha256": digest,
             "sheets": [leaf]}  # fmt: skip
    answer = client.post("/api/v1/records/photo?receipt=false", json=photo, headers=bearer(tokens["agent"]))
    assert answer.status_code == 201, answer.json()
    logged = _leaves(tiny_db)[answer.json()["leaf_index"]]
    assert (logged["type"], logged["photo_sha256"], logged["sheets"]) == ("photo", digest, [leaf])
    upload = client.put(
        f"/api/v1/photos/{digest}", content=buffer.getvalue(), headers=bearer(tokens["agent"])
    )
    assert upload.status_code == 200, upload.json()
    # another submitter may not attach photos to the agent's sheet; a short hash is malformed
    other = {**photo, "submission_id": "photo-rec-002", "role": "observer"}
    refused = client.post("/api/v1/records/photo", json=other, headers=bearer(tokens["observer"]))
    assert (refused.status_code, refused.json()["error"]["problems"][0]["where"]) == (422, "sheets.0")
    short = {**photo, "submission_id": "photo-rec-003", "photo_sha256": digest[:16]}
    malformed = client.post("/api/v1/records/photo", json=short, headers=bearer(tokens["agent"]))
    assert malformed.status_code == 422
    assert "photo_sha256" in [p["where"] for p in malformed.json()["error"]["problems"]]
    assert len(_leaves(tiny_db)) == 2
