"""Phones upload photos straight to the S3 store with a presigned URL; the API checks the bytes before
recording the photo (and logging its ``photo`` leaf); the filesystem store stays the default."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from pollwatch.api.app import create_app
from pollwatch.auth import Assignment, AuthRole, create_submitter
from pollwatch.evidence import FilesystemStore, ObjectEvidenceStore, open_evidence_store
from pollwatch.intake.testing import SLUG, create_tiny_election, sheet_payload
from pollwatch.intake.testing import bearer as auth
from pollwatch.ledger.records import parse_leaf
from pollwatch.objects.s3 import S3Objects, S3Settings
from pollwatch.storage import Database
from pollwatch.storage import log as logstore
from pollwatch.storage import photos as photo_store


def _png(colour: tuple[int, int, int] = (200, 10, 10)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), colour).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture
def app_db(sqlite_db: Database) -> Database:
    create_tiny_election(sqlite_db)
    return sqlite_db


@pytest.fixture
def tokens(app_db: Database) -> dict[str, str]:
    out: dict[str, str] = {}
    with app_db.begin() as conn:
        for role, assignments, phone in (
            (AuthRole.ADMIN, (), None),
            (AuthRole.AGENT, (Assignment(SLUG, "NA-1", 1),), "+923001234567"),
            (AuthRole.GATEWAY, (), None),
        ):
            _, out[role.value] = create_submitter(
                conn, role=role, organisation="PartyA", assignments=assignments, phone=phone, name="x"
            )
    return out


@pytest.fixture
def s3_client(app_db: Database, s3_env: S3Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    monkeypatch.setenv("POLLWATCH_RECEIPT_WAIT", "0.2")
    with TestClient(create_app(app_db)) as client:
        yield client


def _photo_row(db: Database, sha: str) -> dict[str, object] | None:
    with db.connect() as conn:
        return photo_store.get_photo(conn, sha)


def test_a_phone_uploads_straight_to_s3_and_the_api_records_the_checked_photo(
    s3_client: TestClient, tokens: dict[str, str], app_db: Database, bucket: S3Objects
) -> None:
    photo = _png()
    sha = hashlib.sha256(photo).hexdigest()
    sheet = s3_client.post(
        "/api/v1/sheets", json=sheet_payload("s-direct-01", photo_sha256=sha), headers=auth(tokens["agent"])
    )
    assert sheet.status_code == 201, sheet.text
    offer = s3_client.post(f"/api/v1/photos/{sha}/upload", headers=auth(tokens["agent"]))
    assert offer.status_code == 200, offer.text
    grant = offer.json()
    assert grant["direct"] is True
    assert grant["url"].startswith(bucket.settings.endpoint)
    assert grant["headers"]["If-None-Match"] == "*"
    assert _photo_row(app_db, sha) is None  # nothing counts before the API has checked the bytes
    put = httpx.put(grant["url"], content=photo, headers=grant["headers"])
    assert put.status_code == 200, put.text
    confirmed = s3_client.post(grant["confirm_url"], headers=auth(tokens["agent"]))
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json() == {
        "sha256": sha,
        "media_type": "image/png",
        "size": len(photo),
        "referenced": True,
    }
    assert bucket.get(f"photos/{sha}") == photo
    served = s3_client.get(f"/api/v1/photos/{sha}", headers=auth(tokens["admin"]))
    assert served.status_code == 200
    assert served.content == photo


def test_confirming_bytes_that_do_not_match_deletes_them_and_refuses(
    s3_client: TestClient, tokens: dict[str, str], app_db: Database, bucket: S3Objects
) -> None:
    photo, impostor = _png(), _png((0, 0, 255))
    sha = hashlib.sha256(photo).hexdigest()
    s3_client.post(
        "/api/v1/sheets", json=sheet_payload("s-direct-02", photo_sha256=sha), headers=auth(tokens["agent"])
    )
    bucket.put_once(f"photos/{sha}", impostor)  # as a store that ignores x-amz-checksum-sha256 would keep it
    refused = s3_client.post(f"/api/v1/photos/{sha}/uploaded", headers=auth(tokens["agent"]))
    assert refused.status_code == 422
    assert refused.json()["error"]["message"] == "the uploaded object does not match its hash"
    assert not bucket.exists(f"photos/{sha}")  # so the real photo can still be uploaded
    assert _photo_row(app_db, sha) is None
    grant = s3_client.post(f"/api/v1/photos/{sha}/upload", headers=auth(tokens["agent"])).json()
    assert httpx.put(grant["url"], content=photo, headers=grant["headers"]).status_code == 200
    assert s3_client.post(grant["confirm_url"], headers=auth(tokens["agent"])).status_code == 200


def test_confirming_before_uploading_is_404_and_unknown_hashes_get_no_url(
    s3_client: TestClient, tokens: dict[str, str]
) -> None:
    photo = _png()
    sha = hashlib.sha256(photo).hexdigest()
    assert s3_client.post(f"/api/v1/photos/{sha}/upload", headers=auth(tokens["agent"])).status_code == 404
    s3_client.post(
        "/api/v1/sheets", json=sheet_payload("s-direct-03", photo_sha256=sha), headers=auth(tokens["agent"])
    )
    early = s3_client.post(f"/api/v1/photos/{sha}/uploaded", headers=auth(tokens["agent"]))
    assert early.status_code == 404
    assert s3_client.post(f"/api/v1/photos/{sha}/upload").status_code == 401


def test_a_photo_named_by_sms_prefix_gets_its_photo_leaf_once_confirmed(
    s3_client: TestClient, tokens: dict[str, str], app_db: Database
) -> None:
    photo = _png((10, 200, 10))
    sha = hashlib.sha256(photo).hexdigest()
    sms = s3_client.post(
        f"/api/v1/sms/inbound?election={SLUG}",
        json={"sender": "+923001234567", "text": f"PW NA-1 1 45 300,200,100 R10 P610 H{sha[:16]}"},
        headers=auth(tokens["gateway"]),
    )
    assert sms.json()["accepted"] is True, sms.json()
    grant = s3_client.post(f"/api/v1/photos/{sha}/upload", headers=auth(tokens["agent"])).json()
    assert httpx.put(grant["url"], content=photo, headers=grant["headers"]).status_code == 200
    assert s3_client.post(grant["confirm_url"], headers=auth(tokens["agent"])).status_code == 200
    with app_db.connect() as conn:
        leaves = [parse_leaf(e) for e in logstore.read_entries(conn, 0, logstore.count_entries(conn))]
    assert [leaf.type for leaf in leaves] == ["sheet", "photo"]
    assert leaves[1].body == {"election": SLUG, "photo_sha256": sha, "sheets": [sms.json()["leaf_index"]]}


def test_uploads_through_the_api_land_in_the_bucket_too(
    s3_client: TestClient, tokens: dict[str, str], bucket: S3Objects
) -> None:
    photo = _png((1, 2, 3))
    sha = hashlib.sha256(photo).hexdigest()
    s3_client.post(
        "/api/v1/sheets", json=sheet_payload("s-direct-05", photo_sha256=sha), headers=auth(tokens["agent"])
    )
    put = s3_client.put(f"/api/v1/photos/{sha}", content=photo, headers=auth(tokens["agent"]))
    assert put.status_code == 200, put.text
    assert bucket.get(f"photos/{sha}") == photo


def test_the_filesystem_store_stays_the_default_and_offers_the_apis_own_route(
    app_db: Database, tokens: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("POLLWATCH_OBJECT_STORE", raising=False)
    monkeypatch.setenv("POLLWATCH_HOME", str(tmp_path / "home"))
    assert isinstance(open_evidence_store(tmp_path / "evidence"), FilesystemStore)
    photo = _png()
    sha = hashlib.sha256(photo).hexdigest()
    with TestClient(create_app(app_db)) as client:
        client.post(
            "/api/v1/sheets",
            json=sheet_payload("s-direct-06", photo_sha256=sha),
            headers=auth(tokens["agent"]),
        )
        offer = client.post(f"/api/v1/photos/{sha}/upload", headers=auth(tokens["agent"])).json()
    assert offer["direct"] is False
    assert (offer["method"], offer["url"], offer["confirm_url"]) == ("PUT", f"/api/v1/photos/{sha}", None)


def test_the_s3_setting_opens_the_bucket_and_refuses_missing_settings(
    s3_env: S3Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert isinstance(open_evidence_store(tmp_path), ObjectEvidenceStore)
    monkeypatch.delenv("POLLWATCH_S3_BUCKET")
    from pollwatch.errors import InputError

    with pytest.raises(InputError, match="needs the server and the bucket"):
        open_evidence_store(tmp_path)
