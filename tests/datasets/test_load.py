"""Imports are transactional and idempotent, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from pollwatch.datasets import import_dataset
from pollwatch.errors import ConflictError, DataError, InputError
from pollwatch.storage import Database
from pollwatch.storage import schema as t
from tests.datasets.conftest import replace_in

TABLES = (
    t.elections,
    t.parties,
    t.constituencies,
    t.stations,
    t.candidates,
    t.sheets,
    t.sheet_votes,
    t.findings,
)


def _counts(db: Database) -> dict[str, int]:
    with db.connect() as conn:
        return {
            table.name: conn.execute(select(func.count()).select_from(table)).scalar_one() for table in TABLES
        }


def test_import_generic_writes_everything(db: Database, kenya_bundle: Path) -> None:
    report = import_dataset(db, f"generic:{kenya_bundle}", Path("."))
    assert report.status == "imported"
    assert report.counts["sheets"] == 3
    assert _counts(db) == {
        "elections": 1,
        "parties": 2,
        "constituencies": 1,
        "stations": 2,
        "candidates": 3,
        "sheets": 3,
        "sheet_votes": 9,
        "findings": 2,
    }


def test_import_same_content_twice_writes_nothing(db: Database, kenya_bundle: Path) -> None:
    import_dataset(db, f"generic:{kenya_bundle}", Path("."))
    before = _counts(db)
    again = import_dataset(db, f"generic:{kenya_bundle}", Path("."))
    assert again.status == "already imported"
    assert not again.written
    assert again.counts["sheets"] == 3  # the counts recorded by the first import
    assert _counts(db) == before


def test_import_changed_content_replaces_what_the_dataset_wrote(db: Database, kenya_bundle: Path) -> None:
    first = import_dataset(db, f"generic:{kenya_bundle}", Path("."))
    replace_in(kenya_bundle / "votes.csv", "34B-290,1,400", "34B-290,1,401")
    second = import_dataset(db, f"generic:{kenya_bundle}", Path("."))
    assert second.status == "reloaded"
    assert second.content_sha256 != first.content_sha256
    counts = _counts(db)
    assert counts["sheets"] == 3
    assert counts["sheet_votes"] == 9
    with db.connect() as conn:
        votes = conn.execute(select(func.sum(t.sheet_votes.c.votes))).scalar_one()
    assert votes == 1600 + 1  # 800 station + 800 consolidated, one vote more


def test_import_bad_file_writes_nothing(db: Database, kenya_bundle: Path) -> None:
    replace_in(kenya_bundle / "stations.csv", "Loresho Primary,400", "Loresho Primary,four hundred")
    with pytest.raises(DataError, match=r"stations.csv: row 3, column 'registered_total'"):
        import_dataset(db, f"generic:{kenya_bundle}", Path("."))
    assert set(_counts(db).values()) == {0}


def test_import_failure_while_writing_rolls_back(db: Database, kenya_bundle: Path) -> None:
    # A vote for ballot position 9 parses but refers to no candidate: the sheets step fails after the
    # election, constituencies, stations and candidates were already written in the transaction.
    replace_in(kenya_bundle / "votes.csv", "34B-290,3,15", "34B-290,9,15")
    with pytest.raises(InputError, match="nothing was written"):
        import_dataset(db, f"generic:{kenya_bundle}", Path("."))
    assert set(_counts(db).values()) == {0}


def test_import_failed_reload_keeps_the_previous_import(db: Database, kenya_bundle: Path) -> None:
    import_dataset(db, f"generic:{kenya_bundle}", Path("."))
    before = _counts(db)
    replace_in(kenya_bundle / "votes.csv", "34B-290,3,15", "34B-290,9,15")
    with pytest.raises(InputError):
        import_dataset(db, f"generic:{kenya_bundle}", Path("."))
    assert _counts(db) == before


def test_import_unknown_dataset_is_refused(db: Database) -> None:
    with pytest.raises(InputError, match="unknown dataset 'pakistan-2019'"):
        import_dataset(db, "pakistan-2019", Path("."))


def test_import_missing_dataset_folder(db: Database, tmp_path: Path) -> None:
    with pytest.raises(DataError, match="the folder of pakistan-2018-constituency is missing"):
        import_dataset(db, "pakistan-2018-constituency", tmp_path)
    assert set(_counts(db).values()) == {0}


def test_import_sheets_of_a_constituency_without_candidates(db: Database, kenya_bundle: Path) -> None:
    # A party tally for a seat whose ballot is unknown: the sheet is kept with no votes.
    with (kenya_bundle / "constituencies.csv").open("a") as handle:
        handle.write("291,PRES,Dagoretti North,Nairobi,\n")
    with (kenya_bundle / "sheets.csv").open("a") as handle:
        handle.write("34B-291,consolidated,34B,291,,,,,,,official,,\n")
    report = import_dataset(db, f"generic:{kenya_bundle}", Path("."))
    assert report.counts["sheets"] == 4
    assert _counts(db)["sheets"] == 4


def test_reload_refuses_to_cascade_over_other_sources_sheets(db: Database, kenya_bundle: Path) -> None:
    from pollwatch.model import (
        CandidateKey,
        Channel,
        ConstituencyCode,
        Provenance,
        ResultSheet,
        Role,
        SheetKind,
        StationNumber,
        Totals,
    )
    from pollwatch.storage.sheets import insert_sheets
    from pollwatch.storage.structure import get_election

    import_dataset(db, f"generic:{kenya_bundle}", Path("."))
    agent_copy = ResultSheet(
        kind=SheetKind.STATION_COUNT,
        form="34A",
        constituency=ConstituencyCode("290"),
        votes={CandidateKey(1): 300},
        totals=Totals(),
        provenance=Provenance(source="intake", channel=Channel.API, role=Role.AGENT),
        station=StationNumber("001"),
        station_serial=1,
    )
    with db.begin() as conn:
        election_id, _ = get_election(conn, "ke-2022-demo")
        insert_sheets(conn, election_id, [agent_copy])
    before = _counts(db)
    replace_in(kenya_bundle / "votes.csv", "34B-290,1,400", "34B-290,1,401")
    with pytest.raises(
        ConflictError, match="1 sheets from other sources refer to its stations or candidates"
    ):
        import_dataset(db, f"generic:{kenya_bundle}", Path("."))
    assert _counts(db) == before
