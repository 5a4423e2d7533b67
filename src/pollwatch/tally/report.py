"""Tally and projection results as plain rows and documents, for the CLI, the API and reports."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np

from pollwatch.errors import InputError
from pollwatch.model import SheetKind
from pollwatch.tally.inputs import ResultsInput
from pollwatch.tally.live import INDEPENDENT, ConstituencyTally, LiveTally
from pollwatch.tally.pvt import compare, draw_sample, estimate_ratios
from pollwatch.tally.service import ElectionTally, tally_election


class Level(StrEnum):
    CONSTITUENCY = "constituency"
    REGION = "region"
    NATION = "nation"


def constituency_row(t: ConstituencyTally) -> dict[str, Any]:
    """One constituency: coverage, leader, margin and whether it is decided."""
    return {
        "constituency": t.code,
        "region": t.region,
        "stations": f"{t.stations_reported}/{t.stations_expected}",
        "registered_reported": t.registered_reported,
        "registered_expected": t.registered_expected,
        "leader": t.leader,
        "runner_up": t.runner_up,
        "margin": t.margin,
        "unreported_registered": t.unreported_registered,
        "decided": t.decided,
        "decided_under_cap": t.decided_under_cap,
        "turnout_cap": t.turnout_cap,
    }


def tally_rows(live: LiveTally, level: Level, *, constituency: str | None = None) -> list[dict[str, Any]]:
    """Rows of the tally at one level (constituencies, parties by region, parties nationally)."""
    if level is Level.CONSTITUENCY:
        rows = live.constituencies()
        if constituency is not None:
            rows = [t for t in rows if t.code == constituency]
            if not rows:
                raise InputError("no such constituency in this election", found=constituency)
        return [constituency_row(t) for t in rows]
    parties = live.parties(by_region=level is Level.REGION)
    if level is Level.NATION:
        parties = [p for p in parties if p.region == ""]
    else:
        parties = [p for p in parties if p.region != ""]
    return [
        {
            "region": p.region or "(nation)",
            "party": p.party,
            "votes": p.votes,
            "leading": p.leading,
            "decided": p.decided,
        }
        for p in parties
    ]


def tally_document(live: LiveTally, *, constituency: str | None = None) -> dict[str, Any]:
    """Every level at once, plus the candidates' votes of each constituency."""
    const = live.constituencies()
    if constituency is not None:
        const = [t for t in const if t.code == constituency]
    return {
        "stations_reported": int(live.reported.sum()),
        "stations_expected": len(live.reported),
        "turnout_cap": live.turnout_cap,
        "constituencies": [{**constituency_row(t), "votes": list(t.votes)} for t in const],
        "regions": tally_rows(live, Level.REGION),
        "nation": tally_rows(live, Level.NATION),
    }


@dataclass(frozen=True)
class Projection:
    seed: str
    sample_size: int
    observed: int
    strata: int
    parties: tuple[str, ...]
    document: dict[str, Any]


def project(inp: ResultsInput, *, seed: str, size: int, et: ElectionTally | None = None) -> Projection:
    """Draw the published-seed sample (stratified by constituency) and project national party shares.

    Sampled stations without a signed count are non-response: they stay in ``N_h`` but not in ``n_h``.
    """
    et = et or tally_election(inp)
    u = et.tally.universe
    keys = _station_keys(et, len(u.station_constituency))
    strata_names = [u.constituency_codes[int(c)] for c in u.station_constituency]
    sample = draw_sample(keys, strata_names, seed=seed, size=size)
    observed = np.asarray([i for i in sample if et.tally.reported[i]], dtype=np.int64)
    if observed.size == 0:
        raise InputError("no sampled station has a reported count yet", found=f"0 of {len(sample)}")
    parties, pmap = _party_matrix(u.parties, u.n_columns)
    votes = et.tally.votes[observed]
    cons = u.station_constituency[observed]
    y = np.zeros((observed.size, len(parties)), dtype=np.int64)
    for j in range(votes.shape[1]):
        np.add.at(y, (np.arange(observed.size), pmap[cons, j]), votes[:, j])
    strata_ids, strata = np.unique(cons, return_inverse=True)
    population = np.bincount(u.station_constituency, minlength=u.n_constituencies)[strata_ids]
    shares = estimate_ratios(y, y.sum(axis=1), strata.astype(np.int64), population.astype(np.int64))
    official = _official_party_shares(inp, parties)
    doc: dict[str, Any] = {
        "seed": seed,
        "sample_size": len(sample),
        "observed": int(observed.size),
        "strata_observed": int(strata_ids.size),
        "strata_total": u.n_constituencies,
        "algorithm": "SHA-256(seed || 0x00 || '<code>/<serial>') ranking within each constituency; "
        "combined ratio estimator, linearised stratified variance (docs/results.md)",
        "parties": [
            {"party": parties[e.column], "share": e.share, "moe95": e.moe, "low": e.low, "high": e.high}
            for e in shares
        ],
    }
    if official is not None:
        doc["official_comparison"] = [
            {
                "party": parties[c.column],
                "official": c.official,
                "projected": c.projected,
                "moe95": c.moe,
                "z": c.z,
                "outside_moe": c.outside,
            }
            for c in compare(shares, official)
        ]
    return Projection(seed, len(sample), int(observed.size), int(strata_ids.size), tuple(parties), doc)


def _station_keys(et: ElectionTally, n: int) -> list[str]:
    keys = [""] * n
    for (code, ident), i in et.station_index.items():
        if not keys[i] or isinstance(ident, int):
            keys[i] = f"{code}/{ident}"
    return keys


def _party_matrix(ballots: Sequence[Sequence[str | None]], k: int) -> tuple[list[str], Any]:
    names = sorted({p or INDEPENDENT for row in ballots for p in row if p != ""})
    index = {p: i for i, p in enumerate(names)}
    names.append("(unused)")
    pmap = np.full((len(ballots), k), len(names) - 1, dtype=np.int64)
    for c, row in enumerate(ballots):
        for j, p in enumerate(row):
            if p != "":
                pmap[c, j] = index[p or INDEPENDENT]
    return names, pmap


def _official_party_shares(inp: ResultsInput, parties: list[str]) -> list[float] | None:
    snapshots = [kl for kl in inp.official_labels() if kl[0] is not SheetKind.BALLOT_ACCOUNT]
    if not snapshots:
        return None
    party_of: dict[tuple[str, int], str] = {
        (c.constituency, int(c.ballot_order)): c.party or INDEPENDENT for c in inp.candidates
    }
    totals = dict.fromkeys(parties, 0)
    for contest in inp.contests(*snapshots[0]):
        for key, v in contest.votes.items():
            totals[party_of.get((contest.constituency, int(key)), INDEPENDENT)] += v
    valid = sum(totals.values())
    return [totals[p] / valid if valid else 0.0 for p in parties]
