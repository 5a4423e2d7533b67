"""Tallying a stored election: the night tally fed copy by copy equals the tally of all copies at once."""

from pathlib import Path

import pytest

from pollwatch.errors import InputError
from pollwatch.model import SheetKind
from pollwatch.storage import Database
from pollwatch.storage.results import load_election
from pollwatch.synth import SynthConfig, generate, store
from pollwatch.tally.inputs import ResultsInput
from pollwatch.tally.service import NightTally, tally_election


@pytest.fixture
def stored(sqlite_db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ResultsInput:
    monkeypatch.setenv("POLLWATCH_HOME", str(tmp_path / "home"))
    store(
        sqlite_db,
        generate(SynthConfig(seed=12, n_stations=300, n_constituencies=4, n_candidates=4)),
        slug="s12",
    )
    with sqlite_db.connect() as conn:
        return ResultsInput(*load_election(conn, "s12"))


def test_night_tally_copy_by_copy_equals_the_batch_tally(stored: ResultsInput) -> None:
    batch = tally_election(stored)
    night = NightTally(stored)
    for sheet in stored.sheets:
        if sheet.kind is SheetKind.STATION_COUNT:
            night.add(sheet)
    assert night.live.constituencies() == batch.tally.constituencies()
    assert int(batch.tally.reported.sum()) > 0


def test_night_tally_refuses_a_constituency_sheet(stored: ResultsInput) -> None:
    night = NightTally(stored)
    official = next(s for s in stored.sheets if s.kind is SheetKind.PROVISIONAL)
    with pytest.raises(InputError, match="station count sheets of known stations"):
        night.add(official)
