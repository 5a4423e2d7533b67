"""Submitting sheets over HTTP: acceptance, receipts, idempotency, structural refusals, flags."""

from __future__ import annotations

import io
import json

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import func, select

from pollwatch.intake.testing import bearer as auth
from pollwatch.intake.testing import sheet_payload
from pollwatch.ledger.proof import verify_receipt
from pollwatch.ledger.records import parse_leaf
from pollwatch.ledger.settings import load_settings
from pollwatch.storage import Database
from pollwatch.storage import intake_schema as ti
from pollwatch.storage import log as logstore
from pollwatch.storage import schema as t


def _counts(db: Database) -> tuple[int, int, int]:
    with db.connect() as conn:
        sheets = conn.execute(select(func.count()).select_from(t.sheets)).scalar_one()
        subs = conn.execute(select(func.count()).select_from(ti.submissions)).scalar_one()
        leaves = logstore.count_entries(conn)
    return int(sheets), int(subs), int(leaves)


def _leaf(db: Database, index: int) -> bytes:
    with db.connect() as conn:
        return logstore.read_entries(conn, index, index + 1)[0]


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 10, 10)).save(buffer, "PNG")
    return buffer.getvalue()


def test_sheet_accepted_is_stored_logged_and_receipted(
    client: TestClient, tokens: dict[str, str], tiny_db: Database
) -> None:
    response = client.post("/api/v1/sheets", json=sheet_payload("s-accept-01"), headers=auth(tokens["agent"]))
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["checks"] == []
    assert body["duplicate"] is False
    assert _counts(tiny_db) == (1, 1, 1)
    entry = _leaf(tiny_db, body["leaf_index"])
    leaf = parse_leaf(entry).body
    assert leaf["votes"] == {"1": 300, "2": 200, "3": 100}
    assert leaf["station"] == "1"
    assert leaf["form"] == "Form-45"
    assert leaf["role"] == "agent"
    report = verify_receipt(body["receipt"], entry=entry, log_key=load_settings().signer.verifier())
    assert report.index == body["leaf_index"]


def test_retry_with_same_id_returns_original_and_writes_nothing(
    client: TestClient, tokens: dict[str, str], tiny_db: Database
) -> None:
    first = client.post("/api/v1/sheets", json=sheet_payload("s-retry-001"), headers=auth(tokens["agent"]))
    again = client.post("/api/v1/sheets", json=sheet_payload("s-retry-001"), headers=auth(tokens["agent"]))
    assert again.status_code == 201
    assert again.json()["duplicate"] is True
    assert again.json()["leaf_index"] == first.json()["leaf_index"]
    assert _counts(tiny_db) == (1, 1, 1)


def test_same_id_different_content_is_conflict(
    client: TestClient, tokens: dict[str, str], tiny_db: Database
) -> None:
    client.post("/api/v1/sheets", json=sheet_payload("s-conflict1"), headers=auth(tokens["agent"]))
    other = client.post(
        "/api/v1/sheets", json=sheet_payload("s-conflict1", rejected=11), headers=auth(tokens["agent"])
    )
    assert other.status_code == 409
    assert other.json()["error"]["code"] == "conflict"
    assert _counts(tiny_db) == (1, 1, 1)


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"station": "99"}, "station"),
        ({"constituency": "NA-404"}, "constituency"),
        ({"votes": {"1": -5}}, "votes.1"),
        ({"votes": {"1": 12.5}}, "votes.1"),
        ({"votes": {"1": "12"}}, "votes.1"),
        ({"votes": {"7": 12}}, "votes.7"),
        ({"totals": {"polled": -1}}, "totals.polled"),
        ({"election": "nope-2026"}, ""),
        ({"kind": "form_99"}, "kind"),
        ({"photo_sha256": "xyz"}, "photo_sha256"),
        ({"captured_at": "yesterday"}, "captured_at"),
        ({"surprise": 1}, "surprise"),
        ({"station": None}, "station"),
    ],
)
def test_structurally_invalid_sheet_is_refused_and_nothing_written(
    client: TestClient, tokens: dict[str, str], tiny_db: Database, change: dict[str, object], where: str
) -> None:
    payload = {**sheet_payload("s-invalid-1"), **change}
    response = client.post("/api/v1/sheets", json=payload, headers=auth(tokens["admin"]))
    assert 400 <= response.status_code < 500, response.text
    error = response.json()["error"]
    assert error["problems"], error
    assert any(where in p.get("where", "") for p in error["problems"]), error
    assert _counts(tiny_db) == (0, 0, 0)


def test_missing_fields_are_each_named(client: TestClient, tokens: dict[str, str], tiny_db: Database) -> None:
    response = client.post("/api/v1/sheets", json={"election": "tiny-2026"}, headers=auth(tokens["admin"]))
    assert response.status_code == 422
    named = {p["where"] for p in response.json()["error"]["problems"]}
    assert {"submission_id", "constituency", "votes", "role"} <= named
    assert _counts(tiny_db) == (0, 0, 0)


def test_oversize_body_is_413(client: TestClient, tokens: dict[str, str], tiny_db: Database) -> None:
    payload = sheet_payload("s-oversize1", organisation="x" * 300_000)
    response = client.post("/api/v1/sheets", json=payload, headers=auth(tokens["admin"]))
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"
    assert _counts(tiny_db) == (0, 0, 0)


@pytest.mark.parametrize(
    ("votes", "rejected", "totals", "expected"),
    [
        # valid printed as 601 but candidates add to 600
        ((300, 200, 100), 10, {"valid": 601, "polled": 611}, {"candidate_votes_ne_valid"}),
        # 600 valid + 10 rejected = 610, but 620 polled
        ((300, 200, 100), 10, {"polled": 620}, {"valid_plus_rejected_ne_polled"}),
        # 1,010 polled at a station of 1,000 registered
        ((500, 300, 200), 10, {}, {"polled_gt_registered"}),
        # 330 men + 270 women = 600, not 610 polled
        ((300, 200, 100), 10, {"votes_male": 330, "votes_female": 270}, {"male_plus_female_ne_polled"}),
    ],
)
def test_arithmetic_failures_are_accepted_and_flagged(
    client: TestClient,
    tokens: dict[str, str],
    tiny_db: Database,
    votes: tuple[int, ...],
    rejected: int,
    totals: dict[str, int],
    expected: set[str],
) -> None:
    payload = sheet_payload("s-flagged-1", votes=votes, rejected=rejected)
    payload["totals"].update(totals)
    response = client.post("/api/v1/sheets", json=payload, headers=auth(tokens["agent"]))
    assert response.status_code == 201, response.text
    assert set(response.json()["checks"]) == expected
    leaf = parse_leaf(_leaf(tiny_db, response.json()["leaf_index"])).body
    assert set(leaf["checks"]) == expected
    with tiny_db.connect() as conn:
        extra = conn.execute(select(t.sheets.c.extra)).scalar_one()
    extra = extra if isinstance(extra, dict) else json.loads(extra)
    assert set(extra["checks"]) == expected


def test_booth_capacity_is_flagged_from_rule_pack(
    client: TestClient, tokens: dict[str, str], tiny_db: Database
) -> None:
    # 2 booths x 10 h x 60 min / 1 min per voter = 1,200 ballots (pakistan pack parameters)
    payload = sheet_payload("s-booths-01", votes=(700, 500, 100), rejected=0)
    response = client.post("/api/v1/sheets", json=payload, headers=auth(tokens["agent"]))
    assert "polled_gt_booth_capacity" in response.json()["checks"]
    payload = sheet_payload("s-booths-02", votes=(600, 500, 100), rejected=0)
    response = client.post("/api/v1/sheets", json=payload, headers=auth(tokens["agent"]))
    assert "polled_gt_booth_capacity" not in response.json()["checks"]


def test_multipart_sheet_with_photo_stores_the_photo(
    client: TestClient, tokens: dict[str, str], tiny_db: Database
) -> None:
    photo = _png()
    response = client.post(
        "/api/v1/sheets",
        data={"submission": json.dumps(sheet_payload("s-photo-001"))},
        files={"photo": ("sheet.png", photo, "image/png")},
        headers=auth(tokens["agent"]),
    )
    assert response.status_code == 201, response.text
    digest = response.json()["photo_sha256"]
    leaf = parse_leaf(_leaf(tiny_db, response.json()["leaf_index"])).body
    assert leaf["photo_sha256"] == digest
    got = client.get(f"/api/v1/photos/{digest}", headers=auth(tokens["admin"]))
    assert got.status_code == 200
    assert got.content == photo


def test_photo_follows_later_matched_to_hash(
    client: TestClient, tokens: dict[str, str], tiny_db: Database
) -> None:
    import hashlib

    photo = _png()
    digest = hashlib.sha256(photo).hexdigest()
    stray = client.put(f"/api/v1/photos/{digest}", content=photo, headers=auth(tokens["agent"]))
    assert stray.status_code == 404  # no sheet names it yet
    client.post(
        "/api/v1/sheets",
        json=sheet_payload("s-later-001", photo_sha256=digest),
        headers=auth(tokens["agent"]),
    )
    wrong = client.put(f"/api/v1/photos/{digest}", content=photo + b"x", headers=auth(tokens["agent"]))
    assert wrong.status_code == 422
    ok = client.put(f"/api/v1/photos/{digest}", content=photo, headers=auth(tokens["agent"]))
    assert ok.status_code == 200, ok.text
    assert ok.json()["media_type"] == "image/png"


def test_unpublished_photo_is_hidden_from_public_until_policy_says_publish(
    client: TestClient, tokens: dict[str, str], tiny_db: Database
) -> None:
    photo = _png()
    response = client.post(
        "/api/v1/sheets",
        data={"submission": json.dumps(sheet_payload("s-policy-01"))},
        files={"photo": ("sheet.png", photo, "image/png")},
        headers=auth(tokens["agent"]),
    )
    digest = response.json()["photo_sha256"]
    assert client.get(f"/api/v1/photos/{digest}").status_code == 401
    set_policy = client.put(
        "/api/v1/photo-policy/tiny-2026", json={"publish_photos": True}, headers=auth(tokens["admin"])
    )
    assert set_policy.status_code == 200
    public = client.get(f"/api/v1/photos/{digest}")
    assert public.status_code == 200
    assert public.content == photo
    thumb = client.get(f"/api/v1/photos/{digest}?thumbnail=true")
    assert thumb.headers["content-type"] == "image/jpeg"


def test_csv_upload_accepts_all_rows_in_one_go(
    client: TestClient, tokens: dict[str, str], tiny_db: Database
) -> None:
    text = (
        "submission_id,election,constituency,station,c1,c2,c3,valid,rejected,polled\n"
        "csv-row-0001,tiny-2026,NA-1,1,300,200,100,600,10,610\n"
        "csv-row-0002,tiny-2026,NA-1,2,10,20,30,60,1,99\n"
    )
    response = client.post(
        "/api/v1/sheets/csv", content=text, headers={**auth(tokens["admin"]), "content-type": "text/csv"}
    )
    assert response.status_code == 201, response.text
    sheets = response.json()["sheets"]
    assert [s["checks"] for s in sheets] == [[], ["valid_plus_rejected_ne_polled"]]
    assert _counts(tiny_db) == (2, 2, 2)


def test_csv_with_one_bad_row_writes_nothing(
    client: TestClient, tokens: dict[str, str], tiny_db: Database
) -> None:
    text = (
        "submission_id,election,constituency,station,c1,c2,c3\n"
        "csv-row-0001,tiny-2026,NA-1,1,300,200,100\n"
        "csv-row-0002,tiny-2026,NA-1,77,10,20,30\n"
    )
    response = client.post(
        "/api/v1/sheets/csv", content=text, headers={**auth(tokens["admin"]), "content-type": "text/csv"}
    )
    assert response.status_code == 422
    assert "row 3" in response.json()["error"]["problems"][0]["where"]
    assert _counts(tiny_db) == (0, 0, 0)


def test_correction_supersedes_own_earlier_sheet_only(
    client: TestClient, tokens: dict[str, str], tiny_db: Database
) -> None:
    first = client.post(
        "/api/v1/sheets", json=sheet_payload("s-correct-1"), headers=auth(tokens["agent"])
    ).json()
    fix = sheet_payload("s-correct-2", votes=(301, 200, 100), supersedes=first["leaf_index"])
    response = client.post("/api/v1/sheets", json=fix, headers=auth(tokens["agent"]))
    assert response.status_code == 201, response.text
    assert parse_leaf(_leaf(tiny_db, response.json()["leaf_index"])).body["supersedes"] == first["leaf_index"]
    stray = sheet_payload("s-correct-3", supersedes=999)
    assert client.post("/api/v1/sheets", json=stray, headers=auth(tokens["agent"])).status_code == 422
    other = sheet_payload("s-correct-4", role="observer", supersedes=first["leaf_index"])
    assert client.post("/api/v1/sheets", json=other, headers=auth(tokens["observer"])).status_code == 422


def test_sms_hash_prefix_then_photo_logs_the_full_hash(
    client: TestClient, tokens: dict[str, str], tiny_db: Database
) -> None:
    import hashlib

    photo = _png()
    digest = hashlib.sha256(photo).hexdigest()
    sms = client.post(
        "/api/v1/sms/inbound?election=tiny-2026",
        json={"sender": "+923001234567", "text": f"PW NA-1 1 45 300,200,100 R10 P610 H{digest[:16]}"},
        headers=auth(tokens["gateway"]),
    )
    assert sms.json()["accepted"] is True, sms.json()
    response = client.put(f"/api/v1/photos/{digest}", content=photo, headers=auth(tokens["agent"]))
    assert response.status_code == 200, response.text
    again = client.put(f"/api/v1/photos/{digest}", content=photo, headers=auth(tokens["agent"]))
    assert again.status_code == 200
    assert _counts(tiny_db)[2] == 2  # the sheet and one photo leaf, not two
    link = parse_leaf(_leaf(tiny_db, 1))
    assert link.type == "photo"
    assert link.body == {
        "election": "tiny-2026",
        "photo_sha256": digest,
        "sheets": [sms.json()["leaf_index"]],
    }


def test_sms_naming_an_already_stored_photo_logs_the_full_hash(
    client: TestClient, tokens: dict[str, str], tiny_db: Database
) -> None:
    import hashlib

    photo = _png()
    digest = hashlib.sha256(photo).hexdigest()
    first = sheet_payload("s-photo-first", photo_sha256=digest)
    assert client.post("/api/v1/sheets", json=first, headers=auth(tokens["agent"])).status_code == 201
    response = client.put(f"/api/v1/photos/{digest}", content=photo, headers=auth(tokens["agent"]))
    assert response.status_code == 200, response.text
    sms = client.post(
        "/api/v1/sms/inbound?election=tiny-2026",
        json={"sender": "+923001234567", "text": f"PW NA-1 1 45 300,200,100 R10 P610 H{digest[:16]}"},
        headers=auth(tokens["gateway"]),
    )
    assert sms.json()["accepted"] is True, sms.json()
    sms_index = sms.json()["leaf_index"]
    link = parse_leaf(_leaf(tiny_db, sms_index + 1))
    assert link.type == "photo"
    assert link.body == {"election": "tiny-2026", "photo_sha256": digest, "sheets": [sms_index]}


def test_batch_accepts_each_sheet_alone(
    client: TestClient, tokens: dict[str, str], tiny_db: Database
) -> None:
    batch = [
        sheet_payload("s-batch-001", role="admin"),
        sheet_payload("s-batch-002", role="admin", station="9"),
        sheet_payload("s-batch-003", role="admin", station="2", votes=(1, 2, 3), rejected=0),
    ]
    response = client.post("/api/v1/sheets/batch", json=batch, headers=auth(tokens["admin"]))
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["accepted"], body["refused"]) == (2, 1)
    assert body["results"][1]["error"]["problems"][0]["where"] == "station"
    assert _counts(tiny_db) == (2, 2, 2)
    again = client.post("/api/v1/sheets/batch", json=batch[:1], headers=auth(tokens["admin"])).json()
    assert again["results"][0]["accepted"]["duplicate"] is True


def test_batch_with_invalid_item_writes_nothing(
    client: TestClient, tokens: dict[str, str], tiny_db: Database
) -> None:
    batch = [
        sheet_payload("s-batch-101", role="admin"),
        {**sheet_payload("s-batch-102", role="admin"), "votes": 5},
    ]
    response = client.post("/api/v1/sheets/batch", json=batch, headers=auth(tokens["admin"]))
    assert response.status_code == 422
    assert response.json()["error"]["problems"][0]["where"] == "[1].votes"
    assert _counts(tiny_db) == (0, 0, 0)
