"""Intake SQL of photos: their metadata, which submissions name them, and the publishing policy."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Connection, or_, select

from pollwatch.storage import intake_schema as ti
from pollwatch.storage import schema as t


def record_photo(
    conn: Connection, *, sha256: str, media_type: str, size: int, width: int | None, height: int | None
) -> None:
    if conn.execute(select(ti.photos.c.sha256).where(ti.photos.c.sha256 == sha256)).first() is not None:
        return
    conn.execute(
        ti.photos.insert().values(
            sha256=sha256,
            media_type=media_type,
            size=size,
            width=width,
            height=height,
            received_at=dt.datetime.now(dt.UTC),
        )  # fmt: skip
    )


def get_photo(conn: Connection, sha256: str) -> dict[str, Any] | None:
    row = conn.execute(select(ti.photos).where(ti.photos.c.sha256 == sha256)).first()
    return None if row is None else dict(row._mapping)


def find_photo_by_prefix(conn: Connection, prefix: str) -> str | None:
    """The full hash of the one stored photo whose hash starts with ``prefix`` (None if none or several)."""
    c = ti.photos.c
    rows = conn.execute(select(c.sha256).where(c.sha256 >= prefix, c.sha256 < prefix + "g").limit(2)).all()
    return str(rows[0][0]) if len(rows) == 1 else None


def photo_referenced(conn: Connection, sha256: str) -> list[int]:
    """Election ids of submissions naming this photo by full hash or by its 16-hex SMS prefix."""
    u = ti.submissions
    rows = conn.execute(
        select(u.c.election_id)
        .where(or_(u.c.photo_sha256 == sha256, u.c.photo_sha256 == sha256[:16]))
        .distinct()
    )
    return [int(r[0]) for r in rows]


def get_publish_photos(conn: Connection, election_id: int) -> bool:
    """Whether this election publishes photo files (default: no, only their hashes)."""
    p = ti.election_policies
    row = conn.execute(select(p.c.publish_photos).where(p.c.election_id == election_id)).first()
    return bool(row[0]) if row is not None else False


def set_publish_photos(conn: Connection, election_id: int, publish: bool) -> None:
    p = ti.election_policies
    updated = conn.execute(p.update().where(p.c.election_id == election_id).values(publish_photos=publish))
    if updated.rowcount == 0:
        conn.execute(p.insert().values(election_id=election_id, publish_photos=publish))


def list_prefix_references(conn: Connection, sha256: str) -> list[tuple[str, int]]:
    """(election slug, leaf index) of sheets that named this photo only by its 16-hex prefix (SMS)."""
    u, e = ti.submissions, t.elections
    rows = conn.execute(
        select(e.c.slug, u.c.leaf_index)
        .join(e, u.c.election_id == e.c.id)
        .where(u.c.photo_sha256 == sha256[:16])
        .order_by(u.c.leaf_index)
    )
    return [(str(slug), int(index)) for slug, index in rows]
