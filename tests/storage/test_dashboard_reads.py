"""The storage reads the dashboard added, on SQLite and PostgreSQL: state counts per constituency and
copying constituency names between elections."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, event

from pollwatch.api.app import create_app
from pollwatch.intake.testing import create_tiny_election
from pollwatch.storage import Database, projections, structure
from pollwatch.tally.views import count_states, count_states_by_constituency
from tests.web.dashboard_data import SLUG, populate


def test_state_counts_per_constituency_add_up_to_the_election_counts(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POLLWATCH_HOME", str(tmp_path / "home"))
    with TestClient(create_app(db)) as client:
        populate(db, client.post)
    with db.connect() as conn:
        per = count_states_by_constituency(conn, SLUG)
        whole = count_states(conn, SLUG)
    # NA-1: agreed (s1), conflict (s2), single source (s3), missing (s4); NA-2: two single sources.
    assert per["NA-1"] == {"agreed": 1, "conflict": 1, "single_source": 1, "missing": 1}
    assert per["NA-2"] == {"single_source": 2, "missing": 2}
    for state, n in whole.items():
        assert sum(c.get(state, 0) for c in per.values()) == n


def test_copy_constituency_names_fills_only_unnamed_seats_of_the_same_code(db: Database) -> None:
    create_tiny_election(db, slug="real", names=[("Lahore-I", "Punjab"), ("Karachi-II", "Sindh")])
    create_tiny_election(db, slug="night", constituencies=3, names=[("", ""), ("Kept", "")])
    with db.begin() as conn:
        real, night = structure.get_election(conn, "real")[0], structure.get_election(conn, "night")[0]
        assert structure.copy_constituency_names(conn, source_id=real, target_id=night) == 1
        assert structure.copy_constituency_names(conn, source_id=real, target_id=night) == 0  # idempotent
    with db.connect() as conn:
        names = {
            str(r.constituency.code): r.constituency.name for r in structure.list_constituencies(conn, night)
        }
    assert names == {"NA-1": "Lahore-I", "NA-2": "Kept", "NA-3": ""}


def _plans_of(db: Database, read: Callable[[Connection], object]) -> list[str]:
    """SQLite's query plan of every SELECT on a projection table that ``read`` runs."""
    statements: list[tuple[str, Any]] = []

    def seen(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "_results" in statement:
            statements.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        with db.connect() as conn:
            read(conn)
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
    plans = []
    with db.connect() as conn:
        raw = conn.connection.dbapi_connection
        assert raw is not None
        for statement, parameters in statements:
            rows = raw.execute("EXPLAIN QUERY PLAN " + statement, parameters).fetchall()
            plans.append(" / ".join(str(r[-1]) for r in rows))
    return plans


def test_one_constituencys_rows_are_read_by_its_own_index_on_sqlite(sqlite_db: Database) -> None:
    # SQLite keeps no statistics: given the election and the constituency it chose the election's
    # index and scanned every station of the election for one constituency's rows.
    create_tiny_election(sqlite_db, slug="plan", constituencies=3, stations=4)
    with sqlite_db.connect() as conn:
        election_id = structure.get_election(conn, "plan")[0]
        cid = projections.list_constituency_ids(conn, election_id)["NA-1"]
    reads: list[Callable[[Connection], object]] = [
        lambda c: projections.list_station_rows(c, election_id, constituency_id=cid),
        lambda c: projections.list_station_rows(c, election_id, constituency_id=cid, serial=2),
        lambda c: projections.list_station_rows(c, election_id, constituency_id=cid, after_id=3, limit=2),
        lambda c: projections.count_station_rows_by_constituency(c, election_id, constituency_id=cid),
        lambda c: projections.list_other_results(c, election_id, constituency_id=cid),
    ]
    for read in reads:
        plans = _plans_of(sqlite_db, read)
        assert plans
        for plan in plans:
            assert "constituency_id" in plan, plan
            assert "election_id" not in plan, plan
    # Without a constituency, the election's index still serves the whole election's pages.
    (plan,) = _plans_of(sqlite_db, lambda c: projections.list_station_rows(c, election_id, limit=5))
    assert "election_id" in plan
