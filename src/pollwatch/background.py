"""The results jobs (the projector and the auditor): in the server's threads, or in a process of their own.

`pollwatch serve` runs them in one separate process at a lower CPU priority (``POLLWATCH_BACKGROUND_NICE``,
default 10), and the server processes run none: the uvicorn workers keep the CPU for intake and a
worker's event loop never waits for the GIL behind an audit. When the machine has CPU to spare the
projections follow the log within a fraction of a second; when intake saturates it they fall behind and
catch up as the rate falls (``pollwatch projections status`` shows by how much, every read names its
``as_of``). An app made by :func:`pollwatch.api.app.create_app` on its own (tests, embedding) runs the jobs
in its threads unless ``POLLWATCH_BACKGROUND=process`` says a separate process does.

Run by hand: ``python -m pollwatch.background`` follows the database of ``POLLWATCH_DATABASE_URL`` until
it is stopped (SIGTERM or SIGINT) or the process that started it exits.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from types import FrameType

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
    "POLLWATCH_BACKGROUND_NICE": "CPU niceness of that separate process (default 10; 0 for none)",
}
"""(That process also writes the dashboard's static snapshots: :mod:`pollwatch.site.snapshots`.)"""
_ENV, _NICE = "POLLWATCH_BACKGROUND", "POLLWATCH_BACKGROUND_NICE"
_PARENT = "POLLWATCH_BACKGROUND_PARENT"
"""Set by :func:`separate_process` for its child only: the pid of the server that started it."""


class ResultsJobs:
    """The projector and the auditor of one database, started and stopped together."""

    def __init__(self, db: Database) -> None:
        self.projector = Projector(db)
        self.auditor = Auditor(db)

    def start(self) -> None:
        self.projector.start()
        self.auditor.start()

    def stop(self) -> None:
        self.auditor.stop()
        self.projector.stop()


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
    os.nice(niceness())
    parent = int(os.environ.get(_PARENT) or os.getppid())
    stop = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    db = Database()
    db.require_current()
    jobs = ResultsJobs(db)
    jobs.start()
    snapshots = _snapshot_writer(db.url)
    pages = _page_renderer(db.url)
    try:
        while not stop.wait(1.0):
            if os.getppid() != parent:  # the server died without stopping us
                break
    finally:
        for child in (snapshots, pages):
            if child is not None:
                child.terminate()
                child.wait(timeout=30)
        jobs.stop()
        db.dispose()


def _snapshot_writer(url: str) -> subprocess.Popen[bytes] | None:
    """``pollwatch site snapshots`` in a child process (at this process's niceness), when
    ``POLLWATCH_SNAPSHOT_DIR`` names where to write: rendering every page of a snapshot must not take
    the projector's interpreter from it. The child stops when this process is gone."""
    directory = snapshot_dir()
    if directory is None:
        return None
    every = str(snapshot_every())
    env = {**os.environ, _PARENT: str(os.getpid())}
    command = ["site", "snapshots", str(directory), "--db", url, "--every", every]
    return subprocess.Popen([sys.executable, "-m", "pollwatch.cli.main", *command], env=env)


def _page_renderer(url: str) -> subprocess.Popen[bytes] | None:
    """``pollwatch site pages`` in a child process (at this process's niceness) when the server shares
    its pages (:mod:`pollwatch.site.shelf`): the workers ask it for the pages whose data moved, so no
    worker renders while it serves. The child stops when this process is gone."""
    shelf = shelf_from_environment()
    if shelf is None:
        return None
    env = {**os.environ, _PARENT: str(os.getpid())}
    command = ["site", "pages", str(shelf.directory), "--db", url]
    return subprocess.Popen([sys.executable, "-m", "pollwatch.cli.main", *command], env=env)


if __name__ == "__main__":
    main()
