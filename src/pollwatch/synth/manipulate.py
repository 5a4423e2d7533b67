"""Injecting manipulations into clean station results, recording the ground truth."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from pollwatch.synth.config import BoolArray, IntArray, Manipulation, ManipulationKind


@dataclass
class Workspace:
    """Mutable arrays while manipulations are applied; frozen into a SyntheticElection afterwards."""

    rng: np.random.Generator
    registered: IntArray
    constituency: IntArray
    votes: IntArray
    rejected: IntArray
    favoured: int
    n_constituencies: int
    marks: dict[ManipulationKind, BoolArray] = field(default_factory=dict)
    withheld: BoolArray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    altered: BoolArray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    official_shift: IntArray = field(default_factory=lambda: np.zeros((0, 0), dtype=np.int64))

    def pick(self, share: float) -> BoolArray:
        n = self.registered.shape[0]
        chosen = np.zeros(n, dtype=bool)
        chosen[self.rng.choice(n, size=int(round(share * n)), replace=False)] = True
        return chosen


def apply_station_level(ws: Workspace, manipulations: tuple[Manipulation, ...]) -> None:
    """Apply the manipulations that change what the station sheets say, in a fixed order."""
    order = (
        ManipulationKind.VOTE_MOVING,
        ManipulationKind.BALLOT_STUFFING,
        ManipulationKind.ROUNDED_TURNOUT,
        ManipulationKind.COPIED_NUMBERS,
    )
    n = ws.registered.shape[0]
    for kind in order:
        ws.marks[kind] = np.zeros(n, dtype=bool)
        for m in (m for m in manipulations if m.kind is kind):
            chosen = ws.pick(m.share)
            _STATION_STEPS[kind](ws, chosen, m.strength)
            ws.marks[kind] |= chosen


def _move(ws: Workspace, chosen: BoolArray, strength: float) -> None:
    others = np.ones(ws.votes.shape[1], dtype=bool)
    others[ws.favoured] = False
    taken = ws.rng.binomial(ws.votes[chosen][:, others], strength)
    block = ws.votes[chosen]
    block[:, others] -= taken
    block[:, ws.favoured] += taken.sum(axis=1)
    ws.votes[chosen] = block


def _stuff(ws: Workspace, chosen: BoolArray, strength: float) -> None:
    polled = ws.votes.sum(axis=1) + ws.rejected
    non_voters = np.maximum(ws.registered - polled, 0)
    fraction = strength * ws.rng.uniform(0.5, 1.0, size=int(chosen.sum()))
    ws.votes[chosen, ws.favoured] += np.round(non_voters[chosen] * fraction).astype(np.int64)


def _round_turnout(ws: Workspace, chosen: BoolArray, strength: float) -> None:
    # Turnout is pushed up to the next whole percentage (plus `strength` x 10 points), the extra
    # ballots going to the favoured candidate: the heaping Kobak et al. found in Russian data.
    polled = ws.votes.sum(axis=1) + ws.rejected
    reg = ws.registered[chosen]
    pct = np.ceil(100.0 * polled[chosen] / reg) + np.floor(
        10.0 * strength * ws.rng.uniform(size=reg.shape[0])
    )
    target = np.round(np.minimum(pct, 100.0) * reg / 100.0).astype(np.int64)
    ws.votes[chosen, ws.favoured] += np.maximum(target - polled[chosen], 0)


def _copy(ws: Workspace, chosen: BoolArray, strength: float) -> None:
    del strength  # a copy is a copy
    for station in np.flatnonzero(chosen):
        peers = np.flatnonzero(ws.constituency == ws.constituency[station])
        peers = peers[~chosen[peers]]  # copy from an untouched station, so every copy has a twin
        if peers.size == 0:
            chosen[station] = False
            continue
        source = peers[ws.rng.integers(peers.size)]
        ws.votes[station] = ws.votes[source]
        ws.rejected[station] = ws.rejected[source]


_STATION_STEPS = {
    ManipulationKind.VOTE_MOVING: _move,
    ManipulationKind.BALLOT_STUFFING: _stuff,
    ManipulationKind.ROUNDED_TURNOUT: _round_turnout,
    ManipulationKind.COPIED_NUMBERS: _copy,
}


def apply_official_level(ws: Workspace, manipulations: tuple[Manipulation, ...]) -> IntArray:
    """Withhold stations from, and alter, the official consolidated totals; return those totals."""
    n, k = ws.votes.shape
    ws.withheld = np.zeros(n, dtype=bool)
    ws.altered = np.zeros(ws.n_constituencies, dtype=bool)
    for m in (m for m in manipulations if m.kind is ManipulationKind.WITHHELD):
        ws.withheld |= ws.pick(m.share)
    official = np.zeros((ws.n_constituencies, k), dtype=np.int64)
    keep = ~ws.withheld
    np.add.at(official, ws.constituency[keep], ws.votes[keep])
    ws.official_shift = np.zeros_like(official)
    for m in (m for m in manipulations if m.kind is ManipulationKind.ALTERED_TOTALS):
        count = int(round(m.share * ws.n_constituencies))
        for c in ws.rng.choice(ws.n_constituencies, size=count, replace=False):
            ws.official_shift[c] += _alteration(official[c], ws.favoured, m.strength)
            ws.altered[c] = True
    return official + ws.official_shift


def _alteration(totals: IntArray, favoured: int, strength: float) -> IntArray:
    """Votes taken from the strongest opponent and given to the favoured candidate (at least one)."""
    shift = np.zeros_like(totals)
    opponents = totals.copy()
    opponents[favoured] = -1
    rival = int(np.argmax(opponents))
    amount = max(1, int(round(strength * 0.2 * totals[rival])))
    amount = min(amount, int(totals[rival])) or 1
    shift[rival] -= amount
    shift[favoured] += amount
    return shift
