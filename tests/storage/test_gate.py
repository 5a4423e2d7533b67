"""Expensive reads are bounded and use connections of their own: readers cannot starve intake."""

from __future__ import annotations

import threading
import time
from contextlib import ExitStack

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from pollwatch.api.app import create_app
from pollwatch.errors import RateLimitError
from pollwatch.storage import Database
from pollwatch.storage.gate import ReadGate


def test_gate_refuses_beyond_its_slots_after_waiting() -> None:
    gate = ReadGate(slots=2, wait=0.2)
    with gate.slot(), gate.slot():
        started = time.monotonic()
        with pytest.raises(RateLimitError, match="too many expensive reads"), gate.slot():
            pass
        assert time.monotonic() - started >= 0.2
    with gate.slot():  # freed again
        assert gate.busy == 1
    assert gate.refused == 1


def test_gate_hands_a_freed_slot_to_a_waiting_reader() -> None:
    gate = ReadGate(slots=1, wait=5)
    held = threading.Event()
    release = threading.Event()

    def holder() -> None:
        with gate.slot():
            held.set()
            release.wait(5)

    thread = threading.Thread(target=holder)
    thread.start()
    held.wait(5)
    threading.Timer(0.1, release.set).start()
    with gate.slot():
        assert gate.busy == 1
    thread.join()


def test_readers_holding_every_read_connection_leave_intake_its_own(db: Database) -> None:
    with ExitStack() as stack:
        readers = [stack.enter_context(db.reads()) for _ in range(15)]  # the read pool's whole capacity
        assert all(r.execute(text("SELECT 1")).scalar_one() == 1 for r in readers)
        started = time.monotonic()
        with db.begin() as conn:  # what intake and the checkpoint signer use
            assert conn.execute(text("SELECT 1")).scalar_one() == 1
        assert time.monotonic() - started < 5  # not the pool's 30 s timeout


def test_forensics_beyond_the_bound_get_429_with_retry_after(
    sqlite_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    sqlite_db.gate = ReadGate(slots=1, wait=0)
    client = TestClient(create_app(sqlite_db))
    with sqlite_db.gate.slot():  # another reader holds the only slot
        response = client.get("/api/v1/elections/x/forensics/integer-percentages")
    assert response.status_code == 429
    assert response.headers["retry-after"] == "1"
    assert response.json()["error"]["code"] == "rate_limited"
    after = client.get("/api/v1/elections/x/forensics/integer-percentages")
    assert after.status_code == 404  # the slot is free again: the request runs (no such election)


def test_bound_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POLLWATCH_EXPENSIVE_READS", "3")
    monkeypatch.setenv("POLLWATCH_EXPENSIVE_WAIT", "0.5")
    gate = Database("sqlite://").gate
    assert (gate.slots, gate.wait) == (3, 0.5)
