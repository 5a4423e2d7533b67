"""The results jobs in a process of their own (what `pollwatch serve` runs), or in the app's threads."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from pollwatch.api.app import create_app
from pollwatch.auth import AuthRole, create_submitter
from pollwatch.auth.tokens import principal_for_secret
from pollwatch.background import in_app, niceness, separate_process
from pollwatch.errors import InputError
from pollwatch.intake.format import SheetSubmission
from pollwatch.intake.service import Cache, Job, write_batch
from pollwatch.intake.testing import create_tiny_election, sheet_payload
from pollwatch.model import Channel
from pollwatch.storage import Database
from pollwatch.tally.projector import status


def _write_sheet(db: Database) -> None:
    with db.begin() as conn:
        token = create_submitter(conn, role=AuthRole.OBSERVER, organisation="FAFEN")[1]
        principal = principal_for_secret(conn, token)
    sub = SheetSubmission.model_validate(sheet_payload("background-1", role="observer"))
    job = Job(sub, principal, Channel.API)
    with db.begin() as conn:
        [outcome] = write_batch(conn, [job], Cache())
    assert not isinstance(outcome, Exception), outcome


def _nice_of(pid: int, task: int | None = None) -> int:
    where = f"/proc/{pid}/stat" if task is None else f"/proc/{pid}/task/{task}/stat"
    fields = Path(where).read_text().rsplit(")", 1)[1].split()
    return int(fields[16])  # field 19 of proc(5), counted after the command name


def _thread_nices(pid: int) -> set[int]:
    """The niceness of every thread of a process, relative to this test's."""
    ours = _nice_of(threading.get_native_id())
    tasks = [int(p.name) for p in Path(f"/proc/{pid}/task").iterdir()]
    return {_nice_of(pid, task) - ours for task in tasks}


def test_the_separate_process_follows_the_log_its_auditor_at_a_lower_priority(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'bg.sqlite3'}"
    db = Database(url)
    db.upgrade()
    create_tiny_election(db)
    monkeypatch.setenv("POLLWATCH_BACKGROUND_NICE", "7")
    auditor = 0
    with separate_process(url) as child:
        assert not in_app()  # server processes started now run no jobs of their own
        _write_sheet(db)
        deadline = time.monotonic() + 60
        while status(db)["behind"] and time.monotonic() < deadline:
            time.sleep(0.1)
        assert status(db)["behind"] == 0, "the separate process did not apply the new leaves"
        if Path(f"/proc/{child.pid}/stat").exists():
            # the process (its projector, every thread) at our priority; the auditor a child of its own,
            # 7 lower, so that no audit holds the projector's interpreter
            assert _nice_of(child.pid) - _nice_of(threading.get_native_id()) == 0
            assert _thread_nices(child.pid) == {0}
            while not (auditors := _children(child.pid, "pollwatch.background auditor")):
                assert time.monotonic() < deadline, "the results process started no auditor"
                time.sleep(0.1)
            [auditor] = auditors
            assert _nice_of(auditor) - _nice_of(threading.get_native_id()) == 7
    assert child.returncode is not None  # stopped with the block
    assert in_app()
    if auditor:
        deadline = time.monotonic() + 30
        while Path(f"/proc/{auditor}").exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not Path(f"/proc/{auditor}").exists(), "the auditor outlived the results process"


def _children(parent: int, command: str) -> list[int]:
    """Processes whose parent is ``parent`` and whose command line contains ``command``."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            ppid = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
            line = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, ValueError, IndexError):
            continue
        if ppid == parent and command in line:
            found.append(int(proc.name))
    return found


def test_the_separate_process_stops_when_its_server_is_gone(tmp_path: Path) -> None:
    """A server killed (SIGKILL) before its child first looked must not leave the child running."""
    url = f"sqlite:///{tmp_path / 'orphan.sqlite3'}"
    Database(url).upgrade()
    # Told its server is pid 1, while its parent is this test: as if the server had died before it looked.
    env = {**os.environ, "POLLWATCH_DATABASE_URL": url, "POLLWATCH_BACKGROUND_PARENT": "1"}
    child = subprocess.Popen([sys.executable, "-m", "pollwatch.background"], env=env)
    try:
        assert child.wait(timeout=30) == 0  # its parent (this test) is not the server it was told of
    finally:
        child.kill()


def test_an_app_runs_the_jobs_unless_a_separate_process_does(
    sqlite_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    def projector_threads() -> int:
        return sum(t.name == "pollwatch-projector" for t in threading.enumerate())

    before = projector_threads()
    with TestClient(create_app(sqlite_db)):
        assert projector_threads() == before + 1
    monkeypatch.setenv("POLLWATCH_BACKGROUND", "process")
    with TestClient(create_app(sqlite_db)):
        assert projector_threads() == before


def test_bad_settings_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POLLWATCH_BACKGROUND", "elsewhere")
    with pytest.raises(InputError, match="'app' or 'process'"):
        in_app()
    monkeypatch.setenv("POLLWATCH_BACKGROUND_NICE", "-5")
    with pytest.raises(InputError, match="0 to 19"):
        niceness()


def test_the_separate_process_writes_dashboard_snapshots_when_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With POLLWATCH_SNAPSHOT_DIR set, the results process starts the snapshot writer (a child of its
    own) and stops it with itself."""
    from pollwatch.ledger import service as ledger

    url = f"sqlite:///{tmp_path / 'bg.sqlite3'}"
    db = Database(url)
    db.upgrade()
    create_tiny_election(db)
    _write_sheet(db)
    monkeypatch.setenv("POLLWATCH_HOME", str(tmp_path / "home"))
    ledger.sign_checkpoint(db)
    monkeypatch.setenv("POLLWATCH_SNAPSHOT_DIR", str(tmp_path / "site"))
    monkeypatch.setenv("POLLWATCH_SNAPSHOT_EVERY", "0")
    with separate_process(url):
        deadline = time.monotonic() + 120
        manifest = tmp_path / "site" / "current" / "snapshot.json"
        while not manifest.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert manifest.exists(), "no snapshot written by the results process"
    assert (tmp_path / "site" / "current" / "data" / "manifest.json").exists()
    assert (tmp_path / "site" / "current" / "index.html").exists()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and _writers(tmp_path):
        time.sleep(0.2)
    assert not _writers(tmp_path), "the snapshot writer outlived the results process"


def _writers(tmp_path: Path) -> list[str]:
    """Command lines of running snapshot writers on ``tmp_path``."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            line = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if "snapshots" in line and str(tmp_path) in line:
            found.append(line)
    return found
