"""Request-scoped dependencies shared by every route."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import Connection

from pollwatch.storage import Database


def get_db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def read_conn(db: Annotated[Database, Depends(get_db)]) -> Iterator[Connection]:
    with db.connect() as conn:
        yield conn


ReadConn = Annotated[Connection, Depends(read_conn)]
