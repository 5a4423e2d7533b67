"""The SQL of electing the one checkpoint signer: a PostgreSQL advisory lock on a session of its own.

The lock is a session-level ``pg_try_advisory_lock`` taken on a dedicated, direct connection to the
primary. It is liveness only: when that session ends (the process dies, the network drops, an operator
runs ``pg_terminate_backend``) the server releases the lock and another publisher takes it. Two places
grant it to two holders at once, so neither is used: a standby (advisory locks are not WAL-logged, so a
standby's lock excludes nobody on the primary) and a transaction pooler such as pgbouncer (two clients
can share one server session and both see ``true``). The fence that stops a holder that lost the lock
without noticing (a zombie) is the compare-and-swap on the stored checkpoint
(:func:`pollwatch.storage.log.swap_checkpoint`), not this lock.

References
----------
PostgreSQL 15 manual §9.27.10 (advisory lock functions), §13.3.5 (advisory locks);
FiloSottile/sunlight README (a compare-and-swap backend, not a lock, keeps two instances from forking).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging

from sqlalchemy import Connection, Engine, create_engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

from pollwatch.errors import InputError

_log = logging.getLogger(__name__)

PUBLISHER_LOCK = int.from_bytes(hashlib.sha256(b"pollwatch/publisher").digest()[:8], "big", signed=True)
"""The advisory lock key of the checkpoint publisher (advisory keys are per database)."""

_TRY = "SELECT pg_try_advisory_lock(%(key)s)"
_HELD = (
    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND pid = pg_backend_pid() "
    "AND objsubid = 1 AND ((classid::bigint << 32) | objid::bigint) = %(key)s"
)


def _engine(url: str) -> Engine:
    if not url.startswith(("postgresql://", "postgresql+psycopg://")):
        raise InputError(
            "the leader lock needs a direct PostgreSQL connection",
            where="POLLWATCH_LEADER_DATABASE_URL",
            expected="postgresql://... to the primary (not the pooler, not a standby)",
            found=url.split("://", 1)[0] + "://...",
        )
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    args = {"prepare_threshold": None, "application_name": "pollwatch-publisher", "connect_timeout": 5}
    return create_engine(url, poolclass=NullPool, connect_args=args)


class AdvisoryLock:
    """A session-level advisory lock held on one dedicated connection for as long as it lives.

    :meth:`hold` takes the lock or confirms it is still held, and says which; it never raises for a
    lost or refused connection (that is simply "not held"), so a publisher loop can call it each round.
    """

    def __init__(self, url: str, key: int = PUBLISHER_LOCK) -> None:
        self.key = key
        self._engine = _engine(url)
        self._conn: Connection | None = None
        self._pid: int | None = None
        self.reason = "not tried yet"
        """Why the lock is not held (for logs and `log status`), or "held"."""

    @property
    def backend_pid(self) -> int | None:
        """The server process id of the lock's session (what ``pg_terminate_backend`` takes), if held."""
        return self._pid if self._conn is not None else None

    def hold(self) -> bool:
        """Take the lock, or confirm this session still holds it; False when another session does."""
        try:
            if self._conn is None:
                return self._take()
            if self._still_held(self._conn):
                return True
            self.reason = "the lock session no longer holds the lock"
        except DBAPIError as exc:  # the session is gone (terminated, network, server restart)
            self.reason = f"the lock session failed: {str(exc.orig).strip()[:200]}"
        self._drop()
        return False

    def _take(self) -> bool:
        conn = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            if conn.exec_driver_sql("SELECT pg_is_in_recovery()").scalar_one():
                self.reason = "the server is a standby: advisory locks there exclude nobody"
                conn.close()
                return False
            if not conn.exec_driver_sql(_TRY, {"key": self.key}).scalar_one():
                self.reason = "another publisher holds the lock"
                conn.close()
                return False
            if not self._still_held(conn):  # granted, yet not to this session: a pooler in between
                self.reason = "the lock was granted to another server session (a pooler?): not a leader"
                conn.close()
                return False
        except BaseException:
            conn.close()
            raise
        self._conn = conn
        self._pid = int(conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one())
        self.reason = "held"
        return True

    def _still_held(self, conn: Connection) -> bool:
        return bool(conn.exec_driver_sql(_HELD, {"key": self.key}).scalar_one())

    def release(self) -> None:
        """Give the lock up (closing the session releases it too)."""
        if self._conn is not None:
            with contextlib.suppress(DBAPIError):  # the session is already gone, and with it the lock
                self._conn.exec_driver_sql("SELECT pg_advisory_unlock(%(key)s)", {"key": self.key})
        self._drop()
        self.reason = "released"

    def _drop(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except DBAPIError:
                _log.debug("closing a dead lock session failed", exc_info=True)
            self._conn = None

    def dispose(self) -> None:
        self.release()
        self._engine.dispose()
