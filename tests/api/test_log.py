"""The static-style log under /log/: full tiles cached on disk, byte-identical, never served corrupted."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from pollwatch.api.app import create_app
from pollwatch.ledger import service, tiles
from pollwatch.ledger.mirror import db_fetch, mirror_log
from pollwatch.ledger.note import Signer
from pollwatch.ledger.records import LeafRecord
from pollwatch.ledger.settings import LogSettings
from pollwatch.ledger.tiles import TILE_WIDTH, get_tile, list_tiles
from pollwatch.storage import Database

SIGNER = Signer.from_seed("api.example/log", hashlib.sha256(b"api-log").digest())
SIZE = 600  # two full tiles and bundles, a partial level-0 tile, a partial level-1 tile
FULL = ["tile/0/000", "tile/0/001", "tile/entries/000", "tile/entries/001"]
PARTIAL = ["tile/0/002.p/88", "tile/1/000.p/2", "tile/entries/002.p/88"]


@pytest.fixture
def cache_dir(tmp_path: Path) -> Path:
    return tmp_path / "tiles"


@pytest.fixture
def client(
    db: Database, tmp_path: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[TestClient]:
    monkeypatch.setenv("POLLWATCH_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("POLLWATCH_LOG_TILES", str(cache_dir))
    with db.begin() as conn:
        service.append(conn, [LeafRecord("incident", {"n": i, "pad": "x" * (i % 50)}) for i in range(SIZE)])
    service.sign_checkpoint(db, LogSettings(SIGNER))
    app = create_app(db)
    app.state.ledger_settings = LogSettings(SIGNER)
    with TestClient(app) as test_client:
        yield test_client


def _uncached(db: Database, path: str) -> bytes:
    with db.connect() as conn:
        return get_tile(conn, tiles.parse_tile_path(path))


def test_every_tile_is_byte_identical_with_and_without_the_cache(
    client: TestClient, db: Database, cache_dir: Path
) -> None:
    paths = [ref.path for ref in list_tiles(SIZE)]
    assert sorted(paths) == sorted(FULL + PARTIAL)
    cold = {p: client.get(f"/log/{p}").content for p in paths}
    warm = {p: client.get(f"/log/{p}").content for p in paths}
    assert cold == warm == {p: _uncached(db, p) for p in paths}
    cached = sorted(str(p.relative_to(cache_dir)) for p in cache_dir.rglob("*") if p.is_file())
    assert cached == sorted(FULL)  # partial tiles are never cached
    assert all((cache_dir / p).read_bytes() == cold[p] for p in FULL)


def test_full_tiles_are_served_from_disk(
    client: TestClient, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = {p: client.get(f"/log/{p}").content for p in FULL + PARTIAL}

    def no_database(*args: object) -> bytes:
        raise AssertionError("computed from the database")

    monkeypatch.setattr(tiles, "_compute_tile", no_database)
    for path in FULL:
        assert client.get(f"/log/{path}").content == expected[path]
    with pytest.raises(AssertionError, match="computed from the database"):
        client.get(f"/log/{PARTIAL[0]}")


def _truncate(data: bytes) -> bytes:
    return data[:-1]


def _flip(data: bytes) -> bytes:
    return data[:100] + bytes([data[100] ^ 1]) + data[101:]


def _empty(data: bytes) -> bytes:
    return b""


def _padded(data: bytes) -> bytes:
    return data + b"\x00\x00"


@pytest.mark.parametrize("damage", [_truncate, _flip, _empty, _padded])
@pytest.mark.parametrize("path", ["tile/0/001", "tile/entries/000"])
def test_a_damaged_cache_file_is_never_served(
    client: TestClient, db: Database, cache_dir: Path, path: str, damage: object
) -> None:
    good = client.get(f"/log/{path}").content
    assert callable(damage)
    (cache_dir / path).write_bytes(damage(good))
    response = client.get(f"/log/{path}")
    assert response.status_code == 200
    assert response.content == good == _uncached(db, path)
    assert (cache_dir / path).read_bytes() == good  # repaired


def test_a_tile_of_another_position_in_the_cache_is_not_served(client: TestClient, cache_dir: Path) -> None:
    first, second = client.get("/log/tile/0/000").content, client.get("/log/tile/0/001").content
    (cache_dir / "tile/0/001").write_bytes(first)  # well-formed, but the wrong subtree
    assert client.get("/log/tile/0/001").content == second


def test_an_unwritable_cache_still_serves(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, client: TestClient
) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    client.app.state.tile_cache = tiles.TileCache(blocker)  # type: ignore[attr-defined]
    response = client.get("/log/tile/entries/001")
    assert response.status_code == 200
    assert response.content == _uncached(db, "tile/entries/001")


def test_cache_headers_and_content_types(client: TestClient) -> None:
    checkpoint = client.get("/log/checkpoint")
    assert checkpoint.headers["cache-control"] == "no-cache"
    assert checkpoint.headers["content-type"] == "text/plain; charset=utf-8"
    for path in FULL:
        response = client.get(f"/log/{path}")
        assert "immutable" in response.headers["cache-control"]
        assert response.headers["content-type"] == "application/octet-stream"
    for path in PARTIAL:  # a partial tile's width is in its path: it never changes either
        response = client.get(f"/log/{path}")
        assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert response.headers["content-type"] == "application/octet-stream"


def test_a_tile_beyond_the_checkpoint_is_a_404_envelope(client: TestClient, cache_dir: Path) -> None:
    response = client.get("/log/tile/0/002")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert client.get("/log/tile/0/002.p/89").status_code == 404
    assert not (cache_dir / "tile/0/002").exists()


def test_the_mirror_holds_exactly_what_log_serves(client: TestClient, db: Database, tmp_path: Path) -> None:
    out = tmp_path / "mirror"
    mirror_log(db_fetch(db, LogSettings(SIGNER)), out, log_key=SIGNER.verifier())
    files = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    history = ["checkpoints/600", "checkpoints/index"]  # what the mirror keeps of its own
    assert files == sorted([".pollwatch-lock", "checkpoint", *history, *FULL, *PARTIAL])
    for path in [".pollwatch-lock", *history]:  # the empty lock file of mirror runs, and the history
        files.remove(path)
    for path in files:
        assert (out / path).read_bytes() == client.get(f"/log/{path}").content
    assert len((out / "tile/0/000").read_bytes()) == 32 * TILE_WIDTH
