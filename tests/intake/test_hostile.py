"""Hostile input at intake (issue 10): invisible characters, duplicates, odd times, big bodies."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from pollwatch.intake.testing import bearer, sheet_payload

INVISIBLE = ["\x00", "\x1b", "\r", "\u202e", "\u200b", "\u2066", "\ufeff", "\u2028"]
SHEET_IDENTIFIERS = ["election", "constituency", "form", "organisation"]


@pytest.mark.parametrize("field", SHEET_IDENTIFIERS)
@pytest.mark.parametrize("char", INVISIBLE)
def test_sheet_identifier_with_invisible_character_is_422_naming_field(
    client: TestClient, tokens: dict[str, str], field: str, char: str
) -> None:
    body = sheet_payload("hidden-char-1", role="admin")
    body[field] = f"NA{char}-1"
    response = client.post("/api/v1/sheets?receipt=false", json=body, headers=bearer(tokens["admin"]))
    assert response.status_code == 422, response.text
    assert field in response.text
    assert f"U+{ord(char):04X}" in response.text


@pytest.mark.parametrize(
    ("field", "value"),
    [("organisation", "Party\u200bA"), ("constituencies", ["NA-1\u202e"]), ("phone", "+92300\x00"),
     ("name", "Ali\x00")],
)  # fmt: skip
def test_submitter_registration_refuses_hidden_characters(
    client: TestClient, tokens: dict[str, str], field: str, value: object
) -> None:
    body = {"role": "agent", "organisation": "PartyA", field: value}
    response = client.post("/api/v1/submitters", json=body, headers=bearer(tokens["admin"]))
    assert response.status_code == 422, response.text
    assert field in response.text


def test_free_text_keeps_printable_unicode(client: TestClient, tokens: dict[str, str]) -> None:
    body = {"role": "agent", "organisation": "PartyA", "name": "علی خان\nline two"}
    response = client.post("/api/v1/submitters", json=body, headers=bearer(tokens["admin"]))
    assert response.status_code == 201, response.text


@pytest.mark.parametrize("votes", [{"1": 10, "01": 20}, {"2": 1, "002": 1}])
def test_duplicate_ballot_positions_are_422(
    client: TestClient, tokens: dict[str, str], votes: dict[str, int]
) -> None:
    body = {**sheet_payload("dup-position-1", role="admin"), "votes": votes}
    response = client.post("/api/v1/sheets?receipt=false", json=body, headers=bearer(tokens["admin"]))
    assert response.status_code == 422, response.text
    assert "given twice" in response.text


def test_duplicate_positions_in_csv_are_refused(client: TestClient, tokens: dict[str, str]) -> None:
    text = "submission_id,election,constituency,station,c1,c01\ndup-csv-0001,tiny-2026,NA-1,1,10,20\n"
    response = client.post("/api/v1/sheets/csv", content=text.encode(),
                           headers={**bearer(tokens["admin"]), "content-type": "text/csv"})  # fmt: skip
    assert response.status_code == 422, response.text
    assert "given twice" in response.text


@pytest.mark.parametrize(
    ("path", "raw"),
    [
        ("/api/v1/sheets?receipt=false", '{"votes": {"1": 5}, "votes": {"1": 50}}'),
        ("/api/v1/sheets/batch", '[{"election": "a", "election": "b"}]'),
        ("/api/v1/records/sheet?receipt=false", '{"role": "admin", "role": "agent"}'),
        ("/api/v1/records/sheet/batch", '[{"votes": {"1": 5, "1": 6}}]'),
    ],
)
def test_duplicate_json_keys_are_422(client: TestClient, tokens: dict[str, str], path: str, raw: str) -> None:
    headers = {**bearer(tokens["admin"]), "content-type": "application/json"}
    response = client.post(path, content=raw.encode(), headers=headers)
    assert response.status_code == 422, response.text
    assert "same key twice" in response.text


def test_phone_that_is_not_a_number_is_422(client: TestClient, tokens: dict[str, str]) -> None:
    body = {"role": "agent", "organisation": "PartyA", "phone": "call me"}
    response = client.post("/api/v1/submitters", json=body, headers=bearer(tokens["admin"]))
    assert response.status_code == 422, response.text
    assert "phone" in response.text


@pytest.mark.parametrize(
    "captured_at",
    ["0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00",  # overflow once in UTC
     "2030-01-01T00:00:00Z", "2026-02-06T12:00:00Z", "1999-02-08T12:00:00Z"],  # implausible
)  # fmt: skip
def test_implausible_captured_at_is_422_naming_field(
    client: TestClient, tokens: dict[str, str], captured_at: str
) -> None:
    body = {**sheet_payload("when-0001", role="admin"), "captured_at": captured_at}
    response = client.post("/api/v1/sheets?receipt=false", json=body, headers=bearer(tokens["admin"]))
    assert response.status_code == 422, response.text
    assert "captured_at" in response.text


def test_capture_on_the_eve_of_polling_day_is_accepted(client: TestClient, tokens: dict[str, str]) -> None:
    body = {**sheet_payload("when-0002", role="admin"), "captured_at": "2026-02-07T12:00:00Z"}
    response = client.post("/api/v1/sheets?receipt=false", json=body, headers=bearer(tokens["admin"]))
    assert response.status_code == 201, response.text


@pytest.mark.parametrize("path", ["/api/v1/sheets/batch", "/api/v1/sheets", "/api/v1/records/sheet/batch"])
def test_deep_nesting_is_4xx(client: TestClient, tokens: dict[str, str], path: str) -> None:
    raw = b"[" * 100_000 + b"]" * 100_000
    headers = {**bearer(tokens["admin"]), "content-type": "application/json"}
    response = client.post(path, content=raw, headers=headers)
    assert 400 <= response.status_code < 500, response.text


BODY_ROUTES = [
    ("/api/v1/sms/inbound?election=tiny-2026", "gateway", {"sender": "+923001234567", "text": "PW"}),
    ("/api/v1/submitters", "admin", {"role": "observer", "organisation": "FAFEN"}),
    ("/api/v1/devices", "agent", {"public_key": "ed25519:" + "A" * 44}),
]


@pytest.mark.parametrize(("path", "role", "body"), BODY_ROUTES)
def test_anonymous_body_is_refused_before_it_is_validated(
    client: TestClient, path: str, role: str, body: dict[str, str]
) -> None:
    response = client.post(path, content=b"{not json", headers={"content-type": "application/json"})
    assert response.status_code == 401, response.text


@pytest.mark.parametrize(("path", "role", "body"), BODY_ROUTES)
def test_body_over_the_cap_is_413_even_when_valid(
    client: TestClient, tokens: dict[str, str], path: str, role: str, body: dict[str, str]
) -> None:
    raw = json.dumps(body).encode() + b" " * 300_000  # valid JSON, over POLLWATCH_MAX_BODY_BYTES
    headers = {**bearer(tokens[role]), "content-type": "application/json"}
    response = client.post(path, content=raw, headers=headers)
    assert response.status_code == 413, response.text


@pytest.mark.parametrize(("path", "role", "body"), BODY_ROUTES)
def test_hand_read_bodies_refuse_duplicate_keys(
    client: TestClient, tokens: dict[str, str], path: str, role: str, body: dict[str, str]
) -> None:
    key, value = next(iter(body.items()))
    raw = json.dumps(body)[:-1] + f", {json.dumps(key)}: {json.dumps(value)}}}"
    headers = {**bearer(tokens[role]), "content-type": "application/json"}
    response = client.post(path, content=raw.encode(), headers=headers)
    assert response.status_code == 422, response.text
    assert "same key twice" in response.text


def test_hand_read_bodies_are_in_the_openapi_spec(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    for name in ("SmsInbound", "SubmitterIn", "DeviceIn"):
        assert name in spec["components"]["schemas"]
    body = spec["paths"]["/api/v1/devices"]["post"]["requestBody"]["content"]["application/json"]
    assert body["schema"] == {"$ref": "#/components/schemas/DeviceIn"}


def test_repeated_csv_column_is_refused(client: TestClient, tokens: dict[str, str]) -> None:
    text = "submission_id,election,constituency,station,c1,c1\ndup-csv-0002,tiny-2026,NA-1,1,10,20\n"
    response = client.post("/api/v1/sheets/csv", content=text.encode(),
                           headers={**bearer(tokens["admin"]), "content-type": "text/csv"})  # fmt: skip
    assert response.status_code == 422, response.text
    assert "column given twice" in response.text
