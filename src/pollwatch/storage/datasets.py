"""SQL for the dataset tools: import records, export tables and the final-result rows behind ``winners``."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, bindparam, delete, func, select

from pollwatch.model import Constituency
from pollwatch.storage import schema as t

EXPORT_TABLES = ("constituencies", "stations", "candidates", "parties", "sheets", "votes")

_PRIVATE_EXTRA_KEYS = ("name", "phone", "address", "email", "cnic", "submitter", "contact", "device")
"""``extra`` keys never exported: a sheet's extra could carry what a submitter typed about themselves."""


def delete_import(conn: Connection, election_id: int, dataset: str) -> None:
    i = t.imports
    conn.execute(delete(i).where(i.c.election_id == election_id, i.c.dataset == dataset))


def list_imports(conn: Connection, election_id: int) -> list[tuple[str, str, dict[str, Any]]]:
    """(dataset, content hash, counts) of every import into an election."""
    i = t.imports
    rows = conn.execute(
        select(i.c.dataset, i.c.content_sha256, i.c.counts)
        .where(i.c.election_id == election_id)
        .order_by(i.c.id)
    )
    return [(r.dataset, r.content_sha256, dict(r.counts)) for r in rows]


def export_rows(conn: Connection, election_id: int, table: str) -> tuple[list[str], Iterator[Sequence[Any]]]:
    """Column names and rows of one export table, keyed by codes (never internal ids or personal data)."""
    query = _EXPORTS[table](election_id)
    result = conn.execute(query)
    columns = list(result.keys())
    if table != "sheets":
        return columns, iter(result)
    position = columns.index("extra")
    return columns, (_public_extra(row, position) for row in result)


def _public_extra(row: Sequence[Any], position: int) -> tuple[Any, ...]:
    extra = row[position]
    if isinstance(extra, str):
        extra = json.loads(extra or "{}")
    public = {k: v for k, v in (extra or {}).items() if not any(p in k.lower() for p in _PRIVATE_EXTRA_KEYS)}
    out = list(row)
    out[position] = json.dumps(public, sort_keys=True, ensure_ascii=False, default=str)
    return tuple(out)


def _constituencies(election_id: int) -> Any:
    c = t.constituencies
    return (
        select(
            c.c.code,
            c.c.assembly,
            c.c.delimitation,
            c.c.name,
            c.c.region,
            c.c.registered_male,
            c.c.registered_female,
            c.c.registered_total,
            c.c.seats,
        )
        .where(c.c.election_id == election_id)
        .order_by(c.c.id)
    )


def _stations(election_id: int) -> Any:
    c, s = t.constituencies, t.stations
    return (
        select(
            c.c.code.label("constituency"),
            s.c.serial,
            s.c.number,
            s.c.name,
            s.c.sex,
            s.c.registered_male,
            s.c.registered_female,
            s.c.registered_total,
            s.c.booths_male,
            s.c.booths_female,
            s.c.booths_total,
            s.c.latitude,
            s.c.longitude,
            s.c.source,
        )
        .join(c, s.c.constituency_id == c.c.id)
        .where(c.c.election_id == election_id)
        .order_by(s.c.id)
    )


def _candidates(election_id: int) -> Any:
    c, k, p = t.constituencies, t.candidates, t.parties
    return (
        select(
            c.c.code.label("constituency"), k.c.ballot_order, k.c.name, p.c.code.label("party"), k.c.source
        )
        .join(c, k.c.constituency_id == c.c.id)
        .outerjoin(p, k.c.party_id == p.c.id)
        .where(c.c.election_id == election_id)
        .order_by(k.c.id)
    )


def _parties(election_id: int) -> Any:
    p = t.parties
    return select(p.c.code, p.c.name).where(p.c.election_id == election_id).order_by(p.c.code)


def _sheets(election_id: int) -> Any:
    # submitter_key is a pseudonymous device/account key id, public by design; received_at and
    # captured_at are kept because deadlines are audited against them.
    sh, c, s = t.sheets, t.constituencies, t.stations
    return (
        select(
            sh.c.id.label("sheet"),
            sh.c.kind,
            sh.c.form,
            c.c.code.label("constituency"),
            s.c.serial.label("station_serial"),
            s.c.number.label("station_number"),
            sh.c.label,
            sh.c.valid,
            sh.c.rejected,
            sh.c.polled,
            sh.c.tendered,
            sh.c.challenged,
            sh.c.votes_male,
            sh.c.votes_female,
            sh.c.registered,
            sh.c.source,
            sh.c.channel,
            sh.c.role,
            sh.c.organisation,
            sh.c.submitter_key,
            sh.c.received_at,
            sh.c.captured_at,
            sh.c.evidence_sha256,
            sh.c.extra,
        )
        .join(c, sh.c.constituency_id == c.c.id)
        .outerjoin(s, sh.c.station_id == s.c.id)
        .where(sh.c.election_id == election_id)
        .order_by(sh.c.id)
    )


def _votes(election_id: int) -> Any:
    sh, v, k = t.sheets, t.sheet_votes, t.candidates
    return (
        select(v.c.sheet_id.label("sheet"), k.c.ballot_order, v.c.votes)
        .join(sh, v.c.sheet_id == sh.c.id)
        .join(k, v.c.candidate_id == k.c.id)
        .where(sh.c.election_id == election_id)
        .order_by(v.c.sheet_id, k.c.ballot_order)
    )


_EXPORTS = {
    "constituencies": _constituencies,
    "stations": _stations,
    "candidates": _candidates,
    "parties": _parties,
    "sheets": _sheets,
    "votes": _votes,
}


@dataclass(frozen=True)
class ResultRow:
    """One candidate's votes on one constituency-level result sheet."""

    sheet_id: int
    constituency: str
    constituency_name: str
    label: str
    ballot_order: int
    candidate: str
    party: str | None
    votes: int


def list_result_rows(
    conn: Connection, election_id: int, *, kind: str, assembly: str | None, label: str | None
) -> list[ResultRow]:
    """Every candidate's votes on the election's sheets of one kind, optionally one assembly and label."""
    sh, v, k, c, p = t.sheets, t.sheet_votes, t.candidates, t.constituencies, t.parties
    query = (
        select(sh.c.id, c.c.code, c.c.name, sh.c.label, k.c.ballot_order, k.c.name, p.c.code, v.c.votes)
        .join(v, v.c.sheet_id == sh.c.id)
        .join(k, v.c.candidate_id == k.c.id)
        .join(c, sh.c.constituency_id == c.c.id)
        .outerjoin(p, k.c.party_id == p.c.id)
        .where(sh.c.election_id == election_id, sh.c.kind == kind)
        .order_by(sh.c.id, k.c.ballot_order)
    )
    if assembly is not None:
        query = query.where(c.c.assembly == assembly)
    if label is not None:
        query = query.where(sh.c.label == label)
    return [
        ResultRow(int(r[0]), r[1], r[2], r[3], int(r[4]), r[5], r[6], int(r[7])) for r in conn.execute(query)
    ]


def list_labels(conn: Connection, election_id: int, *, kind: str) -> list[tuple[str, int]]:
    """The labels of an election's sheets of one kind, with how many sheets carry each."""
    sh = t.sheets
    rows = conn.execute(
        select(sh.c.label, func.count())
        .where(sh.c.election_id == election_id, sh.c.kind == kind)
        .group_by(sh.c.label)
        .order_by(sh.c.label)
    )
    return [(r[0], int(r[1])) for r in rows]


def list_findings_by_kind(
    conn: Connection, election_id: int, *, kind: str | None = None
) -> list[dict[str, Any]]:
    """Findings of an election as plain rows (optionally of one kind), oldest first."""
    f = t.findings
    query = (
        select(f.c.kind, f.c.severity, f.c.location, f.c.message, f.c.expected, f.c.found, f.c.source)
        .where(f.c.election_id == election_id)
        .order_by(f.c.id)
    )
    if kind is not None:
        query = query.where(f.c.kind == kind)
    return [dict(r._mapping) for r in conn.execute(query)]


def count_foreign_references(
    conn: Connection, election_id: int, source: str, *, allowed: Sequence[str]
) -> int:
    """Sheets from sources outside ``allowed`` that point at ``source``'s stations or candidates.

    Reloading ``source`` deletes its stations and candidates, and the foreign keys cascade: such sheets
    (submitted evidence, say) would silently go with them, so a reload must refuse instead.
    """
    sh, st, k, v, c = t.sheets, t.stations, t.candidates, t.sheet_votes, t.constituencies
    in_election = select(c.c.id).where(c.c.election_id == election_id).scalar_subquery()
    stations = select(st.c.id).where(st.c.constituency_id.in_(in_election), st.c.source == source)
    candidates = select(k.c.id).where(k.c.constituency_id.in_(in_election), k.c.source == source)
    voting = select(v.c.sheet_id).where(v.c.candidate_id.in_(candidates.scalar_subquery()))
    query = select(func.count()).where(
        sh.c.election_id == election_id,
        sh.c.source.not_in(list(allowed)),
        sh.c.station_id.in_(stations.scalar_subquery()) | sh.c.id.in_(voting.scalar_subquery()),
    )
    return int(conn.execute(query).scalar_one())


def update_registered(conn: Connection, election_id: int, items: Sequence[Constituency]) -> int:
    """Overwrite registered voters with an authoritative source's figures; return how many were set."""
    c = t.constituencies
    rows = [
        {
            "b_code": x.code,
            "b_male": x.registered.male,
            "b_female": x.registered.female,
            "b_total": x.registered.total,
        }
        for x in items
        if x.registered.total is not None
    ]
    if not rows:
        return 0
    statement = (
        c.update()
        .where(c.c.election_id == election_id, c.c.code == bindparam("b_code"))
        .values(
            registered_male=bindparam("b_male"),
            registered_female=bindparam("b_female"),
            registered_total=bindparam("b_total"),
        )
    )
    conn.execute(statement, rows)
    return len(rows)
