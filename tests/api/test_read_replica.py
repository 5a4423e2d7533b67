"""Public reads from a replica, receipts from the primary (POLLWATCH_READ_DATABASE_URL).

The "replica" here is a copy of the primary taken when the log had one entry: whatever the app answers
from it shows one entry, whatever it answers from the primary shows three."""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from pollwatch.api.app import create_app
from pollwatch.ledger import service
from pollwatch.ledger.note import Signer
from pollwatch.ledger.proof import verify_receipt
from pollwatch.ledger.records import LeafRecord
from pollwatch.ledger.settings import LogSettings
from pollwatch.storage import Database
from pollwatch.storage import log as store

SIGNER = Signer.from_seed("replica.example/log", hashlib.sha256(b"replica").digest())


def _grow(db: Database, count: int) -> None:
    with db.begin() as conn:
        service.append(conn, [LeafRecord("incident", {"n": n}) for n in range(count)])
    service.sign_checkpoint(db, LogSettings(SIGNER))


@pytest.fixture
def client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    primary, replica = tmp_path / "primary.sqlite3", tmp_path / "replica.sqlite3"
    db = Database(f"sqlite:///{primary}")
    db.upgrade()
    _grow(db, 1)
    db.dispose()  # the last connection closed: the WAL is folded into the file, which is copied whole
    shutil.copy(primary, replica)
    monkeypatch.setenv("POLLWATCH_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("POLLWATCH_DATABASE_URL", f"sqlite:///{primary}")
    monkeypatch.setenv("POLLWATCH_READ_DATABASE_URL", f"sqlite:///{replica}")
    db = Database()
    _grow(db, 2)
    app = create_app(db)
    app.state.ledger_settings = LogSettings(SIGNER)
    with TestClient(app) as test_client:
        yield test_client
    db.dispose()


def test_public_reads_come_from_the_replica_and_receipts_from_the_primary(
    client: TestClient, tmp_path: Path
) -> None:
    assert client.get("/api/v1/log").json()["size"] == 1  # the replica's log
    assert client.get("/api/v1/log/entries/2").status_code == 404  # not on the replica yet
    receipt = client.get("/api/v1/receipts/2")  # the primary's: leaf 2 is there, and signed
    assert receipt.status_code == 200, receipt.text
    primary = Database(f"sqlite:///{tmp_path / 'primary.sqlite3'}")
    with primary.connect() as conn:
        entry = store.read_entries_at(conn, [2])[2]
    primary.dispose()
    assert verify_receipt(receipt.text, entry=entry, log_key=SIGNER.verifier()).index == 2


def test_a_database_given_explicitly_ignores_the_replica_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POLLWATCH_READ_DATABASE_URL", f"sqlite:///{tmp_path / 'elsewhere.sqlite3'}")
    assert Database(f"sqlite:///{tmp_path / 'own.sqlite3'}").read_url is None
    monkeypatch.setenv("POLLWATCH_DATABASE_URL", f"sqlite:///{tmp_path / 'own.sqlite3'}")
    assert Database().read_url == f"sqlite:///{tmp_path / 'elsewhere.sqlite3'}"
