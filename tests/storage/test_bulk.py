"""Ids for bulk loads (a locked block) and for concurrent intake (no table lock) never collide, and the
ids intake gets back are the ids its rows were stored under."""

import datetime as dt

import sqlalchemy as sa

from pollwatch.storage import Database
from pollwatch.storage import schema as t
from pollwatch.storage.bulk import insert_with_new_ids, next_ids

_COLUMNS = ("slug", "country", "name", "date", "rule_pack", "delimitation")


def _rows(slugs: list[str]) -> list[tuple[object, ...]]:
    return [(s, "XX", s.upper(), dt.date(2030, 1, 1), "generic", "d") for s in slugs]


def _stored(conn: sa.Connection) -> dict[str, int]:
    return {slug: int(i) for i, slug in conn.execute(sa.select(t.elections.c.id, t.elections.c.slug))}


def _insert_at(conn: sa.Connection, ids: list[int], slugs: list[str]) -> None:
    rows = [
        dict(zip(("id", *_COLUMNS), (i, *r), strict=True)) for i, r in zip(ids, _rows(slugs), strict=True)
    ]
    conn.execute(sa.insert(t.elections), rows)


def test_new_ids_are_the_stored_ids_and_fresh_around_bulk_blocks(db: Database) -> None:
    with db.begin() as conn:
        block = list(next_ids(conn, t.elections, 3))
        _insert_at(conn, block, ["a", "b", "c"])
    with db.begin() as conn:
        drawn = insert_with_new_ids(conn, t.elections, _COLUMNS, _rows(["d", "e", "f", "g"]))
    with db.begin() as conn:
        later = list(next_ids(conn, t.elections, 1))
        conn.execute(
            sa.insert(t.elections), [dict(zip(("id", *_COLUMNS), (later[0], *_rows(["h"])[0]), strict=True))]
        )
        stored = _stored(conn)
    assert [stored[s] for s in "defg"] == drawn
    assert len(set(stored.values())) == 8
    assert stored["h"] not in set(block) | set(drawn)


def test_two_writers_whose_reads_interleave_get_distinct_ids(db: Database) -> None:
    other = Database(db.engine.url.render_as_string(hide_password=False))
    try:
        with db.begin() as first:
            first.execute(sa.select(t.elections.c.id)).all()  # a read before the other writer commits
            with other.begin() as second:
                theirs = insert_with_new_ids(second, t.elections, _COLUMNS, _rows(["x", "y"]))
            ours = insert_with_new_ids(first, t.elections, _COLUMNS, _rows(["p", "q", "r"]))
        with db.connect() as conn:
            stored = _stored(conn)
    finally:
        other.dispose()
    assert [stored["x"], stored["y"]] == theirs
    assert [stored["p"], stored["q"], stored["r"]] == ours
