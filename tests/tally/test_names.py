"""Results name candidates and parties, list only real candidates, and never call 0/0 decided."""

import datetime as dt
from pathlib import Path

import numpy as np

from pollwatch.model import (
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
    Totals,
)
from pollwatch.tally.ballot import BallotEntry, Ballots
from pollwatch.tally.inputs import ResultsInput
from pollwatch.tally.live import LiveTally, Universe
from pollwatch.tally.report import Level, reconciliation_rows, tally_document, tally_rows
from pollwatch.tally.service import tally_election
from tests.conftest import require_shared_data

X1, X2 = ConstituencyCode("X-1"), ConstituencyCode("X-2")


def _sheet(code: ConstituencyCode, serial: int, votes: dict[int, int], org: str = "obs") -> ResultSheet:
    return ResultSheet(
        SheetKind.STATION_COUNT,
        "Form-45",
        code,
        {CandidateKey(k): v for k, v in votes.items()},
        Totals(valid=sum(votes.values())),
        Provenance("t", Channel.API, Role.OBSERVER, organisation=org),
        station_serial=serial,
        station=StationNumber(str(serial)),
    )


def _election(registered: int | None = 1_000) -> ResultsInput:
    """X-1 has candidates at positions 1 and 3 (no 2); X-2 a ballot of five, so X-1's row is padded."""
    election = Election(ElectionSlug("x"), "XX", "x", dt.date(2030, 1, 1), "generic", "d")
    constituencies = [Constituency(X1, "NA", "d", region="R"), Constituency(X2, "NA", "d", region="R")]
    stations = [
        Station(code, s, StationNumber(str(s)), registered=Registered(total=registered))
        for code in (X1, X2)
        for s in (1, 2)
    ]
    candidates = [
        Candidate(X1, CandidateKey(1), "Amina Sadaf", PartyCode("PTI")),
        Candidate(X1, CandidateKey(3), "Bilal Khan"),
        *(Candidate(X2, CandidateKey(j), f"C{j}", PartyCode("PPP")) for j in range(1, 6)),
    ]
    parties = [Party(PartyCode("PTI"), "Pakistan Tehreek-e-Insaf"), Party(PartyCode("PPP"), "Peoples Party")]
    sheets = [_sheet(X1, 1, {1: 300, 3: 100}), _sheet(X1, 2, {1: 200, 3: 150}), _sheet(X2, 1, {5: 10})]
    return ResultsInput(election, constituencies, stations, candidates, parties, sheets)


def test_tally_document_has_one_named_entry_per_real_candidate() -> None:
    live = tally_election(_election()).tally
    (x1,) = tally_document(live, constituency="X-1")["constituencies"]
    assert x1["candidates"] == [
        {
            "position": 1,
            "name": "Amina Sadaf",
            "party": "PTI",
            "party_name": "Pakistan Tehreek-e-Insaf",
            "votes": 500,
        },
        {"position": 3, "name": "Bilal Khan", "party": "IND", "party_name": "Independent", "votes": 250},
    ]
    assert "votes" not in x1  # no vote vector padded to the widest ballot (X-2 has five candidates)
    assert (x1["leader"], x1["leader_name"], x1["leader_party"]) == (1, "Amina Sadaf", "PTI")
    assert (x1["runner_up"], x1["runner_up_name"], x1["runner_up_party"]) == (3, "Bilal Khan", "IND")


def test_constituency_tally_votes_align_with_its_candidates() -> None:
    live = tally_election(_election()).tally
    t = live.constituency(0)
    assert t.votes == (500, 250)
    assert [e.position for e in t.candidates] == [1, 3]
    assert t.as_dict()["candidates"] == t.candidate_votes()
    assert live.constituencies()[0] == t


def test_tally_rows_name_leaders_and_parties() -> None:
    live = tally_election(_election()).tally
    (row,) = tally_rows(live, Level.CONSTITUENCY, constituency="X-1")
    assert (row["leader_name"], row["runner_up_name"]) == ("Amina Sadaf", "Bilal Khan")
    nation = {r["party"]: r for r in tally_rows(live, Level.NATION)}
    assert nation["PTI"]["party_name"] == "Pakistan Tehreek-e-Insaf"
    assert nation["IND"]["party_name"] == "Independent"


def test_runner_up_is_never_an_unused_ballot_column() -> None:
    # only position 5 has votes; positions 1-4 are real candidates with 0, padding is not.
    u = Universe(
        ("A",), ("R",), np.zeros(1, dtype=np.int64), np.array([10], dtype=np.int64), (("", "P", ""),)
    )
    live = LiveTally(u)
    live.apply(0, [0, 7, 0])
    t = live.constituency(0)
    assert (t.leader, t.runner_up, t.margin, t.votes) == (2, None, 7, (7,))
    assert live.constituencies() == [t]


def test_reconciliation_rows_name_the_best_figures_candidates() -> None:
    rows = reconciliation_rows(tally_election(_election()), constituency="X-1")
    assert {r["constituency"] for r in rows} == {"X-1"}
    first = next(r for r in rows if r["serial"] == 1)
    assert first["candidates"] == [
        {
            "position": 1,
            "name": "Amina Sadaf",
            "party": "PTI",
            "party_name": "Pakistan Tehreek-e-Insaf",
            "votes": 300,
        },
        {"position": 3, "name": "Bilal Khan", "party": "IND", "party_name": "Independent", "votes": 100},
    ]


def test_conflicting_votes_name_their_candidate() -> None:
    inp = _election()
    inp = ResultsInput(
        inp.election,
        inp.constituencies,
        inp.stations,
        inp.candidates,
        inp.parties,
        [*inp.sheets, _sheet(X1, 1, {1: 300, 3: 90}, org="agent")],
    )
    (row,) = reconciliation_rows(tally_election(inp), constituency="X-1", state="conflict")
    conflict = next(c for c in row["conflicts"] if c["field"] == "votes[3]")
    assert conflict["candidate"]["name"] == "Bilal Khan"


def test_registered_unknown_everywhere_is_never_decided() -> None:
    # Registered 0/0 (2024 NA-46): every station in, but the polling scheme itself is not known.
    live = tally_election(_election(registered=None)).tally
    t = live.constituency(0)
    assert (t.stations_reported, t.stations_expected, t.registered_expected) == (2, 2, 0)
    assert t.margin == 250
    assert (t.decided, t.decided_under_cap, t.unreported_registered) == (False, False, None)
    assert live.constituencies()[0] == t
    known = tally_election(_election(registered=1_000)).tally.constituency(0)
    assert (known.decided, known.unreported_registered) == (True, 0)


def test_unknown_registered_of_an_unreported_station_keeps_a_race_open() -> None:
    u = Universe(
        ("A",), ("R",), np.zeros(3, dtype=np.int64), np.array([500, 500, -1], dtype=np.int64), (("P", "Q"),)
    )
    live = LiveTally(u)
    live.apply(0, [400, 0])
    live.apply(1, [400, 0])
    assert not live.constituency(0).decided  # a margin of 800 against an unknown station
    live.apply(2, [1, 0])
    assert live.constituency(0).decided


def test_ballots_fall_back_to_positions_when_unnamed() -> None:
    b = Ballots.of(
        [Candidate(X1, CandidateKey(2), "Z", PartyCode("Q"))], [], columns={"X-1": ("P", "Q", None)}
    )
    assert b.ballot("X-1") == (
        BallotEntry(1, "", "P", "P"),
        BallotEntry(2, "Z", "Q", "Q"),
        BallotEntry(3),
    )
    assert b.label("X-1", 3) == "candidate 3"


def test_2024_na46_with_unknown_registered_voters_is_not_decided() -> None:
    from pollwatch.datasets import read

    data = require_shared_data("pakistan-2024-pollingstation")
    inp = ResultsInput.of(read("pakistan-2024", Path(data).parent)).only(None, constituency="NA-46")
    (row,) = tally_document(tally_election(inp).tally)["constituencies"]
    assert (row["registered_reported"], row["registered_expected"]) == (0, 0)
    assert row["stations"] == "342/342"
    assert (row["decided"], row["decided_under_cap"]) == (False, False)
    assert (row["leader"], row["leader_name"], row["leader_party"]) == (45, "Amir Mughal", "PTI")
    assert all(c["name"] for c in row["candidates"])
