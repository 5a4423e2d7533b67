"""Writing a synthetic election: its structure, then every copy through the submission core.

:func:`store` creates the election, its stations and candidates, registers the night's synthetic
submitters (:mod:`pollwatch.synth.submitters`) and writes every copy of every sheet as a signed
submission through :func:`pollwatch.intake.service.write_batch` (:mod:`pollwatch.synth.replay`), so
each is a leaf of the log. The ground truth goes to a file beside the database, never into the log.
"""

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
    Constituency,
    ConstituencyCode,
    Election,
    ElectionSlug,
    Party,
    PartyCode,
    Registered,
    Station,
    StationNumber,
    StationSex,
)
from pollwatch.storage import Database, structure
from pollwatch.synth.election import SyntheticElection
from pollwatch.synth.replay import load_night
from pollwatch.synth.submissions import Night
from pollwatch.synth.submitters import register_submitters
from pollwatch.synth.timeline import Arrivals, night

Progress = Callable[[str, int, int], None]
GENERATED_SOURCE = "synth:generated"
"""Source of the stations generated where the real polling scheme lists too few voters."""


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
    """Create the election and write every copy of every sheet through the core, synchronously."""
    create_structure(db, e, slug=slug, name=name, country=country, date=date, rule_pack=rule_pack)
    plan = prepare_night(db, e, slug=slug, date=date)
    summary = load_night(db, plan, progress=progress)
    truth_path = write_truth(e, slug=slug, arrivals=plan.arrivals)
    return StoredSynth(slug=slug, stations=e.n_stations, sheets=summary.total, truth_path=truth_path)


def create_structure(
    db: Database,
    e: SyntheticElection,
    *,
    slug: str,
    name: str = "",
    country: str = "XX",
    date: dt.date = dt.date(2030, 1, 1),
    rule_pack: str = "generic",
) -> None:
    """Create the election, its constituencies, stations, parties and candidates in one transaction."""
    election = Election(
        slug=ElectionSlug(slug),
        country=country,
        name=name or f"Synthetic election {slug}",
        date=date,
        rule_pack=rule_pack,
        delimitation="synthetic",
    )
    generated = e.generated if e.generated is not None else np.zeros(e.n_stations, dtype=bool)
    with db.begin() as conn:
        eid = structure.create_election(conn, election)
        ids = structure.upsert_constituencies(conn, eid, _constituencies(e))
        stations = _stations(e)
        listed = [s for s, g in zip(stations, generated.tolist(), strict=True) if not g]
        extra = [s for s, g in zip(stations, generated.tolist(), strict=True) if g]
        structure.insert_stations(conn, ids=ids, stations=listed, source="synth")
        structure.insert_stations(conn, ids=ids, stations=extra, source=GENERATED_SOURCE)
        parties = sorted({p for row in e.candidate_parties for p in row if p})
        structure.upsert_parties(conn, eid, [Party(PartyCode(p), p) for p in parties])
        structure.insert_candidates(conn, eid, _candidates(e), source="synth")


def prepare_night(db: Database, e: SyntheticElection, *, slug: str, date: dt.date) -> Night:
    """The night's timeline and its registered submitters (found again on a second call)."""
    close = dt.datetime.combine(date, dt.time(12, 0), tzinfo=dt.UTC)  # 17:00 in UTC+5
    plan = Night(slug, e, night(e, polls_close=close, seed=e.config.seed), close)
    with db.begin() as conn:
        plan.identities = register_submitters(conn, slug=slug, seed=e.config.seed, wanted=plan.wanted())
    return plan


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
        "generated_stations": [
            f"{codes[e.constituency[i]]}/{numbers[i]}"
            for i in (np.flatnonzero(e.generated) if e.generated is not None else [])
        ],
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
    generated = e.generated.tolist() if e.generated is not None else [False] * e.n_stations
    for i in range(e.n_stations):
        reg = int(e.registered[i])
        male = reg * 53 // 100
        out.append(
            Station(
                constituency=ConstituencyCode(e.constituency_codes[e.constituency[i]]),
                serial=i + 1,
                number=StationNumber(e.station_numbers[i]),
                name="generated: the polling scheme lists too few voters" if generated[i] else "",
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
