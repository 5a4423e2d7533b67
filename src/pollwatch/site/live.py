"""Live updates for every open page from one poll of the projection, however many readers are connected.

A :class:`Watcher` reads the projection cursor and the checkpoint size every ``interval`` seconds (one
small read for the whole process). When either moves it starts a new *generation* and wakes every
waiting reader. Whatever readers then need (a constituency's version, a rendered block) is computed
once per generation and key through :meth:`Watcher.memo`, so a thousand readers of one constituency
cost one read per change, not a thousand; the blocks themselves come from the page store
(:mod:`pollwatch.site.cache`), rendered once per version of the page for its readers and its requests.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from pollwatch.storage import Database
from pollwatch.storage import log as log_store
from pollwatch.storage import projections as store
from pollwatch.tally.projector import NAME

T = TypeVar("T")
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Tick:
    """One state of the log as pages show it."""

    generation: int
    applied: int
    snapshot: int


class Watcher:
    """Polls the projection cursor and checkpoint size; wakes readers when either changes."""

    def __init__(self, db: Database, *, interval: float = 0.25) -> None:
        self.db = db
        self.interval = interval
        self.tick = Tick(0, -1, -1)
        self._changed: asyncio.Condition | None = None
        self._task: asyncio.Task[None] | None = None
        self._memo: dict[Any, asyncio.Future[Any]] = {}

    def _read(self) -> tuple[int, int]:
        with self.db.reads() as conn:
            return store.get_cursor(conn, NAME), log_store.get_state(conn).checkpoint_size

    async def _run(self) -> None:
        assert self._changed is not None
        while True:
            try:
                applied, snapshot = await asyncio.to_thread(self._read)
            except Exception:  # the database is busy or restarting: try again next round
                log.exception("live watcher could not read the projection cursor")
            else:
                if (applied, snapshot) != (self.tick.applied, self.tick.snapshot):
                    self.tick = Tick(self.tick.generation + 1, applied, snapshot)
                    self._memo = {}
                    async with self._changed:
                        self._changed.notify_all()
            await asyncio.sleep(self.interval)

    def _start(self) -> asyncio.Condition:
        if self._changed is None or self._task is None or self._task.done():
            self._changed = asyncio.Condition()
            self._task = asyncio.get_running_loop().create_task(self._run(), name="pollwatch-live")
        return self._changed

    async def current(self) -> Tick:
        """The latest tick (waits for the first read after start)."""
        return await self.next_tick(0)

    async def next_tick(self, after: int) -> Tick:
        """Wait until a generation newer than ``after`` exists and return it."""
        changed = self._start()
        async with changed:
            await changed.wait_for(lambda: self.tick.generation > after)
        return self.tick

    async def memo(self, key: Any, compute: Callable[[], T]) -> T:
        """``compute()`` (run in a thread) once per generation and key, shared by every reader."""
        found = self._memo.get(key)
        if found is None:
            found = asyncio.get_running_loop().create_future()
            self._memo[key] = found
            try:
                found.set_result(await asyncio.to_thread(compute))
            except Exception as exc:
                found.set_exception(exc)
                del self._memo[key]
                raise
        result: T = await asyncio.shield(found)
        return result

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):  # stopping: how it ended is moot
                await self._task
            self._task = None
