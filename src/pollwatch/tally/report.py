"""Tally and projection results as plain rows and documents, for the CLI, the API and reports."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np

from pollwatch.errors import InputError
from pollwatch.model import CandidateKey, SheetKind
from pollwatch.tally.ballot import BallotEntry, Ballots
from pollwatch.tally.inputs import ResultsInput
from pollwatch.tally.live import INDEPENDENT, ConstituencyTally, IntArray, LiveTally, Universe
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
        **_named("leader", t.entry(t.leader)),
        **_named("runner_up", t.entry(t.runner_up)),
        "margin": t.margin,
        "unreported_registered": t.unreported_registered,
        "decided": t.decided,
        "decided_under_cap": t.decided_under_cap,
        "turnout_cap": t.turnout_cap,
    }


def _named(key: str, entry: BallotEntry | None) -> dict[str, Any]:
    """``key`` (the ballot position), ``key_name`` and ``key_party`` side by side."""
    return {
        key: entry.position if entry else None,
        f"{key}_name": entry.name if entry else None,
        f"{key}_party": entry.party if entry else None,
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
    names = live.universe.ballots or Ballots()
    return [
        {
            "region": p.region or "(nation)",
            "party": p.party,
            "party_name": names.party_name(p.party),
            "votes": p.votes,
            "leading": p.leading,
            "decided": p.decided,
        }
        for p in parties
    ]


def reconciliation_rows(
    et: ElectionTally, *, constituency: str | None = None, state: str | None = None
) -> list[dict[str, Any]]:
    """Every station's reconciliation (optionally of one constituency, one state), candidates named."""
    ballots = et.tally.universe.ballots
    return [
        r.as_dict(ballots=ballots)
        for r in et.stations
        if (constituency is None or r.constituency == constituency) and (state is None or r.state == state)
    ]


def tally_document(live: LiveTally, *, constituency: str | None = None) -> dict[str, Any]:
    """Every level at once, plus each constituency's candidates (one entry per real candidate:
    position, name, party, party name, votes)."""
    const = live.constituencies()
    if constituency is not None:
        const = [t for t in const if t.code == constituency]
    return {
        "stations_reported": int(live.reported_count.sum()),
        "stations_expected": int(live.expected_count.sum()),
        "turnout_cap": live.turnout_cap,
        "constituencies": [{**constituency_row(t), "candidates": t.candidate_votes()} for t in const],
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


def project(
    inp: ResultsInput,
    *,
    seed: str,
    size: int,
    constituency: str | None = None,
    et: ElectionTally | None = None,
) -> Projection:
    """Draw the published-seed sample (stratified by constituency) and project shares and turnout.

    Nationally the columns are parties; with ``constituency`` the draw and the estimate are limited
    to that constituency and the columns are its real candidates (named, with ballot positions).
    Sampled stations without a signed count are non-response: they stay in ``N_h`` but not in ``n_h``.
    """
    et = et or tally_election(inp)
    u = et.tally.universe
    keys = _station_keys(et, len(u.station_constituency))
    strata_names = [u.constituency_codes[int(c)] for c in u.station_constituency]
    pool = [i for i, name in enumerate(strata_names) if constituency is None or name == constituency]
    if not pool:
        raise InputError(
            "no stations to sample", found=str(constituency), expected="a constituency with stations"
        )
    picked = draw_sample([keys[i] for i in pool], [strata_names[i] for i in pool], seed=seed, size=size)
    sample = [pool[i] for i in picked]
    observed = np.asarray([i for i in sample if et.tally.reported[i]], dtype=np.int64)
    if observed.size == 0:
        raise InputError("no sampled station has a reported count yet", found=f"0 of {len(sample)}")
    names = u.ballots or Ballots()
    if constituency is None:
        columns, y = _by_party(u, et.tally.votes[observed], u.station_constituency[observed])
        ids = [{"party": p, "party_name": names.party_name(p)} for p in columns]
    else:
        ballot = u.ballot(u.constituency_codes.index(constituency))
        columns = [
            f"{e.position} {e.name} ({e.party})" if e.name else f"{e.position} ({e.party})" for e in ballot
        ]
        ids = [e.as_dict() for e in ballot]
        y = et.tally.votes[observed][:, [e.position - 1 for e in ballot]]
    cons = u.station_constituency[observed]
    strata_ids, strata = np.unique(cons, return_inverse=True)
    population = np.bincount(u.station_constituency, minlength=u.n_constituencies)[strata_ids].astype(
        np.int64
    )
    shares = estimate_ratios(y, y.sum(axis=1), strata=strata.astype(np.int64), population=population)
    doc: dict[str, Any] = {
        "seed": seed,
        "constituency": constituency,
        "sample_size": len(sample),
        "observed": int(observed.size),
        "strata_observed": int(strata_ids.size),
        "strata_total": u.n_constituencies if constituency is None else 1,
        "algorithm": "SHA-256(seed || 0x00 || '<code>/<serial>') ranking within each constituency; "
        "combined ratio estimator, linearised stratified variance (docs/results.md)",
        "shares": [
            {
                "column": columns[e.column],
                **ids[e.column],
                "share": e.share,
                "moe95": e.moe,
                "low": e.low,
                "high": e.high,
            }
            for e in shares
        ],
        "turnout": _turnout(et, observed, strata, population),
    }
    positions = [int(i["position"]) for i in ids] if constituency is not None else None
    official = _official_shares(inp, columns, constituency, positions)
    if official is not None:
        doc["official_comparison"] = [
            {
                "column": columns[c.column],
                **ids[c.column],
                "official": c.official,
                "projected": c.projected,
                "moe95": c.moe,
                "z": c.z,
                "outside_moe": c.outside,
            }
            for c in compare(shares, official)
        ]
    return Projection(seed, len(sample), int(observed.size), int(strata_ids.size), tuple(columns), doc)


def _by_party(u: Universe, votes: IntArray, cons: IntArray) -> tuple[list[str], IntArray]:
    parties, pmap = _party_matrix(u.parties, u.n_columns)
    y = np.zeros((votes.shape[0], len(parties)), dtype=np.int64)
    for j in range(votes.shape[1]):
        np.add.at(y, (np.arange(votes.shape[0]), pmap[cons, j]), votes[:, j])
    return parties[:-1], y[:, :-1]


def _turnout(
    et: ElectionTally, observed: IntArray, strata: IntArray, population: IntArray
) -> dict[str, Any] | None:
    """Votes polled over registered voters, from the sampled stations where both are known."""
    reg = et.tally.universe.station_registered[observed]
    polled = et.polled[observed]
    ok = (reg > 0) & (polled >= 0)
    if not ok.any():
        return None
    (est,) = estimate_ratios(
        polled[ok][:, None], reg[ok], strata=strata[ok].astype(np.int64), population=population
    )
    return {"share": est.share, "moe95": est.moe, "low": est.low, "high": est.high, "stations": int(ok.sum())}


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


def _official_shares(
    inp: ResultsInput, columns: list[str], constituency: str | None, positions: list[int] | None
) -> list[float] | None:
    """Shares of the first official snapshot (Form-47 where present: no postal ballots, like the sheets)."""
    snapshots = [kl for kl in inp.official_labels() if kl[0] is not SheetKind.BALLOT_ACCOUNT]
    if not snapshots:
        return None
    contests = inp.contests(*snapshots[0])
    if constituency is not None and positions is not None:
        contest = next((c for c in contests if c.constituency == constituency), None)
        if contest is None:
            return None
        valid = sum(contest.votes.values())
        return [contest.votes.get(CandidateKey(k), 0) / valid if valid else 0.0 for k in positions]
    party_of: dict[tuple[str, int], str] = {
        (c.constituency, int(c.ballot_order)): c.party or INDEPENDENT for c in inp.candidates
    }
    totals = dict.fromkeys(columns, 0)
    for contest in contests:
        for key, v in contest.votes.items():
            party = party_of.get((contest.constituency, int(key)), INDEPENDENT)
            totals[party] = totals.get(party, 0) + v
    valid = sum(totals.values())
    return [totals[p] / valid if valid else 0.0 for p in columns]
