"""The results jobs (the projector and the auditor): in the server's threads, or in a process of their own.

`pollwatch serve` runs them in one separate process, and the server processes run none: a worker's event
loop never waits for the GIL behind an audit. That process runs the projector at normal priority (a
sheet must reach the tally within a second of its acknowledgement, and applying a leaf costs a fraction of
what accepting it did) and starts the auditor, the snapshot writer and the page renderer as child
processes at a lower CPU priority (``POLLWATCH_BACKGROUND_NICE``, default 10): the audits are the
expensive part and can wait for a quieter minute, and in a process of their own they never hold the
projector's interpreter. Each server worker keeps a child of its own at that priority for the audits of
one constituency it is asked for (:mod:`pollwatch.audit.elsewhere`). When intake saturates the machine
the audits fall behind and catch up as the rate falls (``pollwatch projections status`` shows how far
the projections are behind, every read names its ``as_of``, a whole-election audit names its stale
constituencies). An app made by :func:`pollwatch.api.app.create_app` on its own (tests, embedding) runs
the jobs in its threads unless ``POLLWATCH_BACKGROUND=process`` says a separate process does.

Run by hand: ``python -m pollwatch.background`` follows the database of ``POLLWATCH_DATABASE_URL`` until
it is stopped (SIGTERM or SIGINT) or the process that started it exits; ``python -m pollwatch.background
auditor`` runs the auditor alone, likewise.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Collection, Iterator
from types import FrameType

from pollwatch import collector
from pollwatch.audit import elsewhere
from pollwatch.audit.views import Auditor
from pollwatch.errors import InputError
from pollwatch.site.shelf import shelf_from_environment
from pollwatch.site.snapshots import snapshot_dir, snapshot_every
from pollwatch.storage import Database
from pollwatch.tally.projector import Projector

log = logging.getLogger(__name__)

SETTINGS = {
    "POLLWATCH_BACKGROUND": "where the projector and the auditor run: app (threads of each server process) "
    "or process (one separate process, what pollwatch serve sets)",
    "POLLWATCH_BACKGROUND_NICE": "CPU niceness of the auditor, the snapshot writer and the page renderer "
    "started by that separate process, and of each worker's audit child (default 10; 0 for none); "
    "the projector runs at normal priority",
}
"""(That process also writes the dashboard's static snapshots: :mod:`pollwatch.site.snapshots`.)"""
_ENV, _NICE = "POLLWATCH_BACKGROUND", "POLLWATCH_BACKGROUND_NICE"
_PARENT = "POLLWATCH_BACKGROUND_PARENT"
"""Set by :func:`separate_process` for its child only: the pid of the server that started it."""


class ResultsJobs:
    """The projector and the auditor of one database, started and stopped together."""

    def __init__(
        self,
        db: Database,
        *,
        source: Database | None = None,
        areas: Collection[str] = (),
        auditor: bool = True,
    ) -> None:
        """``source``: where the projector reads the log (a read node's primary or replica; default
        ``db``); the projections and the audits are kept in ``db``. ``auditor=False``: the projector
        only (another process audits)."""
        self.projector = Projector(db, source=source, areas=areas)
        self.auditor = Auditor(db) if auditor else None

    def start(self) -> None:
        self.projector.start()
        if self.auditor is not None:
            self.auditor.start()

    def stop(self) -> None:
        if self.auditor is not None:
            self.auditor.stop()
        self.projector.stop()


@contextlib.contextmanager
def server_jobs(db: Database) -> Iterator[None]:
    """What a server process runs of the results work while the block runs: the results jobs in its
    threads, or (when a separate process runs them) the child that computes its constituencies' audits
    at niceness ``POLLWATCH_BACKGROUND_NICE`` (:mod:`pollwatch.audit.elsewhere`)."""
    if in_app():
        jobs = ResultsJobs(db)
        jobs.start()
        try:
            yield
        finally:
            jobs.stop()
        return
    elsewhere.start(niceness())
    try:
        yield
    finally:
        elsewhere.stop()


def in_app() -> bool:
    """Whether a server process runs the jobs itself (no separate process does)."""
    mode = os.environ.get(_ENV, "app")
    if mode not in ("app", "process"):
        raise InputError(
            f"{_ENV} must be 'app' or 'process'", where=_ENV, expected="app or process", found=mode
        )
    return mode == "app"


def niceness() -> int:
    raw = os.environ.get(_NICE, "10")
    if not raw.isdigit() or int(raw) > 19:
        raise InputError(f"{_NICE} must be a whole number from 0 to 19", where=_NICE, found=raw)
    return int(raw)


@contextlib.contextmanager
def separate_process(url: str) -> Iterator[subprocess.Popen[bytes]]:
    """Run the jobs on database ``url`` in a child process while the block runs; the server processes
    started inside the block (they inherit the environment) run none of their own."""
    niceness()  # refuse a bad setting before starting anything
    # The child exits when this process is gone, even if it died before the child looked (SIGKILL).
    env = {**os.environ, "POLLWATCH_DATABASE_URL": url, _PARENT: str(os.getpid())}
    child = subprocess.Popen([sys.executable, "-m", "pollwatch.background"], env=env)
    previous = os.environ.get(_ENV)
    os.environ[_ENV] = "process"
    try:
        yield child
    finally:
        if previous is None:
            os.environ.pop(_ENV, None)
        else:
            os.environ[_ENV] = previous
        child.terminate()
        try:
            child.wait(timeout=15)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def main() -> None:
    """Follow the log until SIGTERM/SIGINT or until the parent process exits."""
    logging.basicConfig(level=logging.WARNING, format="%(name)s: %(message)s")
    nice = niceness()
    parent = int(os.environ.get(_PARENT) or os.getppid())
    stop = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    db = Database()
    db.require_current()
    collector.set_for_serving()
    auditing = sys.argv[1:] == ["auditor"]
    jobs: ResultsJobs | Auditor = Auditor(db) if auditing else ResultsJobs(db, auditor=False)
    jobs.start()
    children = (
        [] if auditing else [_auditor(nice), _snapshot_writer(db.url, nice), _page_renderer(db.url, nice)]
    )
    try:
        while not stop.wait(1.0):
            if os.getppid() != parent:  # the server died without stopping us
                break
    finally:
        for child in children:
            if child is not None:
                child.terminate()
                child.wait(timeout=30)
        jobs.stop()
        db.dispose()


def _auditor(nice: int) -> subprocess.Popen[bytes]:
    """The auditor in a child process (``nice`` steps down): in the projector's process its audits
    would hold the interpreter the projector needs to bring each sheet to the tally within a second."""
    env = {**os.environ, _PARENT: str(os.getpid())}
    return _lowered_child(["-m", "pollwatch.background", "auditor"], env, nice)


def _snapshot_writer(url: str, nice: int) -> subprocess.Popen[bytes] | None:
    """``pollwatch site snapshots`` in a child process (at niceness ``nice``), when
    ``POLLWATCH_SNAPSHOT_DIR`` names where to write: rendering every page of a snapshot must not take
    the projector's interpreter from it. The child stops when this process is gone."""
    directory = snapshot_dir()
    if directory is None:
        return None
    every = str(snapshot_every())
    env = {**os.environ, _PARENT: str(os.getpid())}
    command = ["site", "snapshots", str(directory), "--db", url, "--every", every]
    return _lowered_child(["-m", "pollwatch.cli.main", *command], env, nice)


def _lowered_child(arguments: list[str], env: dict[str, str], nice: int) -> subprocess.Popen[bytes]:
    """Python with ``arguments`` in a child process, ``nice`` steps below this one."""
    child = subprocess.Popen([sys.executable, *arguments], env=env)
    with contextlib.suppress(OSError):  # it exited already: nothing to lower
        os.setpriority(os.PRIO_PROCESS, child.pid, os.getpriority(os.PRIO_PROCESS, 0) + nice)
    return child


def _page_renderer(url: str, nice: int) -> subprocess.Popen[bytes] | None:
    """``pollwatch site pages`` in a child process (``nice`` steps down, as the auditor) when the server
    shares its pages (:mod:`pollwatch.site.shelf`): the workers ask it for the pages whose data moved,
    so no worker renders while it serves. The child stops when this process is gone."""
    shelf = shelf_from_environment()
    if shelf is None:
        return None
    env = {**os.environ, _PARENT: str(os.getpid())}
    command = ["site", "pages", str(shelf.directory), "--db", url]
    return _lowered_child(["-m", "pollwatch.cli.main", *command], env, nice)


if __name__ == "__main__":
    main()
