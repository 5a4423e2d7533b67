"""Full log tiles and entry bundles in the S3 bucket (a real SeaweedFS), write-once, shared by every node:
with POLLWATCH_OBJECT_STORE=s3 the first node to serve a full tile stores it under ``log/<tlog path>``;
another node (another app on the same database) serves it from the bucket without recomputing it."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from pollwatch.api.app import create_app
from pollwatch.ledger import service, tiles
from pollwatch.ledger.note import Signer
from pollwatch.ledger.records import LeafRecord
from pollwatch.ledger.settings import LogSettings
from pollwatch.objects.s3 import S3Objects, S3Settings
from pollwatch.storage import Database

SIGNER = Signer.from_seed("tiles.example/log", hashlib.sha256(b"tiles-in-s3").digest())
FULL = ["tile/0/000", "tile/entries/000"]
PARTIAL = "tile/0/001.p/44"


@pytest.fixture
def db(tmp_path: Path) -> Database:
    database = Database(f"sqlite:///{tmp_path / 'log.sqlite3'}")
    database.upgrade()
    with database.begin() as conn:
        service.append(conn, [LeafRecord("incident", {"n": n}) for n in range(300)])
    service.sign_checkpoint(database, LogSettings(SIGNER))
    return database


def _node(db: Database) -> TestClient:
    app = create_app(db)
    app.state.ledger_settings = LogSettings(SIGNER)
    return TestClient(app)


def test_full_tiles_are_written_once_to_the_bucket_and_served_from_it_by_another_node(
    db: Database, s3_env: S3Settings, bucket: S3Objects, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with _node(db) as first:
        served = {p: first.get(f"/log/{p}").content for p in [*FULL, PARTIAL]}
    for path in FULL:  # the node's disk holds nothing: the bucket does
        assert bucket.get(f"log/{path}") == served[path]
    assert not bucket.exists(f"log/{PARTIAL}")  # partial tiles change as the log grows: never stored
    assert not (tmp_path / "home" / "log-tiles").exists()

    def no_database(*args: object) -> bytes:
        raise AssertionError("computed from the database")

    monkeypatch.setattr(tiles, "_compute_tile", no_database)
    with _node(db) as second:
        for path in FULL:
            assert second.get(f"/log/{path}").content == served[path]


def test_a_bad_copy_in_the_bucket_is_never_served_nor_overwritten(
    db: Database, s3_env: S3Settings, bucket: S3Objects
) -> None:
    assert bucket.put_once("log/tile/0/000", b"\0" * 32 * 256)  # someone wrote garbage first
    with _node(db) as node:
        served = node.get("/log/tile/0/000").content
    with db.connect() as conn:
        assert served == tiles.get_tile(conn, tiles.parse_tile_path("tile/0/000"))
    assert bucket.get("log/tile/0/000") == b"\0" * 32 * 256  # write-once: left as it is, bypassed
