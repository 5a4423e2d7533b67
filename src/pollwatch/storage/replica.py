"""SQL of a read node's copy of the election structure (elections, parties, constituencies, stations,
candidates), kept in its own projection database so that every read there joins local tables only.

The copy keeps the source's ids (the projections name constituencies and stations by id) and is
replaced whole when the source's :func:`structure_version` differs from the copy's: the structure is
small beside the log and changes a handful of times before election night, never during it.
"""

from __future__ import annotations

from sqlalchemy import Connection, Table, delete, func, insert, select

from pollwatch.storage import schema as t

STRUCTURE: tuple[Table, ...] = (t.elections, t.parties, t.constituencies, t.stations, t.candidates)
"""The tables copied, parents first."""
_CHUNK = 5_000


def structure_version(conn: Connection) -> tuple[tuple[int, int], ...]:
    """Rows and highest id of each structure table: changes when anything is added, removed or
    re-imported (an import replaces rows, and new rows get new ids)."""
    out = []
    for table in STRUCTURE:
        n, top = conn.execute(select(func.count(), func.max(table.c.id))).one()
        out.append((int(n), int(top or 0)))
    return tuple(out)


def copy_structure(source: Connection, target: Connection) -> int:
    """Replace the structure in ``target`` by ``source``'s, ids included; return the rows copied.

    Run inside the target's transaction: its readers see the old structure or the new, never a mix.
    """
    for table in reversed(STRUCTURE):
        target.execute(delete(table))
    copied = 0
    for table in STRUCTURE:
        rows = source.execute(select(table).order_by(table.c.id))
        while batch := rows.fetchmany(_CHUNK):
            target.execute(insert(table), [dict(r._mapping) for r in batch])
            copied += len(batch)
    return copied
