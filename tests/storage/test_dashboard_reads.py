"""The storage reads the dashboard added, on SQLite and PostgreSQL: state counts per constituency and
copying constituency names between elections."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from pollwatch.api.app import create_app
from pollwatch.intake.testing import create_tiny_election
from pollwatch.storage import Database, structure
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
