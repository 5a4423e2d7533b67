"""Data-quality findings and the record of imports that makes imports idempotent."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, delete, select

from pollwatch.storage import schema as t
from pollwatch.storage.bulk import insert_rows


@dataclass(frozen=True)
class Finding:
    """Something noticed in the data: kept and reported, never silently fixed."""

    kind: str
    severity: str
    """``info``, ``warning`` or ``error``."""
    location: str
    message: str
    expected: str = ""
    found: str = ""
    source: str = ""


def insert_findings(conn: Connection, election_id: int, items: Iterable[Finding], *, source: str) -> int:
    rows = (
        (election_id, source, f.kind, f.severity, f.location, f.expected, f.found, f.message) for f in items
    )
    return insert_rows(
        conn,
        t.findings,
        ("election_id", "source", "kind", "severity", "location", "expected", "found", "message"),
        rows,
    )


def list_findings(conn: Connection, election_id: int, *, source: str | None = None) -> list[Finding]:
    f = t.findings
    query = select(f).where(f.c.election_id == election_id).order_by(f.c.id)
    if source is not None:
        query = query.where(f.c.source == source)
    return [
        Finding(
            kind=r.kind,
            severity=r.severity,
            location=r.location,
            message=r.message,
            expected=r.expected,
            found=r.found,
            source=r.source,
        )
        for r in conn.execute(query)
    ]


def get_import(conn: Connection, election_id: int, dataset: str) -> tuple[str, dict[str, Any]] | None:
    """The content hash and counts of the last import of ``dataset``, or None."""
    i = t.imports
    row = conn.execute(
        select(i.c.content_sha256, i.c.counts).where(i.c.election_id == election_id, i.c.dataset == dataset)
    ).first()
    return None if row is None else (row.content_sha256, dict(row.counts))


def record_import(
    conn: Connection, election_id: int, dataset: str, *, content_sha256: str, counts: dict[str, Any]
) -> None:
    i = t.imports
    conn.execute(delete(i).where(i.c.election_id == election_id, i.c.dataset == dataset))
    conn.execute(
        i.insert().values(
            election_id=election_id,
            dataset=dataset,
            content_sha256=content_sha256,
            imported_at=dt.datetime.now(dt.UTC),
            counts=counts,
        )
    )


def delete_source(conn: Connection, election_id: int, source: str) -> None:
    """Remove everything one dataset wrote, so a changed file can be loaded again in the same transaction."""
    sh, c = t.sheets, t.constituencies
    in_election = select(c.c.id).where(c.c.election_id == election_id).scalar_subquery()
    sheet_ids = (
        select(sh.c.id).where(sh.c.election_id == election_id, sh.c.source == source).scalar_subquery()
    )
    conn.execute(delete(t.sheet_votes).where(t.sheet_votes.c.sheet_id.in_(sheet_ids)))
    conn.execute(delete(sh).where(sh.c.election_id == election_id, sh.c.source == source))
    conn.execute(
        delete(t.findings).where(t.findings.c.election_id == election_id, t.findings.c.source == source)
    )
    conn.execute(
        delete(t.candidates).where(
            t.candidates.c.constituency_id.in_(in_election), t.candidates.c.source == source
        )
    )
    conn.execute(
        delete(t.stations).where(t.stations.c.constituency_id.in_(in_election), t.stations.c.source == source)
    )
