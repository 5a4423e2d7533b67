"""Submitted sheets reach the results endpoints through the projections, without rebuilding the election."""

from __future__ import annotations

import time
from typing import Any

from fastapi.testclient import TestClient

from pollwatch.intake.testing import SLUG, sheet_payload
from pollwatch.intake.testing import bearer as auth

BASE = f"/api/v1/elections/{SLUG}"


def _post(client: TestClient, token: str, payload: dict[str, Any]) -> dict[str, Any]:
    r = client.post("/api/v1/sheets", json=payload, headers=auth(token))
    assert r.status_code in (200, 201), r.text
    body: dict[str, Any] = r.json()
    return body


def _wait_for(client: TestClient, index: int) -> None:
    """The background projector applies a leaf within a fraction of a second of its commit."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        page = client.get(f"{BASE}/reconciliation", params={"limit": 1}).json()
        if page["as_of"] > index:
            return
        time.sleep(0.05)
    raise AssertionError(f"leaf {index} was not projected within 10 s")


def test_a_sheet_appears_in_the_constituency_tally(client: TestClient, tokens: dict[str, str]) -> None:
    accepted = _post(client, tokens["agent"], sheet_payload("agent-sheet-0001", votes=(300, 200, 100)))
    _wait_for(client, accepted["leaf_index"])
    rows = client.get(f"{BASE}/tally", params={"level": "constituency", "constituency": "NA-1"}).json()[
        "rows"
    ]
    assert rows[0]["stations"] == "1/3"
    assert rows[0]["margin"] == 100
    doc = client.get(f"{BASE}/tally").json()
    assert doc["stations_reported"] == 1
    assert doc["stations_expected"] == 6
    na1 = next(c for c in doc["constituencies"] if c["constituency"] == "NA-1")
    assert [(c["name"], c["votes"]) for c in na1["candidates"]] == [
        ("Candidate 1", 300),
        ("Candidate 2", 200),
        ("Candidate 3", 100),
    ]


def test_a_correction_replaces_the_submitters_own_copy(client: TestClient, tokens: dict[str, str]) -> None:
    typo = _post(client, tokens["agent"], sheet_payload("agent-typo-0001", votes=(300, 200, 1000)))
    fixed = _post(
        client,
        tokens["agent"],
        sheet_payload("agent-fix-00001", votes=(300, 200, 100), supersedes=typo["leaf_index"]),
    )
    _wait_for(client, fixed["leaf_index"])
    page = client.get(f"{BASE}/reconciliation", params={"constituency": "NA-1", "station": 1}).json()
    (station,) = page["stations"]
    assert station["state"] == "single_source"
    assert station["best_votes"] == {"1": 300, "2": 200, "3": 100}


def test_observer_and_agent_agree_and_the_audit_of_one_constituency_answers(
    client: TestClient, tokens: dict[str, str]
) -> None:
    _post(client, tokens["agent"], sheet_payload("agent-sheet-0002"))
    last = _post(client, tokens["observer"], sheet_payload("observer-00001", role="observer"))
    _wait_for(client, last["leaf_index"])
    page = client.get(f"{BASE}/reconciliation", params={"constituency": "NA-1"}).json()
    assert [s["state"] for s in page["stations"]] == ["agreed"]
    missing = client.get(f"{BASE}/reconciliation", params={"state": "missing", "limit": 2}).json()
    assert len(missing["stations"]) == 2
    assert missing["next_after"] is not None
    audit = client.get(f"{BASE}/audit", params={"constituency": "NA-1"})
    assert audit.status_code == 200, audit.text
    assert audit.json()["election"] == SLUG
    unknown = client.get(f"{BASE}/audit", params={"constituency": "NA-404"})
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "not_found"


def test_an_unknown_constituency_is_not_found_at_every_level(client: TestClient) -> None:
    for params in ({"constituency": "NA-404"}, {"constituency": "NA-404", "level": "constituency"}):
        r = client.get(f"{BASE}/tally", params=params)
        assert r.status_code == 404, params
        assert r.json()["error"]["code"] == "not_found"
