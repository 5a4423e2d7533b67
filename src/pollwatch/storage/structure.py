"""Elections, constituencies, stations, parties and candidates: writing and reading them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, CursorResult, Row, RowMapping, func, select

from pollwatch.errors import ConflictError, NotFoundError
from pollwatch.model import (
    Booths,
    Candidate,
    CandidateKey,
    Constituency,
    ConstituencyCode,
    Election,
    ElectionSlug,
    GeoPoint,
    Party,
    PartyCode,
    Registered,
    Station,
    StationNumber,
    StationSex,
)
from pollwatch.storage import schema as t
from pollwatch.storage.bulk import insert_rows, next_ids


@dataclass(frozen=True)
class ConstituencySummary:
    """A constituency with the counts the overview page shows."""

    constituency: Constituency
    stations: int
    station_registered: int
    candidates: int


def create_election(conn: Connection, election: Election) -> int:
    """Store an election (or find the identical one already stored) and return its id."""
    row = conn.execute(select(t.elections).where(t.elections.c.slug == election.slug)).first()
    if row is not None:
        stored = _election(row)
        if stored != election:
            raise ConflictError(
                f"election {election.slug} already exists with other attributes",
                expected=repr(stored),
                found=repr(election),
                remedy="use another slug or the stored attributes",
            )
        return int(row.id)
    values = {
        k: getattr(election, k) for k in ("slug", "country", "name", "date", "rule_pack", "delimitation")
    }
    return _inserted_id(conn.execute(t.elections.insert().values(**values)))


def get_election(conn: Connection, slug: str) -> tuple[int, Election]:
    row = conn.execute(select(t.elections).where(t.elections.c.slug == slug)).first()
    if row is None:
        known = ", ".join(e.slug for _, e in list_elections(conn)) or "none"
        raise NotFoundError(
            f"no election {slug!r}",
            expected=f"one of: {known}",
            found=slug,
            remedy="import one with `pollwatch import` or `pollwatch synth`",
        )
    return int(row.id), _election(row)


def list_elections(conn: Connection) -> list[tuple[int, Election]]:
    rows = conn.execute(select(t.elections).order_by(t.elections.c.date, t.elections.c.slug))
    return [(int(r.id), _election(r)) for r in rows]


def _election(row: Row[tuple[object, ...]]) -> Election:
    m = row._mapping
    return Election(
        slug=ElectionSlug(m["slug"]),
        country=m["country"],
        name=m["name"],
        date=m["date"],
        rule_pack=m["rule_pack"],
        delimitation=m["delimitation"],
    )


def upsert_constituencies(
    conn: Connection, election_id: int, items: Iterable[Constituency]
) -> dict[ConstituencyCode, int]:
    """Insert constituencies not yet stored; fill registered voters where the stored row has none."""
    ids = constituency_ids(conn, election_id)
    for c in items:
        values = {
            "name": c.name,
            "region": c.region,
            "assembly": c.assembly,
            "delimitation": c.delimitation,
            "registered_male": c.registered.male,
            "registered_female": c.registered.female,
            "registered_total": c.registered.total,
            "seats": c.seats,
        }
        if c.code not in ids:
            result = conn.execute(
                t.constituencies.insert().values(election_id=election_id, code=c.code, **values)
            )
            ids[c.code] = _inserted_id(result)
            continue
        fill = {k: v for k, v in values.items() if k.startswith("registered") and v is not None}
        if fill:
            table = t.constituencies
            conn.execute(
                table.update()
                .where(table.c.id == ids[c.code], table.c.registered_total.is_(None))
                .values(**fill)
            )
    return ids


def copy_constituency_names(conn: Connection, *, source_id: int, target_id: int) -> int:
    """Give the target election's constituencies without a name the name of the source election's
    constituency with the same code (a synthetic night on real contests); return how many were named."""
    table = t.constituencies
    names = {
        str(code): str(name)
        for code, name in conn.execute(
            select(table.c.code, table.c.name).where(table.c.election_id == source_id, table.c.name != "")
        )
    }
    named = 0
    for code, cid in constituency_ids(conn, target_id).items():
        if code in names:
            result = conn.execute(
                table.update().where(table.c.id == cid, table.c.name == "").values(name=names[code])
            )
            named += result.rowcount
    return named


def constituency_ids(conn: Connection, election_id: int) -> dict[ConstituencyCode, int]:
    rows = conn.execute(
        select(t.constituencies.c.code, t.constituencies.c.id).where(
            t.constituencies.c.election_id == election_id
        )
    )
    return {ConstituencyCode(code): int(i) for code, i in rows}


def insert_stations(
    conn: Connection, *, ids: dict[ConstituencyCode, int], stations: Sequence[Station], source: str
) -> int:
    """Bulk-insert stations of constituencies already stored; return how many were written."""
    columns = (
        "constituency_id",
        "serial",
        "number",
        "name",
        "sex",
        "registered_male",
        "registered_female",
        "registered_total",
        "booths_male",
        "booths_female",
        "booths_total",
        "latitude",
        "longitude",
        "source",
    )
    rows = (
        (
            ids[s.constituency],
            s.serial,
            s.number,
            s.name,
            s.sex.value,
            s.registered.male,
            s.registered.female,
            s.registered.total,
            s.booths.male,
            s.booths.female,
            s.booths.total,
            s.location.latitude if s.location else None,
            s.location.longitude if s.location else None,
            source,
        )
        for s in stations
    )
    return insert_rows(conn, t.stations, columns, rows)


def station_ids(conn: Connection, election_id: int) -> dict[tuple[ConstituencyCode, int], int]:
    """Map (constituency code, station serial) to the stored station id."""
    c, s = t.constituencies, t.stations
    rows = conn.execute(
        select(c.c.code, s.c.serial, s.c.id)
        .join(c, s.c.constituency_id == c.c.id)
        .where(c.c.election_id == election_id)
    )
    return {(ConstituencyCode(code), int(serial)): int(i) for code, serial, i in rows}


def upsert_parties(conn: Connection, election_id: int, items: Iterable[Party]) -> dict[PartyCode, int]:
    ids = party_ids(conn, election_id)
    for p in items:
        if p.code not in ids:
            result = conn.execute(
                t.parties.insert().values(election_id=election_id, code=p.code, name=p.name)
            )
            ids[p.code] = _inserted_id(result)
    return ids


def party_ids(conn: Connection, election_id: int) -> dict[PartyCode, int]:
    rows = conn.execute(
        select(t.parties.c.code, t.parties.c.id).where(t.parties.c.election_id == election_id)
    )
    return {PartyCode(code): int(i) for code, i in rows}


def insert_candidates(
    conn: Connection, election_id: int, candidates: Sequence[Candidate], *, source: str
) -> dict[tuple[ConstituencyCode, CandidateKey], int]:
    """Bulk-insert candidates (their parties must be stored); return ids by (constituency, ballot order)."""
    cids = constituency_ids(conn, election_id)
    pids = party_ids(conn, election_id)
    new_ids = next_ids(conn, t.candidates, len(candidates))
    rows = [
        (
            i,
            cids[c.constituency],
            c.ballot_order,
            c.name,
            pids[c.party] if c.party else None,
            source,
            c.name_ur or None,
        )
        for i, c in zip(new_ids, candidates, strict=True)
    ]
    insert_rows(
        conn,
        t.candidates,
        ("id", "constituency_id", "ballot_order", "name", "party_id", "source", "name_ur"),
        rows,
    )
    return candidate_ids(conn, election_id)


def candidate_ids(conn: Connection, election_id: int) -> dict[tuple[ConstituencyCode, CandidateKey], int]:
    c, k = t.constituencies, t.candidates
    rows = conn.execute(
        select(c.c.code, k.c.ballot_order, k.c.id)
        .join(c, k.c.constituency_id == c.c.id)
        .where(c.c.election_id == election_id)
    )
    return {(ConstituencyCode(code), CandidateKey(order)): int(i) for code, order, i in rows}


def list_constituencies(
    conn: Connection, election_id: int, *, assembly: str | None = None
) -> list[ConstituencySummary]:
    """Constituencies in code order, with station, registered-voter and candidate counts."""
    c, s, k = t.constituencies, t.stations, t.candidates
    st = (
        select(
            s.c.constituency_id,
            func.count().label("n"),
            func.coalesce(func.sum(s.c.registered_total), 0).label("reg"),
        )
        .group_by(s.c.constituency_id)
        .subquery()
    )
    ca = select(k.c.constituency_id, func.count().label("n")).group_by(k.c.constituency_id).subquery()
    query = (
        select(c, func.coalesce(st.c.n, 0), func.coalesce(st.c.reg, 0), func.coalesce(ca.c.n, 0))
        .outerjoin(st, st.c.constituency_id == c.c.id)
        .outerjoin(ca, ca.c.constituency_id == c.c.id)
        .where(c.c.election_id == election_id)
    )
    if assembly:
        query = query.where(c.c.assembly == assembly)
    rows = conn.execute(query).all()
    out = [ConstituencySummary(_constituency(r._mapping), int(r[-3]), int(r[-2]), int(r[-1])) for r in rows]
    return sorted(out, key=lambda x: _code_order(x.constituency.code))


def get_constituency(conn: Connection, election_id: int, code: str) -> tuple[int, Constituency]:
    c = t.constituencies
    row = conn.execute(select(c).where(c.c.election_id == election_id, c.c.code == code)).first()
    if row is None:
        raise NotFoundError(
            f"no constituency {code!r} in this election",
            found=code,
            expected="a code such as NA-1 (see /api/v1/elections/{slug}/constituencies)",
        )
    return int(row.id), _constituency(row._mapping)


def list_stations(conn: Connection, constituency_id: int) -> list[Station]:
    s, c = t.stations, t.constituencies
    rows = conn.execute(
        select(s, c.c.code)
        .join(c, s.c.constituency_id == c.c.id)
        .where(s.c.constituency_id == constituency_id)
        .order_by(s.c.serial)
    )
    return [_station(r._mapping) for r in rows]


def list_candidates(conn: Connection, constituency_id: int) -> list[Candidate]:
    k, c, p = t.candidates, t.constituencies, t.parties
    rows = conn.execute(
        select(k.c.ballot_order, k.c.name, c.c.code, p.c.code.label("party"), k.c.name_ur)
        .join(c, k.c.constituency_id == c.c.id)
        .outerjoin(p, k.c.party_id == p.c.id)
        .where(k.c.constituency_id == constituency_id)
        .order_by(k.c.ballot_order)
    )
    return [
        Candidate(
            constituency=ConstituencyCode(r.code),
            ballot_order=CandidateKey(r.ballot_order),
            name=r.name,
            party=PartyCode(r.party) if r.party else None,
            name_ur=r.name_ur or "",
        )
        for r in rows
    ]


def list_urdu_names(conn: Connection, election_id: int) -> dict[tuple[str, int], str]:
    """Candidates' names in Urdu script by (constituency code, ballot order), where stored."""
    k, c = t.candidates, t.constituencies
    rows = conn.execute(
        select(c.c.code, k.c.ballot_order, k.c.name_ur)
        .join(c, k.c.constituency_id == c.c.id)
        .where(c.c.election_id == election_id, k.c.name_ur.is_not(None))
    )
    return {(str(code), int(order)): str(name) for code, order, name in rows}


def list_parties(conn: Connection, election_id: int) -> list[Party]:
    rows = conn.execute(
        select(t.parties).where(t.parties.c.election_id == election_id).order_by(t.parties.c.code)
    )
    return [Party(code=PartyCode(r.code), name=r.name) for r in rows]


def _constituency(m: RowMapping) -> Constituency:
    g = m.__getitem__
    return Constituency(
        code=ConstituencyCode(g("code")),
        assembly=g("assembly"),
        delimitation=g("delimitation"),
        name=g("name"),
        region=g("region"),
        seats=g("seats"),
        registered=Registered(g("registered_male"), g("registered_female"), g("registered_total")),
    )


def _station(m: RowMapping) -> Station:
    g = m.__getitem__
    location = GeoPoint(g("latitude"), g("longitude")) if g("latitude") is not None else None
    return Station(
        constituency=ConstituencyCode(g("code")),
        serial=g("serial"),
        number=StationNumber(g("number")),
        name=g("name"),
        sex=StationSex(g("sex")),
        registered=Registered(g("registered_male"), g("registered_female"), g("registered_total")),
        booths=Booths(g("booths_male"), g("booths_female"), g("booths_total")),
        location=location,
    )


def _code_order(code: str) -> tuple[str, int, str]:
    """Sort NA-2 before NA-10."""
    prefix, _, number = code.rpartition("-")
    return (prefix, int(number), "") if number.isdigit() else (code, 0, code)


def _inserted_id(result: CursorResult[Any]) -> int:
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def list_station_keys(conn: Connection, slug: str) -> list[tuple[str, int]]:
    """(constituency code, station serial) of every station of an election, in code then serial order."""
    c, s = t.constituencies, t.stations
    query = (
        select(c.c.code, s.c.serial)
        .join(s, s.c.constituency_id == c.c.id)
        .join(t.elections, t.elections.c.id == c.c.election_id)
        .where(t.elections.c.slug == slug)
        .order_by(c.c.code, s.c.serial)
    )
    return [(str(code), int(serial)) for code, serial in conn.execute(query)]
