"""Election night: when each copy of each station's sheet arrives, from whom, and what it says.

Every station's count ends some time after polls close; agents of the strongest parties and
sometimes an observer report their copies within minutes, the official upload follows hours later,
and a small share of copies carry transcription slips so that reconciliation has real conflicts. A
slip only falls on an independent copy that the station's other copies outvote (two other
independent copies, or one and the official upload), so the reconciled figure is still the sheet's.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from pollwatch.model import Role
from pollwatch.synth.config import BoolArray, IntArray
from pollwatch.synth.election import SyntheticElection


@dataclass(frozen=True)
class Arrivals:
    """One row per copy, sorted by arrival time."""

    station: IntArray
    role: tuple[Role, ...]
    organisation: tuple[str, ...]
    received_at: tuple[dt.datetime, ...]
    captured_at: tuple[dt.datetime, ...]
    """When the copy was photographed and signed: between the end of the count and its sending."""
    votes: IntArray
    """What the copy says (the station sheet, except for transcription slips)."""
    slip: BoolArray
    """Copies whose figures differ from the station sheet by a transcription slip."""


def night(
    e: SyntheticElection,
    *,
    polls_close: dt.datetime,
    seed: int,
    agent_rate: float = 0.7,
    observer_rate: float = 0.1,
    official_rate: float = 0.97,
    slip_rate: float = 0.005,
) -> Arrivals:
    """Draw the arrival of every copy; the official upload never includes withheld stations."""
    rng = np.random.default_rng([seed, 45])
    n = e.n_stations
    count_done = rng.lognormal(np.log(120.0), 0.35, size=n)  # minutes after polls close
    rows: list[tuple[int, Role, str, float]] = []
    top = np.argsort(-e.official.sum(axis=0))[:2]
    for column in top:
        for s in np.flatnonzero(rng.uniform(size=n) < agent_rate):
            party = e.candidate_parties[e.constituency[s]][column] or "independent"
            rows.append((int(s), Role.AGENT, str(party), count_done[s] + rng.exponential(20.0)))
    for s in np.flatnonzero(rng.uniform(size=n) < observer_rate):
        rows.append((int(s), Role.OBSERVER, "Observer mission", count_done[s] + rng.exponential(40.0)))
    uploaded = (rng.uniform(size=n) < official_rate) & ~e.official_withheld
    for s in np.flatnonzero(uploaded):
        rows.append((int(s), Role.OFFICIAL, "Election commission", count_done[s] + rng.uniform(120.0, 600.0)))
    rows.sort(key=lambda r: r[3])
    station = np.array([r[0] for r in rows], dtype=np.int64)
    official = np.array([r[1] is Role.OFFICIAL for r in rows], dtype=bool)
    votes = e.votes[station].copy()
    slip = _slips(rng, station, official, n, slip_rate) & (votes.sum(axis=1) > 0)
    for i in np.flatnonzero(slip):
        column = int(np.argmax(votes[i])) if rng.uniform() < 0.5 else int(rng.integers(votes.shape[1]))
        votes[i, column] = max(0, votes[i, column] + int(rng.choice([-10, -1, 1, 9, 10, 100])))
    slip &= (votes != e.votes[station]).any(axis=1)
    minutes = [float(r[3]) for r in rows]
    captured = [
        max(count_done[s], m - float(rng.uniform(1.0, 10.0)))
        for s, m in zip(station.tolist(), minutes, strict=True)
    ]
    return Arrivals(
        station=station,
        role=tuple(r[1] for r in rows),
        organisation=tuple(r[2] for r in rows),
        received_at=tuple(polls_close + dt.timedelta(minutes=m) for m in minutes),
        captured_at=tuple(polls_close + dt.timedelta(minutes=float(m)) for m in captured),
        votes=votes,
        slip=slip,
    )


def _slips(
    rng: np.random.Generator, station: IntArray, official: BoolArray, n: int, rate: float
) -> BoolArray:
    """Copies that carry a slip: at most one per station, on an independent copy that is outvoted."""
    independent = np.bincount(station[~official], minlength=n)
    uploaded = np.bincount(station[official], minlength=n) > 0
    outvoted = (independent[station] >= 3) | ((independent[station] >= 2) & uploaded[station])
    drawn = (rng.uniform(size=station.shape[0]) < rate) & ~official & outvoted
    first = np.zeros(station.shape[0], dtype=bool)
    _, index = np.unique(station[drawn], return_index=True)
    first[np.flatnonzero(drawn)[index]] = True
    return first
