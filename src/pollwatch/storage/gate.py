"""A bound on expensive reads, so that no number of anonymous readers can starve intake.

Expensive reads (a forensic test with thousands of resamples, a whole-election tally) run at most
``slots`` at a time, on connections of their own (:meth:`pollwatch.storage.Database.reads`); a caller
that cannot get a slot within ``wait`` seconds is refused at once with 429 and ``Retry-After``,
instead of holding a worker thread and a database connection while it queues.

* ``POLLWATCH_EXPENSIVE_READS``: expensive reads at once per process (default 2).
* ``POLLWATCH_EXPENSIVE_WAIT``: seconds to wait for a slot before refusing (default 2).

>>> gate = ReadGate(slots=1, wait=0)
>>> with gate.slot():
...     gate.busy
1
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from pollwatch.errors import InputError, RateLimitError

SETTINGS = {
    "POLLWATCH_EXPENSIVE_READS": "expensive reads (forensics, whole-election results) at once (default 2)",
    "POLLWATCH_EXPENSIVE_WAIT": "seconds an expensive read waits for a slot before a 429 (default 2)",
}


class ReadGate:
    """At most ``slots`` holders at once; a caller waits at most ``wait`` seconds for a slot."""

    def __init__(self, *, slots: int, wait: float) -> None:
        if slots < 1 or wait < 0:
            raise InputError(
                "bad expensive-read bound", expected="slots >= 1, wait >= 0", found=f"{slots}, {wait}"
            )
        self.slots = slots
        self.wait = wait
        self._semaphore = threading.BoundedSemaphore(slots)
        self._lock = threading.Lock()
        self.busy = 0
        self.refused = 0

    @classmethod
    def from_environment(cls) -> ReadGate:
        try:
            slots = int(os.environ.get("POLLWATCH_EXPENSIVE_READS", "2") or 2)
            wait = float(os.environ.get("POLLWATCH_EXPENSIVE_WAIT", "2") or 2)
        except ValueError as exc:
            raise InputError(
                "POLLWATCH_EXPENSIVE_READS must be an integer and POLLWATCH_EXPENSIVE_WAIT a number",
                found=str(exc),
            ) from exc
        return cls(slots=slots, wait=wait)

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Hold one slot for the block, or raise RateLimitError (429) when none frees up in time."""
        if not self._semaphore.acquire(timeout=self.wait):
            with self._lock:
                self.refused += 1
            raise RateLimitError(
                "too many expensive reads at once; submissions are served first",
                expected=f"at most {self.slots} at a time",
                remedy="retry in a few seconds, or use the published bundle or CSV exports",
            )
        with self._lock:
            self.busy += 1
        try:
            yield
        finally:
            with self._lock:
                self.busy -= 1
            self._semaphore.release()
