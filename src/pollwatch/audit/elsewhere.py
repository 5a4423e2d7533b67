"""One constituency's audit computed in a child process at a lower CPU priority, for a server's worker.

An audit of one constituency settles every station of it again and runs every check over them: tens of
milliseconds of Python at 341 stations a constituency (Pakistan's 2024 National Assembly). Computed in a
worker, it would hold the worker's interpreter (the GIL) for all that time while the same worker
acknowledges sheets and answers the cheap reads (a constituency's tally, a station), and on election
night those are the answers that must stay fast. So when the results jobs run outside the server
(``pollwatch serve``: :mod:`pollwatch.background`), each worker hands the audits its cache does not hold
to a child process of its own, started with the worker and ``nice`` steps below it: an audit then waits
for a spare CPU, never for the worker's interpreter, and a worker's answers never wait for an audit.

The child reads the same database, so its answer is current to the constituency's latest leaf as an
audit computed in the worker would be, and it returns the version it audited with the report (the worker
keeps them together). An app without the child (tests, embedding) computes its audits in line; so does a
worker whose child died, until it has started a new one.

>>> running()
False
"""

from __future__ import annotations

import concurrent.futures
import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Callable
from typing import TypeVar

from pollwatch.audit.service import AuditReport, audit_election
from pollwatch.storage import Database
from pollwatch.tally.views import constituency_input, constituency_version

log = logging.getLogger(__name__)
T = TypeVar("T")

_POOL: concurrent.futures.ProcessPoolExecutor | None = None
_NICE = 0
_LOCK = threading.Lock()


def start(nice: int) -> None:
    """Start this process's audit child, ``nice`` steps below it; it starts importing what it needs at
    once (an audit asked meanwhile waits for it)."""
    global _POOL, _NICE
    with _LOCK:
        if _POOL is not None:
            return
        _NICE = nice
        _POOL = _new_pool(nice)
        _POOL.submit(_ready)


def stop() -> None:
    """Stop the child (audits asked later are computed in line)."""
    global _POOL
    with _LOCK:
        pool, _POOL = _POOL, None
    if pool is not None:
        pool.shutdown(wait=True, cancel_futures=True)


def running() -> bool:
    """Whether this process hands its audits to a child."""
    return _POOL is not None


def child_pid() -> int | None:
    """The child's process id (None: no child, or it had just died and another is starting)."""
    pool = _POOL
    return None if pool is None else _ask(pool, os.getpid)


def audit(url: str, slug: str, code: str) -> tuple[tuple[int, int], AuditReport] | None:
    """The constituency's version and its whole audit, computed by the child on database ``url``; None
    when there is no child (or it has just died: a new one is started for the next audit)."""
    pool = _POOL
    return None if pool is None else _ask(pool, _audit_in_child, url, slug, code)


def _ask(pool: concurrent.futures.ProcessPoolExecutor, call: Callable[..., T], *args: object) -> T | None:
    """``call(*args)`` in the child; None if the child died meanwhile (another is started)."""
    global _POOL
    try:
        return pool.submit(call, *args).result()
    except concurrent.futures.BrokenExecutor:
        log.warning("the audit child process died; starting another")
        with _LOCK:
            if _POOL is pool:
                _POOL = _new_pool(_NICE)
        return None


def _new_pool(nice: int) -> concurrent.futures.ProcessPoolExecutor:
    # spawn, not fork: the worker has threads (a fork would copy their locks held).
    return concurrent.futures.ProcessPoolExecutor(
        1,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_child_start,
        initargs=(nice, os.getpid()),
    )


_DATABASES: dict[str, Database] = {}


def _child_start(nice: int, parent: int) -> None:
    """In the child: lower its priority, and exit when the worker that started it is gone."""
    if nice:
        os.nice(nice)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, name="pollwatch-audit-parent", daemon=True).start()


def _ready() -> bool:
    return True


def _audit_in_child(url: str, slug: str, code: str) -> tuple[tuple[int, int], AuditReport]:
    db = _DATABASES.get(url)
    if db is None:
        db = _DATABASES[url] = Database(url)
    with db.reads() as conn:
        version = constituency_version(conn, slug, code)
        return version, audit_election(constituency_input(conn, slug, code))
