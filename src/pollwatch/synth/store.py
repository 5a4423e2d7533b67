"""Writing a synthetic election into the database, its ground truth in a file beside it."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pollwatch import config as settings
from pollwatch.model import (
    Booths,
    Candidate,
    CandidateKey,
    Channel,
    Constituency,
    ConstituencyCode,
    Election,
    ElectionSlug,
    Party,
    PartyCode,
    Provenance,
    Registered,
    ResultSheet,
    Role,
    SheetKind,
    Station,
    StationNumber,
    StationSex,
    Totals,
)
from pollwatch.storage import Database, structure
from pollwatch.storage import sheets as sheet_store
from pollwatch.synth.election import SyntheticElection
from pollwatch.synth.timeline import Arrivals, night

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class StoredSynth:
    slug: str
    stations: int
    sheets: int
    truth_path: Path


def store(
    db: Database,
    e: SyntheticElection,
    *,
    slug: str,
    name: str = "",
    country: str = "XX",
    date: dt.date = dt.date(2030, 1, 1),
    rule_pack: str = "generic",
    progress: Progress | None = None,
) -> StoredSynth:
    """Write the election, its stations and candidates, every copy of every sheet and the official totals."""
    election = Election(
        slug=ElectionSlug(slug),
        country=country,
        name=name or f"Synthetic election {slug}",
        date=date,
        rule_pack=rule_pack,
        delimitation="synthetic",
    )
    close = dt.datetime.combine(date, dt.time(12, 0), tzinfo=dt.UTC)  # 17:00 in UTC+5
    arrivals = night(e, polls_close=close, seed=e.config.seed)
    with db.begin() as conn:
        eid = structure.create_election(conn, election)
        ids = structure.upsert_constituencies(conn, eid, _constituencies(e))
        structure.insert_stations(conn, ids=ids, stations=_stations(e), source="synth")
        parties = sorted({p for row in e.candidate_parties for p in row if p})
        structure.upsert_parties(conn, eid, [Party(PartyCode(p), p) for p in parties])
        structure.insert_candidates(conn, eid, _candidates(e), source="synth")
        official_at = close + dt.timedelta(hours=14)
        sheets = (
            _station_sheets(e, arrivals)
            + _official_sheets(e, received=official_at)
            + _consolidated_sheets(e, received=official_at + dt.timedelta(hours=24))
        )
        if progress:
            progress("sheets", 0, len(sheets))
        sheet_store.insert_sheets(conn, eid, sheets)
        if progress:
            progress("sheets", len(sheets), len(sheets))
    truth_path = write_truth(e, slug=slug, arrivals=arrivals)
    return StoredSynth(slug=slug, stations=e.n_stations, sheets=len(sheets), truth_path=truth_path)


def truth_file(slug: str) -> Path:
    return settings.home() / "synth" / f"{slug}.truth.json"


def write_truth(e: SyntheticElection, *, slug: str, arrivals: Arrivals) -> Path:
    path = truth_file(slug)
    path.parent.mkdir(parents=True, exist_ok=True)
    codes, numbers = e.constituency_codes, e.station_numbers
    doc = {
        "slug": slug,
        "config": {
            k: (v if not isinstance(v, tuple) else [vars(m) for m in v]) for k, v in vars(e.config).items()
        },
        "favoured_column": e.truth.favoured,
        "stations": {
            name: [f"{codes[e.constituency[i]]}/{numbers[i]}" for i in np.flatnonzero(getattr(e.truth, name))]
            for name in ("stuffed", "moved", "copied", "rounded", "withheld")
        },
        "altered_constituencies": [codes[c] for c in np.flatnonzero(e.truth.altered)],
        "transcription_slips": int(arrivals.slip.sum()),
    }
    path.write_text(json.dumps(doc, indent=1, default=str))
    return path


def _constituencies(e: SyntheticElection) -> list[Constituency]:
    reg = np.bincount(e.constituency, weights=e.registered, minlength=e.n_constituencies).astype(np.int64)
    return [
        Constituency(
            code=ConstituencyCode(code),
            assembly=code.split("-")[0],
            delimitation="synthetic",
            region=e.regions[i],
            registered=Registered(total=int(reg[i])),
        )
        for i, code in enumerate(e.constituency_codes)
    ]


def _stations(e: SyntheticElection) -> list[Station]:
    out = []
    for i in range(e.n_stations):
        reg = int(e.registered[i])
        male = reg * 53 // 100
        out.append(
            Station(
                constituency=ConstituencyCode(e.constituency_codes[e.constituency[i]]),
                serial=i + 1,
                number=StationNumber(e.station_numbers[i]),
                sex=StationSex.COMBINED,
                registered=Registered(male, reg - male, reg),
                booths=Booths(total=int(e.booths[i])),
            )
        )
    return out


def _candidates(e: SyntheticElection) -> list[Candidate]:
    return [
        Candidate(ConstituencyCode(code), CandidateKey(j + 1), name, PartyCode(party) if party else None)
        for i, code in enumerate(e.constituency_codes)
        for j, (name, party) in enumerate(zip(e.candidate_names[i], e.candidate_parties[i], strict=True))
        if name
    ]


def _station_sheets(e: SyntheticElection, a: Arrivals) -> list[ResultSheet]:
    # Plain Python lists: indexing numpy scalars per sheet costs more than the whole database write.
    used = [len([n for n in names if n]) for names in e.candidate_names]
    keys = [CandidateKey(j + 1) for j in range(e.votes.shape[1])]
    codes = [ConstituencyCode(code) for code in e.constituency_codes]
    constituency, rejected, registered = e.constituency.tolist(), e.rejected.tolist(), e.registered.tolist()
    sheets = []
    for row, (station, votes_row) in enumerate(zip(a.station.tolist(), a.votes.tolist(), strict=True)):
        c = constituency[station]
        votes = dict(zip(keys[: used[c]], votes_row[: used[c]], strict=True))
        valid = sum(votes.values())
        role, organisation = a.role[row], a.organisation[row]
        sheets.append(
            ResultSheet(
                kind=SheetKind.STATION_COUNT,
                form="Form-45",
                constituency=codes[c],
                station=StationNumber(e.station_numbers[station]),
                station_serial=station + 1,
                votes=votes,
                totals=Totals(
                    valid=valid,
                    rejected=rejected[station],
                    polled=valid + rejected[station],
                    registered=registered[station],
                ),
                provenance=Provenance(
                    source="synth",
                    channel=Channel.SYNTH,
                    role=role,
                    organisation=organisation,
                    submitter_key=f"synth:{role.value}:{organisation}",
                    received_at=a.received_at[row],
                ),
            )
        )
    return sheets


def _consolidated_sheets(e: SyntheticElection, *, received: dt.datetime) -> list[ResultSheet]:
    """Form-48: the official station-by-station statement, which leaves the withheld stations out."""
    used = [len([n for n in names if n]) for names in e.candidate_names]
    keys = [CandidateKey(j + 1) for j in range(e.votes.shape[1])]
    constituency, rejected, registered = e.constituency.tolist(), e.rejected.tolist(), e.registered.tolist()
    provenance = Provenance(
        source="synth",
        channel=Channel.SYNTH,
        role=Role.OFFICIAL,
        organisation="Election commission",
        received_at=received,
    )
    sheets = []
    for station, votes_row in zip(
        np.flatnonzero(~e.official_withheld).tolist(), e.votes[~e.official_withheld].tolist(), strict=True
    ):
        c = constituency[station]
        votes = dict(zip(keys[: used[c]], votes_row[: used[c]], strict=True))
        valid = sum(votes.values())
        sheets.append(
            ResultSheet(
                kind=SheetKind.CONSOLIDATED,
                form="Form-48",
                constituency=ConstituencyCode(e.constituency_codes[c]),
                station=StationNumber(e.station_numbers[station]),
                station_serial=station + 1,
                votes=votes,
                totals=Totals(
                    valid=valid,
                    rejected=rejected[station],
                    polled=valid + rejected[station],
                    registered=registered[station],
                ),
                provenance=provenance,
                label="official consolidated",
            )
        )
    return sheets


def _official_sheets(e: SyntheticElection, *, received: dt.datetime) -> list[ResultSheet]:
    sheets = []
    for c, code in enumerate(e.constituency_codes):
        used = len([n for n in e.candidate_names[c] if n])
        votes = {CandidateKey(j + 1): int(v) for j, v in enumerate(e.official[c, :used])}
        rejected = int(e.rejected[(e.constituency == c) & ~e.official_withheld].sum())
        valid = sum(votes.values())
        sheets.append(
            ResultSheet(
                kind=SheetKind.PROVISIONAL,
                form="Form-47",
                constituency=ConstituencyCode(code),
                votes=votes,
                totals=Totals(valid=valid, rejected=rejected, polled=valid + rejected),
                provenance=Provenance(
                    source="synth",
                    channel=Channel.SYNTH,
                    role=Role.OFFICIAL,
                    organisation="Election commission",
                    received_at=received,
                ),
                label="official provisional",
            )
        )
    return sheets
