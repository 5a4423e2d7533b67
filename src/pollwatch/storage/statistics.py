"""Keeping PostgreSQL's planner statistics current while intake grows tables from empty.

PostgreSQL plans from table statistics. A table that was empty when last analysed (election night
starts that way) makes the planner guess that each looked-up value matches 0.5 % of its rows, so
batch lookups by key (earlier submissions, used signatures, stored hashes for proofs) turn into
sequential scans that slow down as the night goes on. Autovacuum refreshes statistics eventually,
but only once a minute at best, and not at all where it is switched off. :class:`StatisticsKeeper`
runs ``ANALYZE`` on the intake and log tables whenever this process has written a quarter more rows
(at least 1,000) since the last time, at most every 10 seconds, in a background thread (``ANALYZE``
samples a bounded number of rows and blocks no reads or writes).
SQLite plans point lookups by index without statistics: nothing to do there.
"""

from __future__ import annotations

import logging
import threading
import time

from pollwatch.storage.db import Database

log = logging.getLogger(__name__)

TABLES = (
    "submissions", "sheets", "sheet_votes", "log_entries", "log_hashes",
    "station_results", "station_copies", "constituency_results", "other_results",
)  # fmt: skip
MIN_GROWTH = 1_000
MIN_SECONDS = 10.0


class StatisticsKeeper:
    """Counts rows written and refreshes statistics when they have grown enough (PostgreSQL only)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.enabled = db.engine.dialect.name == "postgresql"
        self._written = 0
        self._at_last = 0
        self._last_time = float("-inf")
        self._running = threading.Lock()

    def wrote(self, rows: int) -> threading.Thread | None:
        """Record ``rows`` new rows; start a refresh if due (returns its thread, for tests)."""
        if not self.enabled:
            return None
        self._written += rows
        if self._written - self._at_last < max(MIN_GROWTH, self._at_last // 4):
            return None
        if time.monotonic() - self._last_time < MIN_SECONDS:
            return None
        if not self._running.acquire(blocking=False):
            return None  # one already running
        self._at_last = self._written
        self._last_time = time.monotonic()
        thread = threading.Thread(target=self._refresh, name="pollwatch-analyze", daemon=True)
        thread.start()
        return thread

    def _refresh(self) -> None:
        try:
            refresh(self.db)
        except Exception:  # statistics are an optimisation: intake goes on without them
            log.exception("refreshing planner statistics failed")
        finally:
            self._running.release()


def refresh(db: Database) -> None:
    """Run ANALYZE on the tables intake and the log grow (PostgreSQL)."""
    with db.begin() as conn:
        conn.exec_driver_sql("ANALYZE " + ", ".join(TABLES))
