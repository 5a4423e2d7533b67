"""Intake SQL of submitters and their API tokens (personal data stays in ``submitters``)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Connection, func, select

from pollwatch.storage import intake_schema as ti
from pollwatch.storage._rows import primary_key


@dataclass(frozen=True)
class SubmitterRow:
    """A submitter as the server knows it; ``name``/``phone``/``address`` never leave this table."""

    id: int
    key_id: str
    role: str
    organisation: str


def create_submitter(
    conn: Connection,
    *,
    key_id: str,
    role: str,
    organisation: str,
    name: str = "",
    phone: str | None = None,
    address: str = "",
) -> SubmitterRow:
    now = dt.datetime.now(dt.UTC)
    values = {"key_id": key_id, "role": role, "organisation": organisation, "name": name}
    result = conn.execute(
        ti.submitters.insert().values(**values, phone=phone, address=address, created_at=now)
    )
    return SubmitterRow(primary_key(result), key_id, role, organisation)


def get_submitter(
    conn: Connection, *, key_id: str | None = None, phone: str | None = None
) -> SubmitterRow | None:
    s = ti.submitters
    query = select(s.c.id, s.c.key_id, s.c.role, s.c.organisation)
    query = query.where(s.c.key_id == key_id) if key_id is not None else query.where(s.c.phone == phone)
    row = conn.execute(query).first()
    return None if row is None else SubmitterRow(int(row.id), row.key_id, row.role, row.organisation)


def phone_in_use(conn: Connection, phone: str) -> bool:
    return conn.execute(select(ti.submitters.c.id).where(ti.submitters.c.phone == phone)).first() is not None


def create_token(conn: Connection, *, submitter_id: int, token_sha256: str, label: str = "") -> None:
    conn.execute(
        ti.tokens.insert().values(
            token_sha256=token_sha256,
            submitter_id=submitter_id,
            label=label,
            created_at=dt.datetime.now(dt.UTC),
            revoked=False,
        )
    )


def get_token_submitter(conn: Connection, token_sha256: str) -> SubmitterRow | None:
    s, k = ti.submitters, ti.tokens
    row = conn.execute(
        select(s.c.id, s.c.key_id, s.c.role, s.c.organisation)
        .join(k, k.c.submitter_id == s.c.id)
        .where(k.c.token_sha256 == token_sha256, k.c.revoked.is_(False))
    ).first()
    return None if row is None else SubmitterRow(int(row.id), row.key_id, row.role, row.organisation)


def revoke_tokens(conn: Connection, submitter_id: int) -> int:
    k = ti.tokens
    return conn.execute(k.update().where(k.c.submitter_id == submitter_id).values(revoked=True)).rowcount


def count_active_tokens(conn: Connection, submitter_id: int) -> int:
    """How many of a submitter's tokens are not revoked (0: the submitter is shut out)."""
    k = ti.tokens
    query = select(func.count()).where(k.c.submitter_id == submitter_id, k.c.revoked.is_(False))
    return int(conn.execute(query).scalar_one())


def get_submitter_by_id(conn: Connection, submitter_id: int) -> SubmitterRow | None:
    s = ti.submitters
    row = conn.execute(
        select(s.c.id, s.c.key_id, s.c.role, s.c.organisation).where(s.c.id == submitter_id)
    ).first()
    return None if row is None else SubmitterRow(int(row.id), row.key_id, row.role, row.organisation)
