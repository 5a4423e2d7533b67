from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from pollwatch.api.app import create_app_from_environment
from pollwatch.errors import StorageError
from pollwatch.storage import Database


def test_worker_app_opens_the_database_named_in_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'w.sqlite3'}"
    Database(url).upgrade()
    monkeypatch.setenv("POLLWATCH_DATABASE_URL", url)
    monkeypatch.setenv("POLLWATCH_HOME", str(tmp_path / "home"))
    assert TestClient(create_app_from_environment()).get("/api/v1/elections").json() == []


def test_worker_app_refuses_an_uninitialised_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POLLWATCH_DATABASE_URL", f"sqlite:///{tmp_path / 'empty.sqlite3'}")
    with pytest.raises(StorageError, match="not initialised") as info:
        create_app_from_environment()
    assert "pollwatch init" in info.value.remedy
