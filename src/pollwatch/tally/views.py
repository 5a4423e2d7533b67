"""Results read from the projections: a constituency's tally in O(candidates), the nation's in
O(constituencies), one station's reconciliation from its own row, long lists a page at a time.

Nothing here loads an election's stations or sheets: the projector (:mod:`pollwatch.tally.projector`)
keeps the sums, and the structure each answer needs (constituency codes, regions, ballots, coverage
denominators) is cached per election and re-validated every few seconds.

References
----------
.. [1] pollwatch docs/results.md, "Projections".
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import Connection

from pollwatch.errors import NotFoundError
from pollwatch.model import (
    Candidate,
    CandidateKey,
    Channel,
    Constituency,
    ConstituencyCode,
    Election,
    Party,
    PartyCode,
    Provenance,
    ResultSheet,
    Role,
    SheetKind,
    Station,
    StationNumber,
    Totals,
)
from pollwatch.storage import projections as store
from pollwatch.storage import structure
from pollwatch.storage.results import load_constituency, load_structure
from pollwatch.tally.ballot import INDEPENDENT, Ballots
from pollwatch.tally.inputs import ResultsInput
from pollwatch.tally.leaves import sheet_from_leaf
from pollwatch.tally.live import IntArray, LiveTally, Universe
from pollwatch.tally.projected_rows import parse_copies, settled_from, version_indexes
from pollwatch.tally.projector import NAME
from pollwatch.tally.reconcile import CopyState, StationReconciliation, leaf_index, reconcile_station

_REVALIDATE = 2.0
"""Seconds a cached election structure is trusted before its version is checked again."""


@dataclass(frozen=True)
class ElectionStructure:
    """What answers need to know about an election besides the projected sums."""

    election_id: int
    election: Election
    places: tuple[store.ConstituencyPlace, ...]
    by_code: Mapping[str, store.ConstituencyPlace]
    ballots: Ballots
    """Candidates' names and parties by constituency code and ballot position."""


_CACHE: dict[tuple[str, str], tuple[float, tuple[int, int, int], ElectionStructure]] = {}
_LOCK = threading.Lock()


def get_structure(conn: Connection, slug: str) -> ElectionStructure:
    """The election's structure, from the cache while its stations, candidates and seats are unchanged."""
    key = (conn.engine.url.render_as_string(hide_password=True), slug)
    now = time.monotonic()
    with _LOCK:
        hit = _CACHE.get(key)
    if hit is not None and now - hit[0] < _REVALIDATE:
        return hit[2]
    election_id, election = structure.get_election(conn, slug)
    version = store.structure_version(conn, election_id)
    if hit is not None and hit[1] == version:
        found = hit[2]
    else:
        places = tuple(store.list_constituency_places(conn, election_id))
        codes = {p.id: p.code for p in places}
        urdu = structure.list_urdu_names(conn, election_id)
        candidates = [
            Candidate(
                ConstituencyCode(codes[cid]), CandidateKey(pos), name, PartyCode(party) if party else None,
                urdu.get((codes[cid], int(pos)), ""),
            )
            for cid, rows in store.list_ballots(conn, election_id).items()
            for pos, party, name in rows
        ]  # fmt: skip
        ballots = Ballots.of(candidates, structure.list_parties(conn, election_id))
        found = ElectionStructure(election_id, election, places, {p.code: p for p in places}, ballots)
    with _LOCK:
        _CACHE[key] = (now, version, found)
    return found


def live_tally(
    conn: Connection,
    slug: str,
    *,
    turnout_cap: float = 0.75,
    assembly: str | None = None,
    constituency: str | None = None,
    only_constituency: bool = True,
) -> LiveTally:
    """The tally from the projections: one constituency's row, one assembly's rows, or every row.

    ``constituency`` must be one of the election's (else :class:`NotFoundError`); with
    ``only_constituency=False`` it is only checked and every row is read (for regional and national sums).
    """
    s = get_structure(conn, slug)
    if only_constituency and constituency is not None:
        places: Sequence[store.ConstituencyPlace] = [_place(s, constituency)]
        rows = store.get_constituency_rows(conn, {places[0].id})
    else:
        if constituency is not None:
            _place(s, constituency)
        places = [p for p in s.places if assembly is None or p.assembly == assembly]
        wanted = {p.id for p in places}
        rows = {r["constituency_id"]: r for r in store.list_constituency_rows(conn, s.election_id)}
        rows = {cid: r for cid, r in rows.items() if cid in wanted}
    return _tally(s, places, rows, turnout_cap)


def _place(s: ElectionStructure, code: str) -> store.ConstituencyPlace:
    place = s.by_code.get(code)
    if place is None:
        raise NotFoundError(
            "no such constituency in this election",
            where="constituency",
            expected=f"a constituency code of {s.election.slug}",
            found=code,
        )
    return place


def _tally(
    s: ElectionStructure,
    places: Sequence[store.ConstituencyPlace],
    rows: Mapping[int, Mapping[str, Any]],
    turnout_cap: float,
) -> LiveTally:
    parties = []
    for p in places:
        ballot = {
            pos: None if e.party == INDEPENDENT else e.party
            for pos, e in s.ballots.entries.get(p.code, {}).items()
        }
        seen = [int(k) for k in (rows[p.id]["votes"] if p.id in rows else {})]
        width = max([*ballot, *seen], default=0)
        parties.append(tuple(ballot.get(j, None if j in seen else "") for j in range(1, width + 1)))
    universe = Universe(
        constituency_codes=tuple(p.code for p in places),
        regions=tuple(p.region for p in places),
        station_constituency=np.zeros(0, dtype=np.int64),
        station_registered=np.zeros(0, dtype=np.int64),
        parties=tuple(parties),
        ballots=s.ballots,
    )
    n, k = len(places), universe.n_columns
    totals: IntArray = np.zeros((n, k), dtype=np.int64)
    counts = np.zeros((6, n), dtype=np.int64)
    for i, p in enumerate(places):
        row = rows.get(p.id)
        counts[0, i], counts[1, i], counts[5, i] = p.stations, p.station_registered, p.unknown_registered
        if row is None:
            continue
        for position, votes in row["votes"].items():
            totals[i, int(position) - 1] = int(votes)
        counts[0, i] += row["sheet_only_stations"]
        counts[1, i] += row["sheet_only_registered"]
        counts[2, i] = row["stations_reported"]
        counts[3, i] = row["registered_reported"]
        counts[5, i] -= row["unknown_reported"]
    return LiveTally.from_counts(
        universe,
        totals=totals,
        expected_count=counts[0],
        expected_registered=counts[1],
        reported_count=counts[2],
        reported_registered=counts[3],
        unknown_unreported=counts[5],
        turnout_cap=turnout_cap,
    )


@dataclass(frozen=True)
class StationPage:
    """One page of station reconciliations; ``next_after`` continues the listing (None: the last page)."""

    stations: list[StationReconciliation]
    next_after: int | None
    as_of: int
    """Leaves of the log applied to the projection when this page was read."""


def list_reconciliations(
    conn: Connection,
    slug: str,
    *,
    constituency: str | None = None,
    serial: int | None = None,
    state: str | None = None,
    after: int = 0,
    limit: int = 100,
) -> StationPage:
    """Stations' reconciliations from their projection rows, in a stable order, a page at a time.

    ``state="missing"`` lists the stations of the polling scheme without any copy yet.
    """
    s = get_structure(conn, slug)
    cid = _place(s, constituency).id if constituency is not None else None
    as_of = store.get_cursor(conn, NAME)
    if state == CopyState.MISSING.value:
        return _missing(conn, s, cid, after, limit, as_of)
    rows = store.list_station_rows(
        conn, s.election_id, constituency_id=cid, serial=serial, states=[state] if state else (),
        after_id=after, limit=limit + 1,
    )  # fmt: skip
    codes = {p.id: p.code for p in s.places}
    copies = _copies_by_key(conn, [r["key"] for r in rows[:limit]])
    out = [
        reconcile_station(
            copies.get(r["key"], []),
            constituency=codes[int(r["constituency_id"])],
            serial=r["serial"],
            number=r["number"],
        )
        for r in rows[:limit]
    ]
    next_after = int(rows[limit - 1]["id"]) if len(rows) > limit else None
    return StationPage(out, next_after, as_of)


def _copies_by_key(conn: Connection, keys: Sequence[str]) -> dict[str, list[ResultSheet]]:
    """The copies of the stations ``keys``, parsed, in log order."""
    out: dict[str, list[ResultSheet]] = {}
    for row in store.list_station_copies(conn, keys=keys) if keys else []:
        out.setdefault(row.key, []).extend(parse_copies([row]))
    return out


def _missing(
    conn: Connection, s: ElectionStructure, cid: int | None, after: int, limit: int, as_of: int
) -> StationPage:
    codes = {p.id: p.code for p in s.places}
    rows = store.list_missing_stations(
        conn, s.election_id, constituency_id=cid, after_id=after, limit=limit + 1
    )
    out = [
        StationReconciliation(codes[c], serial, number, CopyState.MISSING, None, (), (), "no copy")
        for _, c, serial, number in rows[:limit]
    ]
    return StationPage(out, int(rows[limit - 1][0]) if len(rows) > limit else None, as_of)


def get_reconciliation(conn: Connection, slug: str, constituency: str, serial: int) -> StationReconciliation:
    """One station's reconciliation (``missing`` when no copy has arrived)."""
    page = list_reconciliations(conn, slug, constituency=constituency, serial=serial, limit=1)
    if page.stations:
        return page.stations[0]
    s = get_structure(conn, slug)
    number = store.get_station_number(conn, _place(s, constituency).id, serial)
    if number is None:
        raise NotFoundError(
            "no such station in this constituency",
            where="station",
            expected=f"a station serial of {constituency}",
            found=str(serial),
        )
    return StationReconciliation(
        constituency, serial, number or None, CopyState.MISSING, None, (), (), "no copy"
    )


def count_states(conn: Connection, slug: str) -> dict[str, int]:
    """Stations per reconciliation state, ``missing`` included."""
    s = get_structure(conn, slug)
    counts = store.count_station_rows(conn, s.election_id)
    in_scheme = sum(p.stations for p in s.places)
    counts[CopyState.MISSING.value] = max(in_scheme - store.count_scheme_rows(conn, s.election_id), 0)
    return counts


def list_station_copies(
    conn: Connection, slug: str, code: str, serial: int
) -> list[tuple[ResultSheet, bool]]:
    """Every copy of one station's sheet held by its projection row, in log order (none: no copy),
    each with whether its leaf carries a device signature (checked at intake before it was logged)."""
    s = get_structure(conn, slug)
    rows = store.list_station_rows(
        conn, s.election_id, constituency_id=_place(s, code).id, serial=serial, columns=("key",)
    )
    stored = store.list_station_copies(conn, keys=[r["key"] for r in rows]) if rows else []
    signed = {c.index: bool(json.loads(c.leaf).get("signature")) for c in stored}
    return [(c, signed.get(int(c.extra.get("leaf_index", -1)), False)) for c in parse_copies(stored)]


def count_states_by_constituency(
    conn: Connection, slug: str, *, constituency: str | None = None
) -> dict[str, dict[str, int]]:
    """Stations per reconciliation state per constituency code (``missing``: scheme stations without a
    row, never below zero); one grouped read of the projection (of one constituency's rows if given)."""
    s = get_structure(conn, slug)
    places = [_place(s, constituency)] if constituency is not None else s.places
    only = places[0].id if constituency is not None else None
    counts = store.count_station_rows_by_constituency(conn, s.election_id, constituency_id=only)
    out: dict[str, dict[str, int]] = {}
    for p in places:
        found = dict(counts.get(p.id, {}))
        found[CopyState.MISSING.value] = max(p.stations - sum(found.values()), 0)
        out[p.code] = found
    return out


def list_other_sheets(conn: Connection, slug: str, code: str) -> list[ResultSheet]:
    """One constituency's result leaves other than station counts (Form-47/48/49, official figures),
    in log order."""
    s = get_structure(conn, slug)
    return _other_sheets(conn, s.election_id, _place(s, code).id)


def constituency_version(conn: Connection, slug: str, code: str) -> tuple[int, int]:
    """Changes whenever a result leaf about the constituency is applied (0 before any) or the
    election's structure changes: the key of anything cached about one constituency."""
    s = get_structure(conn, slug)
    cid = _place(s, code).id
    row = store.get_constituency_rows(conn, {cid}).get(cid)
    return (int(row["version"]) if row is not None else 0, sum(p.stations for p in s.places))


def constituency_input(conn: Connection, slug: str, code: str, *, every_copy: bool = False) -> ResultsInput:
    """One constituency as the audit reads it: its structure, its stations' reconciliations settled from
    the versions their projection rows keep (corrections applied as everywhere else) and its other sheets
    (Form-47/48/49) from the store. ``every_copy``: every station copy instead, in log order (what an
    evidence pack carries); so is a constituency with a row written before the rows kept versions."""
    s = get_structure(conn, slug)
    cid = _place(s, code).id
    election, constituencies, stations, candidates, parties = _constituency_structure(conn, s, slug, code)
    others = _other_sheets(conn, s.election_id, cid)
    if every_copy:
        copies = parse_copies(store.list_station_copies(conn, constituency_id=cid))
        return ResultsInput(election, constituencies, stations, candidates, parties, [*copies, *others])
    rows = store.list_station_rows(conn, s.election_id, constituency_id=cid, columns=("serial", "versions"))
    rows.sort(key=lambda r: int(r["versions"]["first"]))
    wanted = [i for r in rows for i in version_indexes(r["versions"])]
    named = {leaf_index(c): c for c in parse_copies(store.list_station_copies(conn, indexes=wanted))}
    by_index = {i: c for i, c in named.items() if i is not None}
    settled = [settled_from(r["versions"], by_index, constituency=code, serial=r["serial"]) for r in rows]
    return ResultsInput(election, constituencies, stations, candidates, parties, others, settled)


_Loaded = tuple[Election, list[Constituency], list[Station], list[Candidate], list[Party]]
_CONSTITUENCIES: dict[tuple[str, str, str], tuple[ElectionStructure, _Loaded]] = {}


def _constituency_structure(conn: Connection, s: ElectionStructure, slug: str, code: str) -> _Loaded:
    """One constituency's structure (:func:`load_constituency`), kept while the election's structure is
    the same object (:func:`get_structure` re-validates it): an audit is asked for again and again on
    election night, and loading its stations and ballot was a fifth of its cost."""
    key = (conn.engine.url.render_as_string(hide_password=True), slug, code)
    with _LOCK:
        hit = _CONSTITUENCIES.get(key)
    if hit is not None and hit[0] is s:
        return hit[1]
    found = load_constituency(conn, slug, code)
    with _LOCK:
        if len(_CONSTITUENCIES) > 4_096:
            _CONSTITUENCIES.clear()
        _CONSTITUENCIES[key] = (s, found)
    return found


def _other_sheets(
    conn: Connection, election_id: int, constituency_id: int | None = None
) -> list[ResultSheet]:
    """The election's (or one constituency's) result leaves other than station counts, in log order."""
    out = []
    for index, leaf_type, body in store.list_other_results(
        conn, election_id, constituency_id=constituency_id
    ):
        sheet = sheet_from_leaf(index, leaf_type, body)
        if sheet is not None:
            out.append(sheet)
    return out


def declared_input(conn: Connection, slug: str) -> ResultsInput:
    """The election's structure (without stations) and its constituency-level and official sheets:
    what the declared results and parliament need, without any station count."""
    election, constituencies, _, candidates, parties = load_structure(conn, slug, stations=False)
    eid = get_structure(conn, slug).election_id
    return ResultsInput(election, constituencies, [], candidates, parties, _other_sheets(conn, eid))


_BEST: dict[tuple[str, str], tuple[float, int, ResultsInput]] = {}
_BEST_TTL = 10.0


def best_input(conn: Connection, slug: str) -> ResultsInput:
    """The whole election with each station's best figure from the projection standing for its copies
    (one sheet per reported station), for what needs every station at once (PVT, forensics).

    Reconciling a station with one copy gives that copy, so a tally of this input equals the
    projection's; kept for ten seconds while leaves keep arriving.
    """
    key = (conn.engine.url.render_as_string(hide_password=True), slug)
    now, cursor = time.monotonic(), store.get_cursor(conn, NAME)
    with _LOCK:
        hit = _BEST.get(key)
    if hit is not None and (hit[1] == cursor or now - hit[0] < _BEST_TTL):
        return hit[2]
    s = get_structure(conn, slug)
    election, constituencies, stations, candidates, parties = load_structure(conn, slug)
    codes = {p.id: p.code for p in s.places}
    columns = ("constituency_id", "serial", "number", "votes", "valid", "rejected", "polled", "registered")
    sheets = [
        _best_sheet(codes[int(r["constituency_id"])], r)
        for r in store.list_station_rows(conn, s.election_id, columns=columns)
    ]
    sheets += _other_sheets(conn, s.election_id)
    found = ResultsInput(election, constituencies, stations, candidates, parties, sheets)
    with _LOCK:
        _BEST[key] = (now, cursor, found)
    return found


def _best_sheet(code: str, row: Mapping[str, Any]) -> ResultSheet:
    return ResultSheet(
        kind=SheetKind.STATION_COUNT,
        form="",
        constituency=ConstituencyCode(code),
        votes={CandidateKey(int(k)): int(v) for k, v in row["votes"].items()},
        totals=Totals(
            valid=row["valid"], rejected=row["rejected"], polled=row["polled"], registered=row["registered"]
        ),
        provenance=Provenance(
            source="projection", channel=Channel.API, role=Role.AGENT, organisation="best figure"
        ),
        station=StationNumber(row["number"]) if row["number"] else None,
        station_serial=row["serial"],
    )


def stored_reconciliation(
    conn: Connection, slug: str, *, constituency: str | None = None, state: str | None = None
) -> list[dict[str, Any]]:
    """Every station's reconciliation (candidates named), all pages, stations without a copy included."""
    ballots = get_structure(conn, slug).ballots
    states = [state] if state is not None else [None, CopyState.MISSING.value]
    out: list[dict[str, Any]] = []
    for wanted in states:
        after: int | None = 0
        while after is not None:
            page = list_reconciliations(
                conn, slug, constituency=constituency, state=wanted, after=after, limit=1000
            )
            out += [r.as_dict(ballots=ballots) for r in page.stations]
            after = page.next_after
    return out
