import datetime as dt

import pytest
import sqlalchemy as sa

from pollwatch.errors import ConflictError, InputError, NotFoundError
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

ELECTION = Election(
    slug=ElectionSlug("xx-2030"),
    country="XX",
    name="Test general election",
    date=dt.date(2030, 5, 1),
    rule_pack="generic",
    delimitation="2028",
)
NA1 = ConstituencyCode("NA-1")


def _load_small(db: Database) -> int:
    with db.begin() as conn:
        eid = structure.create_election(conn, ELECTION)
        ids = structure.upsert_constituencies(
            conn,
            eid,
            [
                Constituency(
                    code=NA1,
                    assembly="NA",
                    delimitation="2028",
                    name="One",
                    region="North",
                    registered=Registered(600, 400, 1000),
                ),
                Constituency(code=ConstituencyCode("NA-10"), assembly="NA", delimitation="2028"),
                Constituency(code=ConstituencyCode("NA-2"), assembly="NA", delimitation="2028"),
            ],
        )
        structure.insert_stations(
            conn,
            ids=ids,
            source="test",
            stations=[
                Station(
                    constituency=NA1,
                    serial=i,
                    number=StationNumber(str(i)),
                    sex=StationSex.COMBINED,
                    registered=Registered(300, 200, 500),
                    booths=Booths(1, 1, 2),
                )
                for i in (1, 2)
            ],
        )
        structure.upsert_parties(conn, eid, [Party(PartyCode("AAA"), "Party A")])
        structure.insert_candidates(
            conn,
            eid,
            [
                Candidate(NA1, CandidateKey(1), "Candidate A", PartyCode("AAA")),
                Candidate(NA1, CandidateKey(2), "Candidate B", None),
            ],
            source="test",
        )
    return eid


def test_migrations_create_every_table(db: Database) -> None:
    assert db.is_current()
    assert {
        "elections",
        "constituencies",
        "stations",
        "candidates",
        "sheets",
        "sheet_votes",
        "findings",
        "imports",
    } <= set(db.table_names())


def test_sqlite_database_runs_in_wal_mode(sqlite_db: Database) -> None:
    with sqlite_db.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar_one() == "wal"


def test_structure_round_trips(db: Database) -> None:
    eid = _load_small(db)
    with db.connect() as conn:
        summaries = structure.list_constituencies(conn, eid)
        assert [s.constituency.code for s in summaries] == ["NA-1", "NA-2", "NA-10"]
        na1 = summaries[0]
        assert (na1.stations, na1.station_registered, na1.candidates) == (2, 1000, 2)
        cid, constituency = structure.get_constituency(conn, eid, "NA-1")
        assert constituency.registered == Registered(600, 400, 1000)
        stations = structure.list_stations(conn, cid)
        assert stations[1].booths == Booths(1, 1, 2)
        assert [c.independent for c in structure.list_candidates(conn, cid)] == [False, True]


def test_create_election_twice_is_idempotent_but_refuses_other_attributes(db: Database) -> None:
    with db.begin() as conn:
        first = structure.create_election(conn, ELECTION)
        assert structure.create_election(conn, ELECTION) == first
    with db.begin() as conn, pytest.raises(ConflictError, match="already exists"):
        structure.create_election(conn, Election(**{**vars(ELECTION), "name": "Other"}))


def test_unknown_election_names_the_known_ones(db: Database) -> None:
    _load_small(db)
    with db.connect() as conn, pytest.raises(NotFoundError, match="no election") as info:
        structure.get_election(conn, "nope")
    assert "xx-2030" in info.value.problems[0].expected


def _sheet(**changes: object) -> ResultSheet:
    values: dict[str, object] = {
        "kind": SheetKind.STATION_COUNT,
        "form": "Form-45",
        "constituency": NA1,
        "station": StationNumber("1"),
        "station_serial": 1,
        "votes": {CandidateKey(1): 300, CandidateKey(2): 100},
        "totals": Totals(valid=400, rejected=5, polled=405, votes_male=200, votes_female=205),
        "provenance": Provenance(
            source="test",
            channel=Channel.API,
            role=Role.AGENT,
            organisation="Party A",
            submitter_key="ed25519:abcd",
            received_at=dt.datetime(2030, 5, 1, 18, tzinfo=dt.UTC),
            evidence_sha256=("ab" * 32,),
        ),
        "extra": {"stream": "2"},
    }
    values.update(changes)
    return ResultSheet(**values)  # type: ignore[arg-type]


def test_sheets_round_trip_with_votes_and_provenance(db: Database) -> None:
    eid = _load_small(db)
    sheet = _sheet()
    with db.begin() as conn:
        sheet_store.insert_sheets(
            conn,
            eid,
            [sheet, _sheet(kind=SheetKind.PROVISIONAL, form="Form-47", station=None, station_serial=None)],
        )
    with db.connect() as conn:
        stored = sheet_store.list_sheets(conn, eid, kind=SheetKind.STATION_COUNT)
    assert stored == [sheet]


def test_sheet_with_unknown_candidate_writes_nothing(db: Database) -> None:
    eid = _load_small(db)
    with db.begin() as conn, pytest.raises(InputError, match="nothing was written") as info:
        sheet_store.insert_sheets(conn, eid, [_sheet(), _sheet(votes={CandidateKey(9): 1})])
    assert info.value.problems[0].found == "9"
    with db.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM sheets")).scalar_one() == 0


def test_failed_transaction_rolls_back_everything(db: Database) -> None:
    def write_then_fail() -> None:
        with db.begin() as conn:
            structure.create_election(conn, ELECTION)
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        write_then_fail()
    with db.connect() as conn:
        assert structure.list_elections(conn) == []


def test_indexes_exist_for_tally_queries(db: Database) -> None:
    inspector = sa.inspect(db.engine)
    sheet_indexes = {tuple(ix["column_names"]) for ix in inspector.get_indexes("sheets")}
    assert {
        ("constituency_id", "kind"),
        ("station_id", "kind"),
        ("election_id", "kind", "source"),
    } <= sheet_indexes
