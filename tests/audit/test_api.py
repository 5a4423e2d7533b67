"""The results endpoints over a stored synthetic election, on SQLite and PostgreSQL."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings

from pollwatch.api.app import create_app
from pollwatch.ledger import records
from pollwatch.ledger import service as ledger
from pollwatch.model import (
    CandidateKey,
)
from pollwatch.storage import Database
from pollwatch.synth import Manipulation, ManipulationKind, SynthConfig, generate, store
from pollwatch.tally.projector import Projector

BASE = "/api/v1/elections/synth-5"


@pytest.fixture
def database(db: Database) -> Database:
    return db


@pytest.fixture
def client(db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    monkeypatch.setenv("POLLWATCH_HOME", str(tmp_path / "home"))
    e = generate(
        SynthConfig(
            seed=5,
            n_stations=150,
            n_constituencies=3,
            n_candidates=4,
            manipulations=(Manipulation(ManipulationKind.ALTERED_TOTALS, share=1.0, strength=0.5),),
        )
    )
    store(db, e, slug="synth-5")
    Projector(db).catch_up()  # the app's own projector would get there within a second
    with TestClient(create_app(db)) as c:
        yield c


def test_tally_endpoint_gives_every_level(client: TestClient) -> None:
    doc = client.get(f"{BASE}/tally").json()
    assert doc["stations_expected"] == 150
    assert len(doc["constituencies"]) == 3
    assert {r["region"] for r in doc["nation"]} == {"(nation)"}
    rows = client.get(
        f"{BASE}/tally",
        params={"level": "constituency", "constituency": doc["constituencies"][0]["constituency"]},
    ).json()["rows"]
    assert len(rows) == 1


def test_audit_endpoint_lists_findings_with_evidence(client: TestClient) -> None:
    doc = client.get(f"{BASE}/audit", params={"kind": "official_total_differs"}).json()
    assert doc["findings"]
    assert {f["kind"] for f in doc["findings"]} == {"official_total_differs"}
    assert all(f["evidence"][0]["form"] == "Form-47" for f in doc["findings"])
    # ... and on every signed station sheet that was summed, named by station (never by submitter).
    assert all({e["form"] for e in f["evidence"][1:]} == {"Form-45"} for f in doc["findings"])
    assert all(e["station"] for f in doc["findings"] for e in f["evidence"][1:])


def test_reconciliation_pvt_parliament_and_repoll(client: TestClient) -> None:
    states = {
        r["state"] for r in client.get(f"{BASE}/reconciliation", params={"limit": 1000}).json()["stations"]
    }
    assert states <= {"single_source", "agreed", "conflict", "official_only", "missing"}
    pvt = client.get(f"{BASE}/pvt", params={"seed": "published", "size": 60}).json()
    assert 0 < pvt["observed"] <= pvt["sample_size"]
    assert abs(sum(p["share"] for p in pvt["shares"]) - 1.0) < 1e-9
    assert 0.2 < pvt["turnout"]["share"] < 0.9
    one = client.get(f"{BASE}/pvt", params={"seed": "published", "size": 20, "constituency": "SYN-1"}).json()
    assert one["strata_total"] == 1
    assert {c["column"].split(" ")[0] for c in one["shares"]} == {"1", "2", "3", "4"}
    parliament = client.get(f"{BASE}/parliament").json()
    assert parliament["general_seats"] == 3
    tally = client.get(f"{BASE}/tally").json()["constituencies"][0]["constituency"]
    repoll = client.get(
        f"{BASE}/repoll", params={"constituency": tally, "stations": "1,2", "counted": "true"}
    )
    assert repoll.status_code == 200, repoll.text
    assert repoll.json()["registered_at_stake"] > 0


def test_results_json_names_candidates_and_parties(client: TestClient) -> None:
    (x,) = client.get(f"{BASE}/tally", params={"constituency": "SYN-1"}).json()["constituencies"]
    assert [c["position"] for c in x["candidates"]] == [1, 2, 3, 4]  # one entry per real candidate
    assert x["candidates"][0]["name"] == "Candidate A (1)"
    assert x["candidates"][0]["party"] == "P1"
    assert x["leader_name"] == x["candidates"][x["leader"] - 1]["name"]
    stations = client.get(f"{BASE}/reconciliation", params={"constituency": "SYN-1"}).json()["stations"]
    assert {r["constituency"] for r in stations} == {"SYN-1"}
    named = next(r for r in stations if r["candidates"])
    assert {c["name"] for c in named["candidates"]} <= {c["name"] for c in x["candidates"]}
    audit = client.get(f"{BASE}/audit", params={"constituency": "SYN-1"}).json()
    assert audit["findings"]
    assert {f["where"].split("/")[0] for f in audit["findings"]} == {"SYN-1"}
    totals = [f for f in audit["findings"] if f["kind"] == "official_total_differs"]
    assert totals
    assert all("(Candidate " in f["found"] for f in totals)
    pvt = client.get(f"{BASE}/pvt", params={"seed": "s", "size": 20, "constituency": "SYN-1"}).json()
    assert [(s["position"], s["name"]) for s in pvt["shares"]] == [
        (c["position"], c["name"]) for c in x["candidates"]
    ]
    national = client.get(f"{BASE}/pvt", params={"seed": "s", "size": 60}).json()
    assert {s["party"] for s in national["shares"]} == {"P1", "P2", "P3", "P4"}
    assert all(s["party_name"] for s in national["shares"])
    missing = client.get(f"{BASE}/audit", params={"constituency": "SYN-9"})
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"


def test_errors_use_the_envelope(client: TestClient) -> None:
    r = client.get("/api/v1/elections/nope/tally")
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "not_found"
    tally = client.get(f"{BASE}/tally").json()["constituencies"][0]["constituency"]
    r = client.get(f"{BASE}/repoll", params={"constituency": tally, "stations": "9999"})
    assert r.status_code == 404
    assert "not in the polling scheme" in r.json()["error"]["message"]
    for bad in ("[not json", '{"by_label": 5}', '{"by_label": {"IND": 1}}', "[1]"):
        r = client.get(f"{BASE}/parliament", params={"joins": bad})
        assert r.status_code == 422, bad
        assert r.json()["error"]["code"] == "invalid_input"


def test_a_new_copy_is_seen_by_the_next_request(client: TestClient, database: Database) -> None:
    before = {
        (r["constituency"], r["serial"]): r
        for r in client.get(f"{BASE}/reconciliation", params={"limit": 1000}).json()["stations"]
    }
    (code, serial), row = next(
        (k, r) for k, r in before.items() if r["state"] != "conflict" and r["best_votes"]
    )
    votes = {CandidateKey(int(k)): v + 1 for k, v in row["best_votes"].items()}
    late = records.sheet_record(
        election="synth-5", submission_id="late-agent-0001", kind="station_count", form="Form-45",
        constituency=code, station=str(serial), votes={str(k): v for k, v in votes.items()}, totals={},
        submitter_key="late-agent", role="agent", organisation="late agent",
        captured_at="2030-01-01T20:00:00Z", received_at="2030-01-01T20:00:00Z",
        photo_sha256=None, signature=None, supersedes=None, checks=(),
    )  # fmt: skip
    with database.begin() as conn:
        ledger.append(conn, [late])
    Projector(database).catch_up()
    after = {
        (r["constituency"], r["serial"]): r
        for r in client.get(f"{BASE}/reconciliation", params={"limit": 1000}).json()["stations"]
    }
    assert after[(code, serial)]["state"] == "conflict"


@pytest.fixture
def sqlite_client(
    sqlite_db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[TestClient]:
    monkeypatch.setenv("POLLWATCH_HOME", str(tmp_path / "home"))
    store(
        sqlite_db, generate(SynthConfig(seed=6, n_stations=60, n_constituencies=2, n_candidates=3)), slug="s"
    )
    Projector(sqlite_db).catch_up()
    with TestClient(create_app(sqlite_db)) as c:
        yield c


def test_results_endpoints_never_answer_5xx(sqlite_client: TestClient) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", sqlite_client.app)
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()  # type: ignore[union-attr]  # an invalid schema fails the test here
        if "results" not in (operation.tags or []):
            continue

        @given(case=operation.as_strategy())
        @settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def run(case: Any) -> None:
            if "slug" in (case.path_parameters or {}) and case.path_parameters["slug"] != "nope":
                case.path_parameters["slug"] = "s"  # reach the election, not only the 404
            response = case.call()
            if response.status_code >= 500:
                failures.append(f"{case.method} {case.formatted_path} {case.query} -> {response.text[:300]}")

        run()
    assert failures == []
