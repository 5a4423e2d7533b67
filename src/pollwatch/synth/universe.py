"""Synthetic station results on a real station universe, reproducing real constituency totals.

Where the polling scheme lists a constituency's stations (the 2018 ECP scheme covers 198 of 272 NA
seats) their registered voters and booths are used as they are; elsewhere stations are generated
from the constituency's registered voters. Where the scheme lists too few voters for the real result
(NA-21: 2 stations and 2,827 voters for 193,035 votes), the missing stations are generated (the rule:
:func:`voters_needed`). Each candidate's real total is then disaggregated over the stations (a
multinomial split weighted by station turnout and a per-station share factor), so the station sheets
add up exactly to the real result.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pollwatch.errors import InputError
from pollwatch.synth.config import BoolArray, IntArray, SynthConfig
from pollwatch.synth.election import SyntheticElection
from pollwatch.synth.generate import finish

PLAUSIBLE_TURNOUT = 0.85
"""Highest constituency turnout a synthetic night gives: more votes than this share of the voters
listed means voters are missing from the station list, so stations are generated for them."""
SHORTFALL = 0.02
"""Listed voters may fall this share short of :func:`voters_needed` before stations are generated."""


@dataclass(frozen=True)
class RealStation:
    number: str
    registered: int
    booths: int


@dataclass(frozen=True)
class Contest:
    """One real contest: its candidates' totals and, where known, its stations."""

    code: str
    region: str
    registered: int
    candidates: tuple[tuple[str, str | None], ...]
    """(name, party code or None) in ballot order."""
    totals: tuple[int, ...]
    rejected: int
    stations: tuple[RealStation, ...] = ()


def from_universe(contests: list[Contest], config: SynthConfig) -> SyntheticElection:
    """Disaggregate real contest totals over real (or generated) stations, then inject manipulations."""
    if not contests:
        raise InputError(
            "no contests to build a synthetic election on",
            expected="at least one contest",
            found="0",
            remedy="import the real election first (pollwatch import pakistan-2018)",
        )
    rng = np.random.default_rng(config.seed)
    k = max(len(c.totals) for c in contests)
    parts = [_contest_stations(rng, c, k, config) for c in contests]
    generated: BoolArray = np.concatenate([p[5] for p in parts])
    constituency = np.concatenate([np.full(p[0].shape[0], i, dtype=np.int64) for i, p in enumerate(parts)])
    pad = [("",) * (k - len(c.candidates)) for c in contests]
    return finish(
        config=config,
        rng=rng,
        registered=np.concatenate([p[0] for p in parts]),
        constituency=constituency,
        votes=np.concatenate([p[1] for p in parts]),
        rejected=np.concatenate([p[2] for p in parts]),
        booths=np.concatenate([p[3] for p in parts]),
        constituency_codes=tuple(c.code for c in contests),
        candidate_names=tuple(tuple(n for n, _ in c.candidates) + pad[i] for i, c in enumerate(contests)),
        candidate_parties=tuple(
            tuple(p for _, p in c.candidates) + (None,) * (k - len(c.candidates)) for c in contests
        ),
        regions=tuple(c.region for c in contests),
        station_numbers=tuple(s for p in parts for s in p[4]),
        generated=generated,
    )


def voters_needed(contest: Contest) -> int:
    """Voters the contest's stations must list: its registered voters, and at least enough that the
    real number of ballots is no more than :data:`PLAUSIBLE_TURNOUT` of them."""
    polled = sum(contest.totals) + contest.rejected
    return max(contest.registered, -(-polled * 100 // round(PLAUSIBLE_TURNOUT * 100)), 100)


def _contest_stations(
    rng: np.random.Generator, contest: Contest, k: int, config: SynthConfig
) -> tuple[IntArray, IntArray, IntArray, IntArray, list[str], BoolArray]:
    registered, booths, numbers, generated = _stations_of(rng, contest, config)
    polled_target = sum(contest.totals) + contest.rejected
    mean_turnout = min(0.95, max(0.05, polled_target / max(int(registered.sum()), 1)))
    turnout = rng.beta(mean_turnout * config.turnout_spread, (1 - mean_turnout) * config.turnout_spread)
    expected = registered * turnout
    votes = np.zeros((registered.shape[0], k), dtype=np.int64)
    total = max(sum(contest.totals), 1)
    for j, target in enumerate(contest.totals):
        share = max(target / total, 1e-4)
        factor = rng.gamma(config.share_spread * share + 0.05, size=registered.shape[0])
        weights = expected * factor
        votes[:, j] = rng.multinomial(target, weights / weights.sum())
    rejected = rng.multinomial(contest.rejected, expected / expected.sum()).astype(np.int64)
    _spill_over_capacity(rng, registered, votes, rejected)
    return registered, votes, rejected, booths, numbers, generated


def _stations_of(
    rng: np.random.Generator, contest: Contest, config: SynthConfig
) -> tuple[IntArray, IntArray, list[str], BoolArray]:
    """The listed stations, plus generated ones for the voters the list is missing."""
    registered = np.array([s.registered for s in contest.stations], dtype=np.int64)
    booths = np.array([max(s.booths, 1) for s in contest.stations], dtype=np.int64)
    numbers = [s.number for s in contest.stations]
    needed = voters_needed(contest)
    shortfall = needed - int(registered.sum())
    if contest.stations and shortfall <= SHORTFALL * needed:
        return registered, booths, numbers, np.zeros(len(numbers), dtype=bool)
    size = float(registered.mean()) if contest.stations else config.mean_registered
    m = max(1, round(shortfall / size))
    weights = rng.lognormal(0.0, 0.35, size=m)
    extra = rng.multinomial(shortfall, weights / weights.sum()).astype(np.int64)
    last = max((int(n) for n in numbers if n.isdigit()), default=0)
    return (
        np.concatenate([registered, extra]),
        np.concatenate([booths, np.maximum(1, np.round(extra / 450.0)).astype(np.int64)]),
        numbers + [str(last + i + 1) for i in range(m)],
        np.concatenate([np.zeros(len(numbers), dtype=bool), np.ones(m, dtype=bool)]),
    )


def _spill_over_capacity(
    rng: np.random.Generator, registered: IntArray, votes: IntArray, rejected: IntArray
) -> None:
    """Move ballots from stations above 100 % turnout to stations with room, keeping every total."""
    for _ in range(20):
        polled = votes.sum(axis=1) + rejected
        excess = np.maximum(polled - registered, 0)
        if not excess.any():
            return
        room = np.maximum(registered - polled, 0).astype(float)
        if room.sum() < excess.sum():
            return  # the real totals exceed the registered voters: keep it, it is evidence
        for station in np.flatnonzero(excess):
            column = int(np.argmax(votes[station]))
            amount = min(int(excess[station]), int(votes[station, column]))
            votes[station, column] -= amount
            votes[:, column] += rng.multinomial(amount, room / room.sum())
