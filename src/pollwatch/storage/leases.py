"""Leases: a background job that every process could run, run by one process at a time.

A lease is a row naming its holder and when it expires. The holder renews it while it works; another
process takes it over only once it has expired (its holder died or stopped), so a deployment of many
workers runs one auditor, not one per worker. A lease is an efficiency, not a safety guarantee: two
holders in the window of a clock jump would only do the same work twice.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Connection, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from pollwatch.storage.projection_schema import leases


def acquire(conn: Connection, name: str, holder: str, ttl: float) -> bool:
    """Take or renew lease ``name`` for ``holder`` for ``ttl`` seconds; False while another holds it."""
    now = dt.datetime.now(dt.UTC)
    until = now + dt.timedelta(seconds=ttl)
    taken = conn.execute(
        update(leases)
        .where(leases.c.name == name, or_(leases.c.holder == holder, leases.c.expires_at < now))
        .values(holder=holder, expires_at=until)
    ).rowcount
    if taken:
        return True
    if conn.execute(select(leases.c.name).where(leases.c.name == name)).first() is not None:
        return False
    try:
        with conn.begin_nested():
            conn.execute(insert(leases).values(name=name, holder=holder, expires_at=until))
    except IntegrityError:  # another process created it first: theirs
        return False
    return True


def release(conn: Connection, name: str, holder: str) -> None:
    """Give lease ``name`` up now (if ``holder`` holds it), so another process need not wait for expiry."""
    conn.execute(
        update(leases)
        .where(leases.c.name == name, leases.c.holder == holder)
        .values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
    )


def holder_of(conn: Connection, name: str) -> str | None:
    """Who holds lease ``name`` now (None when nobody does)."""
    row = conn.execute(select(leases.c.holder, leases.c.expires_at).where(leases.c.name == name)).first()
    if row is None:
        return None
    expires = row.expires_at if row.expires_at.tzinfo else row.expires_at.replace(tzinfo=dt.UTC)
    return str(row.holder) if expires > dt.datetime.now(dt.UTC) else None
