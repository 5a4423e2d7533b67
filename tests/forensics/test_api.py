"""Forensics endpoints: list of tests, one test on a stored synthetic election, the error envelope."""

from __future__ import annotations

from fastapi.testclient import TestClient

from pollwatch.api.app import create_app
from pollwatch.storage import Database
from pollwatch.synth import SynthConfig, generate, store
from pollwatch.tally.projector import Projector


def test_api_lists_tests_and_runs_one(db: Database) -> None:
    store(db, generate(SynthConfig(seed=5, n_stations=300, n_constituencies=3)), slug="synth-api")
    Projector(db).catch_up()  # what the app's projector does within a second of the last sheet
    client = TestClient(create_app(db))
    tests = client.get("/api/v1/forensics/tests").json()
    assert "integer-percentages" in {t["test"] for t in tests}
    res = client.get("/api/v1/elections/synth-api/forensics/integer-percentages", params={"replicates": 50})
    assert res.status_code == 200
    assert res.json()["included"] > 250


def test_api_unknown_test_is_an_envelope(db: Database) -> None:
    client = TestClient(create_app(db))
    res = client.get("/api/v1/elections/x/forensics/astrology")
    assert res.status_code == 404
    assert res.json()["error"]["message"] == "no forensic test 'astrology'"
