"""The object stores: SeaweedFS's conformance to the conditional writes pollwatch relies on, and both
backends (filesystem, S3) behaving alike: write-once, read back, absent, refused keys."""

from __future__ import annotations

import base64
import hashlib
import threading
from pathlib import Path

import httpx
import pytest
from botocore.exceptions import ClientError

from pollwatch.errors import InputError, NotFoundError, StorageError
from pollwatch.objects import FilesystemObjects, ObjectStore
from pollwatch.objects.s3 import S3Objects, S3Settings


def _raw(bucket: S3Objects):  # type: ignore[no-untyped-def]  # boto3's client, as a conformance test drives it
    return bucket._s3


def _status(exc: ClientError) -> int:
    return int(exc.response["ResponseMetadata"]["HTTPStatusCode"])


def test_seaweedfs_refuses_a_second_put_with_if_none_match_star(bucket: S3Objects) -> None:
    s3 = _raw(bucket)
    s3.put_object(Bucket=bucket.bucket, Key="conformance/once", Body=b"first", IfNoneMatch="*")
    with pytest.raises(ClientError) as refused:
        s3.put_object(Bucket=bucket.bucket, Key="conformance/once", Body=b"second", IfNoneMatch="*")
    assert _status(refused.value) == 412
    assert s3.get_object(Bucket=bucket.bucket, Key="conformance/once")["Body"].read() == b"first"


def test_seaweedfs_refuses_a_put_with_a_stale_if_match(bucket: S3Objects) -> None:
    s3 = _raw(bucket)
    s3.put_object(Bucket=bucket.bucket, Key="conformance/etag", Body=b"v1")
    with pytest.raises(ClientError) as refused:
        s3.put_object(Bucket=bucket.bucket, Key="conformance/etag", Body=b"v2", IfMatch='"0123abcd"')
    assert _status(refused.value) == 412
    assert s3.get_object(Bucket=bucket.bucket, Key="conformance/etag")["Body"].read() == b"v1"


def test_seaweedfs_refuses_bytes_that_do_not_match_the_sha256_checksum(bucket: S3Objects) -> None:
    s3 = _raw(bucket)
    claimed = base64.b64encode(hashlib.sha256(b"the photo").digest()).decode()
    with pytest.raises(ClientError) as refused:
        s3.put_object(
            Bucket=bucket.bucket, Key="conformance/sum", Body=b"another photo", ChecksumSHA256=claimed
        )
    assert _status(refused.value) == 400
    assert not bucket.exists("conformance/sum")


def test_a_presigned_put_accepts_only_its_bytes_once_and_only_with_its_signed_headers(
    bucket: S3Objects,
) -> None:
    data = b"\x89PNG\r\n\x1a\n not really"
    sha = hashlib.sha256(data).hexdigest()
    grant = bucket.presign_put(f"photos/{sha}", sha256=sha, seconds=120)
    assert grant is not None
    assert httpx.put(grant.url, content=data).status_code == 403  # the headers are part of the signature
    wrong = httpx.put(grant.url, content=b"other bytes", headers=grant.headers)
    assert wrong.status_code == 400
    assert not bucket.exists(f"photos/{sha}")
    assert httpx.put(grant.url, content=data, headers=grant.headers).status_code == 200
    assert httpx.put(grant.url, content=data, headers=grant.headers).status_code == 412
    assert bucket.get(f"photos/{sha}") == data


def test_concurrent_writers_of_one_key_write_it_once(bucket: S3Objects) -> None:
    wins: list[bool] = []
    bodies = [f"writer {i}".encode() for i in range(6)]
    threads = [
        threading.Thread(target=lambda b=b: wins.append(bucket.put_once("race/key", b))) for b in bodies
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(wins) == [False] * 5 + [True]
    assert bucket.get("race/key") in bodies


@pytest.fixture(params=["filesystem", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> ObjectStore:
    if request.param == "filesystem":
        return FilesystemObjects(tmp_path / "objects")
    bucket: S3Objects = request.getfixturevalue("bucket")
    return bucket


def test_an_object_is_written_once_and_read_back(store: ObjectStore) -> None:
    assert store.put_once("tiles/0/000", b"tile bytes", content_type="application/octet-stream")
    assert not store.put_once("tiles/0/000", b"something else")
    assert store.get("tiles/0/000") == b"tile bytes"
    assert store.exists("tiles/0/000")
    store.delete("tiles/0/000")
    assert not store.exists("tiles/0/000")


def test_a_missing_object_is_not_found(store: ObjectStore) -> None:
    assert not store.exists("photos/none")
    with pytest.raises(NotFoundError, match="no such object"):
        store.get("photos/none")


@pytest.mark.parametrize("key", ["../etc/passwd", "/abs", "Photos/X", "a//b", "a/../b", ""])
def test_unsafe_keys_are_refused(store: ObjectStore, key: str) -> None:
    with pytest.raises(InputError, match="not a valid object key"):
        store.put_once(key, b"x")


def test_the_filesystem_store_hands_out_no_presigned_upload(tmp_path: Path) -> None:
    assert FilesystemObjects(tmp_path).presign_put("photos/x", sha256="00" * 32, seconds=60) is None


def test_an_unreachable_s3_server_is_a_storage_error_naming_the_settings() -> None:
    settings = S3Settings(endpoint="http://127.0.0.1:9", bucket="nowhere", access_key="a", secret_key="b")
    with pytest.raises(StorageError, match="the object store refused to store an object") as failed:
        S3Objects(settings).put_once("photos/x", b"x")
    assert "POLLWATCH_S3_ENDPOINT" in failed.value.remedy


def test_public_read_opens_the_named_prefixes_to_anyone_and_nothing_else(bucket: S3Objects) -> None:
    bucket.put_once("site/abc", b"page")
    bucket.put_once("photos/abc", b"a photo")
    base = f"{bucket.settings.endpoint}/{bucket.bucket}"
    assert httpx.get(f"{base}/site/abc").status_code == 403  # private until the policy is set
    bucket.allow_public_read(["site/", "snapshots/"])
    assert httpx.get(f"{base}/site/abc").content == b"page"
    assert httpx.get(f"{base}/photos/abc").status_code == 403
    assert httpx.get(f"{base}?list-type=2").status_code == 403  # no listing
    assert httpx.put(f"{base}/site/new", content=b"x").status_code == 403  # no writing
