from __future__ import annotations

import importlib
import multiprocessing
import multiprocessing.queues
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from pollwatch.api.app import create_app_from_environment
from pollwatch.cli.server import _spawned_workers_skip_the_cli, worker_healthcheck
from pollwatch.errors import InputError, StorageError
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


def _imported_the_parents_main(answer: multiprocessing.queues.Queue[bool]) -> None:
    main = sys.modules["__main__"]  # the `-c` bootstrap, unless the parent's __main__ was re-imported
    answer.put(getattr(main, "__file__", None) is not None or getattr(main, "__spec__", None) is not None)


def _spawned_child_saw_the_parents_main() -> bool:
    context = multiprocessing.get_context("spawn")  # how uvicorn starts its workers
    answer: multiprocessing.queues.Queue[bool] = context.Queue()
    child = context.Process(target=_imported_the_parents_main, args=(answer,))
    child.start()
    seen = answer.get(timeout=60)
    child.join(timeout=60)
    return seen


def test_spawned_workers_do_not_re_import_the_cli(monkeypatch: pytest.MonkeyPatch) -> None:
    # Without the guard a spawned process re-imports its parent's __main__ (for `pollwatch serve`: the
    # whole CLI, seconds of imports during which uvicorn's health check killed the worker). A module
    # stands for the CLI here, whatever runs the tests (pytest, an xdist worker).
    monkeypatch.setitem(sys.modules, "__main__", importlib.import_module("json.tool"))
    assert _spawned_child_saw_the_parents_main()
    with _spawned_workers_skip_the_cli():
        assert not _spawned_child_saw_the_parents_main()
    assert _spawned_child_saw_the_parents_main()


@pytest.mark.parametrize("raw", ["4", "soon", "-1"])
def test_worker_healthcheck_refuses_what_is_not_whole_seconds_of_at_least_five(
    raw: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POLLWATCH_WORKER_HEALTHCHECK", raw)
    with pytest.raises(InputError, match=f"found '{raw}'"):
        worker_healthcheck()


def test_worker_healthcheck_defaults_to_a_minute(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("POLLWATCH_WORKER_HEALTHCHECK", raising=False)
    assert worker_healthcheck() == 60
