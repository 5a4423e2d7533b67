"""The freshness line every page carries, and the cache validators derived from it.

A page is a view of the log at one moment: the projection has applied ``applied`` leaves, the latest
signed checkpoint covers ``snapshot`` leaves with ``root``. The page is *stale* when the log has grown
past the checkpoint and that checkpoint is more than :data:`STALE_AFTER` old (the ECI complaint: a
results page that silently lags the count).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

from sqlalchemy import Connection

from pollwatch.storage import log as log_store
from pollwatch.storage import projections as store
from pollwatch.tally.projector import NAME

STALE_AFTER = dt.timedelta(minutes=5)


@dataclass(frozen=True)
class Freshness:
    """What a page was read from: log size, projection cursor, the latest checkpoint and its age."""

    log_size: int
    applied: int
    snapshot: int
    root_hex: str
    signed_at: dt.datetime | None
    lag: dt.timedelta
    """How long the log has had entries beyond the checkpoint (zero when the checkpoint is current)."""

    @property
    def stale(self) -> bool:
        return self.lag > STALE_AFTER

    @property
    def behind(self) -> int:
        """Log entries not yet covered by the checkpoint."""
        return max(self.log_size - self.snapshot, 0)

    def etag(self, *parts: str) -> str:
        """A strong validator: changes with the projection, the checkpoint and whatever else names the
        page (language, query)."""
        text = "|".join((str(self.applied), str(self.snapshot), self.root_hex, *parts))
        return '"' + hashlib.sha256(text.encode()).hexdigest()[:20] + '"'


def get_freshness(conn: Connection, *, now: dt.datetime | None = None) -> Freshness:
    """Read the log state, the projection cursor and the latest checkpoint (three small reads)."""
    state = log_store.get_state(conn)
    applied = store.get_cursor(conn, NAME)
    checkpoint = log_store.get_checkpoint(conn, state.checkpoint_size) if state.checkpoint_size else None
    signed_at = checkpoint.signed_at if checkpoint is not None else None
    if signed_at is not None and signed_at.tzinfo is None:
        signed_at = signed_at.replace(tzinfo=dt.UTC)
    now = now or dt.datetime.now(dt.UTC)
    lag = dt.timedelta(0)
    if state.size > state.checkpoint_size and signed_at is not None:
        lag = max(now - signed_at, dt.timedelta(0))
    return Freshness(
        log_size=state.size,
        applied=applied,
        snapshot=state.checkpoint_size,
        root_hex=checkpoint.root.hex() if checkpoint is not None else "",
        signed_at=signed_at,
        lag=lag,
    )
