"""Generating a clean synthetic election from scratch, then injecting manipulations."""

from __future__ import annotations

import numpy as np

from pollwatch.synth.config import BoolArray, IntArray, SynthConfig
from pollwatch.synth.election import GroundTruth, SyntheticElection
from pollwatch.synth.manipulate import Workspace, apply_official_level, apply_station_level


def generate(config: SynthConfig) -> SyntheticElection:
    """Generate a synthetic election; the same config (and seed) always gives the same election.

    Registered voters are log-normal around ``mean_registered``; each constituency has its own mean
    turnout and vote shares, and stations vary around them (Beta turnout, Dirichlet shares), so the
    between-station variation looks like real station data rather than independent noise.
    """
    rng = np.random.default_rng(config.seed)
    n, c, k = config.n_stations, config.n_constituencies, config.n_candidates
    constituency = np.sort(np.concatenate([np.arange(c), rng.integers(0, c, size=n - c)])).astype(np.int64)
    drawn = np.clip(np.round(rng.lognormal(np.log(config.mean_registered), 0.35, size=n)), 100, 4_000)
    registered: IntArray = drawn.astype(np.int64)
    shares = _station_shares(rng, constituency, c, k, config.share_spread)
    turnout = _station_turnout(rng, constituency, c, config.mean_turnout, config.turnout_spread)
    polled = rng.binomial(registered, turnout)
    rejected = rng.binomial(polled, config.rejected_rate).astype(np.int64)
    votes = rng.multinomial(polled - rejected, shares).astype(np.int64)
    return finish(
        config=config,
        rng=rng,
        registered=registered,
        constituency=constituency,
        votes=votes,
        rejected=rejected,
        booths=np.maximum(1, np.round(registered / 450.0)).astype(np.int64),
        constituency_codes=tuple(f"SYN-{i + 1}" for i in range(c)),
        candidate_names=tuple(
            tuple(f"Candidate {chr(65 + j % 26)}{j // 26 or ''} ({i + 1})" for j in range(k))
            for i in range(c)
        ),
        candidate_parties=tuple(tuple(f"P{j + 1}" for j in range(k)) for _ in range(c)),
        regions=tuple(f"Region {1 + i * 4 // c}" for i in range(c)),
    )


def _station_shares(
    rng: np.random.Generator, constituency: IntArray, c: int, k: int, spread: float
) -> np.ndarray:
    # A few strong candidates and a tail, with the national leader varying across constituencies.
    strength = np.array([6.0, 4.5, 2.5] + [0.6] * (k - 3))[:k]
    base = rng.dirichlet(strength * 2.0, size=c)
    draws = rng.gamma(base[constituency] * spread + 0.05)  # Dirichlet rows via normalised gammas
    shares: np.ndarray = draws / draws.sum(axis=1, keepdims=True)
    return shares


def _station_turnout(
    rng: np.random.Generator, constituency: IntArray, c: int, mean: float, spread: float
) -> np.ndarray:
    per_constituency = np.clip(rng.normal(mean, 0.07, size=c), 0.15, 0.9)
    t = per_constituency[constituency]
    turnout: np.ndarray = rng.beta(t * spread, (1.0 - t) * spread)
    return turnout


def finish(
    *,
    config: SynthConfig,
    rng: np.random.Generator,
    registered: IntArray,
    constituency: IntArray,
    votes: IntArray,
    rejected: IntArray,
    booths: IntArray,
    constituency_codes: tuple[str, ...],
    candidate_names: tuple[tuple[str, ...], ...],
    candidate_parties: tuple[tuple[str | None, ...], ...],
    regions: tuple[str, ...],
    station_numbers: tuple[str, ...] | None = None,
    generated: BoolArray | None = None,
) -> SyntheticElection:
    """Inject the configured manipulations into clean results and freeze the election."""
    clean = votes.copy()
    favoured = int(np.argmax(votes.sum(axis=0)))
    ws = Workspace(
        rng=rng,
        registered=registered,
        constituency=constituency,
        votes=votes.copy(),
        rejected=rejected.copy(),
        favoured=favoured,
        n_constituencies=len(constituency_codes),
    )
    apply_station_level(ws, config.manipulations)
    official = apply_official_level(ws, config.manipulations)
    from pollwatch.synth.config import ManipulationKind as K

    truth = GroundTruth(
        favoured=favoured,
        stuffed=ws.marks[K.BALLOT_STUFFING],
        moved=ws.marks[K.VOTE_MOVING],
        copied=ws.marks[K.COPIED_NUMBERS],
        rounded=ws.marks[K.ROUNDED_TURNOUT],
        withheld=ws.withheld,
        altered=ws.altered,
        added_votes=ws.votes[:, favoured] - clean[:, favoured],
        official_shift=ws.official_shift,
    )
    if station_numbers is None:
        station_numbers = _numbers_within(constituency)
    return SyntheticElection(
        config=config,
        registered=registered,
        constituency=constituency,
        votes=ws.votes,
        clean_votes=clean,
        rejected=ws.rejected,
        official=official,
        official_withheld=ws.withheld,
        truth=truth,
        booths=booths,
        constituency_codes=constituency_codes,
        station_numbers=station_numbers,
        candidate_names=candidate_names,
        candidate_parties=candidate_parties,
        regions=regions,
        generated=generated,
    )


def _numbers_within(constituency: IntArray) -> tuple[str, ...]:
    """Station numbers 1..m within each constituency (stations are sorted by constituency)."""
    starts = np.searchsorted(constituency, constituency, side="left")
    return tuple(str(i) for i in (np.arange(constituency.shape[0]) - starts + 1))
