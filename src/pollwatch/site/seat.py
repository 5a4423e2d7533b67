"""A constituency page's extras: the recount threshold and the re-poll arithmetic on the signed sum,
and its stations as dots on a small map.

* Recount: the rule pack's :meth:`~pollwatch.rules.base.RulePack.recount` (Pakistan: EA 2017 s.95(5))
  applied to the signed sum, with votes polled taken as the valid votes plus the rejected ones the
  sheets report.
* Re-poll: :func:`pollwatch.audit.repoll.repoll_impact` for the stations without an agreed figure
  (conflicting copies or no copy at all): could re-polling them change the leader, and what would it
  take.
* Map: stations placed by their GPS point where the polling scheme has one; no open constituency
  boundary exists, so the map is labelled approximate, and a seat without any location gets its
  stations laid out in scheme order (labelled so).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape

from sqlalchemy import Connection

from pollwatch.audit.repoll import RepollImpact, RepollStation, repoll_impact
from pollwatch.errors import InputError
from pollwatch.model import CandidateKey, Station
from pollwatch.rules import get_rule_pack
from pollwatch.rules.base import Contest, RecountVerdict
from pollwatch.storage import structure
from pollwatch.tally.live import ConstituencyTally
from pollwatch.tally.reconcile import StationReconciliation
from pollwatch.tally.views import get_structure, list_reconciliations

WIDTH = 360
STATE_COLOUR = {
    "missing": "#bdbdbd", "single_source": "#f0ad4e", "agreed": "#2e7d32", "conflict": "#c62828",
    "official_only": "#1565c0",
}  # fmt: skip
UNSETTLED = ("conflict", "missing")
"""Stations whose figure is not settled by agreeing copies: what a re-poll would be about."""


@dataclass(frozen=True)
class SeatExtras:
    recount: RecountVerdict | None
    repoll: RepollImpact | None
    repoll_stations: int
    map_svg: str | None
    located: int
    """Stations drawn at their GPS point (0: laid out in scheme order)."""
    stations: int


def _recount(conn: Connection, slug: str, tally: ConstituencyTally, rejected: int) -> RecountVerdict | None:
    s = get_structure(conn, slug)
    place = s.by_code[tally.code]
    votes = {CandidateKey(i + 1): v for i, v in enumerate(tally.votes)}
    if sum(votes.values()) == 0 or len(votes) < 2:
        return None
    contest = Contest(tally.code, place.assembly, votes, region=tally.region, rejected=rejected,
                      polled=sum(votes.values()) + rejected)  # fmt: skip
    return get_rule_pack(s.election.rule_pack).recount(contest)


def _unsettled(conn: Connection, slug: str, code: str) -> list[StationReconciliation]:
    out: list[StationReconciliation] = []
    for state in UNSETTLED:
        after = 0
        while True:
            page = list_reconciliations(conn, slug, constituency=code, state=state, after=after, limit=500)
            out.extend(page.stations)
            if page.next_after is None:
                break
            after = page.next_after
    return out


def _repoll(
    tally: ConstituencyTally, unsettled: Sequence[StationReconciliation], scheme: Mapping[int, Station]
) -> RepollImpact | None:
    totals = {CandidateKey(i + 1): v for i, v in enumerate(tally.votes)}
    if len(totals) < 2 or not unsettled or sum(totals.values()) == 0:
        return None
    stations = []
    for r in unsettled:
        station = scheme.get(r.serial or 0)
        registered = station.registered.total if station is not None else None
        counted = {CandidateKey(int(k)): int(v) for k, v in r.best.sheet.votes.items()} if r.best else {}
        stations.append(RepollStation(str(r.number or r.serial), registered or 0, counted))
    try:
        return repoll_impact(tally.code, totals, stations=stations)
    except InputError:  # a best figure not in the signed sum (corrected since): no honest answer
        return None


def get_seat_extras(
    conn: Connection, slug: str, tally: ConstituencyTally, *, rejected: int, href: str
) -> SeatExtras:
    """The recount verdict, the re-poll impact of the unsettled stations and the station map."""
    s = get_structure(conn, slug)
    scheme = {st.serial: st for st in structure.list_stations(conn, s.by_code[tally.code].id)}
    states = {r.serial: r.state.value for r in list_reconciliations(
        conn, slug, constituency=tally.code, limit=max(len(scheme), 1)).stations}  # fmt: skip
    unsettled = _unsettled(conn, slug, tally.code)
    located = sum(1 for st in scheme.values() if st.location is not None)
    svg = station_map(list(scheme.values()), states, href=href)
    return SeatExtras(
        _recount(conn, slug, tally, rejected), _repoll(tally, unsettled, scheme), len(unsettled), svg,
        located, len(scheme),
    )  # fmt: skip


def _positions(stations: Sequence[Station]) -> dict[int, tuple[float, float]]:
    """Each station's place in a WIDTH-wide box: its GPS point (equirectangular), or, when no station
    of the seat has one, a grid in scheme order."""
    placed = [s for s in stations if s.location is not None]
    if not placed:
        cols = max(math.ceil(math.sqrt(len(stations))), 1)
        step = (WIDTH - 20) / cols
        return {s.serial: (10 + (i % cols + 0.5) * step, 10 + (i // cols + 0.5) * step)
                for i, s in enumerate(sorted(stations, key=lambda s: s.serial))}  # fmt: skip
    lats = [s.location.latitude for s in placed if s.location]
    lons = [s.location.longitude for s in placed if s.location]
    kx = math.cos(math.radians((min(lats) + max(lats)) / 2))
    span = max((max(lons) - min(lons)) * kx, max(lats) - min(lats), 1e-4)
    scale = (WIDTH - 20) / span
    return {
        s.serial: (
            10 + (s.location.longitude - min(lons)) * kx * scale,
            10 + (max(lats) - s.location.latitude) * scale,
        )
        for s in placed
        if s.location is not None
    }


def station_map(stations: Sequence[Station], states: Mapping[int | None, str], *, href: str) -> str | None:
    """Inline SVG: one dot per station coloured by its state, each linking its page (None: no station)."""
    if not stations:
        return None
    where = _positions(stations)
    height = math.ceil(max((y for _, y in where.values()), default=0) + 10)
    dots = []
    for s in sorted(stations, key=lambda s: s.serial):
        if s.serial not in where:
            continue
        x, y = where[s.serial]
        state = states.get(s.serial, "missing")
        label = f"Station {s.serial} {s.name}: {state}".strip()
        dots.append(
            f'<a href="{escape(href)}{s.serial}"><circle cx="{x:.0f}" cy="{y:.0f}" r="4" '
            f'fill="{STATE_COLOUR.get(state, "#999")}"><title>{escape(label)}</title></circle></a>'
        )
    approx = "approximate" if len(where) == len(stations) else "approximate, partial"
    return (
        f'<svg viewBox="0 0 {WIDTH} {max(height, 30)}" role="img" class="map" '
        f'xmlns="http://www.w3.org/2000/svg" stroke="#fff" stroke-width=".5">'
        f"<title>Stations by state ({approx}: no constituency boundary)</title>{''.join(dots)}</svg>"
    )
