"""Live tally: totals, coverage, leader, margin and decidedness, updated per arriving station sheet.

A race is *decided* when the registered voters of the stations not yet reported cannot close the
margin even if every one of them voted for the runner-up; *decided under a turnout cap* when a cap
of ``turnout_cap`` of those voters cannot. Both assume reported figures stand (a recount or a
re-poll reopens the question, see :mod:`pollwatch.audit.repoll`).

References
----------
.. [1] pollwatch MISSION.md capability 4; the 2008 Karachi case (22,000 lead with 52 of 198 stations).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from pollwatch.errors import InputError

IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]
INDEPENDENT = "IND"


@dataclass(frozen=True)
class Universe:
    """What a complete count covers: stations with registered voters, constituencies, ballots.

    Column ``j`` of a constituency's vote vector is ballot position ``j + 1``.
    """

    constituency_codes: tuple[str, ...]
    regions: tuple[str, ...]
    station_constituency: IntArray
    station_registered: IntArray
    """Registered voters per station; -1 where unknown (an unknown station never lets a race be decided)."""
    parties: tuple[tuple[str | None, ...], ...]
    """Per constituency, the party of each ballot position (None: independent; "" unused column)."""

    @property
    def n_columns(self) -> int:
        return max((len(p) for p in self.parties), default=1) or 1

    @property
    def n_constituencies(self) -> int:
        return len(self.constituency_codes)


@dataclass(frozen=True)
class ConstituencyTally:
    code: str
    region: str
    votes: tuple[int, ...]
    stations_reported: int
    stations_expected: int
    registered_reported: int
    registered_expected: int
    leader: int | None
    """Ballot position of the leader (1-based), None before any vote."""
    runner_up: int | None
    margin: int
    unreported_registered: int | None
    """None when some unreported station's registered voters are unknown."""
    decided: bool
    decided_under_cap: bool
    turnout_cap: float

    def as_dict(self) -> dict[str, object]:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in vars(self).items()}


@dataclass(frozen=True)
class PartyTally:
    """Votes and seats of one party within a region (or the nation, region ``""``)."""

    region: str
    party: str
    votes: int
    leading: int
    decided: int


class LiveTally:
    """In-memory tally over a :class:`Universe`; :meth:`apply` costs O(candidates) per sheet."""

    def __init__(self, universe: Universe, *, turnout_cap: float = 0.75) -> None:
        if not 0.0 < turnout_cap <= 1.0:
            raise InputError("turnout cap out of range", expected="0 < cap <= 1", found=str(turnout_cap))
        self.universe = universe
        self.turnout_cap = turnout_cap
        n, c, k = len(universe.station_constituency), universe.n_constituencies, universe.n_columns
        self.votes: IntArray = np.zeros((n, k), dtype=np.int64)
        self.reported: BoolArray = np.zeros(n, dtype=bool)
        self.totals: IntArray = np.zeros((c, k), dtype=np.int64)
        reg = universe.station_registered
        self.expected_count: IntArray = np.bincount(universe.station_constituency, minlength=c).astype(
            np.int64
        )
        self.unknown_unreported: IntArray = np.bincount(
            universe.station_constituency, weights=(reg < 0), minlength=c
        ).astype(np.int64)
        self.expected_registered: IntArray = np.bincount(
            universe.station_constituency, weights=np.maximum(reg, 0), minlength=c
        ).astype(np.int64)
        self.reported_count: IntArray = np.zeros(c, dtype=np.int64)
        self.reported_registered: IntArray = np.zeros(c, dtype=np.int64)

    def apply(self, station: int, votes: Sequence[int] | IntArray) -> None:
        """Record (or replace) the best current figures of one station."""
        row = np.zeros(self.votes.shape[1], dtype=np.int64)
        row[: len(votes)] = votes
        c = int(self.universe.station_constituency[station])
        self.totals[c] += row - self.votes[station]
        self.votes[station] = row
        if not self.reported[station]:
            self.reported[station] = True
            self.reported_count[c] += 1
            reg = int(self.universe.station_registered[station])
            if reg < 0:
                self.unknown_unreported[c] -= 1
            else:
                self.reported_registered[c] += reg

    def load(self, votes: IntArray, reported: BoolArray) -> None:
        """Replace the whole state from station arrays (a full recompute)."""
        u = self.universe
        self.votes = np.zeros_like(self.votes)
        self.votes[:, : votes.shape[1]] = np.where(reported[:, None], votes, 0)
        self.reported = reported.copy()
        self.totals = sum_by_constituency(u.station_constituency, self.votes, u.n_constituencies)
        sc, reg, c = u.station_constituency, u.station_registered, u.n_constituencies
        self.reported_count = np.bincount(sc, weights=reported, minlength=c).astype(np.int64)
        self.reported_registered = np.bincount(
            sc, weights=np.where(reported, np.maximum(reg, 0), 0), minlength=c
        ).astype(np.int64)
        self.unknown_unreported = np.bincount(sc, weights=(reg < 0) & ~reported, minlength=c).astype(np.int64)

    def constituency(self, index: int) -> ConstituencyTally:
        """The tally of one constituency, computed from its running totals in O(candidates)."""
        u, row = self.universe, self.totals[index]
        order = np.argsort(-row, kind="stable")
        lead, second = int(row[order[0]]), int(row[order[1]]) if len(row) > 1 else 0
        remaining: int | None = int(self.expected_registered[index] - self.reported_registered[index])
        if self.unknown_unreported[index] > 0:
            remaining = None
        started = lead > 0
        margin = lead - second
        return ConstituencyTally(
            code=u.constituency_codes[index],
            region=u.regions[index],
            votes=tuple(int(v) for v in row[: len(u.parties[index])]),
            stations_reported=int(self.reported_count[index]),
            stations_expected=int(self.expected_count[index]),
            registered_reported=int(self.reported_registered[index]),
            registered_expected=int(self.expected_registered[index]),
            leader=int(order[0]) + 1 if started else None,
            runner_up=int(order[1]) + 1 if started and len(row) > 1 else None,
            margin=margin,
            unreported_registered=remaining,
            decided=started and remaining is not None and margin > remaining,
            decided_under_cap=started and remaining is not None and margin > self.turnout_cap * remaining,
            turnout_cap=self.turnout_cap,
        )

    def constituencies(self) -> list[ConstituencyTally]:
        return [self.constituency(i) for i in range(self.universe.n_constituencies)]

    def parties(self, *, by_region: bool = True) -> list[PartyTally]:
        """Votes, seats led and seats decided per party, by region and for the nation (region "")."""
        acc: dict[tuple[str, str], list[int]] = {}
        for i, t in enumerate(self.constituencies()):
            regions = [t.region, ""] if by_region else [""]
            for j, party in enumerate(self.universe.parties[i]):
                if party == "":
                    continue
                name = party or INDEPENDENT
                for region in regions:
                    cell = acc.setdefault((region, name), [0, 0, 0])
                    cell[0] += t.votes[j]
                    if t.leader == j + 1:
                        cell[1] += 1
                        cell[2] += int(t.decided)
        rows = [PartyTally(r, p, v, lead, dec) for (r, p), (v, lead, dec) in acc.items()]
        return sorted(rows, key=lambda x: (x.region, -x.leading, -x.votes, x.party))


def sum_by_constituency(constituency: IntArray, votes: IntArray, n_constituencies: int) -> IntArray:
    """Per constituency and column, the sum of station rows: one ``bincount`` over flat indices."""
    k = votes.shape[1]
    flat = (constituency[:, None] * k + np.arange(k)[None, :]).ravel()
    summed = np.bincount(flat, weights=votes.ravel(), minlength=n_constituencies * k)
    return summed.reshape(n_constituencies, k).round().astype(np.int64)
