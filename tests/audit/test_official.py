"""The official-result audit on synthetic elections: 100 % recall of altered totals and withheld
stations against the generator's ground truth, and no such finding on a clean election."""

import datetime as dt

import numpy as np
import pytest

from pollwatch.audit.official import OfficialTotals, SignedCounts, audit_station_copies, audit_totals
from pollwatch.audit.service import audit_election
from pollwatch.model import (
    Candidate,
    CandidateKey,
    Channel,
    Constituency,
    ConstituencyCode,
    Election,
    ElectionSlug,
    Provenance,
    ResultSheet,
    Role,
    SheetKind,
    StationNumber,
    Totals,
)
from pollwatch.synth import Manipulation, ManipulationKind, SynthConfig, SyntheticElection, generate
from pollwatch.synth.universe import Contest as SynthContest
from pollwatch.synth.universe import RealStation, from_universe
from pollwatch.tally.inputs import ResultsInput
from pollwatch.tally.reconcile import reconcile_station

KINDS = ("official_total_differs", "station_missing_from_official", "winner_reversal")


def _audit(e: SyntheticElection) -> list:  # type: ignore[type-arg]
    counts = SignedCounts(
        codes=e.constituency_codes,
        station_constituency=e.constituency,
        station_numbers=e.station_numbers,
        signed=e.votes,
        signed_present=np.ones(e.n_stations, dtype=bool),
        in_statement=~e.official_withheld,  # the station-wise statement (Form-48) lists the others
    )
    official = OfficialTotals("Form-47", e.official, np.ones(e.n_constituencies, dtype=bool))
    return audit_totals(counts, official)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_audit_finds_every_altered_total_and_withheld_station(seed: int) -> None:
    e = generate(
        SynthConfig(
            seed=seed,
            n_stations=6_000,
            n_constituencies=40,
            n_candidates=5,
            manipulations=(
                Manipulation(ManipulationKind.ALTERED_TOTALS, share=0.2, strength=0.5),
                Manipulation(ManipulationKind.WITHHELD, share=0.03),
                Manipulation(ManipulationKind.BALLOT_STUFFING, share=0.05, strength=0.5),
            ),
        )
    )
    found = _audit(e)
    flagged = {f.where for f in found if f.kind == "official_total_differs"}
    altered = {
        e.constituency_codes[c] for c in np.flatnonzero(e.truth.altered & e.truth.official_shift.any(axis=1))
    }
    assert altered, "the generator altered nothing: the test would prove nothing"
    assert altered <= flagged
    assert flagged == altered  # and nothing else: withheld stations are out of the statement's sum
    missing = {f.where for f in found if f.kind == "station_missing_from_official"}
    withheld = {
        f"{e.constituency_codes[e.constituency[s]]}/station {e.station_numbers[s]}"
        for s in np.flatnonzero(e.truth.withheld)
    }
    assert withheld
    assert missing == withheld


def test_clean_election_raises_no_audit_finding() -> None:
    e = generate(SynthConfig(seed=9, n_stations=5_000, n_constituencies=30, n_candidates=6))
    assert [f for f in _audit(e) if f.kind in KINDS] == []


def test_winner_reversal_when_totals_are_swapped() -> None:
    e = generate(SynthConfig(seed=4, n_stations=400, n_constituencies=4, n_candidates=3))
    official = e.official.copy()
    c = 0
    first, second = np.argsort(-official[c])[:2]
    official[c, [first, second]] = official[c, [second, first]]
    counts = SignedCounts(
        e.constituency_codes,
        e.constituency,
        e.station_numbers,
        e.votes,
        np.ones(e.n_stations, dtype=bool),
        np.ones(e.n_stations, dtype=bool),
    )
    found = audit_totals(counts, OfficialTotals("Form-49", official, np.ones(e.n_constituencies, dtype=bool)))
    reversal = [f for f in found if f.kind == "winner_reversal"]
    assert [f.where for f in reversal] == [e.constituency_codes[c]]
    assert reversal[0].data["signed_winner"] == first + 1


def test_partial_coverage_reports_only_certain_shortfalls() -> None:
    # Two stations, the second not yet in: the official total may exceed the partial signed sum, but a
    # candidate credited with fewer votes than one signed sheet already gives is certain.
    const = np.zeros(2, dtype=np.int64)
    signed = np.array([[100, 50], [0, 0]])
    present = np.array([True, False])
    counts = SignedCounts(["NA-9"], const, ["1", "2"], signed, present, np.ones(2, dtype=bool))
    ok = audit_totals(counts, OfficialTotals("P", np.array([[180, 90]]), np.array([True])))
    short = audit_totals(counts, OfficialTotals("P", np.array([[180, 40]]), np.array([True])))
    assert ok == []
    assert [f.data["difference"] for f in short] == [{"2": -10}]


def _sheet(a: int, b: int, role: Role, org: str) -> ResultSheet:
    return ResultSheet(
        SheetKind.STATION_COUNT,
        "Form-45",
        ConstituencyCode("NA-46"),
        {CandidateKey(1): a, CandidateKey(2): b},
        Totals(valid=a + b),
        Provenance("t", Channel.API, role, organisation=org, evidence_sha256=(org * 8,)),
    )


def test_official_station_copy_that_differs_from_signed_copies_is_a_finding() -> None:
    r = reconcile_station(
        [
            _sheet(300, 200, Role.AGENT, "PTI"),
            _sheet(300, 200, Role.OBSERVER, "FAFEN"),
            _sheet(200, 300, Role.OFFICIAL, "ECP"),
        ],
        constituency="NA-46",
        serial=12,
        number="12",
    )
    (finding,) = audit_station_copies([r])
    assert finding.kind == "official_station_differs"
    assert finding.data["difference"] == {"1": -100, "2": 100}
    assert {e.role for e in finding.evidence} == {"agent", "official"}
    agreed = reconcile_station(
        [_sheet(300, 200, Role.AGENT, "PTI"), _sheet(300, 200, Role.OFFICIAL, "ECP")],
        constituency="NA-46",
        serial=12,
        number="12",
    )
    assert audit_station_copies([agreed]) == []


def test_form48_row_that_differs_from_signed_copies_is_a_finding() -> None:
    r = reconcile_station([_sheet(300, 200, Role.AGENT, "PTI")], constituency="NA-46", serial=12, number="12")
    row = ResultSheet(
        SheetKind.CONSOLIDATED,
        "Form-48",
        ConstituencyCode("NA-46"),
        {CandidateKey(1): 300, CandidateKey(2): 260},
        Totals(),
        Provenance("ecp", Channel.IMPORT, Role.OFFICIAL),
        station_serial=12,
    )
    (finding,) = audit_station_copies([r], [row])
    assert (finding.data["difference"], finding.data["form"]) == ({"2": 60}, "Form-48")
    same = ResultSheet(
        SheetKind.CONSOLIDATED,
        "Form-48",
        ConstituencyCode("NA-46"),
        {CandidateKey(1): 300, CandidateKey(2): 200},
        Totals(),
        Provenance("ecp", Channel.IMPORT, Role.OFFICIAL),
        station_serial=12,
    )
    assert audit_station_copies([r], [same]) == []
    by_number = ResultSheet(
        SheetKind.CONSOLIDATED,
        "Form-48",
        ConstituencyCode("NA-46"),
        {CandidateKey(1): 300, CandidateKey(2): 260},
        Totals(),
        Provenance("ecp", Channel.IMPORT, Role.OFFICIAL),
        station=StationNumber("12"),
    )
    assert [f.kind for f in audit_station_copies([r], [by_number])] == ["official_station_differs"]


def test_recall_on_the_real_2018_station_universe(pk2018: ResultsInput) -> None:
    """Real NA results disaggregated over the real 2018 polling scheme, then manipulated."""
    final = {c.constituency: c for c in pk2018.contests(SheetKind.FINAL, "2018-09-04 final")}
    cands: dict[str, list[Candidate]] = {}
    for k in pk2018.candidates:
        cands.setdefault(k.constituency, []).append(k)
    stations: dict[str, list[RealStation]] = {}
    for s in pk2018.stations:
        if s.registered.total:
            stations.setdefault(s.constituency, []).append(
                RealStation(s.number, s.registered.total, s.booths.total or 1)
            )
    contests = []
    for c in pk2018.constituencies:
        if c.assembly != "NA" or c.code not in final or c.code not in stations:
            continue
        ballot = sorted(cands[c.code], key=lambda k: k.ballot_order)
        contests.append(
            SynthContest(
                code=c.code,
                region=c.region,
                registered=c.registered.total or 0,
                candidates=tuple((k.name, k.party) for k in ballot),
                totals=tuple(final[c.code].votes.get(k.ballot_order, 0) for k in ballot),
                rejected=final[c.code].rejected or 0,
                stations=tuple(stations[c.code]),
            )
        )
    assert len(contests) > 150
    e = from_universe(
        contests[:60],
        SynthConfig(
            seed=18,
            manipulations=(
                Manipulation(ManipulationKind.ALTERED_TOTALS, share=0.25, strength=0.4),
                Manipulation(ManipulationKind.WITHHELD, share=0.01),
            ),
        ),
    )
    found = _audit(e)
    altered = {
        e.constituency_codes[c] for c in np.flatnonzero(e.truth.altered & e.truth.official_shift.any(axis=1))
    }
    assert altered
    assert {f.where for f in found if f.kind == "official_total_differs"} == altered
    withheld = {
        f"{e.constituency_codes[e.constituency[s]]}/station {e.station_numbers[s]}"
        for s in np.flatnonzero(e.truth.withheld)
    }
    assert {f.where for f in found if f.kind == "station_missing_from_official"} == withheld


def test_form48_rows_are_neither_a_snapshot_nor_a_total() -> None:
    # A station-wise statement row must not be read as a constituency result (nor make every seat
    # "missing" from a snapshot of its own).
    election = Election(ElectionSlug("x"), "XX", "x", dt.date(2030, 1, 1), "generic", "d")
    code = ConstituencyCode("X-1")
    prov = Provenance("ecp", Channel.IMPORT, Role.OFFICIAL)
    total = ResultSheet(
        SheetKind.FINAL,
        "Form-49",
        code,
        {CandidateKey(1): 10, CandidateKey(2): 5},
        Totals(),
        prov,
        label="final",
    )
    row = ResultSheet(
        SheetKind.CONSOLIDATED,
        "Form-48",
        code,
        {CandidateKey(1): 3},
        Totals(),
        prov,
        station=StationNumber("1"),
        label="form-48",
    )
    inp = ResultsInput(election, [Constituency(code, "X", "d")], [], [], [], [total, row])
    assert inp.official_labels() == [(SheetKind.FINAL, "final")]
    assert [c.votes for c in inp.contests(SheetKind.CONSOLIDATED)] == []
    assert audit_election(inp).counts() == {}
