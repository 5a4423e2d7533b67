"""Live updates for every open page from one poll of the projection, however many readers are connected.

A :class:`Watcher` reads the projection cursor and the checkpoint size every ``interval`` seconds (one
small read for the whole process). When either moves it starts a new *generation*. Each live page has
one :class:`Channel` for all its readers: at every generation it computes the page's blocks once (the
blocks themselves come from the page store, :mod:`pollwatch.site.cache`, rendered once per version of
the page) and wakes its readers only when a block changed, so a thousand readers of one constituency
cost one read per change of the log and are woken only when there is something to send them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable, Hashable
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TypeVar

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
        self._channels: dict[Hashable, Channel] = {}
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pollwatch-live")
        """Where every channel computes its blocks, one at a time: under the GIL parallel renders gain
        nothing, and each more thread that wants the interpreter makes every page request wait longer."""

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

    @contextlib.asynccontextmanager
    async def channel(
        self, key: Hashable, compute: Callable[[], dict[str, str]], *, quiet: float = 10.0
    ) -> AsyncIterator[Channel]:
        """The one :class:`Channel` of ``key`` while the block runs (started by its first reader,
        stopped after its last)."""
        found = self._channels.get(key)
        if found is None or found.closed:
            found = Channel(self, compute, quiet=quiet, executor=self.executor)
            self._channels[key] = found
        found.readers += 1
        try:
            yield found
        finally:
            found.readers -= 1
            if found.readers == 0:
                found.close()
                if self._channels.get(key) is found:
                    del self._channels[key]

    async def stop(self) -> None:
        for channel in self._channels.values():
            channel.close()
        self._channels = {}
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):  # stopping: how it ended is moot
                await self._task
            self._task = None


@dataclass(frozen=True)
class Published:
    """One state of a page's live blocks as its readers are sent it."""

    serial: int
    tick: Tick
    blocks: dict[str, str]
    encoded: dict[str, bytes] = field(default_factory=dict, compare=False)
    """Each block as its readers are sent it, encoded once for all of them (by the adapter)."""


class Channel:
    """A page's live blocks, computed once per change of the log for all its readers.

    One task per page follows the watcher: at every tick it computes the blocks (in a thread) and
    publishes them only when one of them changed, the freshness line alone at most every ``quiet``
    seconds (it changes with every checkpoint). Readers wait for a new publication, not for every
    tick, so a thousand readers of a page whose seat has not changed are not woken four times a second.
    """

    def __init__(
        self,
        watcher: Watcher,
        compute: Callable[[], dict[str, str]],
        *,
        quiet: float,
        executor: Executor | None = None,
    ) -> None:
        self.watcher = watcher
        self.executor = executor
        self.compute = compute
        self.quiet = quiet
        self.readers = 0
        self.closed = False
        self.latest: Published | None = None
        self._published_at = -float("inf")
        self._changed = asyncio.Condition()
        self._task = asyncio.get_running_loop().create_task(self._run(), name="pollwatch-live-channel")

    async def _run(self) -> None:
        tick = await self.watcher.current()
        while not self.closed:
            try:
                blocks = await asyncio.get_running_loop().run_in_executor(self.executor, self.compute)
            except Exception:  # the database is busy: the next tick tries again
                log.exception("live blocks could not be computed")
            else:
                if self._worth_sending(blocks):
                    serial = self.latest.serial + 1 if self.latest is not None else 1
                    self.latest = Published(serial, tick, blocks)
                    self._published_at = time.monotonic()
                    async with self._changed:
                        self._changed.notify_all()
            tick = await self.watcher.next_tick(tick.generation)

    def _worth_sending(self, blocks: dict[str, str]) -> bool:
        """A block other than the freshness line changed, or the freshness line did and the last
        publication is ``quiet`` seconds old."""
        if self.latest is None:
            return True
        before = self.latest.blocks
        if any(before.get(name) != block for name, block in blocks.items() if name != "freshness"):
            return True
        quiet = time.monotonic() - self._published_at >= self.quiet
        return quiet and before.get("freshness") != blocks.get("freshness")

    async def next(self, after: int) -> Published:
        """Wait for a publication newer than serial ``after`` (0: the first) and return it."""
        async with self._changed:
            await self._changed.wait_for(lambda: self.latest is not None and self.latest.serial > after)
        assert self.latest is not None
        return self.latest

    def close(self) -> None:
        self.closed = True
        self._task.cancel()
