"""Hostile input at intake (issue 10): invisible characters, duplicates, odd times, big bodies."""

from __future__ import annotations

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
