"""Opening the database: SQLite in WAL mode by default, PostgreSQL by URL, migrated by Alembic."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import threading
import weakref
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
import anyio.to_thread
from sqlalchemy import Connection, Engine, create_engine, event, inspect
from sqlalchemy.exc import OperationalError

from pollwatch import config
from pollwatch.errors import StorageError
from pollwatch.storage.gate import ReadGate

if TYPE_CHECKING:
    from pollwatch.storage.statistics import StatisticsKeeper

_MIGRATIONS = Path(__file__).parent / "migrations"
READ_POOL = (5, 15)
"""The public readers' pool: connections kept, and more opened under load (20 at most)."""
READ_TURNS = 15
"""Requests holding a public read connection at once (:meth:`Database.reading`): fewer than the readers'
pool holds, so that code opening one directly (:meth:`Database.reads` in a thread) always sees one free
up."""
READ_URL = "POLLWATCH_READ_DATABASE_URL"
SETTINGS = {
    READ_URL: "SQLAlchemy URL of a streaming replica for public reads (default: the database itself); "
    "receipts, intake and checkpoints always use POLLWATCH_DATABASE_URL",
}


def _sqlite_pragmas(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
    # WAL lets readers (the dashboard) run while one writer appends; synchronous=FULL makes every
    # commit durable before it is acknowledged, which the evidence log depends on.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


class Database:
    """An open database: the engine plus migration and transaction helpers.

    >>> db = Database("sqlite://")
    >>> db.upgrade()
    >>> db.is_current()
    True
    """

    def __init__(self, url: str | None = None, *, read_url: str | None = None) -> None:
        self.url = config.database_url(url)
        self.engine: Engine = _create_engine(self.url)
        self.read_url = read_url or (os.environ.get(READ_URL) or None if url is None else None)
        """Where :meth:`reads` goes (a replica); None: this database. From ``POLLWATCH_READ_DATABASE_URL``
        only when the database itself comes from the environment too."""
        self._read_engine: Engine | None = None
        self._read_lock = threading.Lock()
        self._turns: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, anyio.Semaphore] = (
            weakref.WeakKeyDictionary()
        )
        self.gate = ReadGate.from_environment()
        """Bounds the expensive reads of this process (:mod:`pollwatch.storage.gate`)."""
        self._statistics: StatisticsKeeper | None = None

    @property
    def statistics(self) -> StatisticsKeeper:
        """Keeps PostgreSQL's planner statistics current as this process writes rows
        (:mod:`pollwatch.storage.statistics`): whoever writes many batches tells it how many rows."""
        if self._statistics is None:
            from pollwatch.storage.statistics import StatisticsKeeper

            self._statistics = StatisticsKeeper(self)
        return self._statistics

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def upgrade(self) -> None:
        """Bring the schema to the newest Alembic revision."""
        from alembic import command

        try:
            with self.engine.begin() as conn:
                command.upgrade(_alembic_config(conn), "head")
        except OperationalError as exc:
            raise StorageError(
                f"cannot open the database {self.safe_url}",
                found=str(exc.orig).strip(),
                remedy="check --db / POLLWATCH_DATABASE_URL and that the server is running",
            ) from exc

    def is_current(self) -> bool:
        """Whether the schema is at the newest revision."""
        from alembic.runtime.migration import MigrationContext
        from alembic.script import ScriptDirectory

        with self.engine.connect() as conn:
            current = MigrationContext.configure(conn).get_current_revision()
            head = ScriptDirectory.from_config(_alembic_config(conn)).get_current_head()
        return current == head

    def require_current(self) -> None:
        """Raise a StorageError that says how to fix it when the schema is missing or old."""
        try:
            current = self.is_current()
        except OperationalError as exc:
            raise StorageError(
                f"cannot open the database {self.safe_url}",
                found=str(exc.orig),
                remedy="check --db / POLLWATCH_DATABASE_URL",
            ) from exc
        if not current:
            raise StorageError(
                f"the database {self.safe_url} is not initialised or is out of date",
                remedy="run `pollwatch init` (it applies the migrations)",
            )

    @property
    def safe_url(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """A transaction: committed when the block ends, rolled back entirely if it raises."""
        with self.engine.begin() as conn:
            yield conn

    def dedicated(self) -> Connection:
        """A connection of the caller's own, kept across transactions (the caller closes it).

        For one long-lived writer: it skips the pool's checkout and liveness ping per transaction.
        """
        return self.engine.connect()

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            yield conn

    @contextmanager
    def reads(self) -> Iterator[Connection]:
        """A connection for public reads, from a pool of its own.

        Intake, checkpoints and receipts use :meth:`begin`, :meth:`connect` and :meth:`dedicated`;
        however many readers queue here, they never wait for, or take, one of those connections.
        (An in-memory SQLite database has one connection only, so it is shared.) With :attr:`read_url`
        (a streaming replica) the public reads go there: they may lag the primary by the replication
        delay, which a public page can afford and a receipt cannot (receipts read the primary).
        """
        with self._reads_engine().connect() as conn:
            yield conn

    @contextmanager
    def expensive(self) -> Iterator[Connection]:
        """A read connection held under :attr:`gate`: at most a few expensive reads at once (429 beyond)."""
        with self.gate.slot(), self.reads() as conn:
            yield conn

    @asynccontextmanager
    async def reading(self, *, expensive: bool = False) -> AsyncIterator[Connection]:
        """A public read connection for a request (:meth:`reads`, or :meth:`expensive`), its turn awaited in
        the event loop among at most :data:`READ_TURNS` holders.

        A request's connection is opened in one thread, used by its endpoint in another, closed in a third.
        Opened by a thread that then blocks on an exhausted pool, it would hold that thread while the holders
        of every connection wait for a free thread to run their endpoints: with enough readers at once,
        every thread blocked and every connection held until the pool's timeout failed them all (seen on
        PostgreSQL at 500 sheets/s). Awaiting a turn here instead keeps the holders fewer than the
        connections, so no thread ever blocks on the pool for long.
        """
        async with self._turn():
            cm = self.expensive() if expensive else self.reads()
            conn = await anyio.to_thread.run_sync(cm.__enter__)
            failed: BaseException | None = None
            try:
                yield conn
            except BaseException as e:
                failed = e
                raise
            finally:
                with anyio.CancelScope(shield=True):  # closing needs no turn and no free thread
                    exit_args = (type(failed), failed, failed.__traceback__) if failed else (None, None, None)
                    await anyio.to_thread.run_sync(cm.__exit__, *exit_args, limiter=anyio.CapacityLimiter(1))

    def _turn(self) -> anyio.Semaphore:
        loop = asyncio.get_running_loop()
        with self._read_lock:
            turns = self._turns.get(loop)
            if turns is None:
                turns = self._turns[loop] = anyio.Semaphore(READ_TURNS)
            return turns

    def _reads_engine(self) -> Engine:
        with self._read_lock:
            if self._read_engine is None:
                memory = self.url.startswith("sqlite") and (
                    "///" not in self.url or self.url.endswith(":memory:")
                )
                if self.read_url:
                    self._read_engine = _create_engine(self.read_url, pool=READ_POOL)
                else:
                    self._read_engine = self.engine if memory else _create_engine(self.url, pool=READ_POOL)
            return self._read_engine

    def table_names(self) -> list[str]:
        return sorted(inspect(self.engine).get_table_names())

    def dispose(self) -> None:
        self.engine.dispose()
        if self._read_engine is not None and self._read_engine is not self.engine:
            self._read_engine.dispose()


def _create_engine(url: str, *, pool: tuple[int, int] = (5, 10)) -> Engine:
    """An engine on ``url`` whose pool keeps ``pool[0]`` connections and opens up to ``pool[1]`` more."""
    size = {"pool_size": pool[0], "max_overflow": pool[1]}
    if url.startswith("sqlite"):
        path = url.split("///", 1)[1] if "///" in url else ""
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        from sqlalchemy.pool import StaticPool

        kwargs: dict[str, Any] = {"connect_args": {"check_same_thread": False, "timeout": 30}}
        if not path or path == ":memory:":
            kwargs["poolclass"] = StaticPool
        else:
            kwargs.update(size)
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    # No server-side prepared statements: psycopg would prepare a query after five runs and PostgreSQL
    # may then keep a generic plan chosen while a table was still empty (a sequential scan of the
    # submissions on election night). Planning each query against current statistics costs far less.
    return create_engine(url, pool_pre_ping=True, connect_args={"prepare_threshold": None}, **size)


def _alembic_config(conn: Connection) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    cfg.attributes["connection"] = conn
    return cfg
