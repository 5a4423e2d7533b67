"""Checklists and incidents: their rows, written by the submission core with their leaves, and read back."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, func, insert, select

from pollwatch.storage import schema as t
from pollwatch.storage.observe_schema import checklists, incidents


def insert_checklists(conn: Connection, rows: Sequence[dict[str, Any]]) -> list[int]:
    """Insert checklist rows (the columns of ``checklists`` but ``id``); their ids, in order."""
    return _insert(conn, checklists, rows)


def insert_incidents(conn: Connection, rows: Sequence[dict[str, Any]]) -> list[int]:
    """Insert incident rows (the columns of ``incidents`` but ``id``); their ids, in order."""
    return _insert(conn, incidents, rows)


def _insert(conn: Connection, table: Any, rows: Sequence[dict[str, Any]]) -> list[int]:
    if not rows:
        return []
    stmt = insert(table).returning(table.c.id, sort_by_parameter_order=True)
    return [int(i) for i in conn.execute(stmt, list(rows)).scalars()]


def count_checklists(conn: Connection, election_id: int, *, quarantined: bool | None = None) -> int:
    query = select(func.count()).select_from(checklists).where(checklists.c.election_id == election_id)
    if quarantined is not None:
        query = query.where(checklists.c.quarantined == quarantined)
    return int(conn.execute(query).scalar_one())


def list_incidents(
    conn: Connection, election_id: int, *, limit: int = 1000, category: str | None = None
) -> list[dict[str, Any]]:
    """An election's incidents, newest first, with their constituency code and station serial (what the
    leaves hold: no personal data)."""
    i, c, s = incidents, t.constituencies, t.stations
    query = (
        select(i, c.c.code.label("constituency"), s.c.serial.label("station"))
        .select_from(i.outerjoin(c, c.c.id == i.c.constituency_id).outerjoin(s, s.c.id == i.c.station_id))
        .where(i.c.election_id == election_id)
        .order_by(i.c.occurred_at.desc(), i.c.id.desc()).limit(limit)
    )  # fmt: skip
    if category is not None:
        query = query.where(i.c.category == category)
    return [dict(r._mapping) for r in conn.execute(query)]
