"""Small helpers shared by the intake storage modules."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Connection, CursorResult


def primary_key(result: CursorResult[Any]) -> int:
    """The new row's id of a single-row INSERT."""
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def aware(value: dt.datetime) -> dt.datetime:
    """A stored time as UTC-aware (SQLite hands back naive UTC)."""
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def when(conn: Connection, value: dt.datetime | None) -> Any:
    """Raw inserts: SQLite stores naive UTC text as SQLAlchemy reads it; PostgreSQL takes the datetime."""
    if value is None or conn.dialect.name != "sqlite":
        return value
    return value.astimezone(dt.UTC).replace(tzinfo=None).isoformat(sep=" ")
