"""A node that never signs (POLLWATCH_PUBLISHER=off) holds only the log's verifier key
(POLLWATCH_LOG_VKEY): it serves intake, receipts and proofs, and never reads nor creates a private key."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from pollwatch.api.app import create_app
from pollwatch.auth import AuthRole, create_submitter
from pollwatch.errors import InputError
from pollwatch.intake.testing import bearer, create_tiny_election, sheet_payload
from pollwatch.ledger import service
from pollwatch.ledger.note import Signer
from pollwatch.ledger.proof import verify_receipt
from pollwatch.ledger.settings import LogSettings, load_public_settings
from pollwatch.storage import Database

SIGNER = Signer.from_seed("node.example/log", hashlib.sha256(b"verifier-only").digest())


@pytest.fixture
def node_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An API node's environment: never signs, the verifier key given, no private key on its host."""
    monkeypatch.setenv("POLLWATCH_HOME", str(tmp_path / "node"))
    monkeypatch.setenv("POLLWATCH_PUBLISHER", "off")
    monkeypatch.setenv("POLLWATCH_LOG_KEY", str(tmp_path / "node" / "keys" / "log.key"))
    monkeypatch.setenv("POLLWATCH_LOG_VKEY", SIGNER.verifier().vkey)
    monkeypatch.delenv("POLLWATCH_WITNESSES", raising=False)
    return tmp_path


@pytest.fixture
def client(db: Database, node_env: Path) -> Iterator[TestClient]:
    with TestClient(create_app(db)) as test_client:
        yield test_client


def _token(db: Database) -> str:
    create_tiny_election(db)
    with db.begin() as conn:
        _, token = create_submitter(
            conn, role=AuthRole.ADMIN, organisation="", assignments=(), phone=None, name="agent"
        )
    return str(token)


def test_a_node_without_the_private_key_serves_intake_receipts_and_proofs(
    client: TestClient, db: Database, node_env: Path
) -> None:
    token = _token(db)
    body = sheet_payload("c-000001")
    posted = client.post("/api/v1/sheets?receipt=false", json=body, headers=bearer(token))
    assert posted.status_code == 201, posted.text
    index = posted.json()["leaf_index"]
    # The publisher signs elsewhere (it alone holds the key); this node only serves what it signed.
    assert service.sign_checkpoint(db, LogSettings(SIGNER), allow_empty=True) is not None
    receipt = client.get(f"/api/v1/receipts/{index}")
    assert receipt.status_code == 200, receipt.text
    entry = client.get(f"/api/v1/log/entries/{index}").content
    assert verify_receipt(receipt.text, entry=entry, log_key=SIGNER.verifier()).index == index
    proof = client.get("/api/v1/log/proof/inclusion", params={"index": index, "size": index + 1})
    assert proof.status_code == 200
    assert client.get("/api/v1/log").json()["vkey"] == SIGNER.verifier().vkey
    assert client.get("/log/checkpoint").text.startswith("node.example/log\n")
    assert client.get("/verify").status_code == 200
    assert not list(node_env.rglob("*.key"))  # nothing read, nothing created


def test_a_node_that_never_signs_and_has_no_verifier_key_refuses_rather_than_creating_one(
    node_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("POLLWATCH_LOG_VKEY")
    with pytest.raises(InputError, match="no log verifier key"):
        load_public_settings()
    assert not list(node_env.rglob("*.key"))


def test_the_verifier_key_may_be_a_file_and_must_match_the_origin(
    node_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    vkey = node_env / "log.vkey"
    vkey.write_text(SIGNER.verifier().vkey + "\n")
    monkeypatch.setenv("POLLWATCH_LOG_VKEY", str(vkey))
    assert load_public_settings().key == SIGNER.verifier()
    assert load_public_settings().origin == "node.example/log"
    monkeypatch.setenv("POLLWATCH_LOG_ORIGIN", "other.example/log")
    with pytest.raises(InputError, match="another origin"):
        load_public_settings()


def test_beside_the_private_key_file_the_vkey_is_enough(
    node_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("POLLWATCH_LOG_VKEY")
    keys = node_env / "node" / "keys"
    keys.mkdir(parents=True)
    (keys / "log.vkey").write_text(SIGNER.verifier().vkey + "\n")
    assert load_public_settings().key == SIGNER.verifier()
    assert not (keys / "log.key").exists()
