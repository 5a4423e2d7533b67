"""Rendered pages kept between changes of the log, so a crowd reading one page costs one render.

A page is stored with the validator (ETag) it was rendered under. A request whose current validator
matches gets the stored bytes; while the log keeps moving, a page younger than ``max_age`` seconds is
served as it is (its freshness line says how old it is, and live blocks update over SSE): the same
trade as ``stale-while-revalidate`` in a cache in front, made once in the server.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass


@dataclass(frozen=True)
class Cached:
    etag: str
    body: bytes
    at: float


class PageCache:
    """An LRU of rendered pages by key (path, query, language)."""

    def __init__(self, *, size: int = 2048, max_age: float = 2.0) -> None:
        self.size = size
        self.max_age = max_age
        self._pages: OrderedDict[tuple[str, ...], Cached] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[str, ...], etag: str) -> Cached | None:
        """The stored page if it was rendered under ``etag`` or less than ``max_age`` seconds ago."""
        with self._lock:
            found = self._pages.get(key)
            if found is None:
                return None
            if found.etag == etag or time.monotonic() - found.at < self.max_age:
                self._pages.move_to_end(key)
                return found
            return None

    def put(self, key: tuple[str, ...], etag: str, body: bytes) -> None:
        with self._lock:
            self._pages[key] = Cached(etag, body, time.monotonic())
            self._pages.move_to_end(key)
            while len(self._pages) > self.size:
                self._pages.popitem(last=False)
