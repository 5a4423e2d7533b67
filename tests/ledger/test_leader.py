"""One elected signer: an advisory lock on PostgreSQL, a file lock on SQLite, the compare-and-swap fence."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from pollwatch.api.app import create_app
from pollwatch.errors import ConflictError, InputError
from pollwatch.ledger import service
from pollwatch.ledger.checkpoint import open_checkpoint
from pollwatch.ledger.leader import FileLeadership, leadership_for
from pollwatch.ledger.merkle import tree_root
from pollwatch.ledger.publisher import Publisher
from pollwatch.ledger.records import LeafRecord
from pollwatch.ledger.settings import LogSettings
from pollwatch.storage import Database
from pollwatch.storage import log as store
from pollwatch.storage.leader import AdvisoryLock
from tests.conftest import _fresh_postgres, require_postgres

pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")


def _append(db: Database, n: int, start: int = 0) -> None:
    with db.begin() as conn:
        service.append(conn, [LeafRecord("incident", {"n": i}) for i in range(start, start + n)])


@pytest.fixture
def pg_url() -> Iterator[str]:
    require_postgres()
    generator = _fresh_postgres()
    url = next(generator)
    Database(url).upgrade()
    yield url
    for _ in generator:  # runs its clean-up: drops the database
        pass


@pytest.fixture
def pg_pair(pg_url: str) -> Iterator[tuple[Database, Database]]:
    """Two processes' view of one PostgreSQL database (each its own engine, as two hosts would have)."""
    one, two = Database(pg_url), Database(pg_url)
    yield one, two
    one.dispose()
    two.dispose()


def _terminate(url: str, pid: int) -> bool:
    """Terminate a server session; whether it was there to terminate."""
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        done = bool(conn.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar_one())
    engine.dispose()
    return done


def _consistent_history(db: Database, settings: LogSettings) -> list[int]:
    """Every stored checkpoint verifies and commits to the final log's tree of its size; return sizes."""
    with db.connect() as conn:
        history = store.list_checkpoints(conn)
        reader = service.DbHashes(conn)
        for stored in history:
            checkpoint = open_checkpoint(stored.note, settings.signer.verifier())
            assert checkpoint.root == stored.root == tree_root(stored.size, reader)
        latest = store.get_state(conn).checkpoint
    assert open_checkpoint(latest, settings.signer.verifier()).size == history[-1].size
    return [c.size for c in history]


@pytest.mark.postgres
def test_two_publishers_on_postgresql_only_the_lock_holder_signs(
    pg_pair: tuple[Database, Database], settings: LogSettings
) -> None:
    one, two = pg_pair
    first, second = Publisher(one, settings), Publisher(two, settings)
    _append(one, 3)
    assert first.publish_once()
    _append(two, 2, 3)
    assert not second.publish_once()  # the log grew, but it does not lead
    assert (first.leading, second.leading) == (True, False)
    assert second.leadership.reason == "another publisher holds the lock"
    with one.connect() as conn:
        assert store.get_state(conn).checkpoint_size == 3
    assert first.publish_once()
    assert _consistent_history(one, settings) == [3, 5]
    first.stop()
    second.stop()


@pytest.mark.postgres
def test_terminating_the_leaders_lock_session_hands_over_to_the_other(
    pg_url: str, pg_pair: tuple[Database, Database], settings: LogSettings
) -> None:
    one, two = pg_pair
    first, second = Publisher(one, settings), Publisher(two, settings)
    _append(one, 2)
    assert first.publish_once()
    assert isinstance(first.leadership, AdvisoryLock)
    pid = first.leadership.backend_pid
    assert pid is not None
    assert _terminate(pg_url, pid)
    _append(one, 2, 2)
    assert second.publish_once()  # the server released the lock with the session
    assert second.leading
    _append(one, 1, 4)
    assert not first.publish_once()  # it notices the lost session and cannot take the lock back
    assert not first.leading
    assert second.publish_once()
    assert _consistent_history(one, settings) == [2, 4, 5]
    second.stop()
    _append(one, 1, 5)
    assert first.publish_once()  # the other stopped: the first leads again
    first.stop()


@pytest.mark.postgres
@pytest.mark.parametrize("grows", [True, False], ids=["log-grew", "same-size"])
def test_a_zombie_leaders_stale_compare_and_swap_is_refused(
    pg_url: str, pg_pair: tuple[Database, Database], settings: LogSettings, grows: bool
) -> None:
    one, two = pg_pair
    zombie, successor = Publisher(one, settings), Publisher(two, settings)
    _append(one, 3)
    assert zombie.publish_once()
    _append(one, 2, 3)
    assert zombie.leadership.hold()  # it checked its leadership, then paused (GC, swap, network)
    pid = _pid(zombie)
    assert pid is not None

    def meanwhile(note: str, size: int, s: LogSettings, reader: service.DbHashes) -> list[object]:
        assert _terminate(pg_url, pid)  # its session ends; the successor takes over and signs
        if grows:
            _append(two, 4, 5)
        assert successor.publish_once()
        return []

    with pytest.raises(ConflictError, match="another process replaced the latest checkpoint"):
        service.sign_checkpoint(one, settings, cosign=meanwhile)  # type: ignore[arg-type]
    sizes = _consistent_history(one, settings)
    assert sizes == ([3, 9] if grows else [3, 5])
    assert not zombie.publish_once()
    zombie.stop()
    successor.stop()


@pytest.mark.postgres
def test_publishers_with_a_zombie_and_killed_sessions_never_sign_two_checkpoints_of_one_size(
    pg_url: str, settings: LogSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two elected publishers, a third that always believes it leads (a zombie), appends meanwhile,
    and the leader's lock session terminated again and again: every checkpoint any of them returned
    as signed agrees with the final log, and no size was ever signed with two different notes."""
    signed: list[str] = []
    real = service.sign_checkpoint

    def recording(*args: object, **kwargs: object) -> str | None:
        note = real(*args, **kwargs)  # type: ignore[arg-type]
        if note is not None:
            signed.append(note)
        return note

    monkeypatch.setattr(service, "sign_checkpoint", recording)
    dbs = [Database(pg_url) for _ in range(3)]
    elected = [Publisher(d, settings, interval=0.01) for d in dbs[:2]]
    zombie = Publisher(dbs[2], settings, interval=0.01, leadership=_Believer())
    stop = threading.Event()

    def append_all() -> None:
        for batch in range(40):
            _append(dbs[0], 5, batch * 5)
            time.sleep(0.01)
        stop.set()

    appender = threading.Thread(target=append_all)
    for p in [*elected, zombie]:
        p.start()
    appender.start()
    terminated = 0
    try:
        while not stop.is_set():
            time.sleep(0.05)
            # A leader may not have noticed yet that its last session was terminated: then its pid is
            # gone and there is nothing to terminate this time.
            pids = [_pid(p) for p in elected if p.leading]
            if pids and pids[0] is not None and _terminate(pg_url, pids[0]):
                terminated += 1
        appender.join()
        time.sleep(0.3)  # a last round covers the last appends
    finally:
        stop.set()
        for p in [*elected, zombie]:
            p.stop()
    by_size: dict[int, set[str]] = {}
    for note in signed:
        by_size.setdefault(open_checkpoint(note, settings.signer.verifier()).size, set()).add(
            note.split("\n\n", 1)[0]
        )
    assert all(len(bodies) == 1 for bodies in by_size.values()), by_size
    sizes = _consistent_history(dbs[0], settings)
    assert terminated >= 1
    assert sizes == sorted(by_size)
    for d in dbs:
        d.dispose()


def _pid(publisher: Publisher) -> int | None:
    lock = publisher.leadership
    return lock.backend_pid if isinstance(lock, AdvisoryLock) else None


class _Believer:
    """A leadership that always says yes: a zombie that never notices it lost its lock."""

    reason = "held"

    def hold(self) -> bool:
        return True

    def release(self) -> None:
        return None


def test_two_publishers_on_one_sqlite_file_elect_one(tmp_path: Path, settings: LogSettings) -> None:
    url = f"sqlite:///{tmp_path / 'log.sqlite3'}"
    one, two = Database(url), Database(url)
    one.upgrade()
    first, second = Publisher(one, settings), Publisher(two, settings)
    assert isinstance(first.leadership, FileLeadership)
    _append(one, 2)
    assert first.publish_once()
    _append(one, 1, 2)
    assert not second.publish_once()
    assert "another process holds" in second.leadership.reason
    first.stop()  # the leader exits: the other takes over at its next round
    assert second.publish_once()
    assert _consistent_history(one, settings) == [2, 3]
    second.stop()


def test_in_memory_sqlite_has_one_process_that_always_leads() -> None:
    lead = leadership_for(Database("sqlite://"))
    assert lead.hold()
    assert lead.hold()


def test_the_advisory_lock_refuses_a_url_that_is_not_postgresql() -> None:
    with pytest.raises(InputError, match="direct PostgreSQL connection"):
        AdvisoryLock("sqlite:///x.sqlite3")


def test_publisher_off_never_signs_on_requests(
    tmp_path: Path, settings: LogSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POLLWATCH_PUBLISHER", "off")
    db = Database(f"sqlite:///{tmp_path / 'api.sqlite3'}")
    db.upgrade()
    _append(db, 1)
    app = create_app(db)
    app.state.ledger_settings = settings
    with TestClient(app) as client:
        receipt = client.get("/api/v1/receipts/0")
        checkpoint = client.get("/log/checkpoint")
    assert receipt.status_code == 503
    assert receipt.json()["error"]["message"] == "no checkpoint covers the entry yet"
    assert checkpoint.status_code == 404
    with db.connect() as conn:
        assert store.list_checkpoints(conn) == []


def test_publisher_setting_refuses_an_unknown_mode(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POLLWATCH_PUBLISHER", "sometimes")
    db = Database(f"sqlite:///{tmp_path / 'x.sqlite3'}")
    db.upgrade()
    _append(db, 1)
    with pytest.raises(InputError, match="POLLWATCH_PUBLISHER must be 'app' or 'off'"):
        service.get_receipt(db, 0, wait_seconds=0)


def test_publish_command_signs_until_stopped(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'pub.sqlite3'}"
    db = Database(url)
    db.upgrade()
    _append(db, 4)
    env = {**os.environ, "POLLWATCH_HOME": str(tmp_path / "home"), "POLLWATCH_DATABASE_URL": url}
    env.pop("POLLWATCH_LOG_KEY", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "pollwatch.cli.main", "publish", "--interval", "0.05"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while service.covered_size(db) < 4 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.1)
        assert service.covered_size(db) == 4
    finally:
        proc.send_signal(signal.SIGTERM)
        out = proc.communicate(timeout=30)[0].decode()
    assert proc.returncode == 0, out
    assert "publishing checkpoints of" in out
    db.dispose()
