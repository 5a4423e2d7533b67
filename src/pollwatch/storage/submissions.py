"""Intake SQL of accepted submissions: one row per record of any kind, linking it to its log leaf.

A row is keyed by (submitter key, submission id) for idempotency; ``kind`` names the record kind,
``record_id`` the id of the kind's own row (for sheets also ``sheet_id``, so a reloaded dataset's
deleted sheets take their submissions with them).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, and_, bindparam, func, or_, select

from pollwatch.storage import intake_schema as ti
from pollwatch.storage._rows import aware, when


@dataclass(frozen=True)
class SubmissionRow:
    submitter_key: str
    submission_id: str
    content_sha256: str
    leaf_index: int
    sheet_id: int | None
    received_at: dt.datetime
    kind: str = "sheet"
    record_id: int | None = None


def _row(row: Any) -> SubmissionRow:
    return SubmissionRow(
        row.submitter_key, row.submission_id, row.content_sha256, int(row.leaf_index),
        None if row.sheet_id is None else int(row.sheet_id), aware(row.received_at), row.kind,
        None if row.record_id is None else int(row.record_id),
    )  # fmt: skip


def get_submission(conn: Connection, submitter_key: str, submission_id: str) -> SubmissionRow | None:
    u = ti.submissions
    row = conn.execute(
        select(u).where(u.c.submitter_key == submitter_key, u.c.submission_id == submission_id)
    ).first()
    return None if row is None else _row(row)


def signature_in_use(conn: Connection, signature: str) -> bool:
    u = ti.submissions
    return conn.execute(select(u.c.id).where(u.c.signature == signature).limit(1)).first() is not None


def insert_submissions(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Record accepted submissions (keys: the columns of ``submissions`` except ``id``)."""
    from pollwatch.storage.bulk import insert_rows

    if not rows:
        return
    columns = tuple(rows[0])
    values = (tuple(when(conn, r[c]) if c == "received_at" else r[c] for c in columns) for r in rows)
    insert_rows(conn, ti.submissions, columns, values)


def count_submissions(conn: Connection, election_id: int | None = None, *, kind: str | None = None) -> int:
    query = select(func.count()).select_from(ti.submissions)
    if election_id is not None:
        query = query.where(ti.submissions.c.election_id == election_id)
    if kind is not None:
        query = query.where(ti.submissions.c.kind == kind)
    return int(conn.execute(query).scalar_one())


def list_submission_keys(conn: Connection) -> list[tuple[str, str, int]]:
    """(submitter key, submission id, leaf index) of every accepted submission."""
    u = ti.submissions
    rows = conn.execute(select(u.c.submitter_key, u.c.submission_id, u.c.leaf_index).order_by(u.c.id))
    return [(a, b, int(c)) for a, b, c in rows]


_SUBMISSIONS = select(ti.submissions).where(
    or_(
        and_(  # both columns of the unique (submitter_key, submission_id) index; exact pairs picked after
            ti.submissions.c.submitter_key.in_(bindparam("keys", expanding=True)),
            ti.submissions.c.submission_id.in_(bindparam("ids", expanding=True)),
        ),
        ti.submissions.c.signature.in_(bindparam("signatures", expanding=True)),
    )
)
_LEAF_OWNERS = select(ti.submissions.c.leaf_index, ti.submissions.c.submitter_key).where(
    ti.submissions.c.leaf_index.in_(bindparam("indices", expanding=True))
)


def list_submissions(
    conn: Connection, pairs: set[tuple[str, str]], signatures: Collection[str] = ()
) -> tuple[dict[tuple[str, str], SubmissionRow], set[str]]:
    """Stored submissions among (submitter key, submission id) pairs, and which of ``signatures`` are
    already used by a stored submission: one query (each side answered by its own index)."""
    if not pairs and not signatures:
        return {}, set()
    keys, ids, wanted = sorted({k for k, _ in pairs}), sorted({i for _, i in pairs}), set(signatures)
    rows = conn.execute(_SUBMISSIONS, {"keys": keys, "ids": ids, "signatures": sorted(wanted)}).all()
    used = {str(row.signature) for row in rows if row.signature in wanted}
    out = {
        (r.submitter_key, r.submission_id): _row(r)
        for r in rows
        if (r.submitter_key, r.submission_id) in pairs
    }
    return out, used


def list_leaf_owners(conn: Connection, indices: set[int]) -> dict[int, str]:
    """Leaf index -> submitter key id of the submissions stored at those leaves."""
    if not indices:
        return {}
    rows = conn.execute(_LEAF_OWNERS, {"indices": sorted(indices)})
    return {int(i): str(k) for i, k in rows}
