"""Dashboard snapshots uploaded to the S3 bucket (a real SeaweedFS): every file under its SHA-256,
written once, so an unchanged page is stored once across snapshots; the manifest is written last."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from pollwatch.objects.s3 import S3Objects
from pollwatch.site.bucket import manifest_key, upload_snapshot


def _snapshot(folder: Path, pages: dict[str, str]) -> Path:
    for path, text in pages.items():
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        (folder / path).write_text(text)
    return folder


def test_a_snapshot_is_stored_by_content_and_an_unchanged_page_once(
    bucket: S3Objects, tmp_path: Path
) -> None:
    first = _snapshot(
        tmp_path / "a", {"index.html": "night 1", "c/na-1/index.html": "seat", "data/x.csv": "1"}
    )
    done = upload_snapshot(first, 100, bucket)
    assert (done.files, done.stored) == (3, 3)
    manifest = json.loads(bucket.get(manifest_key(100)))
    assert manifest["checkpoint"] == 100
    for path, sha in manifest["files"].items():
        data = bucket.get(f"site/{sha}")
        assert hashlib.sha256(data).hexdigest() == sha
        assert data == (first / path).read_bytes()
    # The next checkpoint: the national page changed, the seat's page and the data did not.
    second = _snapshot(
        tmp_path / "b", {"index.html": "night 2", "c/na-1/index.html": "seat", "data/x.csv": "1"}
    )
    again = upload_snapshot(second, 250, bucket)
    assert (again.files, again.stored) == (3, 1)
    later = json.loads(bucket.get(manifest_key(250)))["files"]
    assert later["c/na-1/index.html"] == manifest["files"]["c/na-1/index.html"]
    assert later["index.html"] != manifest["files"]["index.html"]


def test_a_snapshot_already_uploaded_is_never_replaced(bucket: S3Objects, tmp_path: Path) -> None:
    upload_snapshot(_snapshot(tmp_path / "a", {"index.html": "first"}), 7, bucket)
    upload_snapshot(_snapshot(tmp_path / "b", {"index.html": "a rewrite"}), 7, bucket)
    files = json.loads(bucket.get(manifest_key(7)))["files"]
    assert bucket.get(f"site/{files['index.html']}") == b"first"
