"""The tally of an election from its sheets: reconcile every station, then add up the best figures."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pollwatch.errors import InputError
from pollwatch.model import ResultSheet, SheetKind
from pollwatch.tally.inputs import ResultsInput, station_key
from pollwatch.tally.live import IntArray, LiveTally
from pollwatch.tally.reconcile import StationReconciliation, reconcile, reconcile_station, settle_station


@dataclass(frozen=True)
class ElectionTally:
    tally: LiveTally
    stations: list[StationReconciliation]
    station_index: dict[tuple[str, object], int]
    polled: IntArray
    """Votes polled per station on its best sheet (-1 where no sheet)."""


class NightTally:
    """Election-night tally: each arriving copy re-reconciles its own station only, then updates the
    running totals, at a cost proportional to that station's copies and candidates."""

    def __init__(self, structure: ResultsInput, *, turnout_cap: float = 0.75) -> None:
        universe, self.index = structure.universe()
        self.live = LiveTally(universe, turnout_cap=turnout_cap)
        self.copies: dict[int, list[ResultSheet]] = {}

    def add(self, sheet: ResultSheet) -> StationReconciliation:
        """Take one more copy of a station's count sheet; return its station's reconciliation."""
        station = self.index.get(station_key(sheet))
        if sheet.kind is not SheetKind.STATION_COUNT or station is None:
            raise InputError(
                "the tally takes station count sheets of known stations",
                where=f"{sheet.constituency} station {sheet.station_serial or sheet.station}",
                expected="a station_count sheet of a station in the polling scheme",
                found=f"{sheet.kind.value} sheet" if station is not None else "an unknown station",
            )
        copies = self.copies.setdefault(station, [])
        copies.append(sheet)
        r = reconcile_station(
            copies, constituency=sheet.constituency, serial=sheet.station_serial, number=sheet.station
        )
        if r.best is not None:
            self.live.apply(station, _row(r.best.sheet, self.live, station))
        return r


def _row(sheet: ResultSheet, live: LiveTally, station: int) -> list[int]:
    u = live.universe
    row = [0] * max(len(u.parties[int(u.station_constituency[station])]), 1)
    for k, v in sheet.votes.items():
        if 0 < k <= len(row):
            row[k - 1] = v
    return row


def tally_election(inp: ResultsInput, *, turnout_cap: float = 0.75) -> ElectionTally:
    """Reconcile every station's copies and tally the best current figures (official-only copies too)."""
    universe, index = inp.universe()
    live = LiveTally(universe, turnout_cap=turnout_cap)
    polled = np.full(len(universe.station_constituency), -1, dtype=np.int64)
    items = _reconciled(inp)
    for r in items:
        if r.best is None:
            continue
        key = (r.constituency, r.serial if r.serial is not None else r.number)
        station = index.get(key)
        if station is None:
            continue
        row = _row(r.best.sheet, live, station)
        live.apply(station, row)
        t = r.best.sheet.totals
        polled[station] = t.polled if t.polled is not None else sum(row) + (t.rejected or 0)
    return ElectionTally(live, items, index, polled)


def _reconciled(inp: ResultsInput) -> list[StationReconciliation]:
    """Every station reconciled (those of the polling scheme without a copy ``missing``), in the order a
    reconciliation of the sheets meets them: settled ones first, as given."""
    if inp.reconciled is None:
        return reconcile(inp.sheets, inp.stations)
    settled = [r.station for r in inp.reconciled]
    seen = {(r.constituency, r.serial if r.serial is not None else r.number) for r in settled}
    missing = [
        settle_station([], constituency=st.constituency, serial=st.serial, number=st.number)
        for st in inp.stations
        if (st.constituency, st.serial) not in seen
    ]
    return [*settled, *missing]
