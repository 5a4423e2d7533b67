"""Resolving the places a record reports on: constituencies, stations and their ballots, in batches."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import Connection, bindparam, select, tuple_

from pollwatch.model import CandidateKey
from pollwatch.storage import schema as t


@dataclass(frozen=True)
class StationContext:
    """What validation needs to know about the place a sheet reports on."""

    election_id: int
    constituency_id: int
    station_id: int | None
    station_serial: int | None
    station_number: str | None
    registered: int | None
    booths: int | None
    candidates: dict[CandidateKey, int]


@dataclass(frozen=True)
class ConstituencyContext:
    """A constituency as validation sees it: its id, registered voters and ballot (position -> id)."""

    id: int
    code: str
    registered: int | None
    candidates: dict[CandidateKey, int]


def get_station_context(
    conn: Connection,
    *,
    election_id: int,
    constituency: str,
    station_serial: int | None,
    station_number: str | None,
) -> StationContext | None:
    """Resolve a constituency (and station, by serial or printed number); None if unknown."""
    c, s, k = t.constituencies, t.stations, t.candidates
    crow = conn.execute(
        select(c.c.id, c.c.registered_total).where(c.c.election_id == election_id, c.c.code == constituency)
    ).first()
    if crow is None:
        return None
    cands = {
        CandidateKey(int(order)): int(i)
        for order, i in conn.execute(select(k.c.ballot_order, k.c.id).where(k.c.constituency_id == crow.id))
    }
    if station_serial is None and station_number is None:
        return StationContext(election_id, int(crow.id), None, None, None, crow.registered_total, None, cands)
    query = select(s.c.id, s.c.serial, s.c.number, s.c.registered_total, s.c.booths_total).where(
        s.c.constituency_id == crow.id
    )
    if station_serial is not None:
        query = query.where(s.c.serial == station_serial)
    else:
        query = query.where(s.c.number == station_number).order_by(s.c.serial)
    rows = conn.execute(query.limit(2)).all()
    if len(rows) != 1:
        return None
    r = rows[0]
    return StationContext(
        election_id,
        int(crow.id),
        int(r.id),
        int(r.serial),
        r.number,
        r.registered_total,
        r.booths_total,
        cands,
    )


# Batch lookups on the intake hot path. The IN lists are expanding bind parameters of statements built
# once, so SQLAlchemy neither coerces every value nor recompiles: a per-batch query costs what the
# database needs, not what building it in Python needs.
_CONSTITUENCIES = select(
    t.constituencies.c.id, t.constituencies.c.code, t.constituencies.c.registered_total
).where(
    t.constituencies.c.election_id == bindparam("election"),
    t.constituencies.c.code.in_(bindparam("codes", expanding=True)),
)


_CANDIDATES = select(t.candidates.c.constituency_id, t.candidates.c.ballot_order, t.candidates.c.id).where(
    t.candidates.c.constituency_id.in_(bindparam("ids", expanding=True))
)


_STATIONS = select(
    t.stations.c.id, t.stations.c.constituency_id, t.stations.c.serial, t.stations.c.number,
    t.stations.c.registered_total, t.stations.c.booths_total,
).where(
    # The (constituency, serial) pairs themselves: a batch spread over many constituencies and serials
    # must not fetch their cross product (a night's batch of 500 fetched most of the nation's stations).
    tuple_(t.stations.c.constituency_id, t.stations.c.serial).in_(bindparam("pairs", expanding=True)),
)  # fmt: skip


def list_constituency_contexts(
    conn: Connection, election_id: int, codes: set[str]
) -> dict[str, ConstituencyContext]:
    """Constituencies of an election by code, with their ballots, in two queries; unknown are absent."""
    if not codes:
        return {}
    crows = conn.execute(_CONSTITUENCIES, {"election": election_id, "codes": sorted(codes)}).all()
    cands: dict[int, dict[CandidateKey, int]] = {int(r.id): {} for r in crows}
    if cands:
        for cid, order, kid in conn.execute(_CANDIDATES, {"ids": list(cands)}):
            cands[int(cid)][CandidateKey(int(order))] = int(kid)
    return {
        r.code: ConstituencyContext(int(r.id), r.code, r.registered_total, cands[int(r.id)]) for r in crows
    }


def list_station_contexts(
    conn: Connection,
    election_id: int,
    places: set[tuple[str, int | None]],
    constituencies: Mapping[str, ConstituencyContext] | None = None,
) -> dict[tuple[str, int | None], StationContext]:
    """Resolve many (constituency, station serial or None) places; unknown are absent.

    ``constituencies`` (for example cached by the caller) saves looking them up again; codes it
    lacks are looked up.
    """
    known = dict(constituencies or {})
    codes = {code for code, _ in places}
    known.update(list_constituency_contexts(conn, election_id, codes - set(known)))
    by_id = {c.id: c for code, c in known.items() if code in codes}
    out: dict[tuple[str, int | None], StationContext] = {}
    ids = {code: c.id for code, c in known.items() if code in codes}
    pairs = sorted({(ids[code], serial) for code, serial in places if serial is not None and code in ids})
    if pairs:
        for r in conn.execute(_STATIONS, {"pairs": pairs}):
            c = by_id[int(r.constituency_id)]
            out[(c.code, int(r.serial))] = StationContext(
                election_id, c.id, int(r.id), int(r.serial), r.number, r.registered_total, r.booths_total,
                c.candidates,
            )  # fmt: skip
    for code, serial in places:
        if serial is None and code in known:
            c = known[code]
            out[(code, None)] = StationContext(
                election_id, c.id, None, None, None, c.registered, None, c.candidates
            )
    return {key: ctx for key, ctx in out.items() if key in places}
