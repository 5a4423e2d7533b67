"""Read endpoints for the structure of elections: constituencies, stations, candidates, parties."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Query
from pydantic import BaseModel

from pollwatch.api.deps import ReadConn
from pollwatch.model import Candidate, Station
from pollwatch.storage import structure

router = APIRouter(prefix="/api/v1", tags=["elections"])


class ElectionOut(BaseModel):
    slug: str
    country: str
    name: str
    date: dt.date
    rule_pack: str
    delimitation: str


class ConstituencyOut(BaseModel):
    code: str
    assembly: str
    delimitation: str
    name: str
    region: str
    registered_male: int | None
    registered_female: int | None
    registered_total: int | None
    seats: int
    stations: int
    station_registered: int
    candidates: int


class StationOut(BaseModel):
    serial: int
    number: str
    name: str
    sex: str
    registered_male: int | None
    registered_female: int | None
    registered_total: int | None
    booths_total: int | None
    latitude: float | None
    longitude: float | None


class CandidateOut(BaseModel):
    ballot_order: int
    name: str
    party: str | None


class PartyOut(BaseModel):
    code: str
    name: str


@router.get("/elections")
def list_elections(conn: ReadConn) -> list[ElectionOut]:
    """Every stored election."""
    return [ElectionOut(**vars(e)) for _, e in structure.list_elections(conn)]


@router.get("/elections/{slug}")
def get_election(slug: str, conn: ReadConn) -> ElectionOut:
    """One election by slug."""
    return ElectionOut(**vars(structure.get_election(conn, slug)[1]))


@router.get("/elections/{slug}/constituencies")
def list_constituencies(
    slug: str, conn: ReadConn, assembly: str | None = Query(None, max_length=16)
) -> list[ConstituencyOut]:
    """Constituencies with registered voters, station and candidate counts."""
    eid, _ = structure.get_election(conn, slug)
    return [
        ConstituencyOut(
            code=s.constituency.code,
            assembly=s.constituency.assembly,
            delimitation=s.constituency.delimitation,
            name=s.constituency.name,
            region=s.constituency.region,
            seats=s.constituency.seats,
            registered_male=s.constituency.registered.male,
            registered_female=s.constituency.registered.female,
            registered_total=s.constituency.registered.total,
            stations=s.stations,
            station_registered=s.station_registered,
            candidates=s.candidates,
        )
        for s in structure.list_constituencies(conn, eid, assembly=assembly)
    ]


@router.get("/elections/{slug}/constituencies/{code}/stations")
def list_stations(slug: str, code: str, conn: ReadConn) -> list[StationOut]:
    """Polling stations of one constituency in polling-scheme order."""
    eid, _ = structure.get_election(conn, slug)
    cid, _ = structure.get_constituency(conn, eid, code)
    return [_station(s) for s in structure.list_stations(conn, cid)]


@router.get("/elections/{slug}/constituencies/{code}/candidates")
def list_candidates(slug: str, code: str, conn: ReadConn) -> list[CandidateOut]:
    """Candidates of one constituency in ballot order."""
    eid, _ = structure.get_election(conn, slug)
    cid, _ = structure.get_constituency(conn, eid, code)
    return [_candidate(c) for c in structure.list_candidates(conn, cid)]


@router.get("/elections/{slug}/parties")
def list_parties(slug: str, conn: ReadConn) -> list[PartyOut]:
    """Parties standing in the election."""
    eid, _ = structure.get_election(conn, slug)
    return [PartyOut(code=p.code, name=p.name) for p in structure.list_parties(conn, eid)]


def _station(s: Station) -> StationOut:
    return StationOut(
        serial=s.serial,
        number=s.number,
        name=s.name,
        sex=s.sex.value,
        registered_male=s.registered.male,
        registered_female=s.registered.female,
        registered_total=s.registered.total,
        booths_total=s.booths.total,
        latitude=s.location.latitude if s.location else None,
        longitude=s.location.longitude if s.location else None,
    )


def _candidate(c: Candidate) -> CandidateOut:
    return CandidateOut(ballot_order=c.ballot_order, name=c.name, party=c.party)
