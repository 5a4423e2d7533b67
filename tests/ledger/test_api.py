"""The log over HTTP: checkpoint and tiles under /log/, proofs and receipts under /api/v1."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from pollwatch.api.app import create_app
from pollwatch.ledger import service
from pollwatch.ledger.checkpoint import open_checkpoint
from pollwatch.ledger.merkle import leaf_hash, verify_consistency, verify_inclusion
from pollwatch.ledger.note import Signer
from pollwatch.ledger.proof import verify_receipt
from pollwatch.ledger.records import LeafRecord, canonical_bytes
from pollwatch.ledger.settings import LogSettings
from pollwatch.ledger.tiles import decode_entries
from pollwatch.storage import Database

RECORDS = [LeafRecord("incident", {"n": i}) for i in range(300)]


@pytest.fixture
def client(
    sqlite_db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, settings: LogSettings
) -> Iterator[TestClient]:
    # SQLite only: the storage underneath is tested on both databases in test_service.py.
    monkeypatch.setenv("POLLWATCH_HOME", str(tmp_path / "home"))
    with sqlite_db.begin() as conn:
        service.append(conn, RECORDS)
    app = create_app(sqlite_db)
    app.state.ledger_settings = settings
    with TestClient(app) as test_client:
        yield test_client


def test_checkpoint_is_signed_by_the_log_key(client: TestClient, log_signer: Signer) -> None:
    response = client.get("/log/checkpoint")
    assert response.status_code == 200
    checkpoint = open_checkpoint(response.text, log_signer.verifier())
    assert checkpoint.size == 300


def test_tiles_and_entry_bundles_are_served(client: TestClient) -> None:
    client.get("/log/checkpoint")
    tile = client.get("/log/tile/0/000")
    assert tile.status_code == 200
    assert len(tile.content) == 8192
    assert tile.content[:32] == leaf_hash(canonical_bytes(RECORDS[0]))
    assert "immutable" in tile.headers["cache-control"]
    entries = client.get("/log/tile/entries/001.p/44")
    assert decode_entries(entries.content) == [canonical_bytes(r) for r in RECORDS[256:]]
    assert client.get("/log/tile/0/001.p/45").status_code == 404
    assert client.get("/log/tile/0/abc").status_code == 404


def test_inclusion_and_consistency_proofs_verify(client: TestClient) -> None:
    body = client.get("/api/v1/log/proof/inclusion", params={"index": 123, "size": 250}).json()
    proof = [base64.b64decode(p) for p in body["proof"]]
    leaf = leaf_hash(canonical_bytes(RECORDS[123]))
    verify_inclusion(leaf, 123, 250, proof, base64.b64decode(body["root"]))
    body = client.get("/api/v1/log/proof/consistency", params={"first": 7, "second": 300}).json()
    verify_consistency(
        7,
        300,
        [base64.b64decode(p) for p in body["proof"]],
        base64.b64decode(body["first_root"]),
        base64.b64decode(body["second_root"]),
    )


def test_proof_beyond_the_log_is_a_404_envelope(client: TestClient) -> None:
    response = client.get("/api/v1/log/proof/inclusion", params={"index": 1, "size": 301})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_receipt_endpoint_returns_a_verifiable_receipt(client: TestClient, log_signer: Signer) -> None:
    response = client.get("/api/v1/receipts/42")
    assert response.status_code == 200
    report = verify_receipt(response.text, entry=canonical_bytes(RECORDS[42]), log_key=log_signer.verifier())
    assert report.index == 42
    assert client.get("/api/v1/receipts/300").status_code == 404


def test_entry_and_log_info(client: TestClient, log_signer: Signer) -> None:
    assert client.get("/api/v1/log/entries/5").content == canonical_bytes(RECORDS[5])
    info = client.get("/api/v1/log").json()
    assert info["vkey"] == log_signer.verifier().vkey
    assert info["size"] == 300


def test_an_app_that_logs_nothing_creates_no_log_key(
    sqlite_db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POLLWATCH_HOME", str(tmp_path / "quiet"))
    monkeypatch.delenv("POLLWATCH_LOG_KEY", raising=False)
    with TestClient(create_app(sqlite_db)) as test_client:
        response = test_client.get("/api/v1/log/proof/inclusion", params={"index": 0, "size": 1})
        time.sleep(0.5)  # two publisher rounds
    assert response.status_code == 404
    assert not (tmp_path / "quiet" / "keys" / "log.key").exists()


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/log/entries/9223372036854775808",
        "/api/v1/receipts/9223372036854775808",
        "/api/v1/log/proof/inclusion?index=0&size=9223372036854775808",
        "/api/v1/log/proof/consistency?first=1&second=9223372036854775808",
    ],
)
def test_index_beyond_a_database_integer_is_a_422_envelope(client: TestClient, path: str) -> None:
    # schemathesis once drew such an index and SQLite could not bind it (a 500).
    response = client.get(path)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_input"
