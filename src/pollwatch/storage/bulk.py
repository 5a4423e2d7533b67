"""Fast bulk inserts: executemany on SQLite, COPY on PostgreSQL, inside the caller's transaction."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, Table


def insert_rows(conn: Connection, table: Table, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """Insert rows (tuples in ``columns`` order) into ``table``; return how many were written."""
    if conn.dialect.name == "postgresql":
        return _copy_rows(conn, table, columns, rows)
    return _executemany_rows(conn, table, columns, rows)


def _executemany_rows(
    conn: Connection, table: Table, columns: Sequence[str], rows: Iterable[Sequence[Any]]
) -> int:
    # The DBAPI cursor's executemany is the raw sqlite3 speed; SQLAlchemy's own executemany adds
    # per-row dict handling that would double the cost of a national import.
    # sqlite3 consumes the iterator itself (no intermediate lists) and sums the rows it inserted.
    placeholders = ", ".join("?" for _ in columns)
    sql = f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({placeholders})"
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.executemany(sql, rows)
        return max(int(cursor.rowcount), 0)
    finally:
        cursor.close()


def _copy_rows(conn: Connection, table: Table, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    raw = conn.connection.driver_connection
    total = 0
    with raw.cursor() as cursor:  # type: ignore[union-attr]
        with cursor.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
                total += 1
    return total


_SEQUENCES: dict[str, str] = {}


def insert_with_new_ids(
    conn: Connection, table: Table, columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> list[int]:
    """Insert rows (``columns`` order, without ``id``) under fresh ids; return the ids, in row order.

    For small concurrent writes: no table lock. PostgreSQL draws the ids from the sequence in one
    statement (distinct, not necessarily consecutive). SQLite assigns them itself: the insert takes the
    database's write lock, so one executemany gets consecutive rowids ending at ``last_insert_rowid()``
    (ids computed before the write lock is held could collide with another process's commit).
    """
    if not rows:
        return []
    if conn.dialect.name == "postgresql":
        ids = _draw_ids(conn, table, len(rows))
        _copy_rows(conn, table, ("id", *columns), ([i, *row] for i, row in zip(ids, rows, strict=True)))
        return ids
    _executemany_rows(conn, table, columns, rows)
    last = int(conn.exec_driver_sql("SELECT last_insert_rowid()").scalar_one())
    return list(range(last - len(rows) + 1, last + 1))


def _draw_ids(conn: Connection, table: Table, count: int) -> list[int]:
    seq = _SEQUENCES.get(table.name)
    if seq is None:
        found = conn.exec_driver_sql(f"SELECT pg_get_serial_sequence('{table.name}', 'id')").scalar_one()
        seq = _SEQUENCES[table.name] = str(found)
    rows = conn.exec_driver_sql(f"SELECT nextval('{seq}') FROM generate_series(1, {int(count)})")
    return [int(r[0]) for r in rows]


def next_ids(conn: Connection, table: Table, count: int) -> range:
    """Reserve ``count`` consecutive ids for ``table`` inside the current transaction.

    Bulk loads name their own primary keys so child rows can point at them without a round trip
    per row. On PostgreSQL the id sequence is advanced past the reserved block.
    """
    if conn.dialect.name == "postgresql":
        seq = conn.exec_driver_sql(f"SELECT pg_get_serial_sequence('{table.name}', 'id')").scalar_one()
        conn.exec_driver_sql(f"LOCK TABLE {table.name} IN EXCLUSIVE MODE")
        start = conn.exec_driver_sql(f"SELECT COALESCE(MAX(id), 0) + 1 FROM {table.name}").scalar_one()
        conn.exec_driver_sql(f"SELECT setval('{seq}', {start + count}, false)")
        return range(int(start), int(start) + count)
    start = conn.exec_driver_sql(f"SELECT COALESCE(MAX(id), 0) + 1 FROM {table.name}").scalar_one()
    return range(int(start), int(start) + count)
