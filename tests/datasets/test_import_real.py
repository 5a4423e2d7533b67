"""The real datasets load into SQLite and PostgreSQL, exactly once."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from pollwatch.datasets import import_dataset, read
from pollwatch.ledger.records import parse_leaf
from pollwatch.model import SheetKind
from pollwatch.storage import Database
from pollwatch.storage import log as logstore
from pollwatch.storage import schema as t
from pollwatch.storage.findings import list_findings
from pollwatch.storage.sheets import list_sheets
from pollwatch.storage.structure import get_election
from tests.conftest import require_shared_data
from tests.datasets.conftest import copy_dataset, replace_in


def _count(db: Database, table: t.Table) -> int:  # type: ignore[name-defined]
    with db.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def test_import_pakistan_2024_group(db: Database, tmp_path: Path) -> None:
    data = _trimmed_2024(tmp_path)  # every 2024 result and roster; Form-45 files of 4 seats
    parsed = read("pakistan-2024", data)
    report = import_dataset(db, "pakistan-2024", data)
    assert [p.dataset for p in report.parts] == ["pakistan-2024-constituency", "pakistan-2024-pollingstation"]
    assert report.counts["sheets"] == len(parsed.sheets)
    assert _count(db, t.sheets) == len(parsed.sheets)
    assert _count(db, t.sheet_votes) == sum(len(s.votes) for s in parsed.sheets)
    assert _count(db, t.stations) == len(parsed.stations)
    with db.connect() as conn:
        election_id, election = get_election(conn, "pk-2024")
        assert election.delimitation == "2023"
        form45 = list_sheets(conn, election_id, kind=SheetKind.STATION_COUNT, constituency="NA-46")
        assert len(form45) == 342
        assert form45[0].provenance.organisation == "PTI (form45.com)"
        assert len(list_findings(conn, election_id)) == len(parsed.findings)
    with db.connect() as conn:  # one official leaf per stored sheet, none more on a re-import
        assert logstore.count_entries(conn) == len(parsed.sheets)
        form45_leaf = parse_leaf(logstore.read_entries(conn, len(parsed.sheets) - 1, len(parsed.sheets))[0])
    assert form45_leaf.body["source"]["file"].startswith("form45/")
    assert form45_leaf.body["station"] is not None
    again = import_dataset(db, "pakistan-2024", data)
    assert again.status == "already imported"
    assert _count(db, t.sheets) == len(parsed.sheets)
    with db.connect() as conn:
        assert logstore.count_entries(conn) == len(parsed.sheets)


_KEPT = ("NA-46", "NA-47", "PK-79", "PS-100")
"""Form-45 files kept: two NA seats, a PA seat, and a PA seat whose roster key is unreadable."""


def _trimmed_2024(tmp_path: Path) -> Path:
    """The 2024 results and rosters with the Form-45 files of ``_KEPT``, in a data dir of its own."""
    source = require_shared_data("pakistan-2024-pollingstation").parent
    copy_dataset(source / "pakistan-2024-constituency", tmp_path / "pakistan-2024-constituency")
    copy_dataset(source / "pakistan-2024-pollingstation", tmp_path / "pakistan-2024-pollingstation")
    for path in (tmp_path / "pakistan-2024-pollingstation" / "form45").glob("*.csv"):
        if path.stem not in _KEPT:
            path.unlink()
    return tmp_path


def test_import_pollingstation_2024_alone_pulls_in_its_results(sqlite_db: Database, tmp_path: Path) -> None:
    data = _trimmed_2024(tmp_path)
    report = import_dataset(sqlite_db, "pakistan-2024-pollingstation", data)
    assert report.status == "imported"
    assert [p.dataset for p in report.parts] == ["pakistan-2024-constituency"]
    assert import_dataset(sqlite_db, "pakistan-2024-constituency", data).status == "already imported"


def test_import_pakistan_2018_constituency(db: Database) -> None:
    data = require_shared_data("pakistan-2018-constituency").parent
    import_dataset(db, "pakistan-2018-constituency", data)
    with db.connect() as conn:
        election_id, _ = get_election(conn, "pk-2018")
        assert len(list_sheets(conn, election_id, kind=SheetKind.FINAL)) == 840
        provisional = list_sheets(conn, election_id, kind=SheetKind.PROVISIONAL, constituency="NA-1")
    assert provisional[0].totals.valid == 158_925  # README: NA-1 valid 158,925 on 29 July
    assert _count(db, t.candidates) == 11_689


@pytest.mark.slow
def test_import_pakistan_2018_group_with_every_station(db: Database) -> None:
    data = require_shared_data("pakistan-2018-pollingstation").parent
    report = import_dataset(db, "pakistan-2018", data)
    assert report.status == "imported"
    assert _count(db, t.stations) == 95_945  # 95,951 rows less 6 repeated serials (findings)
    assert import_dataset(db, "pakistan-2018", data).status == "already imported"


def test_import_reload_of_results_reloads_the_tallies(sqlite_db: Database, tmp_path: Path) -> None:
    _trimmed_2024(tmp_path)
    import_dataset(sqlite_db, "pakistan-2024", tmp_path)
    before = _count(sqlite_db, t.sheet_votes)
    replace_in(tmp_path / "pakistan-2024-constituency" / "na_2024_candidates_wikipedia.csv", "61834", "61835")
    report = import_dataset(sqlite_db, "pakistan-2024-constituency", tmp_path)
    assert report.status == "reloaded"
    assert [(p.dataset, p.status) for p in report.parts] == [("pakistan-2024-pollingstation", "imported")]
    assert _count(sqlite_db, t.sheet_votes) == before  # the Form-45 votes were reloaded, not lost
    with sqlite_db.connect() as conn:
        election_id, _ = get_election(conn, "pk-2024")
        assert len(list_sheets(conn, election_id, kind=SheetKind.STATION_COUNT)) > 600


def test_import_order_does_not_change_registered_voters(sqlite_db: Database, tmp_path: Path) -> None:
    import csv

    source = require_shared_data("pakistan-2018-constituency").parent
    scheme = "ecp_gis_polling_scheme_2018.csv"
    copy_dataset(
        source / "pakistan-2018-pollingstation", tmp_path / "pakistan-2018-pollingstation", head={scheme: 201}
    )
    copy_dataset(source / "pakistan-2018-constituency", tmp_path / "pakistan-2018-constituency")
    import_dataset(sqlite_db, "pakistan-2018-pollingstation", tmp_path)  # NA-40 from 200 stations only
    import_dataset(sqlite_db, "pakistan-2018-constituency", tmp_path)
    with (source / "pakistan-2018-constituency" / "ecp_2018_candidates_final_20180904.csv").open() as handle:
        official = next(
            int(r["voter_reg"]) for r in csv.DictReader(handle) if r["constituency_code"] == "NA-40"
        )
    with sqlite_db.connect() as conn:
        election_id, _ = get_election(conn, "pk-2018")
        from pollwatch.storage.structure import get_constituency

        _, na40 = get_constituency(conn, election_id, "NA-40")
    assert na40.registered.total == official
