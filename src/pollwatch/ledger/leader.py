"""Which process signs checkpoints: one elected publisher, never every server process.

Only the leader signs. On PostgreSQL the leader is the publisher holding an advisory lock on a direct
session to the primary (:class:`pollwatch.storage.leader.AdvisoryLock`, connected through
``POLLWATCH_LEADER_DATABASE_URL``, never the pooler's address); on SQLite, whose database is one file
on one machine, it is the process holding an exclusive ``flock`` on a file beside the database (an
in-memory database has one process: it leads). The lock only decides who tries: a leader that lost its
lock without noticing (a zombie, paused past its session's end) is stopped by the compare-and-swap of
the stored checkpoint in :func:`pollwatch.ledger.service.sign_checkpoint`, so two checkpoints of one size
never differ.

* ``POLLWATCH_PUBLISHER``: ``app`` (default: each server process runs a publisher, and they elect one
  leader) or ``off`` (this process never signs: the API nodes of a cluster, beside a ``pollwatch publish``).
* ``POLLWATCH_LEADER_DATABASE_URL``: direct PostgreSQL URL to the primary for the leader lock; default
  ``POLLWATCH_DATABASE_URL`` (set it whenever that URL goes through pgbouncer).

>>> from pollwatch.storage import Database
>>> leadership_for(Database("sqlite://")).hold()
True

References
----------
C2SP tlog-checkpoint ("a log MUST NOT sign two inconsistent checkpoints");
FiloSottile/sunlight README (the lock backend's compare-and-swap); google/trillian docs (one signer per
tree, elected).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Protocol

from pollwatch.errors import InputError
from pollwatch.storage import Database
from pollwatch.storage.leader import AdvisoryLock

SETTINGS = {
    "POLLWATCH_PUBLISHER": "app (default: server processes run the checkpoint publisher and elect one "
    "leader) or off (this process never signs; run `pollwatch publish` elsewhere)",
    "POLLWATCH_LEADER_DATABASE_URL": "direct PostgreSQL URL to the primary for the publisher's leader "
    "lock (default POLLWATCH_DATABASE_URL; never the pooler's)",
}
_MODE, _LEADER_URL = "POLLWATCH_PUBLISHER", "POLLWATCH_LEADER_DATABASE_URL"


class Leadership(Protocol):
    """Who may sign: :meth:`hold` takes or confirms leadership each round; :meth:`release` gives it up."""

    reason: str

    def hold(self) -> bool: ...

    def release(self) -> None: ...


def publisher_enabled() -> bool:
    """Whether this process may run a publisher and sign (``POLLWATCH_PUBLISHER`` is not ``off``)."""
    mode = os.environ.get(_MODE, "app").strip() or "app"
    if mode not in ("app", "off"):
        raise InputError(f"{_MODE} must be 'app' or 'off'", where=_MODE, expected="app or off", found=mode)
    return mode == "app"


def signs_on_request(db: Database) -> bool:
    """Whether a request handler may sign a checkpoint itself when the publisher is late, without
    taking the leadership: only on SQLite with a publisher here (every signer shares one file on one
    machine, and the compare-and-swap fences them). On PostgreSQL only the lock holder signs.
    """
    return db.dialect == "sqlite" and publisher_enabled()


def leadership_for(db: Database) -> Leadership:
    """The election fitting ``db``: an advisory lock on PostgreSQL, a file lock on SQLite."""
    if db.dialect != "sqlite":
        return AdvisoryLock(os.environ.get(_LEADER_URL) or db.url)
    path = db.url.split("///", 1)[1] if "///" in db.url else ""
    if not path or path == ":memory:":
        return Sole()
    return FileLeadership(Path(path + ".publisher-lock"))


@contextlib.contextmanager
def leading(db: Database) -> Iterator[bool]:
    """For a one-off signer (``pollwatch log checkpoint``): whether it may sign now, i.e. whether this
    process can take the leadership for the block (False while a running publisher leads)."""
    if not publisher_enabled():
        yield False
        return
    election = leadership_for(db)
    try:
        yield election.hold()
    finally:
        election.release()


class Sole:
    """The only process there is (an in-memory database): always the leader."""

    reason = "held"

    def hold(self) -> bool:
        return True

    def release(self) -> None:
        return None


class FileLeadership:
    """An exclusive ``flock`` on a file: one leader among the processes of one machine.

    The kernel drops the lock when its holder exits, however it exits, so another process takes over.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._handle: IO[bytes] | None = None
        self.reason = "not tried yet"

    def hold(self) -> bool:
        if self._handle is not None:
            return True
        handle = self.path.open("ab")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            self.reason = f"another process holds {self.path}"
            return False
        self._handle = handle
        self.reason = "held"
        return True

    def release(self) -> None:
        if self._handle is not None:
            fcntl.flock(self._handle.fileno(), fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None
        self.reason = "released"
