"""Fixtures: a tiny election, an app around it, and a token for every role."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from pollwatch.api.app import create_app
from pollwatch.auth import Assignment, AuthRole, create_submitter
from pollwatch.intake.testing import SLUG, create_tiny_election
from pollwatch.storage import Database


@pytest.fixture
def tiny_db(sqlite_db: Database) -> Database:
    create_tiny_election(sqlite_db)
    return sqlite_db


@pytest.fixture
def tokens(tiny_db: Database) -> dict[str, str]:
    """A token per role; the agent is assigned NA-1 station 1 only; the gateway delivers SMS."""
    out: dict[str, str] = {}
    with tiny_db.begin() as conn:
        for role, org, assignments, phone in (
            (AuthRole.ADMIN, "", (), None),
            (AuthRole.COORDINATOR, "PartyA", (), None),
            (AuthRole.AGENT, "PartyA", (Assignment(SLUG, "NA-1", 1),), "+923001234567"),
            (AuthRole.OBSERVER, "FAFEN", (), None),
            (AuthRole.GATEWAY, "", (), None),
        ):
            _, out[role.value] = create_submitter(
                conn, role=role, organisation=org, assignments=assignments, phone=phone, name=f"Secret {role}"
            )
    return out


@pytest.fixture
def client(tiny_db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    monkeypatch.setenv("POLLWATCH_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("POLLWATCH_RECEIPT_WAIT", "0.2")
    with TestClient(create_app(tiny_db)) as test_client:
        yield test_client
