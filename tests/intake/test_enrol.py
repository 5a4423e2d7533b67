"""Enrolling a phone: a one-time code (a QR payload) and the app's own public key in, its token out, once;
the private key never leaves the phone and the payload carries nothing personal."""

from __future__ import annotations

import base64
import datetime as dt
import json
from pathlib import Path
from xml.etree import ElementTree

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from pollwatch.auth import Assignment, AuthRole, create_submitter
from pollwatch.auth.devices import device_key_id, public_key_of
from pollwatch.auth.enrol import create_enrolment
from pollwatch.cli.main import app
from pollwatch.errors import InputError
from pollwatch.intake.testing import SLUG, bearer, sheet_payload, sign_payload
from pollwatch.storage import Database

NOW = dt.datetime.now(dt.UTC)


def _agent(db: Database) -> str:
    with db.begin() as conn:
        key_id, _ = create_submitter(
            conn,
            role=AuthRole.AGENT,
            organisation="PartyA",
            name="Secret Agent Name",
            phone="+923001112233",
            assignments=(Assignment(SLUG, "NA-1", 2),),
        )
    return key_id


def _code(
    db: Database, key_id: str, *, now: dt.datetime = NOW, hours: float = 72
) -> tuple[str, dict[str, object]]:
    with db.begin() as conn:
        return create_enrolment(
            conn,
            submitter=key_id,
            election=SLUG,
            server="https://pollwatch.example",
            log_key="pollwatch.local/results+abcd+AQID",
            now=now,
            valid_for=dt.timedelta(hours=hours),
        )


def test_a_phone_enrols_once_and_submits_signed_sheets(client: TestClient, tiny_db: Database) -> None:
    code, payload = _code(tiny_db, _agent(tiny_db))
    assert set(payload) == {"v", "server", "election", "code", "log_key", "expires_at"}
    assert "Secret" not in json.dumps(payload)
    assert "+92300" not in json.dumps(payload)
    key = Ed25519PrivateKey.generate()  # made on the phone; only its public half is sent
    answer = client.post(
        "/api/v1/enrol", json={"code": code, "public_key": device_key_id(public_key_of(key))}
    )
    assert answer.status_code == 201, answer.text
    got = answer.json()
    assert (got["role"], got["organisation"], got["election"]) == ("agent", "PartyA", SLUG)
    assert got["assignments"] == [{"election": SLUG, "constituency": "NA-1", "station_serial": 2}]
    sheet = sign_payload(
        sheet_payload("enrolled-phone-1", station="2", role="agent"), key, organisation="PartyA"
    )
    made = client.post("/api/v1/sheets", json=sheet, headers=bearer(got["token"]))
    assert made.status_code == 201, made.text  # the token works and the device key verifies
    again = client.post("/api/v1/enrol", json={"code": code, "public_key": device_key_id(public_key_of(key))})
    assert again.status_code == 409
    assert "already used" in again.json()["error"]["message"]


def test_unknown_expired_and_weak_are_refused(client: TestClient, tiny_db: Database) -> None:
    key = device_key_id(public_key_of(Ed25519PrivateKey.generate()))
    unknown = client.post("/api/v1/enrol", json={"code": "pe_nothing-like-this", "public_key": key})
    assert unknown.status_code == 401
    agent = _agent(tiny_db)
    old, _ = _code(tiny_db, agent, now=NOW - dt.timedelta(hours=2), hours=1)
    expired = client.post("/api/v1/enrol", json={"code": old, "public_key": key})
    assert expired.status_code == 401
    assert "expired" in expired.json()["error"]["message"]
    fresh, _ = _code(tiny_db, agent)
    zero = "ed25519:" + base64.b64encode(bytes(32)).decode()
    weak = client.post("/api/v1/enrol", json={"code": fresh, "public_key": zero})
    assert weak.status_code == 422  # the all-zero key is refused, and the code is not spent
    ok = client.post("/api/v1/enrol", json={"code": fresh, "public_key": key})
    assert ok.status_code == 201, ok.text


def test_only_field_roles_enrol_a_phone(tiny_db: Database) -> None:
    with tiny_db.begin() as conn:
        admin, _ = create_submitter(conn, role=AuthRole.ADMIN)
    with pytest.raises(InputError, match="only agents, observers and coordinators"):
        _code(tiny_db, admin)


def test_the_cli_prints_the_payload_and_writes_the_qr(tiny_db: Database, tmp_path: Path) -> None:
    agent = _agent(tiny_db)
    svg = tmp_path / "agent.svg"
    result = CliRunner().invoke(
        app,
        [
            "enrol",
            "--election",
            SLUG,
            "--submitter",
            agent,
            "--server",
            "https://pollwatch.example",
            "--qr",
            str(svg),
            "--db",
            tiny_db.url,
        ],
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert payload["code"].startswith("pe_")
    assert ElementTree.fromstring(svg.read_text()).tag.endswith("svg")
