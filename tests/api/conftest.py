from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from pollwatch.api.app import create_app
from pollwatch.storage import Database
from pollwatch.synth import SynthConfig, generate, store


@pytest.fixture
def client(db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    """An app over a small synthetic election, on SQLite and on PostgreSQL."""
    monkeypatch.setenv("POLLWATCH_HOME", str(tmp_path / "home"))
    store(
        db, generate(SynthConfig(seed=3, n_stations=120, n_constituencies=3, n_candidates=4)), slug="synth-3"
    )
    with TestClient(create_app(db)) as test_client:
        yield test_client
