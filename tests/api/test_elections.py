from typing import Any

import httpx
from fastapi.testclient import TestClient


def _envelope(response: httpx.Response) -> dict[str, Any]:
    body: dict[str, Any] = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "status", "message", "remedy", "problems"}
    assert body["error"]["status"] == response.status_code
    error: dict[str, Any] = body["error"]
    return error


def test_elections_lists_the_stored_election(client: TestClient) -> None:
    response = client.get("/api/v1/elections")
    assert response.status_code == 200
    assert [e["slug"] for e in response.json()] == ["synth-3"]


def test_constituencies_carry_registered_voters_and_counts(client: TestClient) -> None:
    rows = client.get("/api/v1/elections/synth-3/constituencies").json()
    assert [r["code"] for r in rows] == ["SYN-1", "SYN-2", "SYN-3"]
    assert sum(r["stations"] for r in rows) == 120
    assert all(r["registered_total"] == r["station_registered"] for r in rows)
    assert all(r["candidates"] == 4 for r in rows)


def test_stations_and_candidates_of_one_constituency(client: TestClient) -> None:
    stations = client.get("/api/v1/elections/synth-3/constituencies/SYN-2/stations").json()
    assert [s["serial"] for s in stations] == sorted(s["serial"] for s in stations)
    assert all(s["registered_total"] >= 100 for s in stations)
    candidates = client.get("/api/v1/elections/synth-3/constituencies/SYN-2/candidates").json()
    assert [c["ballot_order"] for c in candidates] == [1, 2, 3, 4]
    assert {p["code"] for p in client.get("/api/v1/elections/synth-3/parties").json()} == {
        "P1",
        "P2",
        "P3",
        "P4",
    }


def test_unknown_election_gets_the_error_envelope(client: TestClient) -> None:
    response = client.get("/api/v1/elections/nope/constituencies")
    assert response.status_code == 404
    error = _envelope(response)
    assert error["code"] == "not_found"
    assert error["problems"][0]["found"] == "nope"
    assert "synth-3" in error["problems"][0]["expected"]


def test_unknown_constituency_and_route_get_the_envelope(client: TestClient) -> None:
    assert (
        _envelope(client.get("/api/v1/elections/synth-3/constituencies/NA-999/stations"))["code"]
        == "not_found"
    )
    assert _envelope(client.get("/no/such/page"))["code"] == "not_found"
    assert _envelope(client.delete("/api/v1/elections"))["code"] == "method_not_allowed"


def test_invalid_query_gets_the_validation_envelope(client: TestClient) -> None:
    response = client.get("/api/v1/elections/synth-3/constituencies", params={"assembly": "X" * 40})
    assert response.status_code == 422
    error = _envelope(response)
    assert error["problems"][0]["where"] == "query.assembly"


def test_openapi_lists_the_read_endpoints(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert "/api/v1/elections/{slug}/constituencies" in paths


def test_overview_page_lists_constituencies(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert "SYN-3" in page.text
    assert "120 polling stations" in page.text
