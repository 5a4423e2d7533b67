"""Snapshots served back from the bucket (a real SeaweedFS): a path resolved through the latest
manifest or a named checkpoint's, ETag = SHA-256, immutable for a checkpoint's file, a short max-age for
the latest; the latest moves when a new manifest appears; unknown paths are 404 with the envelope."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from pollwatch.api.app import create_app
from pollwatch.errors import NotFoundError, StorageError
from pollwatch.objects import FilesystemObjects, ObjectStore
from pollwatch.objects.s3 import S3Objects, S3Settings
from pollwatch.site.bucket import IMMUTABLE, LATEST_MAX_AGE, BucketSite, upload_snapshot
from pollwatch.storage import Database

NIGHT_1 = {"index.html": "<p>night 1</p>", "c/na-1/index.html": "seat", "data/x.csv": "a,b\n1,2\n"}
NIGHT_2 = {**NIGHT_1, "index.html": "<p>night 2</p>"}


def _snapshot(folder: Path, pages: dict[str, str]) -> Path:
    for path, text in pages.items():
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        (folder / path).write_text(text)
    return folder


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.fixture
def client(s3_env: S3Settings, sqlite_db: Database) -> TestClient:
    return TestClient(create_app(sqlite_db))  # no lifespan: no publisher, no projector


def test_pages_of_two_snapshots_are_served_per_checkpoint_and_latest(
    client: TestClient, bucket: S3Objects, tmp_path: Path
) -> None:
    upload_snapshot(_snapshot(tmp_path / "a", NIGHT_1), 100, bucket)
    upload_snapshot(_snapshot(tmp_path / "b", NIGHT_2), 250, bucket)
    first = client.get("/snapshot/100/")
    assert first.status_code == 200
    assert first.text == "<p>night 1</p>"
    assert first.headers["content-type"].startswith("text/html")
    assert first.headers["etag"] == f'"{_sha("<p>night 1</p>")}"'
    assert first.headers["cache-control"] == IMMUTABLE
    latest = client.get("/snapshot/")
    assert latest.text == "<p>night 2</p>"
    assert latest.headers["cache-control"] == f"public, max-age={LATEST_MAX_AGE}"
    # The seat's page did not change between the two: one object, one ETag, under both checkpoints.
    seat = [client.get(f"/snapshot/{c}/c/na-1/") for c in (100, 250)]
    assert [s.text for s in seat] == ["seat", "seat"]
    assert seat[0].headers["etag"] == seat[1].headers["etag"] == f'"{_sha("seat")}"'
    data = client.get("/snapshot/data/x.csv")
    assert data.content == b"a,b\n1,2\n"
    assert data.headers["content-type"].startswith("text/csv")


@pytest.mark.parametrize(
    ("url", "to"),
    [
        ("/snapshot", "/snapshot/"),
        ("/snapshot/100", "/snapshot/100/"),
        ("/snapshot/100/c/na-1", "/snapshot/100/c/na-1/"),
        ("/snapshot/c/na-1?lang=ur", "/snapshot/c/na-1/?lang=ur"),
    ],
)
def test_a_folder_without_its_slash_is_redirected_to_it(
    client: TestClient, bucket: S3Objects, tmp_path: Path, url: str, to: str
) -> None:
    upload_snapshot(_snapshot(tmp_path / "a", NIGHT_1), 100, bucket)
    moved = client.get(url, follow_redirects=False)
    assert moved.status_code == 301
    assert moved.headers["location"].removeprefix("http://testserver") == to
    assert client.get(to).status_code == 200
    # A file, or a folder's index.html named in full, is served where it was asked for.
    assert client.get("/snapshot/100/c/na-1/index.html", follow_redirects=False).text == "seat"
    assert client.get("/snapshot/data/x.csv", follow_redirects=False).status_code == 200


def test_an_etag_the_client_holds_is_answered_not_modified(
    client: TestClient, bucket: S3Objects, tmp_path: Path
) -> None:
    upload_snapshot(_snapshot(tmp_path / "a", NIGHT_1), 100, bucket)
    etag = client.get("/snapshot/100/c/na-1/index.html").headers["etag"]
    again = client.get("/snapshot/100/c/na-1/index.html", headers={"If-None-Match": f'W/"x", {etag}'})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    other = client.get("/snapshot/100/index.html", headers={"If-None-Match": etag})
    assert other.status_code == 200


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("/snapshot/100/nowhere.html", "a path of the snapshot at checkpoint 100"),
        ("/snapshot/c/na-2/", "a path of the snapshot at checkpoint 100"),
        ("/snapshot/101/", "the size of a checkpoint a snapshot was uploaded at"),
        ("/snapshot/100/../snapshots/000000000100.json", "a path of the snapshot"),
    ],
)
def test_an_unknown_path_or_checkpoint_is_404_with_the_envelope(
    client: TestClient, bucket: S3Objects, tmp_path: Path, url: str, expected: str
) -> None:
    upload_snapshot(_snapshot(tmp_path / "a", NIGHT_1), 100, bucket)
    answer = client.get(url)
    assert answer.status_code == 404
    error = answer.json()["error"]
    assert error["code"] == "not_found"
    assert expected in error["problems"][0]["expected"]


def test_an_empty_bucket_has_no_latest_snapshot(client: TestClient, bucket: S3Objects) -> None:
    answer = client.get("/snapshot/")
    assert answer.status_code == 404
    assert answer.json()["error"]["message"] == "no snapshot in the object store yet"


def test_without_the_bucket_the_route_says_where_snapshots_are(
    sqlite_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("POLLWATCH_OBJECT_STORE", raising=False)
    answer = TestClient(create_app(sqlite_db)).get("/snapshot/")
    assert answer.status_code == 404
    assert "POLLWATCH_SNAPSHOT_DIR/current" in answer.json()["error"]["remedy"]


def test_the_latest_moves_when_a_new_manifest_appears_after_the_listing_expires(
    bucket: S3Objects, tmp_path: Path
) -> None:
    upload_snapshot(_snapshot(tmp_path / "a", NIGHT_1), 100, bucket)
    remembered = BucketSite(bucket, latest_seconds=3600)
    listing = BucketSite(bucket, latest_seconds=0)
    assert remembered.get_file("").data == listing.get_file("").data == b"<p>night 1</p>"
    upload_snapshot(_snapshot(tmp_path / "b", NIGHT_2), 250, bucket)
    assert (listing.latest(), listing.get_file("").data) == (250, b"<p>night 2</p>")
    # Within its listing interval a site keeps the snapshot it found (what LATEST_MAX_AGE allows for).
    assert remembered.latest() == 100
    # A named checkpoint is served whatever the latest is.
    assert listing.get_file("index.html", checkpoint=100).data == b"<p>night 1</p>"


def test_manifests_and_objects_are_read_once_then_served_from_memory(
    bucket: S3Objects, tmp_path: Path
) -> None:
    upload_snapshot(_snapshot(tmp_path / "a", NIGHT_1), 100, bucket)
    reads: list[str] = []

    class Counting:
        def __getattr__(self, name: str) -> object:
            return getattr(bucket, name)

        def get(self, key: str) -> bytes:
            reads.append(key)
            return bucket.get(key)

    site = BucketSite(Counting(), latest_seconds=3600)  # type: ignore[arg-type]
    for _ in range(3):
        site.get_file("c/na-1/", checkpoint=100)
        site.get_file("", checkpoint=100)
    assert sorted(reads) == sorted(
        ["snapshots/000000000100.json", f"site/{_sha('seat')}", f"site/{_sha('<p>night 1</p>')}"]
    )


def test_a_bad_copy_in_the_store_is_never_served_under_the_good_etag(tmp_path: Path) -> None:
    objects = FilesystemObjects(tmp_path / "store")
    upload_snapshot(_snapshot(tmp_path / "a", {"index.html": "good"}), 5, objects)
    (tmp_path / "store" / "site" / _sha("good")).write_text("tampered")
    with pytest.raises(StorageError, match="bad copy"):
        BucketSite(objects).get_file("", checkpoint=5)


def test_the_filesystem_store_lists_keys_in_order_after_a_key(tmp_path: Path) -> None:
    objects: ObjectStore = FilesystemObjects(tmp_path)
    for size in (30, 4, 100):
        upload_snapshot(_snapshot(tmp_path / f"s{size}", {"index.html": str(size)}), size, objects)
    keys = objects.list_keys("snapshots/")
    assert keys == [f"snapshots/{n:012d}.json" for n in (4, 30, 100)]
    assert objects.list_keys("snapshots/", after=keys[0]) == keys[1:]
    site = BucketSite(objects)
    assert site.latest() == 100
    with pytest.raises(NotFoundError, match="no snapshot at this checkpoint"):
        site.get_file("", checkpoint=31)


def test_the_s3_store_lists_keys_after_a_key(bucket: S3Objects) -> None:
    for key in ("snapshots/000000000002.json", "snapshots/000000000010.json", "site/abc", "photos/x"):
        bucket.put_once(key, b"{}")
    assert bucket.list_keys("snapshots/") == ["snapshots/000000000002.json", "snapshots/000000000010.json"]
    assert bucket.list_keys("snapshots/", after="snapshots/000000000002.json") == [
        "snapshots/000000000010.json"
    ]
    assert bucket.list_keys("nothing/") == []
