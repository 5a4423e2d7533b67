"""Request-scoped dependencies shared by every route."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import Connection

from pollwatch.storage import Database


def get_db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


async def read_conn(db: Annotated[Database, Depends(get_db)]) -> AsyncIterator[Connection]:
    """A connection from the public readers' own pool (readers never hold intake's connections), its turn
    awaited without holding a thread (:meth:`Database.reading`)."""
    async with db.reading() as conn:
        yield conn


async def expensive_conn(db: Annotated[Database, Depends(get_db)]) -> AsyncIterator[Connection]:
    """A read connection under the database's bound on expensive reads (429 when all slots are busy)."""
    async with db.reading(expensive=True) as conn:
        yield conn


ReadConn = Annotated[Connection, Depends(read_conn)]
ExpensiveConn = Annotated[Connection, Depends(expensive_conn)]
"""For routes whose cost grows with the election (whole-election tallies, audits, seat allocations)."""
