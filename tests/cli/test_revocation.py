"""`pollwatch token revoke`, `device list` and `device revoke`: say what was revoked, refuse the unknown."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from typer.testing import CliRunner

from pollwatch.auth import authenticate, device_key_id
from pollwatch.auth.devices import fingerprint, public_key_of
from pollwatch.cli.main import app
from pollwatch.errors import AuthError
from pollwatch.storage import Database
from pollwatch.storage import devices as device_store

runner = CliRunner()


@pytest.fixture
def url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    assert runner.invoke(app, ["init", "--db", url]).exit_code == 0
    return url


def _agent(url: str) -> tuple[str, str]:
    result = runner.invoke(app, ["token", "create", "--role", "agent", "--org", "PartyA", "--db", url,
                                 "--format", "json"])  # fmt: skip
    assert result.exit_code == 0, result.output
    created = json.loads(result.stdout)[0]
    return created["key_id"], created["token"]


def _device(url: str, key_id: str) -> bytes:
    public = public_key_of(Ed25519PrivateKey.generate())
    result = runner.invoke(app, ["submitter", "device", key_id, device_key_id(public), "--db", url])
    assert result.exit_code == 0, result.output
    return public


def test_token_revoke_says_what_it_revoked_and_the_token_stops(url: str) -> None:
    key_id, token = _agent(url)
    result = runner.invoke(app, ["token", "revoke", key_id, "--db", url])
    assert result.exit_code == 0, result.output
    assert f"revoked 1 active token(s) of {key_id} (agent, PartyA)" in result.stdout
    db = Database(url)
    with db.connect() as conn, pytest.raises(AuthError, match="revoked"):
        authenticate(conn, f"Bearer {token}")
    db.dispose()
    again = runner.invoke(app, ["token", "revoke", key_id, "--db", url])
    assert "revoked 0 active token(s)" in again.stdout


def test_token_revoke_of_an_unknown_key_fails_with_a_clear_error(url: str) -> None:
    result = runner.invoke(app, ["token", "revoke", "sub-ffffffffffffffff", "--db", url])
    assert result.exit_code == 1
    assert "no submitter has this key id; nothing was revoked" in result.output


def test_device_list_then_revoke_by_fingerprint(url: str) -> None:
    key_id, _ = _agent(url)
    public = _device(url, key_id)
    listed = runner.invoke(app, ["device", "list", key_id, "--db", url])
    assert listed.exit_code == 0, listed.output
    assert f"{fingerprint(public)}  active" in listed.stdout
    revoked = runner.invoke(app, ["device", "revoke", fingerprint(public), "--db", url])
    assert revoked.exit_code == 0, revoked.output
    assert f"device key {fingerprint(public)} of {key_id} revoked" in revoked.stdout
    as_json = runner.invoke(app, ["device", "list", key_id, "--db", url, "--format", "json"])
    assert [d["revoked"] for d in json.loads(as_json.stdout)] == [True]
    db = Database(url)
    with db.connect() as conn:
        assert device_store.list_device_owners(conn, {fingerprint(public)}) == {}
    db.dispose()


def test_device_revoke_takes_the_key_itself_and_says_when_already_revoked(url: str) -> None:
    key_id, _ = _agent(url)
    public = _device(url, key_id)
    first = runner.invoke(app, ["device", "revoke", device_key_id(public), "--db", url])
    assert first.exit_code == 0, first.output
    second = runner.invoke(app, ["device", "revoke", fingerprint(public), "--db", url])
    assert second.exit_code == 0
    assert "was already revoked" in second.stdout


@pytest.mark.parametrize(
    ("argument", "message"),
    [("ab" * 32, "no device key has this fingerprint"), ("00ff", "not a device key fingerprint")],
)
def test_device_revoke_refuses_unknown_or_malformed_fingerprints(
    url: str, argument: str, message: str
) -> None:
    result = runner.invoke(app, ["device", "revoke", argument, "--db", url])
    assert result.exit_code == 1
    assert message in result.output


def test_device_list_of_an_unknown_submitter_fails(url: str) -> None:
    result = runner.invoke(app, ["device", "list", "sub-ffffffffffffffff", "--db", url])
    assert result.exit_code == 1
    assert "no such submitter" in result.output
