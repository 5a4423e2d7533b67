"""A read node (its own SQLite projection database) following a primary on SQLite or PostgreSQL:
it serves the primary's tally, reconciliation and audit from what it wrote, holds no key and refuses
every write with the error envelope."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from pollwatch.api import results
from pollwatch.api.readnode import create_read_app
from pollwatch.audit.views import audit_document
from pollwatch.storage import Database, projections
from pollwatch.storage import log as log_store
from pollwatch.synth import SynthConfig, generate, store
from pollwatch.tally.projector import Projector

SLUG = "synth-rn"


@pytest.fixture
def node(db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    """A read node following ``db``, whose log holds a small synthetic night, caught up with it."""
    monkeypatch.setenv("POLLWATCH_HOME", str(tmp_path / "home"))
    store(db, generate(SynthConfig(seed=5, n_stations=90, n_constituencies=3, n_candidates=4)), slug=SLUG)
    Projector(db).catch_up()  # the primary's own projection, to compare with
    local = Database(f"sqlite:///{tmp_path / 'read-node.sqlite3'}")
    local.upgrade()
    with TestClient(create_read_app(local, source=db)) as client:  # its consumer runs while it serves
        _wait_for(local, db)
        yield client
    local.dispose()


def _wait_for(local: Database, source: Database) -> None:
    with source.connect() as conn:
        size = log_store.get_state(conn).size
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        with local.connect() as conn:
            if projections.get_cursor(conn, "results") == size:
                return
        time.sleep(0.05)
    raise AssertionError(f"the read node did not apply the log's {size} leaves")


def test_read_node_serves_the_primarys_tally_and_reconciliation(node: TestClient, db: Database) -> None:
    tally = node.get(f"/api/v1/elections/{SLUG}/tally")
    assert tally.status_code == 200, tally.text
    page = node.get(f"/api/v1/elections/{SLUG}/reconciliation", params={"limit": 1000})
    assert page.status_code == 200, page.text
    with db.reads() as conn:
        expected_tally = results.get_tally(SLUG, conn)
        expected_page = results.get_reconciliation(SLUG, conn, limit=1000)
    assert tally.json() == _json(expected_tally)
    assert page.json() == _json(expected_page)
    assert tally.json()["constituencies"]  # not two empty answers
    assert tally.headers["x-pollwatch-node"] == "read"


def test_read_node_serves_a_constituencys_audit_and_station(node: TestClient, db: Database) -> None:
    codes = [c["code"] for c in node.get(f"/api/v1/elections/{SLUG}/constituencies").json()]
    assert len(codes) == 3  # the structure copied into the node's own database
    audit = node.get(f"/api/v1/elections/{SLUG}/audit", params={"constituency": codes[0]})
    assert audit.status_code == 200, audit.text
    assert audit.json() == _json(audit_document(db, SLUG, constituency=codes[0]))
    station = node.get(
        f"/api/v1/elections/{SLUG}/reconciliation", params={"constituency": codes[0], "station": 1}
    )
    with db.reads() as conn:
        expected = results.get_reconciliation(SLUG, conn, constituency=codes[0], station=1)
    assert station.json() == _json(expected)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/api/v1/submissions"),
        ("POST", f"/api/v1/elections/{SLUG}/tally"),
        ("PUT", "/api/v1/elections"),
        ("DELETE", f"/api/v1/elections/{SLUG}"),
    ],
)
def test_read_node_refuses_writes_with_the_envelope(node: TestClient, method: str, path: str) -> None:
    response = node.request(method, path, json={})
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"
    assert "read node" in response.json()["error"]["message"]


def test_read_node_has_no_intake_no_log_and_no_key(node: TestClient, tmp_path: Path) -> None:
    assert node.get("/api/v1/log").status_code == 404
    assert node.get("/api/v1/receipts/0").status_code == 404
    assert not (tmp_path / "home" / "keys").exists()  # it never made or read a log key


def _json(value: Any) -> Any:
    """What the response would carry (tuples become lists, keys strings)."""
    import json

    return json.loads(json.dumps(value, default=str))
