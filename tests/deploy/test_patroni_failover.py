"""A real Patroni failover (deploy/patroni_cluster.py): sheets written through the submission core on a
multi-host URL and checkpoints signed by a publisher on the same URL while the leader's host dies;
Patroni promotes the synchronous standby, the writers and the publisher follow without a restart, the
old leader rejoins as a standby, no acknowledged sheet or signed checkpoint is lost and the exported
log verifies with the real log key."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from deploy import patroni_cluster
from pollwatch.auth import AuthRole
from pollwatch.auth.tokens import principal_for
from pollwatch.intake.format import SheetSubmission
from pollwatch.intake.service import Job, write_one
from pollwatch.intake.testing import create_tiny_election, sheet_payload
from pollwatch.ledger import service
from pollwatch.ledger.checkpoint import open_checkpoint
from pollwatch.ledger.merkle import tree_root
from pollwatch.ledger.note import load_signer
from pollwatch.ledger.publisher import Publisher
from pollwatch.ledger.settings import LogSettings
from pollwatch.model import Channel
from pollwatch.storage import Database
from pollwatch.storage import log as store
from pollwatch.storage import submitters as submitter_store
from pollwatch.storage.leader import AdvisoryLock
from tests.conftest import IN_CI

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

ORIGIN = "patroni.pollwatch.local/log"
KEY_ID = "patroni-failover-observer"


@pytest.fixture(scope="module")
def patroni() -> Iterator[Any]:
    missing = patroni_cluster.missing()
    if missing:
        reason = (
            f"a Patroni cluster needs {', '.join(missing)} "
            "(make system installs patroni, etcd-server and postgresql-15)"
        )
        if IN_CI:
            pytest.fail(reason)
        pytest.skip(reason)
    # Not under pytest's own temporary folder: that is private to this user, and Patroni runs as the
    # postgres user when the tests run as root.
    folder = Path(tempfile.mkdtemp(prefix="pollwatch-patroni-"))
    folder.chmod(0o755)
    try:
        running = patroni_cluster.up(folder)  # stops what it started if it fails
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    try:
        yield running
    finally:
        patroni_cluster.down(folder)
        shutil.rmtree(folder, ignore_errors=True)


class _Writer:
    """Sheets written one per transaction through the submission core on the multi-host URL, as fast as
    the cluster acknowledges them; remembers the leaf index of every committed (acknowledged) one. A
    failed write was not acknowledged: a phone retries it."""

    def __init__(self, db: Database) -> None:
        self.db = db
        with db.connect() as conn:
            row = submitter_store.get_submitter(conn, key_id=KEY_ID)
            assert row is not None
            self.principal = principal_for(conn, row)
        self.acknowledged: list[int] = []
        self.failed = 0
        self._next = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            payload = sheet_payload(f"pf-{self._next:06d}", role="observer", station=str(1 + self._next % 3))
            self._next += 1
            job = Job(SheetSubmission.model_validate(payload), self.principal, Channel.API)
            try:
                with self.db.begin() as conn:
                    accepted = write_one(conn, job)
            except sa.exc.DBAPIError:
                self.failed += 1
                time.sleep(0.2)
                continue
            self.acknowledged.append(accepted.leaf_index)
            time.sleep(0.02)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.ident is not None:
            self._thread.join(timeout=60)
        assert not self._thread.is_alive()

    def wait_for(self, count: int, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.acknowledged) < count:
            assert time.monotonic() < deadline, f"{len(self.acknowledged)} of {count} acknowledged"
            time.sleep(0.2)


def _checkpoints(db: Database) -> dict[int, str]:
    with db.connect() as conn:
        return {c.size: c.note for c in store.list_checkpoints(conn)}


def _members(patroni: Any) -> list[tuple[str, str, str]]:
    return sorted((m["name"], m["role"], m["state"]) for m in patroni_cluster.get_cluster(patroni)["members"])


def _setting(patroni: Any, name: str, setting: str) -> str:
    engine = sa.create_engine(patroni.direct_url(name))
    with engine.connect() as conn:
        value = str(conn.execute(sa.text("SELECT current_setting(:s)"), {"s": setting}).scalar_one())
    engine.dispose()
    return value


def _replica_size(url: str, at_least: int) -> int:
    """The log size a standby has applied, once it reaches ``at_least`` (or 30 s passed)."""
    engine = sa.create_engine(url)
    deadline = time.monotonic() + 30
    with engine.connect() as conn:
        while True:
            size = int(conn.execute(sa.text("SELECT size FROM log_state")).scalar_one())
            assert conn.execute(sa.text("SELECT pg_is_in_recovery()")).scalar_one()
            conn.rollback()
            if size >= at_least or time.monotonic() > deadline:
                break
            time.sleep(0.2)
    engine.dispose()
    return size


def _verify_export(patroni: Any, key: Path, home: Path) -> None:
    """`pollwatch bundle export` over the multi-host URL, then `pollwatch verify` with the log's vkey."""
    env = {**os.environ, "POLLWATCH_HOME": str(home), "POLLWATCH_DATABASE_URL": patroni.url,
           "POLLWATCH_LOG_KEY": str(key), "POLLWATCH_LOG_ORIGIN": ORIGIN,
           "POLLWATCH_PUBLISHER": "off"}  # fmt: skip
    run = [sys.executable, "-m", "pollwatch.cli.main"]
    subprocess.run([*run, "bundle", "export", str(home / "bundle")], env=env, check=True, timeout=120)
    vkey = key.with_suffix(".vkey").read_text().strip()
    verified = subprocess.run(
        [*run, "verify", str(home / "bundle"), "--log-key", vkey],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert verified.returncode == 0, verified.stdout + verified.stderr


def test_patroni_promotes_the_synchronous_standby_when_the_leader_dies_and_nothing_acknowledged_is_lost(
    patroni: Any, tmp_path: Path
) -> None:
    first, standby = patroni_cluster.wait_synchronous(patroni)
    db = Database(patroni.url)
    db.upgrade()
    create_tiny_election(db)
    with db.begin() as conn:
        submitter_store.create_submitter(conn, key_id=KEY_ID, role=AuthRole.OBSERVER.value, organisation="")
    key = tmp_path / "log.key"
    settings = LogSettings(load_signer(key, name=ORIGIN))
    # The publisher's leader lock uses the same multi-host URL: after the failover it takes the lock on
    # whichever server then accepts writes, with no restart.
    publisher = Publisher(db, settings, interval=0.25, leadership=AdvisoryLock(patroni.url))
    publisher.start()
    writer = _Writer(db)
    writer.start()
    try:
        writer.wait_for(30)
        deadline = time.monotonic() + 30
        while service.covered_size(db) < 30:
            assert time.monotonic() < deadline, "no checkpoint signed before the crash"
            time.sleep(0.2)
        signed = _checkpoints(db)
        before = len(writer.acknowledged)
        patroni_cluster.crash(patroni, first)  # SIGKILL of its Patroni and its postmaster: the host is gone

        # Patroni promotes the synchronous standby once the leader key expires (ttl 10 s).
        assert patroni_cluster.wait_leader(patroni, other_than=first) == standby
        # Strict synchronous mode: alone, the new leader acknowledges nothing until a standby is back
        # (the writer's commit waits on it).
        alone = len(writer.acknowledged)
        assert _setting(patroni, standby, "synchronous_standby_names") == "*"
        time.sleep(2.0)
        assert len(writer.acknowledged) == alone
        patroni_cluster.start(patroni, first)
        # rejoined (pg_rewind) as its standby
        assert patroni_cluster.wait_synchronous(patroni) == (standby, first)
        writer.wait_for(before + 30)
        writer.stop()
        acknowledged = writer.acknowledged
        deadline = time.monotonic() + 30
        while service.covered_size(db) <= max(acknowledged):
            assert time.monotonic() < deadline, "the publisher signed nothing on the new leader"
            time.sleep(0.2)
    finally:
        writer.stop()
        publisher.stop()
    history = _checkpoints(db)
    # Every checkpoint signed before the crash survived byte for byte, and later ones extend them.
    assert {size: history.get(size) for size in signed} == signed
    with db.connect() as conn:
        size = store.get_state(conn).size
        entries = store.read_entries_at(conn, acknowledged)
        reader = service.DbHashes(conn)
        for stored in store.list_checkpoints(conn):
            assert open_checkpoint(stored.note, settings.signer.verifier()).root == tree_root(
                stored.size, reader
            )
    assert set(entries) == set(acknowledged)
    assert len(set(acknowledged)) == len(acknowledged)
    # Two members again, one leader; the old leader streams the whole log as the synchronous standby.
    assert _members(patroni) == [(first, "sync_standby", "running"), (standby, "leader", "running")]
    assert _replica_size(patroni.direct_url(first), size) >= size
    # Patroni's on_role_change callback ran on the promoted node (where pgbouncer would be repointed).
    roles = (Path(patroni.folder) / "roles.log").read_text().split("\n")
    assert any(line.split()[1:4] == [standby, "on_role_change", "master"] for line in roles if line)
    db.dispose()
    _verify_export(patroni, key, tmp_path / "export")


def test_the_running_cluster_keeps_the_templates_guarantees(patroni: Any) -> None:
    # What the cluster runs with is what etcd holds (bootstrap.dcs is written there once).
    with urllib.request.urlopen(f"{patroni.nodes[0].api}/config", timeout=10) as answer:
        dcs = json.load(answer)
    assert dcs["synchronous_mode"] is True
    assert dcs["synchronous_mode_strict"] is True
    assert dcs["maximum_lag_on_failover"] == 0
    assert dcs["postgresql"]["use_pg_rewind"] is True
    assert dcs["ttl"] >= dcs["loop_wait"] + 2 * dcs["retry_timeout"]  # Patroni's own rule
    assert {k: dcs[k] for k in patroni_cluster.TIMINGS} == patroni_cluster.TIMINGS
    # patronictl, as an operator runs it: two members, a leader and its synchronous standby.
    config = str(Path(patroni.folder) / "db1" / "patroni.yml")
    listed = subprocess.run(
        ["patronictl", "-c", config, "list", "-f", "json"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert sorted(m["Role"] for m in json.loads(listed.stdout)) == ["Leader", "Sync Standby"]
