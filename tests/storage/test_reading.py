"""Public reads under more concurrent requests than threads and connections: none blocks a thread on the
pool, none fails, and no more than the turns hold a connection at once."""

from __future__ import annotations

import concurrent.futures
from pathlib import Path

import anyio
import anyio.to_thread
import pytest
from fastapi.testclient import TestClient

from pollwatch.api.app import create_app
from pollwatch.intake.testing import SLUG, create_tiny_election
from pollwatch.storage import Database
from pollwatch.storage import db as db_module


def test_turns_bound_the_holders_of_read_connections(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(db_module, "READ_TURNS", 3)
    db = Database(f"sqlite:///{tmp_path / 'turns.sqlite3'}")
    db.upgrade()
    holding, most = 0, 0

    async def one() -> None:
        nonlocal holding, most
        async with db.reading() as conn:
            holding += 1
            most = max(most, holding)
            await anyio.sleep(0.01)
            assert conn.exec_driver_sql("SELECT 1").scalar() == 1
            holding -= 1

    async def many() -> None:
        async with anyio.create_task_group() as tg:
            for _ in range(20):
                tg.start_soon(one)

    anyio.run(many)
    assert most == 3
    assert holding == 0


def test_more_readers_than_threads_and_connections_all_get_answers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two connections, three threads, forty readers at once: before the turns, three readers blocked the
    three threads on the exhausted pool while the two holders waited for a thread, until the pool's
    timeout failed them all."""
    monkeypatch.setattr(db_module, "READ_POOL", (1, 1))
    monkeypatch.setattr(db_module, "READ_TURNS", 1)
    db = Database(f"sqlite:///{tmp_path / 'readers.sqlite3'}")
    db.upgrade()
    create_tiny_election(db)
    path = f"/api/v1/elections/{SLUG}/tally?level=constituency&constituency=NA-1"
    with TestClient(create_app(db)) as client:
        assert client.portal is not None
        client.portal.call(_few_threads)
        pool = concurrent.futures.ThreadPoolExecutor(40)
        asked = [pool.submit(lambda: client.get(path).status_code) for _ in range(40)]
        done, _ = concurrent.futures.wait(asked, timeout=60)
        pool.shutdown(wait=False, cancel_futures=True)
        assert len(done) == 40, "readers stuck: threads blocked on the pool, holders waiting for a thread"
        assert [f.result() for f in asked] == [200] * 40


def _few_threads() -> None:
    anyio.to_thread.current_default_thread_limiter().total_tokens = 3
