"""Revocation over HTTP: who may revoke, immediate effect in this process, none on the log or the rows."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from pollwatch.api.app import create_app
from pollwatch.auth import Assignment, AuthRole, create_submitter, device_key_id
from pollwatch.auth.devices import public_key_of
from pollwatch.intake.testing import SLUG, bearer, create_tiny_election, sheet_payload, sign_payload
from pollwatch.storage import Database
from pollwatch.storage import intake_schema as ti
from pollwatch.storage import log as logstore

PHONE = "+923001234567"
STATE = importlib.import_module("pollwatch.api.intake.state")  # the package exports a state() too


@pytest.fixture
def tokens(db: Database) -> dict[str, str]:
    """A token per role on a tiny election; the agent (PartyA, NA-1 station 1) has a phone for SMS."""
    create_tiny_election(db)
    out: dict[str, str] = {}
    with db.begin() as conn:
        for role, org, assignments, phone in (
            (AuthRole.ADMIN, "", (), None),
            (AuthRole.COORDINATOR, "PartyA", (), None),
            (AuthRole.AGENT, "PartyA", (Assignment(SLUG, "NA-1", 1),), PHONE),
            (AuthRole.OBSERVER, "FAFEN", (), None),
            (AuthRole.GATEWAY, "", (), None),
        ):
            _, out[role.value] = create_submitter(
                conn, role=role, organisation=org, assignments=assignments, phone=phone
            )
    return out


def _app(db: Database, home: Path, monkeypatch: pytest.MonkeyPatch) -> TestClient:
    monkeypatch.setenv("POLLWATCH_HOME", str(home))
    monkeypatch.setenv("POLLWATCH_RECEIPT_WAIT", "0")
    return TestClient(create_app(db))


@pytest.fixture
def client(
    db: Database, tokens: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[TestClient]:
    with _app(db, tmp_path / "home", monkeypatch) as test_client:
        yield test_client


def _new_agent(client: TestClient, admin: str, organisation: str = "PartyA") -> dict[str, Any]:
    body = {"role": "agent", "organisation": organisation, "constituencies": ["NA-1"]}
    created = client.post("/api/v1/submitters", json=body, headers=bearer(admin))
    assert created.status_code == 201, created.text
    return dict(created.json())


def _device(client: TestClient, token: str) -> tuple[Ed25519PrivateKey, str]:
    key = Ed25519PrivateKey.generate()
    public = device_key_id(public_key_of(key))
    answer = client.post("/api/v1/devices", json={"public_key": public}, headers=bearer(token))
    assert answer.status_code == 201, answer.text
    return key, str(answer.json()["fingerprint"])


def _leaves(db: Database) -> int:
    with db.connect() as conn:
        return logstore.count_entries(conn)


def _rows(db: Database) -> tuple[int, int, int]:
    with db.connect() as conn:
        return tuple(  # type: ignore[return-value]
            int(conn.execute(select(func.count()).select_from(t)).scalar_one())
            for t in (ti.submitters, ti.tokens, ti.device_keys)
        )


def test_revoked_token_stops_at_once_in_the_revoking_process(
    client: TestClient, tokens: dict[str, str], db: Database
) -> None:
    agent = _new_agent(client, tokens["admin"])
    first = client.post("/api/v1/sheets", json=sheet_payload("rv-before-1"), headers=bearer(agent["token"]))
    assert first.status_code == 201  # the principal is now in the 10-second cache
    leaves, rows = _leaves(db), _rows(db)
    revoked = client.post(f"/api/v1/submitters/{agent['key_id']}/revoke", headers=bearer(tokens["admin"]))
    assert revoked.status_code == 200, revoked.text
    assert revoked.json() == {"key_id": agent["key_id"], "role": "agent", "organisation": "PartyA",
                              "tokens_revoked": 1}  # fmt: skip
    again = client.post("/api/v1/sheets", json=sheet_payload("rv-after-01"), headers=bearer(agent["token"]))
    assert again.status_code == 401
    assert again.json()["error"]["code"] == "unauthenticated"
    assert (_leaves(db), _rows(db)) == (leaves, rows)  # nothing deleted, nothing logged


def test_other_worker_refuses_once_its_cache_entry_expires(
    db: Database, tokens: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with _app(db, tmp_path, monkeypatch) as worker_a, _app(db, tmp_path, monkeypatch) as worker_b:
        agent = _new_agent(worker_a, tokens["admin"])
        assert worker_b.post("/api/v1/sheets", json=sheet_payload("rv-worker-1"),
                             headers=bearer(agent["token"])).status_code == 201  # fmt: skip
        assert worker_a.post(f"/api/v1/submitters/{agent['key_id']}/revoke",
                             headers=bearer(tokens["admin"])).status_code == 200  # fmt: skip
        monkeypatch.setattr(STATE, "_PRINCIPAL_TTL", 0.0)  # as if its 10 seconds had passed
        late = worker_b.post(
            "/api/v1/sheets", json=sheet_payload("rv-worker-2"), headers=bearer(agent["token"])
        )
    assert late.status_code == 401


def test_coordinator_revokes_only_agents_and_observers_of_their_organisation(
    client: TestClient, tokens: dict[str, str]
) -> None:
    own = _new_agent(client, tokens["admin"], "PartyA")
    other = _new_agent(client, tokens["admin"], "PartyB")
    coordinator = bearer(tokens["coordinator"])
    refused = client.post(f"/api/v1/submitters/{other['key_id']}/revoke", headers=coordinator)
    assert refused.status_code == 403
    assert refused.json()["error"]["problems"][0] == {
        "message": "a coordinator revokes only members of their own organisation",
        "where": "organisation",
        "expected": "PartyA",
        "found": "PartyB",
    }
    assert client.post(f"/api/v1/submitters/{own['key_id']}/revoke", headers=coordinator).status_code == 200
    fresh = device_key_id(public_key_of(Ed25519PrivateKey.generate()))  # a real key: weak ones are refused
    still = client.post("/api/v1/devices", json={"public_key": fresh}, headers=bearer(other["token"]))
    assert still.status_code == 201  # PartyB's agent was not revoked


@pytest.mark.parametrize(
    ("key_id", "status", "code"),
    [("sub-0000000000000000", 404, "not_found"), ("bad%20key", 422, "invalid_input")],
)
def test_revoking_an_unknown_or_malformed_key_id_is_refused(
    client: TestClient, tokens: dict[str, str], key_id: str, status: int, code: str
) -> None:
    answer = client.post(f"/api/v1/submitters/{key_id}/revoke", headers=bearer(tokens["admin"]))
    assert answer.status_code == status
    assert answer.json()["error"]["code"] == code


def test_revoked_device_key_makes_later_signed_sheets_403(
    client: TestClient, tokens: dict[str, str], db: Database
) -> None:
    agent = bearer(tokens["agent"])
    key, fp = _device(client, tokens["agent"])
    signed = sign_payload(sheet_payload("rv-signed-1"), key, organisation="PartyA")
    assert client.post("/api/v1/sheets", json=signed, headers=agent).status_code == 201
    leaves, rows = _leaves(db), _rows(db)
    revoked = client.post(f"/api/v1/devices/{fp}/revoke", headers=agent)  # the device's own submitter
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["already_revoked"] is False
    assert revoked.json()["public_key"] == device_key_id(public_key_of(key))
    later = sign_payload(sheet_payload("rv-signed-2"), key, organisation="PartyA")
    refused = client.post("/api/v1/sheets", json=later, headers=agent)
    assert refused.status_code == 403
    assert refused.json()["error"]["problems"][0]["where"] == "device_key"
    assert "revoked" in refused.json()["error"]["message"]
    assert (_leaves(db), _rows(db)) == (leaves, rows)
    public = {d["public_key"]: d["revoked"] for d in client.get("/api/v1/device-keys").json()}
    assert public[device_key_id(public_key_of(key))] is True
    again = client.post(f"/api/v1/devices/{fp}/revoke", headers=agent)
    assert again.json()["already_revoked"] is True
    reregistered = client.post("/api/v1/devices", json={"public_key": device_key_id(public_key_of(key))},
                               headers=agent)  # fmt: skip
    assert reregistered.status_code == 409


@pytest.mark.parametrize(("role", "status"), [("coordinator", 200), ("observer", 403), ("gateway", 403)])
def test_who_may_revoke_an_agents_device(
    client: TestClient, tokens: dict[str, str], role: str, status: int
) -> None:
    _, fp = _device(client, tokens["agent"])
    assert client.post(f"/api/v1/devices/{fp}/revoke", headers=bearer(tokens[role])).status_code == status


@pytest.mark.parametrize(("fingerprint", "status"), [("ab" * 32, 404), ("AB" * 32, 422), ("ab" * 31, 422)])
def test_revoking_an_unknown_or_malformed_fingerprint_is_refused(
    client: TestClient, tokens: dict[str, str], fingerprint: str, status: int
) -> None:
    answer = client.post(f"/api/v1/devices/{fingerprint}/revoke", headers=bearer(tokens["admin"]))
    assert answer.status_code == status
    assert answer.json()["error"]["status"] == status


def test_revoked_submitters_phone_no_longer_reports_by_sms(
    client: TestClient, tokens: dict[str, str], db: Database
) -> None:
    gateway = bearer(tokens["gateway"])
    sms = {"sender": PHONE, "text": "PW NA-1 1 45 100,50,25 R5 P180"}
    assert client.post(f"/api/v1/sms/inbound?election={SLUG}", json=sms, headers=gateway).json()["accepted"]
    with db.connect() as conn:
        agent_key = conn.execute(
            select(ti.submitters.c.key_id).where(ti.submitters.c.phone == PHONE)
        ).scalar_one()
    assert client.post(f"/api/v1/submitters/{agent_key}/revoke",
                       headers=bearer(tokens["admin"])).status_code == 200  # fmt: skip
    leaves = _leaves(db)
    sms2 = {**sms, "text": "PW NA-1 1 45 100,50,25 R5 P180 Isecond"}
    answer = client.post(f"/api/v1/sms/inbound?election={SLUG}", json=sms2, headers=gateway).json()
    assert answer["accepted"] is False
    assert "revoked" in answer["reply"]
    assert _leaves(db) == leaves


def test_a_submitter_may_revoke_their_own_leaked_token(client: TestClient, tokens: dict[str, str]) -> None:
    agent = _new_agent(client, tokens["admin"])
    own = client.post(f"/api/v1/submitters/{agent['key_id']}/revoke", headers=bearer(agent["token"]))
    assert own.status_code == 200, own.text
    assert own.json()["tokens_revoked"] == 1
    fresh = device_key_id(public_key_of(Ed25519PrivateKey.generate()))
    after = client.post("/api/v1/devices", json={"public_key": fresh}, headers=bearer(agent["token"]))
    assert after.status_code == 401
