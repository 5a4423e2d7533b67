"""Pages rendered once per version of what they show, and served from memory to every reader until then.

Each page names a cheap *version* of its data: a constituency's projection version for its own page
and its stations' pages (:func:`pollwatch.tally.views.constituency_version`), the projection cursor
for whole-election pages. :meth:`PageStore.get` renders a page the first time and whenever its version
has moved; every other request gets the stored page. The live blocks a page is made of (a seat's
``result``) are rendered in the same pass and kept with it, so the server-sent-event fan-out and the
page requests share one render per change.

A moved version does not make readers wait: the stored page is served as it is while one background
thread renders the new one (``stale-while-revalidate``, made once in the server), and a page is
re-rendered at most every ``min_age`` seconds, so a log moving at 20 sheets a second costs a
whole-election page one render every few seconds, not one per request. Only the first request for a
page, and callers that ask to ``wait`` (the live fan-out, tests), render in line; concurrent requests
for the same page share that one render.

The freshness line is not part of a stored page: the adapter splices the current one in at every
request (:data:`FRESHNESS_SLOT`), so a page whose data has not changed for an hour still says how old
the log's checkpoint is.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pollwatch.site.shelf import Shelf, Stamp

log = logging.getLogger(__name__)

FRESHNESS_SLOT = "<!--pollwatch:freshness-->"
"""Where a stored page takes the freshness line of the moment it is served."""
ASK_AGAIN = 1.0
"""Seconds before a worker asks the renderer again for a page still not current."""


@dataclass(frozen=True)
class Page:
    """One rendered page: its body around the freshness slot, its live blocks, what it was made from."""

    version: Hashable
    """What the page was rendered from; None: render again at the next chance (an incomplete page)."""
    head: str
    tail: str
    blocks: Mapping[str, str] = field(default_factory=dict)
    serial: int = 0
    """Counts renders in this process: part of the page's validator."""
    at: float = 0.0
    """When it was rendered (seconds since the epoch: the same clock in every process)."""

    def body(self, freshness: str) -> bytes:
        return (self.head + freshness + self.tail).encode()


def same_version(a: Hashable, b: Hashable) -> bool:
    """Whether two versions are one (a version read back from a shelf has lists where tuples were)."""
    return a == b or json.dumps(a, default=str) == json.dumps(b, default=str)


def split_page(html: str, *, version: Hashable, blocks: Mapping[str, str] | None = None) -> Page:
    """A rendered page cut at :data:`FRESHNESS_SLOT` (a page without the slot keeps all of it in head)."""
    head, _, tail = html.partition(FRESHNESS_SLOT)
    return Page(version, head, tail, dict(blocks or {}))


class PageStore:
    """An LRU of rendered pages by key (path, query, language ...), each kept with its version."""

    def __init__(
        self, *, size: int = 4096, current: bool = False, workers: int = 1, shelf: Shelf | None = None
    ) -> None:
        self.size = size
        self.shelf = shelf
        """Where pages are shared with the other processes of the server (None: this process only)."""
        self._stamps: dict[Hashable, Stamp] = {}
        self._asked: dict[Hashable, float] = {}
        self.current = current
        """Always render a moved page before answering, however recent (tests that read right after a
        change)."""
        self.renders = 0
        self._pages: OrderedDict[Hashable, Page] = OrderedDict()
        self._pending: dict[Hashable, Future[Page]] = {}
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="pollwatch-pages")

    def get(
        self,
        key: Hashable,
        version: Hashable,
        render: Callable[[bool], Page],
        *,
        min_age: float = 0.0,
        wait: bool = False,
        url: str | None = None,
        static: bool = False,
    ) -> Page:
        """The stored page for ``key``. Rendered now if there is none; when ``version`` has moved and the
        page is at least ``min_age`` old, rendered again: now if ``wait``, else in the background while
        the stored one is returned. ``render(in_line)`` is told whether it runs in the caller's thread
        (it may then use the caller's database connection) or in the store's own.

        With a shelf (:mod:`pollwatch.site.shelf`), a page given its ``url`` is shared: read from the
        shelf when another process has rendered it, saved there when rendered here, and a moved page is
        asked of the shelf's renderer instead of rendered in the background here."""
        if self.current:
            min_age, wait = 0.0, True
        elif self.shelf is not None and url is not None:
            shared = self._shared(key, version, min_age=min_age, url=url, static=static)
            if shared is not None:
                return shared
        with self._lock:
            found = self._pages.get(key)
            if found is not None:
                self._pages.move_to_end(key)
                if found.version is not None and found.version == version:
                    return found
                if time.time() - found.at < min_age:
                    return found  # moved, but rendered moments ago: not worth a render yet
                if not wait:
                    if key not in self._pending:
                        self._pending[key] = self._pool.submit(self._render, key, render, False)
                    return found
            pending = self._pending.get(key)
            if pending is None:
                pending = Future()
                self._pending[key] = pending
                mine = True
            else:
                mine = False
        if mine:
            try:
                pending.set_result(self._render(key, render, True, save=url is not None))
            except BaseException as exc:
                pending.set_exception(exc)
                raise
        return pending.result()

    def _shared(
        self, key: Hashable, version: Hashable, *, min_age: float, url: str, static: bool
    ) -> Page | None:
        """A worker's page from memory or, when another process replaced it, from the shelf; a moved
        one is asked of the renderer and served meanwhile. None: nothing stored yet (render in line)."""
        assert self.shelf is not None
        with self._lock:
            found = self._pages.get(key)
            known = self._stamps.get(key)
        if found is not None and found.version is not None and same_version(found.version, version):
            return found
        stamp = self.shelf.stamp(key)
        if stamp is not None and stamp != known:
            loaded = self.shelf.load(key)
            if loaded is not None:
                found = self._keep(key, loaded[0], stamp=loaded[1])
        if found is None:
            return None
        current = found.version is not None and same_version(found.version, version)
        if current or time.time() - found.at < min_age:
            return found
        now = time.monotonic()
        with self._lock:
            asked = self._asked.get(key, -ASK_AGAIN)
            if now - asked >= ASK_AGAIN:
                self._asked[key] = now
        if now - asked >= ASK_AGAIN:
            self.shelf.ask(key, url=url, static=static)
        return found

    def _keep(self, key: Hashable, page: Page, *, stamp: Stamp | None) -> Page:
        with self._lock:
            self._pages[key] = page
            self._pages.move_to_end(key)
            if stamp is not None:
                self._stamps[key] = stamp
                self._asked.pop(key, None)
            while len(self._pages) > self.size:
                old, _ = self._pages.popitem(last=False)
                self._stamps.pop(old, None)
        return page

    def _render(
        self, key: Hashable, render: Callable[[bool], Page], in_line: bool, *, save: bool = False
    ) -> Page:
        try:
            page = render(in_line)
        except BaseException:
            with self._lock:
                self._pending.pop(key, None)
            log.exception("rendering %r failed", key)
            raise
        with self._lock:
            self.renders += 1
            serial = self.renders
        page = Page(page.version, page.head, page.tail, page.blocks, serial, time.time())
        stamp = None
        if save and self.shelf is not None:
            page = self.shelf.save(key, page)
            stamp = self.shelf.stamp(key)
        page = self._keep(key, page, stamp=stamp)
        with self._lock:
            self._pending.pop(key, None)
        return page

    def peek(self, key: Hashable) -> Page | None:
        """The stored page, whatever its version (None if never rendered or evicted)."""
        with self._lock:
            return self._pages.get(key)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
