"""The server side of the field app: its three refusals by code, the capture context, the coordinator's
enrolment page, the service worker's file list and the first-load weight budget."""

from __future__ import annotations

import base64
import gzip
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient

from pollwatch.api.app import create_app
from pollwatch.auth import Assignment, AuthRole, create_submitter
from pollwatch.auth.devices import device_key_id, public_key_of
from pollwatch.auth.enrol import create_enrolment
from pollwatch.fieldapp import REFUSALS, messages, refusal_message
from pollwatch.intake.testing import SLUG, bearer, create_tiny_election, sheet_payload, sign_payload
from pollwatch.storage import Database

BUDGET = 150 * 1024
"""The issue's first-load budget, compressed."""


@pytest.fixture
def db(sqlite_db: Database) -> Database:
    create_tiny_election(sqlite_db)
    return sqlite_db


@pytest.fixture
def client(db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    monkeypatch.setenv("POLLWATCH_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("POLLWATCH_RECEIPT_WAIT", "0.2")
    with TestClient(create_app(db)) as test_client:
        yield test_client


def _submitter(
    db: Database, role: AuthRole, org: str, assignments: tuple[Assignment, ...] = ()
) -> tuple[str, str]:
    with db.begin() as conn:
        return create_submitter(
            conn, role=role, organisation=org, name="Secret Name", assignments=assignments
        )


def _enrolled_phone(client: TestClient, db: Database) -> tuple[str, Ed25519PrivateKey]:
    """An agent assigned NA-1 station 1 whose phone enrolled its own key with a one-time code."""
    key_id, _ = _submitter(db, AuthRole.AGENT, "PartyA", (Assignment(SLUG, "NA-1", 1),))
    import datetime as dt

    with db.begin() as conn:
        code, _ = create_enrolment(conn, submitter=key_id, election=SLUG, server="http://testserver",
                                   log_key="x+00000000+AQ", now=dt.datetime.now(dt.UTC))  # fmt: skip
    key = Ed25519PrivateKey.generate()
    answer = client.post(
        "/api/v1/enrol", json={"code": code, "public_key": device_key_id(public_key_of(key))}
    )
    assert answer.status_code == 201, answer.text
    return answer.json()["token"], key


def _signed(submission_id: str, key: Ed25519PrivateKey, **extra: Any) -> dict[str, Any]:
    return sign_payload(
        sheet_payload(submission_id, organisation="PartyA", **extra), key, organisation="PartyA"
    )


def test_a_record_signed_by_an_unenrolled_key_is_refused_with_its_code(
    client: TestClient, db: Database
) -> None:
    token, _ = _enrolled_phone(client, db)
    stranger = Ed25519PrivateKey.generate()
    answer = client.post(
        "/api/v1/records/sheet", json=_signed("app-unenrolled-1", stranger), headers=bearer(token)
    )
    assert answer.status_code == 403
    assert answer.json()["error"]["code"] == "device_not_enrolled"


def test_a_replayed_record_is_refused_with_its_code(client: TestClient, db: Database) -> None:
    token, key = _enrolled_phone(client, db)
    body = _signed("app-replay-1", key)
    assert client.post("/api/v1/records/sheet", json=body, headers=bearer(token)).status_code == 201
    # The signed leaf is public: another enrolled account sends it again as its own.
    other, _ = _enrolled_phone(client, db)
    answer = client.post("/api/v1/records/sheet/batch", json=[body], headers=bearer(other))
    assert answer.status_code == 200
    (result,) = answer.json()["results"]
    assert result["error"]["code"] == "replayed_signature"
    assert result["error"]["status"] == 409
    # The owner's retry of the same record is idempotent, not a replay.
    again = client.post("/api/v1/records/sheet", json=body, headers=bearer(token))
    assert again.json()["duplicate"] is True


def test_a_station_outside_the_assignment_is_refused_with_its_code(client: TestClient, db: Database) -> None:
    token, key = _enrolled_phone(client, db)
    answer = client.post("/api/v1/records/sheet", json=_signed("app-elsewhere-1", key, station="2"),
                         headers=bearer(token))  # fmt: skip
    assert answer.status_code == 403
    assert answer.json()["error"]["code"] == "outside_assignment"


@pytest.mark.parametrize("code", ["device_not_enrolled", "replayed_signature", "outside_assignment"])
def test_each_refusal_has_an_english_and_an_urdu_message(code: str) -> None:
    english, urdu = refusal_message(code, "en"), refusal_message(code, "ur")
    assert english != urdu
    assert re.search("[\u0600-\u06ff]", urdu)
    assert messages("ur")[f"refusal.{code}"] == urdu
    assert code in REFUSALS


def test_the_context_lists_the_assigned_stations_with_candidates_and_parties(
    client: TestClient, db: Database
) -> None:
    token, _ = _enrolled_phone(client, db)
    ctx = client.get("/api/v1/app/context", params={"election": SLUG}, headers=bearer(token)).json()
    (place,) = ctx["places"]
    assert [s["serial"] for s in place["stations"]] == [1]
    assert place["candidates"][1] == {
        "ballot": 2,
        "name": "Candidate 2",
        "party": "P2",
        "party_name": "Party 2",
    }
    assert ctx["sheet"]["form"] == "Form-45"
    assert ctx["forms"] == []  # an agent fills in no observation checklist
    # ... but reports incidents: the taxonomy the server serves, with its English and Urdu labels.
    taxonomy = client.get("/api/v1/incident-categories").json()["categories"]
    assert ctx["incidents"] == taxonomy
    assert ctx["severities"] == ["low", "medium", "high", "critical"]


def test_an_observer_without_assignment_names_a_constituency(client: TestClient, db: Database) -> None:
    _, token = _submitter(db, AuthRole.OBSERVER, "FAFEN")
    empty = client.get("/api/v1/app/context", params={"election": SLUG}, headers=bearer(token)).json()
    assert empty["places"] == []
    assert empty["assigned"] is False
    ctx = client.get("/api/v1/app/context", params={"election": SLUG, "constituency": "NA-2"},
                     headers=bearer(token)).json()  # fmt: skip
    assert [p["constituency"] for p in ctx["places"]] == ["NA-2"]
    assert {f["form"] for f in ctx["forms"]} >= {"pk-opening", "pk-count"}


def test_the_context_needs_a_token(client: TestClient) -> None:
    assert client.get("/api/v1/app/context", params={"election": SLUG}).status_code == 401


def test_the_coordinator_page_makes_a_qr_code_for_their_own_agents_only(
    client: TestClient, db: Database
) -> None:
    agent, _ = _submitter(db, AuthRole.AGENT, "PartyA", (Assignment(SLUG, "NA-1", 1),))
    rival, _ = _submitter(db, AuthRole.AGENT, "PartyB")
    _, coordinator = _submitter(db, AuthRole.COORDINATOR, "PartyA")
    form = {"token": coordinator, "submitter": agent, "election": SLUG, "hours": "2"}
    page = client.post("/app/enrol", data=form)
    assert page.status_code == 201
    assert "<svg" in page.text
    url = re.search(r"(http://testserver/app#enrol=[A-Za-z0-9_-]+)", page.text)
    assert url is not None
    encoded = url.group(1).split("#enrol=")[1]
    payload = json.loads(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))
    assert payload["election"] == SLUG
    assert payload["code"].startswith("pe_")
    assert "Secret Name" not in page.text
    refused = client.post("/app/enrol", data={**form, "submitter": rival})
    assert refused.status_code == 403
    assert "own organisation" in refused.text


def test_the_service_worker_names_every_file_the_app_loads(client: TestClient) -> None:
    sw = client.get("/app-sw.js").text
    files = json.loads(re.search(r"const FILES = (\[.*\]);", sw).group(1))  # type: ignore[union-attr]
    page = client.get("/app").text
    loaded = set(re.findall(r'(?:src|href)="(/[^"#]+)"', page))
    for module in ("/static/app/app.js",):
        source = client.get(module).text
        loaded |= {f"/static/app/{m}" for m in re.findall(r'from "\./([a-z]+\.js)"', source)}
        loaded |= {"/static/" + m for m in re.findall(r'from "\.\./([a-z]+\.js)"', source)}
    assert loaded - {"/submit"} <= set(files)
    for path in files:
        assert client.get(path).status_code == 200, path


def test_the_first_load_is_within_150_kb_compressed(client: TestClient) -> None:
    sw = client.get("/app-sw.js")
    files = json.loads(re.search(r"const FILES = (\[.*\]);", sw.text).group(1))  # type: ignore[union-attr]
    bodies = [
        client.get(path).content for path in ["/app-sw.js", *files]
    ]  # the service worker fetches both pages
    compressed = sum(len(gzip.compress(b, compresslevel=6)) for b in bodies)
    raw = sum(len(b) for b in bodies)
    assert compressed <= BUDGET, f"{compressed:,} bytes compressed ({raw:,} raw) is above {BUDGET:,}"
    assert raw > compressed  # the figure counts the real files, not an empty list
