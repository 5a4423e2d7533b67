import datetime as dt
import json
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from pollwatch.cli.main import app
from pollwatch.model import Role, SheetKind
from pollwatch.storage import Database, structure
from pollwatch.storage import sheets as sheet_store
from pollwatch.synth import (
    Manipulation,
    ManipulationKind,
    SynthConfig,
    SyntheticElection,
    generate,
    night,
    store,
)


@pytest.fixture(autouse=True)
def _home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POLLWATCH_HOME", str(tmp_path / "home"))


def _small() -> SyntheticElection:
    return generate(
        SynthConfig(
            seed=9,
            n_stations=300,
            n_constituencies=4,
            n_candidates=4,
            manipulations=(Manipulation(ManipulationKind.WITHHELD, 0.1),),
        )
    )


def test_store_writes_every_copy_and_the_official_totals(db: Database) -> None:
    e = _small()
    result = store(db, e, slug="synth-9")
    with db.connect() as conn:
        eid, election = structure.get_election(conn, "synth-9")
        official = sheet_store.list_sheets(conn, eid, kind=SheetKind.PROVISIONAL)
        station = sheet_store.list_sheets(conn, eid, kind=SheetKind.STATION_COUNT)
    assert election.country == "XX"
    assert len(official) == 4
    assert [sum(s.votes.values()) for s in official] == e.official.sum(axis=1).tolist()
    with db.connect() as conn:
        consolidated = sheet_store.list_sheets(conn, eid, kind=SheetKind.CONSOLIDATED)
    assert len(consolidated) == 300 - 30
    assert {(s.constituency, s.station) for s in consolidated}.isdisjoint(
        {
            (e.constituency_codes[e.constituency[i]], e.station_numbers[i])
            for i in np.flatnonzero(e.truth.withheld)
        }
    )
    assert len(station) == result.sheets - 4 - 270
    withheld_numbers = {
        e.station_numbers[i] + "@" + e.constituency_codes[e.constituency[i]]
        for i in np.flatnonzero(e.truth.withheld)
    }
    official_uploads = {
        f"{s.station}@{s.constituency}" for s in station if s.provenance.role is Role.OFFICIAL
    }
    assert not withheld_numbers & official_uploads
    truth = json.loads(result.truth_path.read_text())
    assert len(truth["stations"]["withheld"]) == 30


def test_night_is_sorted_and_marks_every_slip() -> None:
    e = _small()
    a = night(e, polls_close=dt.datetime(2030, 1, 1, 12, tzinfo=dt.UTC), seed=1, slip_rate=0.2)
    assert list(a.received_at) == sorted(a.received_at)
    differs = (a.votes != e.votes[a.station]).any(axis=1)
    assert np.array_equal(differs, a.slip)
    assert a.slip.any()


def test_cli_synth_refuses_a_bad_manipulation_and_writes_nothing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    runner = CliRunner()
    assert runner.invoke(app, ["init", "--db", url]).exit_code == 0
    result = runner.invoke(app, ["synth", "--db", url, "--manipulate", "stuffing:0.1"])
    assert result.exit_code == 1
    assert "KIND:SHARE" in result.output
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM elections")).scalar_one() == 0


def test_cli_synth_creates_the_election(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    runner = CliRunner()
    runner.invoke(app, ["init", "--db", url])
    result = runner.invoke(
        app,
        [
            "synth",
            "--db",
            url,
            "--seed",
            "4",
            "--stations",
            "200",
            "--constituencies",
            "3",
            "--manipulate",
            "ballot_stuffing:0.1:0.5",
        ],
    )
    assert result.exit_code == 0, result.output
    listing = runner.invoke(app, ["constituencies", "synth-4", "--db", url, "--format", "json"])
    rows = json.loads(listing.stdout)
    assert sum(r["stations"] for r in rows) == 200
