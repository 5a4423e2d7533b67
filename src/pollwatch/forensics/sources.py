"""StationTables from pollwatch's own store and from the synthetic-election generator.

The store can hold several copies of one station's Form-45 (agents, observers, the commission); the
forensic table takes, per station, the count vector most copies agree on (official copies break ties).
Candidates are grouped by party across constituencies, so "the leader" is a national party; an
independent counts under ``IND``.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from urllib.parse import quote

import numpy as np

from pollwatch.errors import NotFoundError
from pollwatch.forensics.table import StationTable, encode_regions
from pollwatch.model import ResultSheet, Role, SheetKind
from pollwatch.storage import Database
from pollwatch.synth import SyntheticElection
from pollwatch.tally.views import best_input

_INDEPENDENT = "IND"


def from_synthetic(e: SyntheticElection, *, name: str = "") -> StationTable:
    """The station sheets of a synthetic election (after station-level manipulation)."""
    codes, regions = encode_regions([e.regions[c] for c in e.constituency.tolist()])
    valid = e.votes.sum(axis=1)
    return StationTable(
        name=name or f"synth:{e.config.seed}",
        candidates=tuple(f"column {i}" for i in range(e.votes.shape[1])),
        votes=e.votes.astype(np.int64),
        valid=valid.astype(np.int64),
        invalid=e.rejected.astype(np.int64),
        registered=e.registered.astype(np.int64),
        given=(valid + e.rejected).astype(np.int64),
        region=codes,
        region_names=regions,
        codes=tuple(
            f"{e.constituency_codes[c]}/{num}"
            for c, num in zip(e.constituency.tolist(), e.station_numbers, strict=True)
        ),
        notes=(f"synthetic election, seed {e.config.seed}, {len(e.config.manipulations)} manipulation(s)",),
    )


def _consensus(copies: list[ResultSheet]) -> ResultSheet:
    """The copy whose vote vector most copies share; an official copy wins a tie."""
    keyed = Counter(tuple(sorted(s.votes.items())) for s in copies)
    best = max(keyed.values())
    winners = {k for k, n in keyed.items() if n == best}
    ordered = sorted(copies, key=lambda s: s.provenance.role is not Role.OFFICIAL)
    return next(s for s in ordered if tuple(sorted(s.votes.items())) in winners)


def from_store(db: Database, slug: str) -> StationTable:
    """Election ``slug`` as one row per reported station: each station's best figure under the
    reconciliation rule, read from the results projections (never the whole sheet store)."""
    with db.reads() as conn:  # the readers' own pool: never one of intake's connections
        inp = best_input(conn, slug)
    sheets = [s for s in inp.sheets if s.kind is SheetKind.STATION_COUNT]
    party_of = {(str(k.constituency), int(k.ballot_order)): k.party or _INDEPENDENT for k in inp.candidates}
    region_of = {str(c.code): c.region or "" for c in inp.constituencies}
    registered_of = {(str(st.constituency), st.serial): st.registered.total or 0 for st in inp.stations}
    by_station: dict[tuple[str, int], list[ResultSheet]] = defaultdict(list)
    for sheet in sheets:
        if sheet.station_serial is not None:
            by_station[(sheet.constituency, sheet.station_serial)].append(sheet)
    if not by_station:
        raise NotFoundError(
            f"election {slug!r} has no station-count sheets to analyse",
            remedy="import or submit Form-45 sheets first (pollwatch import / intake)",
        )
    return _table(slug, by_station, party_of, region_of, registered_of)


def _table(
    slug: str,
    by_station: dict[tuple[str, int], list[ResultSheet]],
    party_of: dict[tuple[str, int], str],
    region_of: dict[str, str],
    registered_of: dict[tuple[str, int], int],
) -> StationTable:
    keys = sorted(by_station)
    chosen = [_consensus(by_station[k]) for k in keys]
    parties = sorted({party_of.get((s.constituency, int(c)), _INDEPENDENT) for s in chosen for c in s.votes})
    col = {p: i for i, p in enumerate(parties)}
    votes = np.zeros((len(keys), len(parties)), dtype=np.int64)
    stands = np.zeros((len(keys), len(parties)), dtype=np.bool_)
    on_ballot: dict[str, set[str]] = defaultdict(set)
    for (con, _order), party in party_of.items():
        on_ballot[con].add(party)
    for row, s in enumerate(chosen):
        for cand, n in s.votes.items():
            party = party_of.get((s.constituency, int(cand)), _INDEPENDENT)
            votes[row, col[party]] += n
            stands[row, col[party]] = True
        for party in on_ballot[s.constituency] & col.keys():
            stands[row, col[party]] = True
    valid = votes.sum(axis=1)
    invalid = np.asarray([s.totals.rejected or 0 for s in chosen], dtype=np.int64)
    registered = np.asarray(
        [s.totals.registered or registered_of.get(k, 0) for s, k in zip(chosen, keys, strict=True)],
        dtype=np.int64,
    )
    given = np.asarray(
        [
            s.totals.polled if s.totals.polled is not None else v + i
            for s, v, i in zip(chosen, valid, invalid, strict=True)
        ],
        dtype=np.int64,
    )
    codes, regions = encode_regions([region_of.get(k[0], "") for k in keys])
    return StationTable(
        name=f"store:{slug}",
        candidates=tuple(parties),
        votes=votes,
        valid=valid,
        invalid=invalid,
        registered=registered,
        given=given,
        region=codes,
        region_names=regions,
        codes=tuple(f"{con}/{serial}" for con, serial in keys),
        # Each station's own dashboard page (web/dashboard.py, ``/elections/{slug}/c/{code}/stations/{n}``).
        links=tuple(f"/elections/{quote(slug)}/c/{quote(con)}/stations/{serial}" for con, serial in keys),
        stands=stands,
        notes=(
            "station-count sheets from pollwatch's store; one consensus copy per station; a party's "
            "shares are analysed only where it fields a candidate",
        ),
    )
