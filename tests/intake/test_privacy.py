"""No personal data of a submitter reaches a leaf or any public endpoint; schemathesis finds no 5xx."""

from __future__ import annotations

import hashlib
import io
import json
import re
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from PIL import Image

from pollwatch.api.app import create_app
from pollwatch.intake.testing import bearer, sheet_payload
from pollwatch.storage import Database
from pollwatch.storage import log as logstore

NAME, PHONE, ADDRESS = "Zarmina Qureshi-Secret", "+92 321 7654321", "House 7, Hidden Lane"
MARKERS = ("Zarmina", "Qureshi", "7654321", "Hidden Lane", "Secret")


def _submit_through_every_channel(client: TestClient, tokens: dict[str, str]) -> str:
    created = client.post(
        "/api/v1/submitters",
        json={
            "role": "agent",
            "organisation": "PartyA",
            "name": NAME,
            "phone": PHONE,
            "constituencies": ["NA-2"],
        },  # fmt: skip
        headers=bearer(tokens["coordinator"]),
    )
    assert created.status_code == 201
    assert not any(m in created.text for m in MARKERS)
    token = created.json()["token"]
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buffer, "PNG")
    photo = buffer.getvalue()
    response = client.post(
        "/api/v1/sheets",
        data={"submission": json.dumps(sheet_payload("priv-api-01", constituency="NA-2"))},
        files={"photo": ("p.png", photo, "image/png")},
        headers=bearer(token),
    )
    assert response.status_code == 201, response.text
    sms = client.post(
        "/api/v1/sms/inbound?election=tiny-2026",
        json={"sender": PHONE, "text": "PW NA-2 2 45 10,20,30 R1 P61"},
        headers=bearer(tokens["gateway"]),
    )
    assert sms.json()["accepted"] is True, sms.text
    assert not any(m in sms.text for m in MARKERS)
    kannel = client.get(  # a gateway's own format, the number written nationally
        "/api/v1/sms/in/kannel",
        params={"token": tokens["gateway"], "election": "tiny-2026", "sender": "0321-7654321",
                "text": "PW NA-2 2 45 11,20,30 R1 P62", "id": "kannel-msg-1"},
    )  # fmt: skip
    assert kannel.text.startswith("OK NA-2/2 leaf "), kannel.text
    assert not any(m in kannel.text for m in MARKERS)
    web = client.post(
        "/submit",
        data={
            "token": token,
            "election": "tiny-2026",
            "constituency": "NA-2",
            "station": "3",
            "votes": "1,2,3",
        },
    )
    assert web.status_code == 201, web.text
    csv_text = "submission_id,election,constituency,station,c1,c2,c3\npriv-csv-001,tiny-2026,NA-2,1,4,5,6\n"
    response = client.post("/api/v1/sheets/csv", content=csv_text,
                           headers={**bearer(token), "content-type": "text/csv"})  # fmt: skip
    assert response.status_code == 201, response.text
    return hashlib.sha256(photo).hexdigest()


def _fill(name: str, photo: str) -> str:
    values = {"slug": "tiny-2026", "election": "tiny-2026", "sha256": photo, "index": "0", "code": "NA-2"}
    values |= {"constituency": "NA-2", "first": "1", "second": "2", "size": "2", "size1": "1", "size2": "2"}
    return values.get(name, "1")


def _get_every_route(client: TestClient, photo: str) -> list[tuple[str, int, str]]:
    spec = client.get("/openapi.json").json()
    seen = []
    for path, operations in spec["paths"].items():
        get = operations.get("get")
        if get is None:
            continue
        params = {p["name"]: _fill(p["name"], photo) for p in get.get("parameters", []) if p["in"] == "query"
                  and p.get("required")}  # fmt: skip
        url = re.sub(r"{(\w+)}", lambda m: _fill(m.group(1), photo), path)
        response = client.get(url, params=params)
        seen.append((url, response.status_code, response.text))
    for url in ("/", "/elections/tiny-2026", "/submit", "/log/checkpoint"):
        response = client.get(url)
        seen.append((url, response.status_code, response.text))
    return seen


def test_personal_data_never_reaches_a_leaf_or_a_public_endpoint(
    client: TestClient, tokens: dict[str, str], tiny_db: Database
) -> None:
    photo = _submit_through_every_channel(client, tokens)
    client.put(
        "/api/v1/photo-policy/tiny-2026", json={"publish_photos": True}, headers=bearer(tokens["admin"])
    )
    with tiny_db.connect() as conn:
        leaves = [data for _, data in logstore.iter_entries(conn)]
    assert len(leaves) == 5
    for data in leaves:
        text = data.decode()
        assert not any(m in text for m in MARKERS), text
        assert "+92" not in text
    responses = _get_every_route(client, photo)
    assert sum(1 for _, status, _ in responses if status == 200) >= 5
    for url, _, text in responses:
        assert not any(m in text for m in MARKERS), url


def _fuzz(client: TestClient, token: str, *, tag: str | None, examples: int) -> list[str]:
    """Run schemathesis-generated requests for every operation (with ``tag``); return the 5xx found."""
    schema = schemathesis.openapi.from_asgi("/openapi.json", client.app)
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()  # type: ignore[union-attr]  # an invalid schema fails the test here
        if tag is not None and tag not in (operation.tags or []):
            continue

        @given(case=operation.as_strategy())
        @settings(
            max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck), database=None
        )
        def run(case: Any) -> None:
            response = case.call(headers=bearer(token))
            if response.status_code >= 500:
                failures.append(
                    f"{case.method} {case.formatted_path} {case.body!r:.200} -> {response.text[:300]}"
                )

        run()
    return failures


def test_intake_endpoints_never_answer_5xx(client: TestClient, tokens: dict[str, str]) -> None:
    assert _fuzz(client, tokens["admin"], tag="intake", examples=25) == []


@pytest.mark.slow
def test_whole_api_never_answers_5xx(client: TestClient, tokens: dict[str, str]) -> None:
    assert _fuzz(client, tokens["admin"], tag=None, examples=10) == []


def test_app_builds_twice_on_one_database(tiny_db: Database) -> None:
    with TestClient(create_app(tiny_db)) as first, TestClient(create_app(tiny_db)) as second:
        assert first.get("/submit").status_code == second.get("/submit").status_code == 200
