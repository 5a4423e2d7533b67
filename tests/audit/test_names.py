"""Audit findings name candidates and parties (keeping ballot positions); the audit of one constituency."""

import datetime as dt

import pytest

from pollwatch.audit.service import audit_election, repoll_election
from pollwatch.errors import NotFoundError
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
from pollwatch.tally.inputs import ResultsInput

CODES = (ConstituencyCode("X-1"), ConstituencyCode("X-2"))


def _sheet(
    code: ConstituencyCode, votes: tuple[int, int], kind: SheetKind, serial: int | None
) -> ResultSheet:
    official = kind is not SheetKind.STATION_COUNT
    return ResultSheet(
        kind,
        "Form-49" if official else "Form-45",
        code,
        {CandidateKey(1): votes[0], CandidateKey(2): votes[1]},
        Totals(valid=sum(votes)),
        Provenance(
            "t",
            Channel.IMPORT if official else Channel.API,
            Role.OFFICIAL if official else Role.AGENT,
            organisation="ECP" if official else "PTI",
        ),
        label="final" if official else "",
        station_serial=serial,
        station=StationNumber(str(serial)) if serial is not None else None,
    )


def _reversed() -> ResultsInput:
    """Both seats: the signed sheets elect Amina (PTI, position 1), the official final result Bilal."""
    election = Election(ElectionSlug("x"), "PK", "x", dt.date(2030, 1, 1), "pakistan", "d")
    constituencies = [Constituency(c, "NA", "d", region="R") for c in CODES]
    stations = [
        Station(c, s, StationNumber(str(s)), registered=Registered(total=1_000))
        for c in CODES
        for s in (1, 2)
    ]
    candidates = [
        k
        for c in CODES
        for k in (
            Candidate(c, CandidateKey(1), "Amina Sadaf", PartyCode("PTI")),
            Candidate(c, CandidateKey(2), "Bilal Khan", PartyCode("PMLN")),
        )
    ]
    parties = [
        Party(PartyCode("PTI"), "Pakistan Tehreek-e-Insaf"),
        Party(PartyCode("PMLN"), "Muslim League (N)"),
    ]
    sheets = [
        *(_sheet(c, (400, 100), SheetKind.STATION_COUNT, s) for c in CODES for s in (1, 2)),
        *(_sheet(c, (200, 600), SheetKind.FINAL, None) for c in CODES),
    ]
    return ResultsInput(election, constituencies, stations, candidates, parties, sheets)


def test_winner_reversal_names_both_candidates_and_keeps_positions() -> None:
    report = audit_election(_reversed(), kinds={"winner_reversal"})
    finding = next(f for f in report.findings if f.where == "X-1")
    assert "candidate 1 (Amina Sadaf, PTI) wins on the signed sheets" in finding.expected
    assert "declares candidate 2 (Bilal Khan, PMLN)" in finding.found
    assert (finding.data["signed_winner"], finding.data["official_winner"]) == (1, 2)
    assert finding.data["signed_winner_candidate"]["name"] == "Amina Sadaf"
    assert finding.as_dict()["data"]["official_winner_candidate"]["party_name"] == "Muslim League (N)"


def test_total_difference_names_each_candidate() -> None:
    report = audit_election(_reversed(), kinds={"official_total_differs"})
    finding = next(f for f in report.findings if f.where == "X-1")
    assert "candidate 1 (Amina Sadaf, PTI): -600" in finding.found
    assert "candidate 2 (Bilal Khan, PMLN): +400" in finding.found
    assert finding.data["difference"] == {"1": -600, "2": 400}
    assert [(c["position"], c["name"], c["difference"]) for c in finding.data["candidates"]] == [
        (1, "Amina Sadaf", -600),
        (2, "Bilal Khan", 400),
    ]


def test_audit_of_one_constituency_reports_only_it() -> None:
    inp = _reversed()
    every = audit_election(inp)
    one = audit_election(inp, constituency="X-2")
    assert {f.where.split("/")[0] for f in every.findings} == {"X-1", "X-2"}
    assert {f.where.split("/")[0] for f in one.findings} == {"X-2"}
    assert [f for f in every.findings if f.where.startswith("X-2")] == one.findings


def test_audit_of_an_unknown_constituency_is_not_found() -> None:
    with pytest.raises(NotFoundError, match="no such constituency"):
        audit_election(_reversed(), constituency="X-9")


def test_repoll_names_candidates_and_parties() -> None:
    impact = repoll_election(_reversed(), "X-1", stations=["1"])
    doc = impact.as_dict()
    assert (doc["declared_winner"], doc["declared_winner_name"], doc["declared_winner_party"]) == (
        2,
        "Bilal Khan",
        "PMLN",
    )
    challengers = doc["challengers"]
    assert isinstance(challengers, list)
    assert [(c["candidate"], c["name"], c["party"]) for c in challengers] == [(1, "Amina Sadaf", "PTI")]
