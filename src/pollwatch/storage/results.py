"""Reading a whole election for the tally, the audit and parliament in a few bulk queries."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, delete, func, select

from pollwatch.model import (
    Booths,
    Candidate,
    CandidateKey,
    Constituency,
    ConstituencyCode,
    Election,
    Party,
    PartyCode,
    Registered,
    ResultSheet,
    Station,
    StationNumber,
    StationSex,
)
from pollwatch.storage import schema as t
from pollwatch.storage.findings import Finding, insert_findings
from pollwatch.storage.sheets import list_sheets
from pollwatch.storage.structure import get_election, list_parties


def load_election(
    conn: Connection, slug: str
) -> tuple[Election, list[Constituency], list[Station], list[Candidate], list[Party], list[ResultSheet]]:
    """Everything stored for one election: structure and every sheet, in storage order."""
    eid, election = get_election(conn, slug)
    c = t.constituencies
    rows = conn.execute(select(c).where(c.c.election_id == eid).order_by(c.c.id)).all()
    constituencies = [_constituency(r._mapping) for r in rows]
    return (
        election,
        constituencies,
        _stations(conn, eid),
        _candidates(conn, eid),
        list_parties(conn, eid),
        list_sheets(conn, eid),
    )


def load_structure(
    conn: Connection, slug: str, *, stations: bool = True
) -> tuple[Election, list[Constituency], list[Station], list[Candidate], list[Party]]:
    """An election's structure without any sheet (``stations=False``: without its stations either)."""
    eid, election = get_election(conn, slug)
    c = t.constituencies
    rows = conn.execute(select(c).where(c.c.election_id == eid).order_by(c.c.id)).all()
    return (
        election,
        [_constituency(r._mapping) for r in rows],
        _stations(conn, eid) if stations else [],
        _candidates(conn, eid),
        list_parties(conn, eid),
    )


def load_constituency(
    conn: Connection, slug: str, code: str
) -> tuple[Election, list[Constituency], list[Station], list[Candidate], list[Party]]:
    """One constituency's structure (its stations and ballot, the election's parties): no sheets."""
    eid, election = get_election(conn, slug)
    c = t.constituencies
    rows = conn.execute(select(c).where(c.c.election_id == eid, c.c.code == code)).all()
    return (
        election,
        [_constituency(r._mapping) for r in rows],
        _stations(conn, eid, code),
        _candidates(conn, eid, code),
        list_parties(conn, eid),
    )


def _constituency(m: Any) -> Constituency:
    return Constituency(
        code=ConstituencyCode(m["code"]),
        assembly=m["assembly"],
        delimitation=m["delimitation"],
        name=m["name"],
        region=m["region"],
        seats=m["seats"],
        registered=Registered(m["registered_male"], m["registered_female"], m["registered_total"]),
    )


def _stations(conn: Connection, election_id: int, code: str | None = None) -> list[Station]:
    s, c = t.stations, t.constituencies
    query = select(s, c.c.code).join(c, s.c.constituency_id == c.c.id).where(c.c.election_id == election_id)
    if code is not None:
        query = query.where(c.c.code == code)
    rows = conn.execute(query.order_by(s.c.constituency_id, s.c.serial))
    return [
        Station(
            constituency=ConstituencyCode(r.code),
            serial=r.serial,
            number=StationNumber(r.number),
            name=r.name,
            sex=StationSex(r.sex),
            registered=Registered(r.registered_male, r.registered_female, r.registered_total),
            booths=Booths(r.booths_male, r.booths_female, r.booths_total),
        )
        for r in rows
    ]


def _candidates(conn: Connection, election_id: int, code: str | None = None) -> list[Candidate]:
    k, c, p = t.candidates, t.constituencies, t.parties
    query = (
        select(k.c.ballot_order, k.c.name, c.c.code, p.c.code.label("party"))
        .join(c, k.c.constituency_id == c.c.id)
        .outerjoin(p, k.c.party_id == p.c.id)
        .where(c.c.election_id == election_id)
    )
    if code is not None:
        query = query.where(c.c.code == code)
    rows = conn.execute(query.order_by(k.c.constituency_id, k.c.ballot_order))
    return [
        Candidate(
            constituency=ConstituencyCode(r.code),
            ballot_order=CandidateKey(r.ballot_order),
            name=r.name,
            party=PartyCode(r.party) if r.party else None,
        )
        for r in rows
    ]


def replace_findings(conn: Connection, slug: str, findings: list[Finding], *, source: str = "audit") -> int:
    """Replace every finding an earlier run of ``source`` stored for the election; return how many."""
    eid, _ = get_election(conn, slug)
    f = t.findings
    conn.execute(delete(f).where(f.c.election_id == eid, f.c.source == source))
    return insert_findings(conn, eid, findings, source=source)


def results_version(conn: Connection, slug: str) -> tuple[int, int, int, int]:
    """What changes when an election's results change: sheet count and last id, station and candidate counts.

    Sheets are never edited (a correction is a new copy), so equal versions mean equal inputs.
    """
    eid, _ = get_election(conn, slug)
    sh, c, s, k = t.sheets, t.constituencies, t.stations, t.candidates
    n, last = conn.execute(select(func.count(), func.max(sh.c.id)).where(sh.c.election_id == eid)).one()
    in_election = select(c.c.id).where(c.c.election_id == eid).scalar_subquery()
    stations = conn.execute(select(func.count()).where(s.c.constituency_id.in_(in_election))).scalar_one()
    candidates = conn.execute(select(func.count()).where(k.c.constituency_id.in_(in_election))).scalar_one()
    return int(n), int(last or 0), int(stations), int(candidates)
