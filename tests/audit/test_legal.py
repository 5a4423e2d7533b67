"""Legal checks run over an election: stations awaited at the deadline, missing results."""

import datetime as dt

from pollwatch.audit.legal import awaited_at_deadline, missing_results
from pollwatch.model import (
    CandidateKey,
    Channel,
    ConstituencyCode,
    Provenance,
    ResultSheet,
    Role,
    SheetKind,
    Totals,
)
from pollwatch.rules import Contest
from pollwatch.rules.pakistan import PakistanRules
from pollwatch.tally.reconcile import StationReconciliation, reconcile_station

DEADLINE = PakistanRules().deadline(dt.date(2024, 2, 8))  # 02:00 PKT on 9 Feb = 21:00 UTC on 8 Feb


def _station(serial: int, code: str, official_at: dt.datetime | None) -> StationReconciliation:
    copies = [_sheet(code, serial, Role.AGENT, dt.datetime(2024, 2, 8, 14, 0, tzinfo=dt.UTC))]
    if official_at is not None:
        copies.append(_sheet(code, serial, Role.OFFICIAL, official_at))
    return reconcile_station(copies, constituency=code, serial=serial, number=str(serial))


def _sheet(code: str, serial: int, role: Role, at: dt.datetime) -> ResultSheet:
    return ResultSheet(
        SheetKind.STATION_COUNT,
        "Form-45",
        ConstituencyCode(code),
        {CandidateKey(1): 5},
        Totals(),
        Provenance("t", Channel.API, role, organisation=role.value, received_at=at),
        station_serial=serial,
    )


def test_deadline_is_two_am_pakistan_time() -> None:
    assert dt.datetime(2024, 2, 8, 21, 0, tzinfo=dt.UTC) == DEADLINE


def test_stations_without_an_official_copy_by_the_deadline_are_listed() -> None:
    on_time = dt.datetime(2024, 2, 8, 20, 59, tzinfo=dt.UTC)
    late = dt.datetime(2024, 2, 8, 21, 1, tzinfo=dt.UTC)
    items = [
        _station(1, "NA-1", on_time),
        _station(2, "NA-1", late),
        _station(3, "NA-1", None),
        _station(1, "NA-2", None),  # no official uploads in NA-2 at all: nothing to say
    ]
    (finding,) = awaited_at_deadline(items, DEADLINE)
    assert finding.where == "NA-1"
    assert finding.data["awaited"] == ["2", "3"]
    assert awaited_at_deadline(items[:1], DEADLINE) == []


def test_missing_results_name_each_constituency() -> None:
    declared = [Contest(constituency="NA-1", assembly="NA", votes={CandidateKey(1): 3})]
    found = missing_results(["NA-1", "NA-2", "NA-3"], declared, label="Form-47")
    assert [(f.where, f.data["label"]) for f in found] == [("NA-2", "Form-47"), ("NA-3", "Form-47")]
