"""Leases: one process of a deployment runs a background job; another takes over once it stops or dies."""

from __future__ import annotations

import time

import pytest

from pollwatch.audit.views import Auditor
from pollwatch.intake.testing import create_tiny_election
from pollwatch.pace import Pace
from pollwatch.storage import Database, leases
from pollwatch.storage import log as log_store


def test_a_lease_has_one_holder_until_released_or_expired(db: Database) -> None:
    with db.begin() as conn:
        assert leases.acquire(conn, "job", "a", ttl=60)
    with db.begin() as conn:
        assert not leases.acquire(conn, "job", "b", ttl=60)
        assert leases.acquire(conn, "job", "a", ttl=60)  # the holder renews
        assert leases.holder_of(conn, "job") == "a"
        leases.release(conn, "job", "b")  # only the holder can give it up
        assert leases.holder_of(conn, "job") == "a"
        leases.release(conn, "job", "a")
        assert leases.holder_of(conn, "job") is None
    with db.begin() as conn:
        assert leases.acquire(conn, "job", "b", ttl=-1)  # taken, but already expired (a holder that died)
    with db.begin() as conn:
        assert leases.acquire(conn, "job", "c", ttl=60)
        assert leases.acquire(conn, "other-job", "d", ttl=60)  # leases are per name
        assert leases.holder_of(conn, "job") == "c"


def test_one_auditor_per_deployment(db: Database) -> None:
    create_tiny_election(db, slug="lease", constituencies=2, stations=2)
    first, second = Auditor(db), Auditor(db)
    assert first.hold()
    assert second.refresh() == 0  # the second process's auditor waits while the first holds the lease
    first.stop()  # stopping gives the lease up at once
    assert second.hold()
    second.stop()


def test_the_auditor_yields_while_leaves_arrive_fast(db: Database) -> None:
    auditor = Auditor(db, duty=0.25, busy_duty=0.05, busy_rate=10.0)
    assert auditor.current_duty() == 0.25  # first look: nothing to compare with
    create_tiny_election(db, slug="busy", constituencies=1, stations=1)
    with db.connect() as conn:
        size = log_store.get_state(conn).size
    seen = time.monotonic() - 1.0
    auditor.pace = Pace(0.25, 0.05, 10.0)
    auditor.pace.observe(size - 100, now=seen)
    assert auditor.current_duty() == 0.05  # 100 leaves in a second: busy
    auditor.pace.observe(size, now=time.monotonic() + 1.0)
    assert auditor.current_duty() == 0.25  # none since: quiet again


def test_the_auditors_pause_follows_its_cpu_time_not_its_waiting(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A round that spends its time waiting (for the database, or for a CPU intake holds) used no CPU,
    # so it earns no long pause; measured by wall time it would pause 0.3 s x 19 at a 5 % duty.
    auditor = Auditor(db, duty=0.05, busy_duty=0.05)
    pauses: list[float] = []

    def waiting_round(*, limit: int = 50, budget: float | None = None) -> int:
        time.sleep(0.3)
        return 1

    def record(timeout: float) -> bool:
        pauses.append(timeout)
        auditor._stop.set()  # one round only
        return True

    monkeypatch.setattr(auditor, "refresh", waiting_round)
    monkeypatch.setattr(auditor._stop, "wait", record)
    auditor._run()
    assert pauses == [0.05]


def test_the_auditors_pause_grows_with_the_cpu_it_used(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    auditor = Auditor(db, duty=0.25, busy_duty=0.25)
    pauses: list[float] = []

    def working_round(*, limit: int = 50, budget: float | None = None) -> int:
        started = time.thread_time()
        while time.thread_time() - started < 0.2:
            pass
        return 1

    def record(timeout: float) -> bool:
        pauses.append(timeout)
        auditor._stop.set()  # one round only
        return True

    monkeypatch.setattr(auditor, "refresh", working_round)
    monkeypatch.setattr(auditor._stop, "wait", record)
    auditor._run()
    assert len(pauses) == 1
    assert pauses[0] >= 0.2 * 3  # 0.2 s of CPU at a quarter's duty: three times as long idle
