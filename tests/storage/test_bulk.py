"""Id allocation for bulk loads (a locked block) and for concurrent intake (no lock) never collide."""

import datetime as dt

import sqlalchemy as sa

from pollwatch.storage import Database
from pollwatch.storage import schema as t
from pollwatch.storage.bulk import allocate_ids, next_ids


def _insert_elections(conn: sa.Connection, ids: list[int]) -> None:
    conn.execute(
        sa.insert(t.elections),
        [
            {"id": i, "slug": f"e{i}", "country": "XX", "name": f"E{i}", "date": dt.date(2030, 1, 1),
             "rule_pack": "generic", "delimitation": "d"}
            for i in ids
        ],
    )  # fmt: skip


def test_allocated_ids_are_fresh_after_a_bulk_block_and_before_the_next(db: Database) -> None:
    with db.begin() as conn:
        block = list(next_ids(conn, t.elections, 3))
        _insert_elections(conn, block)
    with db.begin() as conn:
        drawn = allocate_ids(conn, t.elections, 4)
        _insert_elections(conn, drawn)
    with db.begin() as conn:
        later = list(next_ids(conn, t.elections, 2))
        _insert_elections(conn, later)
        stored = sorted(conn.execute(sa.select(t.elections.c.id)).scalars())
    assert len(set(drawn)) == 4
    assert not set(drawn) & set(block)
    assert not set(later) & (set(block) | set(drawn))
    assert stored == sorted(block + drawn + later)
