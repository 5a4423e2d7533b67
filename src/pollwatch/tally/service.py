"""The tally of an election from its sheets: reconcile every station, then add up the best figures."""

from __future__ import annotations

from dataclasses import dataclass

from pollwatch.tally.inputs import ResultsInput
from pollwatch.tally.live import LiveTally
from pollwatch.tally.reconcile import StationReconciliation, reconcile


@dataclass(frozen=True)
class ElectionTally:
    tally: LiveTally
    stations: list[StationReconciliation]
    station_index: dict[tuple[str, object], int]


def tally_election(inp: ResultsInput, *, turnout_cap: float = 0.75) -> ElectionTally:
    """Reconcile every station's copies and tally the best current figures (official-only copies too)."""
    universe, index = inp.universe()
    live = LiveTally(universe, turnout_cap=turnout_cap)
    items = reconcile(inp.sheets, inp.stations)
    for r in items:
        if r.best is None:
            continue
        key = (r.constituency, r.serial if r.serial is not None else r.number)
        station = index.get(key)
        if station is None:
            continue
        width = len(universe.parties[int(universe.station_constituency[station])])
        row = [0] * max(width, 1)
        for k, v in r.best.sheet.votes.items():
            if 0 < k <= len(row):
                row[k - 1] = v
        live.apply(station, row)
    return ElectionTally(live, items, index)
