"""A single writer thread that commits concurrent submissions in batches (group commit).

Each request waits until the transaction holding its sheet and its log leaf is committed, so nothing
is acknowledged before it is durable; batching turns N fsyncs into one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
from concurrent.futures import Future
from dataclasses import dataclass

from sqlalchemy import Connection

from pollwatch.errors import Error, StorageError
from pollwatch.intake.service import Accepted, Cache, Job, refused, write_batch
from pollwatch.storage import Database

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Item:
    """A queued job and where its outcome goes: a thread's Future, or an event loop's future."""

    job: Job
    future: Future[Accepted] | None = None
    waiter: tuple[asyncio.AbstractEventLoop, asyncio.Future[Accepted]] | None = None


class Writer:
    """Queue of jobs drained by one thread, ``max_batch`` jobs per transaction."""

    def __init__(self, db: Database, *, max_batch: int = 200) -> None:
        self.db = db
        self.max_batch = max_batch
        self._queue: queue.Queue[_Item | None] = queue.Queue()
        self._cache = Cache()
        self.statistics = db.statistics
        self._conn: Connection | None = None
        self._thread = threading.Thread(target=self._run, name="pollwatch-intake-writer", daemon=True)
        self._thread.start()

    def submit(self, job: Job, *, timeout: float = 60.0) -> Accepted:
        """Queue ``job`` and block until it is committed (or refused: its Error is raised)."""
        future: Future[Accepted] = Future()
        self._queue.put(_Item(job, future=future))
        return future.result(timeout=timeout)

    async def submit_async(self, job: Job) -> Accepted:
        """Like :meth:`submit`, without holding a thread while waiting."""
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[Accepted] = loop.create_future()
        self._queue.put(_Item(job, waiter=(loop, waiter)))
        return await waiter

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=10)

    def _connection(self) -> Connection:
        """The writer's own connection, opened on first use and after a failure."""
        if self._conn is None or self._conn.closed or self._conn.invalidated:
            self._conn = self.db.dedicated()
        return self._conn

    def _drop_connection(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):  # closing a broken connection may fail again
                self._conn.close()
        self._conn = None

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                self._drop_connection()
                return
            batch = [first]
            while len(batch) < self.max_batch:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    self._queue.put(None)
                    break
                batch.append(item)
            self._commit(batch)

    def _commit(self, batch: list[_Item]) -> None:
        try:
            conn = self._connection()
            with conn.begin():
                outcomes = write_batch(conn, [i.job for i in batch], self._cache)
        except Exception as exc:  # the whole transaction rolled back
            log.exception("intake batch of %d failed", len(batch))
            self._drop_connection()  # it may be the connection that failed: the next batch opens anew
            self._cache = Cache()
            if len(batch) > 1:
                for item in batch:  # retry one by one so one bad job cannot sink the others
                    self._commit([item])
                return
            _settle([(batch[0], refused(exc))])
            return
        _settle(list(zip(batch, outcomes, strict=True)))
        self.statistics.wrote(sum(1 for o in outcomes if not isinstance(o, Error)))


def _settle(results: list[tuple[_Item, Accepted | Error]]) -> None:
    """Hand each outcome to its waiter: one wake-up per event loop per batch, not one per sheet."""
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Accepted], Accepted | Error]]] = {}
    for item, outcome in results:
        if item.waiter is not None:
            loop, waiter = item.waiter
            by_loop.setdefault(loop, []).append((waiter, outcome))
        elif item.future is not None:
            if isinstance(outcome, Error):
                item.future.set_exception(outcome)
            else:
                item.future.set_result(outcome)
    for loop, pending in by_loop.items():
        with contextlib.suppress(RuntimeError):  # the loop has closed: nobody is waiting any more
            loop.call_soon_threadsafe(_resolve_all, pending)


def _resolve_all(pending: list[tuple[asyncio.Future[Accepted], Accepted | Error]]) -> None:
    for waiter, outcome in pending:
        if waiter.done():  # the request was cancelled (client went away); the sheet is stored anyway
            continue
        if isinstance(outcome, Error):
            waiter.set_exception(outcome)
        else:
            waiter.set_result(outcome)


_WRITERS: dict[int, Writer] = {}
_LOCK = threading.Lock()


def get_writer(db: Database) -> Writer:
    """The writer of this database in this process (one per Database object)."""
    with _LOCK:
        writer = _WRITERS.get(id(db))
        if writer is None or writer.db is not db:
            writer = _WRITERS[id(db)] = Writer(db)
        return writer


__all__ = ["StorageError", "Writer", "get_writer"]
