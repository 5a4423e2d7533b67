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
from functools import cached_property
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import sparse

from pollwatch.errors import InputError
from pollwatch.tally.ballot import INDEPENDENT as INDEPENDENT
from pollwatch.tally.ballot import BallotEntry, Ballots

IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]


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
    ballots: Ballots | None = None
    """Candidates' and parties' names by ballot position (None: positions and party codes only)."""

    def ballot(self, index: int) -> tuple[BallotEntry, ...]:
        """The real candidates of constituency ``index`` (used columns only), in ballot order."""
        return self._ballot_table[index]

    @cached_property
    def _ballot_table(self) -> tuple[tuple[BallotEntry, ...], ...]:
        names = self.ballots or Ballots()
        out = []
        for code, row in zip(self.constituency_codes, self.parties, strict=True):
            entries = []
            for j, party in enumerate(row):
                if party == "":
                    continue
                entry = names.entries.get(code, {}).get(j + 1)
                entries.append(entry or BallotEntry(j + 1, "", party or INDEPENDENT, party or "Independent"))
            out.append(tuple(entries))
        return tuple(out)

    @cached_property
    def used_columns(self) -> BoolArray:
        """(constituencies, columns): True where the column is a real candidate's ballot position."""
        used = np.zeros((self.n_constituencies, self.n_columns), dtype=bool)
        for c, row in enumerate(self.parties):
            used[c, : len(row)] = [p != "" for p in row]
        return used

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
    """Votes of each real candidate, aligned with :attr:`candidates` (no unused ballot columns)."""
    stations_reported: int
    stations_expected: int
    registered_reported: int
    registered_expected: int
    leader: int | None
    """Ballot position of the leader (1-based), None before any vote."""
    runner_up: int | None
    margin: int
    unreported_registered: int | None
    """None when some unreported station's registered voters are unknown, or no station's are
    (registered 0/0: the polling scheme is not known, so neither is what is still out)."""
    decided: bool
    decided_under_cap: bool
    turnout_cap: float
    candidates: tuple[BallotEntry, ...] = ()
    """The real candidates in ballot order, with names and parties (empty: positions 1.. of ``votes``)."""

    def entry(self, position: int | None) -> BallotEntry | None:
        """The candidate at a ballot position (unnamed when the ballot is not known)."""
        if position is None:
            return None
        return next((e for e in self.candidates if e.position == position), BallotEntry(position))

    def candidate_votes(self) -> list[dict[str, Any]]:
        """One entry per real candidate: position, name, party, party name and votes."""
        entries = self.candidates or tuple(BallotEntry(j + 1) for j in range(len(self.votes)))
        return [{**e.as_dict(), "votes": v} for e, v in zip(entries, self.votes, strict=True)]

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {}
        for k, v in vars(self).items():
            if k in ("votes", "candidates"):
                continue
            out[k] = v
            if k in ("leader", "runner_up"):
                entry = self.entry(v)
                out[f"{k}_name"] = entry.name if entry else None
                out[f"{k}_party"] = entry.party if entry else None
        out["candidates"] = self.candidate_votes()
        return out


@dataclass(frozen=True)
class PartyTally:
    """Votes and seats of one party within a region (or the nation, region ``""``)."""

    region: str
    party: str
    votes: int
    leading: int
    decided: int


@dataclass(frozen=True)
class _Ranking:
    order: IntArray
    started: BoolArray
    margin: IntArray
    remaining: IntArray
    known: BoolArray
    decided: BoolArray
    capped: BoolArray


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

    @classmethod
    def from_counts(
        cls,
        universe: Universe,
        *,
        totals: IntArray,
        expected_count: IntArray,
        expected_registered: IntArray,
        reported_count: IntArray,
        reported_registered: IntArray,
        unknown_unreported: IntArray,
        turnout_cap: float = 0.75,
    ) -> LiveTally:
        """A tally from per-constituency sums kept elsewhere (the projections), without station rows.

        ``universe`` needs no stations; :meth:`constituency`, :meth:`constituencies` and :meth:`parties`
        give what a tally over the stations would.
        """
        live = cls(universe, turnout_cap=turnout_cap)
        live.totals = totals
        live.expected_count = expected_count
        live.expected_registered = expected_registered
        live.reported_count = reported_count
        live.reported_registered = reported_registered
        live.unknown_unreported = unknown_unreported
        return live

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
        width = self.votes.shape[1]
        if votes.shape[1] < width:
            votes = np.pad(votes, ((0, 0), (0, width - votes.shape[1])))
        self.votes = votes if reported.all() else votes * reported[:, None]
        self.reported = reported.copy()
        self.totals = sum_by_constituency(
            u.station_constituency, self.votes, n_constituencies=u.n_constituencies
        )
        sc, reg, c = u.station_constituency, u.station_registered, u.n_constituencies
        if reported.all():
            self.reported_count = self.expected_count.copy()
            self.reported_registered = self.expected_registered.copy()
            self.unknown_unreported = np.zeros(c, dtype=np.int64)
            return
        sc_in, reg_in = sc[reported], reg[reported]
        self.reported_count = np.bincount(sc_in, minlength=c).astype(np.int64)
        self.reported_registered = np.bincount(sc_in, weights=np.maximum(reg_in, 0), minlength=c).astype(
            np.int64
        )
        self.unknown_unreported = np.bincount(sc[(reg < 0) & ~reported], minlength=c).astype(np.int64)

    def constituency(self, index: int) -> ConstituencyTally:
        """The tally of one constituency, computed from its running totals in O(candidates)."""
        row = self._rankable()[index]
        order = np.argsort(-row, kind="stable")
        lead, second = int(row[order[0]]), max(int(row[order[1]]), 0) if len(row) > 1 else 0
        remaining = int(self.expected_registered[index] - self.reported_registered[index])
        known = self._registered_known(index)
        margin = lead - second
        return self._tally(
            index,
            order=order,
            margin=margin,
            remaining=remaining if known else None,
            decided=lead > 0 and known and margin > remaining,
            capped=lead > 0 and known and margin > self.turnout_cap * remaining,
        )

    def constituencies(self) -> list[ConstituencyTally]:
        """Every constituency's tally, ranked in one vectorised pass (same rule as :meth:`constituency`)."""
        r = self._ranking()
        return [
            self._tally(
                i,
                order=r.order[i],
                margin=int(r.margin[i]),
                remaining=int(r.remaining[i]) if r.known[i] else None,
                decided=bool(r.decided[i]),
                capped=bool(r.capped[i]),
            )
            for i in range(self.universe.n_constituencies)
        ]

    def _registered_known(self, index: int) -> bool:
        """Unreported voters are known: no unreported station's registered voters are unknown, and
        some are known at all (registered 0/0 means the polling scheme is not known)."""
        return bool(self.unknown_unreported[index] == 0 and self.expected_registered[index] > 0)

    def _tally(
        self, i: int, *, order: IntArray, margin: int, remaining: int | None, decided: bool, capped: bool
    ) -> ConstituencyTally:
        u, row = self.universe, self.totals[i]
        ballot = u.ballot(i)
        started = int(row[order[0]]) > 0
        second = len(row) > 1 and bool(u.used_columns[i, order[1]])
        return ConstituencyTally(
            code=u.constituency_codes[i],
            region=u.regions[i],
            votes=tuple(int(row[e.position - 1]) for e in ballot),
            stations_reported=int(self.reported_count[i]),
            stations_expected=int(self.expected_count[i]),
            registered_reported=int(self.reported_registered[i]),
            registered_expected=int(self.expected_registered[i]),
            leader=int(order[0]) + 1 if started else None,
            runner_up=int(order[1]) + 1 if started and second else None,
            margin=margin,
            unreported_registered=remaining,
            decided=decided,
            decided_under_cap=capped,
            turnout_cap=self.turnout_cap,
            candidates=ballot,
        )

    def _rankable(self) -> IntArray:
        """The totals with unused ballot columns at -1, so they never lead nor come second."""
        used = self.universe.used_columns
        if used.shape != self.totals.shape:
            return self.totals
        return np.where(used, self.totals, -1)

    def _ranking(self) -> _Ranking:
        totals = self._rankable()
        order = np.argsort(-totals, axis=1, kind="stable")
        rows = np.arange(totals.shape[0])
        lead = totals[rows, order[:, 0]]
        second = np.maximum(totals[rows, order[:, 1]], 0) if totals.shape[1] > 1 else np.zeros_like(lead)
        margin = lead - second
        remaining = self.expected_registered - self.reported_registered
        # Registered 0/0 (no station's registered voters known) is unknown, not zero.
        known = (self.unknown_unreported == 0) & (self.expected_registered > 0)
        started = lead > 0
        return _Ranking(
            order=order,
            started=started,
            margin=margin,
            remaining=remaining,
            known=known,
            decided=started & known & (margin > remaining),
            capped=started & known & (margin > self.turnout_cap * remaining),
        )

    def parties(self, *, by_region: bool = True) -> list[PartyTally]:
        """Votes, seats led and seats decided per party, by region and for the nation (region "")."""
        u, totals = self.universe, self.totals
        names, index = _party_index(u)
        regions = sorted(set(u.regions))
        region_of = np.asarray([regions.index(r) for r in u.regions], dtype=np.int64)
        used = index >= 0
        r = self._ranking()
        started, decided = r.started, r.decided
        leader_party = index[np.arange(totals.shape[0]), r.order[:, 0]]
        p = len(names)
        out: list[PartyTally] = []
        for label, group in [("", np.zeros_like(region_of))] + ([("*", region_of)] if by_region else []):
            g = len(regions) if label else 1
            cell = group[:, None] * p + np.where(used, index, 0)
            votes = np.bincount(cell[used], weights=totals[used], minlength=g * p)
            lead_cell = (group * p + leader_party)[started]
            leading = np.bincount(lead_cell, minlength=g * p)
            won = np.bincount((group * p + leader_party)[started & decided], minlength=g * p)
            present = np.bincount(cell[used], minlength=g * p) > 0
            for c in np.flatnonzero(present):
                region = regions[c // p] if label else ""
                out.append(
                    PartyTally(region, names[c % p], int(round(votes[c])), int(leading[c]), int(won[c]))
                )
        return sorted(out, key=lambda x: (x.region, -x.leading, -x.votes, x.party))


def _party_index(u: Universe) -> tuple[list[str], IntArray]:
    """Party names and, per constituency and ballot column, the party's index (-1: unused column)."""
    names = sorted({p or INDEPENDENT for row in u.parties for p in row if p != ""})
    lookup = {name: i for i, name in enumerate(names)}
    index = np.full((u.n_constituencies, u.n_columns), -1, dtype=np.int64)
    for c, row in enumerate(u.parties):
        for j, party in enumerate(row):
            if party != "":
                index[c, j] = lookup[party or INDEPENDENT]
    return names, index


def sum_by_constituency(constituency: IntArray, votes: IntArray, *, n_constituencies: int) -> IntArray:
    """Per constituency and column, the sum of station rows.

    A sparse 0/1 matrix (constituency x station, one entry per column, built in O(n) as CSC) times
    the vote matrix: exact integer arithmetic, order of stations irrelevant.
    """
    n = constituency.shape[0]
    indicator = sparse.csc_matrix(
        (np.ones(n, dtype=np.int64), constituency, np.arange(n + 1)), shape=(n_constituencies, n)
    )
    return np.asarray(indicator @ votes, dtype=np.int64)
