"""Enrolment codes, stored by their SHA-256, used once."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Connection, insert, select, update

from pollwatch.storage.enrol_schema import enrolments


@dataclass(frozen=True)
class EnrolmentRow:
    id: int
    submitter_id: int
    election: str
    expires_at: dt.datetime
    used_at: dt.datetime | None


def create_enrolment(
    conn: Connection,
    *,
    code_sha256: str,
    submitter_id: int,
    election: str,
    now: dt.datetime,
    expires_at: dt.datetime,
) -> None:
    conn.execute(
        insert(enrolments).values(
            code_sha256=code_sha256, submitter_id=submitter_id, election=election, created_at=now,
            expires_at=expires_at,
        )
    )  # fmt: skip


def get_enrolment(conn: Connection, code_sha256: str) -> EnrolmentRow | None:
    """The enrolment of a code, locked for this transaction on PostgreSQL (a code is used once)."""
    e = enrolments
    query = select(e.c.id, e.c.submitter_id, e.c.election, e.c.expires_at, e.c.used_at).where(
        e.c.code_sha256 == code_sha256
    )
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    row = conn.execute(query).first()
    if row is None:
        return None
    return EnrolmentRow(int(row.id), int(row.submitter_id), str(row.election), _aware(row.expires_at),
                        _aware(row.used_at) if row.used_at is not None else None)  # fmt: skip


def mark_used(conn: Connection, enrolment_id: int, *, now: dt.datetime) -> bool:
    """Mark the enrolment used; False if it already was (another request won)."""
    e = enrolments
    done = conn.execute(update(e).where(e.c.id == enrolment_id, e.c.used_at.is_(None)).values(used_at=now))
    return bool(done.rowcount)


def _aware(when: dt.datetime) -> dt.datetime:
    return when if when.tzinfo is not None else when.replace(tzinfo=dt.UTC)
